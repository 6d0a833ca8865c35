package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// LoginFailure is one failed sign-in.
type LoginFailure struct {
	ID       int64
	Email    string
	ClientIP string
	FailedAt time.Time
}

// InsertLoginFailure records a failed sign-in.
func InsertLoginFailure(ctx context.Context, db *gorm.DB, f *LoginFailure) error {
	return db.WithContext(ctx).Create(f).Error
}

// FailureWindow summarises the failures of one key (an email or a client address) since a time.
type FailureWindow struct {
	Count  int64
	Oldest *time.Time
}

// LoginFailuresSince counts the failures for email and for clientIP since since, separately.
func LoginFailuresSince(ctx context.Context, db *gorm.DB, email, clientIP string, since time.Time) (byEmail, byIP FailureWindow, err error) {
	q := `SELECT count(*) AS count, min(failed_at) AS oldest FROM login_failures WHERE %s = ? AND failed_at >= ?`
	if err = db.WithContext(ctx).Raw(sprintf(q, "email"), email, since).Scan(&byEmail).Error; err != nil {
		return
	}
	err = db.WithContext(ctx).Raw(sprintf(q, "client_ip"), clientIP, since).Scan(&byIP).Error
	return
}

// DeleteLoginFailures forgets the failures for email (after a successful sign-in) and every
// failure older than before.
func DeleteLoginFailures(ctx context.Context, db *gorm.DB, email string, before time.Time) error {
	return db.WithContext(ctx).Where("email = ? OR failed_at < ?", email, before).Delete(&LoginFailure{}).Error
}
