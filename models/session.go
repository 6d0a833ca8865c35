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

// SessionByHash finds a session and its user in one statement: every console request asks.
func SessionByHash(ctx context.Context, db *gorm.DB, hash []byte) (Session, User, error) {
	var rows []struct {
		CreatedAt          time.Time `gorm:"column:s_created_at"`
		LastSeenAt         time.Time `gorm:"column:s_last_seen_at"`
		ClientIP           string    `gorm:"column:s_client_ip"`
		UserAgent          string    `gorm:"column:s_user_agent"`
		UserID             int64     `gorm:"column:u_id"`
		Email              string    `gorm:"column:u_email"`
		Name               string    `gorm:"column:u_name"`
		Role               string    `gorm:"column:u_role"`
		Active             bool      `gorm:"column:u_active"`
		MustChangePassword bool      `gorm:"column:u_must_change_password"`
		TimeZone           string    `gorm:"column:u_time_zone"`
		Shortcuts          bool      `gorm:"column:u_shortcuts"`
	}
	err := db.WithContext(ctx).Raw(`SELECT s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at,
		s.client_ip AS s_client_ip, s.user_agent AS s_user_agent,
		u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, u.active AS u_active,
		u.must_change_password AS u_must_change_password, u.time_zone AS u_time_zone, u.shortcuts AS u_shortcuts
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? LIMIT 1`, hash).Scan(&rows).Error
	if err != nil {
		return Session{}, User{}, err
	}
	if len(rows) == 0 {
		return Session{}, User{}, ErrNotFound
	}
	r := rows[0]
	return Session{IDHash: hash, UserID: r.UserID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ClientIP: r.ClientIP, UserAgent: r.UserAgent},
		User{ID: r.UserID, Email: r.Email, Name: r.Name, Role: r.Role, Active: r.Active, MustChangePassword: r.MustChangePassword,
			TimeZone: r.TimeZone, Shortcuts: r.Shortcuts}, nil
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
