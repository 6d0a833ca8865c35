package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// OutboxEvent is a webhook event written in the transaction of the change it announces and
// delivered after commit.
type OutboxEvent struct {
	ID        int64
	EventType string
	Payload   JSONDoc
	CreatedAt time.Time
}

// TableName names the table.
func (OutboxEvent) TableName() string { return "outbox" }

// InsertOutbox writes an event inside tx.
func InsertOutbox(ctx context.Context, tx *gorm.DB, e *OutboxEvent) error {
	return tx.WithContext(ctx).Omit("xact_id").Create(e).Error
}
