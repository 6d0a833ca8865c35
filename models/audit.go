package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// AuditEvent is one recorded change (R10). Rows are never updated or deleted (R9); the sealer
// chains them afterwards in audit_seals.
type AuditEvent struct {
	ID           int64
	OccurredAt   time.Time
	ActorType    string // user, token, cli, system
	ActorUserID  *int64
	ActorTokenID *int64
	ActorLabel   string
	ClientIP     string
	UserAgent    string
	RequestID    string
	Action       string
	EntityType   string
	EntityID     string
	BeforeState  JSONDoc
	AfterState   JSONDoc
}

// InsertAuditEvent writes e, normally inside the transaction of the change it records.
func InsertAuditEvent(ctx context.Context, db *gorm.DB, e *AuditEvent) error {
	// xact_id is left to the database default on PostgreSQL.
	return db.WithContext(ctx).Omit("xact_id").Create(e).Error
}
