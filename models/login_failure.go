package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// LoginFailure is one failed sign-in. Email holds a keyed hash of the email, not the email.
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

// RecentFailureTimes returns, oldest first, the times of at most max failures for email and for
// clientIP after since. Throttled attempts are not recorded, so a window holds few rows.
func RecentFailureTimes(ctx context.Context, db *gorm.DB, email, clientIP string, since time.Time, max int) (byEmail, byIP []time.Time, err error) {
	q := db.WithContext(ctx).Model(&LoginFailure{}).Where("failed_at > ?", since).Order("failed_at").Limit(max)
	if err = q.Where("email = ?", email).Pluck("failed_at", &byEmail).Error; err != nil {
		return
	}
	q = db.WithContext(ctx).Model(&LoginFailure{}).Where("failed_at > ?", since).Order("failed_at").Limit(max)
	err = q.Where("client_ip = ?", clientIP).Pluck("failed_at", &byIP).Error
	return
}

// DeleteLoginFailuresFor forgets the failures for email, after a successful sign-in.
func DeleteLoginFailuresFor(ctx context.Context, db *gorm.DB, email string) error {
	return db.WithContext(ctx).Where("email = ?", email).Delete(&LoginFailure{}).Error
}

// DeleteLoginFailuresBefore forgets failures too old to count.
func DeleteLoginFailuresBefore(ctx context.Context, db *gorm.DB, before time.Time) error {
	return db.WithContext(ctx).Where("failed_at < ?", before).Delete(&LoginFailure{}).Error
}

// DeleteLoginFailure removes one recorded attempt.
func DeleteLoginFailure(ctx context.Context, db *gorm.DB, id int64) error {
	return db.WithContext(ctx).Where("id = ?", id).Delete(&LoginFailure{}).Error
}
