package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// IdempotencyKey is one remembered API request and, once done, its answer.
type IdempotencyKey struct {
	Owner           string `gorm:"primaryKey"`
	Key             string `gorm:"primaryKey"`
	RequestHash     []byte
	State           string
	StatusCode      *int
	ResponseHeaders JSONDoc
	ResponseBody    []byte
	CreatedAt       time.Time
	CompletedAt     *time.Time
}

// ClaimIdempotencyKey records a new request under (owner, key) and reports whether it was new.
func ClaimIdempotencyKey(ctx context.Context, db *gorm.DB, k *IdempotencyKey) (bool, error) {
	return InsertIgnoringConflict(ctx, db, k, "owner", "key")
}

// GetIdempotencyKey reads a remembered request.
func GetIdempotencyKey(ctx context.Context, db *gorm.DB, owner, key string) (IdempotencyKey, error) {
	var k IdempotencyKey
	err := db.WithContext(ctx).Where("owner = ? AND key = ?", owner, key).Take(&k).Error
	return k, notFound(err)
}

// CompleteIdempotencyKey stores the answer of a request.
func CompleteIdempotencyKey(ctx context.Context, db *gorm.DB, owner, key string, status int, headers JSONDoc, body []byte, now time.Time) error {
	return db.WithContext(ctx).Model(&IdempotencyKey{}).Where("owner = ? AND key = ? AND state = 'in_progress'", owner, key).
		Updates(map[string]any{"state": "done", "status_code": status, "response_headers": headers, "response_body": body, "completed_at": now}).Error
}

// DeleteIdempotencyKey forgets a request, so that the caller may send it again.
func DeleteIdempotencyKey(ctx context.Context, db *gorm.DB, owner, key string) error {
	return db.WithContext(ctx).Where("owner = ? AND key = ?", owner, key).Delete(&IdempotencyKey{}).Error
}

// PurgeIdempotencyKeys forgets requests made before cutoff.
func PurgeIdempotencyKeys(ctx context.Context, db *gorm.DB, cutoff time.Time) error {
	return db.WithContext(ctx).Where("created_at < ?", cutoff).Delete(&IdempotencyKey{}).Error
}
