package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Session is a console sign-in. IDHash is a keyed hash of the cookie's secret.
type Session struct {
	IDHash     []byte `gorm:"primaryKey"`
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ClientIP   string
	UserAgent  string
}

// InsertSession stores s.
func InsertSession(ctx context.Context, db *gorm.DB, s *Session) error {
	return db.WithContext(ctx).Create(s).Error
}

// SessionByHash finds a session and its user.
func SessionByHash(ctx context.Context, db *gorm.DB, hash []byte) (Session, User, error) {
	var s Session
	if err := db.WithContext(ctx).Where("id_hash = ?", hash).Take(&s).Error; err != nil {
		return s, User{}, notFound(err)
	}
	u, err := UserByID(ctx, db, s.UserID)
	return s, u, err
}

// TouchSession moves a session's last-seen time forward.
func TouchSession(ctx context.Context, db *gorm.DB, hash []byte, now time.Time) error {
	return db.WithContext(ctx).Model(&Session{}).Where("id_hash = ?", hash).Update("last_seen_at", now).Error
}

// DeleteSession ends one session.
func DeleteSession(ctx context.Context, db *gorm.DB, hash []byte) error {
	return db.WithContext(ctx).Where("id_hash = ?", hash).Delete(&Session{}).Error
}

// DeleteUserSessions ends every session of a user, but keep (nil for none).
func DeleteUserSessions(ctx context.Context, db *gorm.DB, userID int64, keep []byte) error {
	q := db.WithContext(ctx).Where("user_id = ?", userID)
	if keep != nil {
		q = q.Where("id_hash <> ?", keep)
	}
	return q.Delete(&Session{}).Error
}

// DeleteSessionsIdleSince removes sessions not seen since cutoff or created before oldest.
func DeleteSessionsIdleSince(ctx context.Context, db *gorm.DB, cutoff, oldest time.Time) error {
	return db.WithContext(ctx).Where("last_seen_at < ? OR created_at < ?", cutoff, oldest).Delete(&Session{}).Error
}
