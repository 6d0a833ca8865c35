package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// IdempotencyKey is one API request answered under an Idempotency-Key, with its answer. The row is
// written in the transaction of the change the request made, so it exists exactly when that
// change committed.
type IdempotencyKey struct {
	Owner           string `gorm:"primaryKey"`
	Key             string `gorm:"primaryKey"`
	RequestHash     []byte
	State           string // always "done" since issue 19; the column stays for older rows
	StatusCode      *int
	ResponseHeaders JSONDoc
	ResponseBody    []byte
	CreatedAt       time.Time
	CompletedAt     *time.Time
}

// InsertIdempotencyKey records an answered request.
func InsertIdempotencyKey(ctx context.Context, tx *gorm.DB, k *IdempotencyKey) error {
	return tx.WithContext(ctx).Create(k).Error
}

// GetIdempotencyKey reads a remembered request.
func GetIdempotencyKey(ctx context.Context, db *gorm.DB, owner, key string) (IdempotencyKey, error) {
	var k IdempotencyKey
	err := db.WithContext(ctx).Where("owner = ? AND key = ?", owner, key).Take(&k).Error
	return k, notFound(err)
}

// DeleteIdempotencyKey forgets a request, so that the caller may send it again.
func DeleteIdempotencyKey(ctx context.Context, db *gorm.DB, owner, key string) error {
	return db.WithContext(ctx).Where("owner = ? AND key = ?", owner, key).Delete(&IdempotencyKey{}).Error
}

// PurgeIdempotencyKeys forgets requests made before cutoff.
func PurgeIdempotencyKeys(ctx context.Context, db *gorm.DB, cutoff time.Time) error {
	return db.WithContext(ctx).Where("created_at < ?", cutoff).Delete(&IdempotencyKey{}).Error
}
