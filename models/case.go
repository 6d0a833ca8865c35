package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Case is one support case.
type Case struct {
	ID                int64
	Ref               string
	Type              string
	Status            string
	Resolution        *string
	Priority          string
	CustomerAccountID int64
	IntendedAccountID *int64
	AssigneeID        *int64
	Summary           string
	Description       string
	Tags              StringList
	Flags             StringList
	FirstResponseDue  *time.Time
	ResolutionDue     *time.Time
	FirstRespondedAt  *time.Time
	ResolvedAt        *time.Time
	CreatedByID       *int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Version           int64
}

// InsertCase writes c (its Ref already drawn from NextCaseNumber).
func InsertCase(ctx context.Context, db *gorm.DB, c *Case) error {
	if c.Version == 0 {
		c.Version = 1
	}
	return db.WithContext(ctx).Create(c).Error
}

// CaseFilter selects a page of cases, newest first.
type CaseFilter struct {
	Status   string
	Type     string
	BeforeID int64 // keyset cursor: only cases with a smaller id
	Limit    int
}

// ListCases returns up to f.Limit cases matching f, newest first. The order is the primary key's,
// so the page boundary stays put while other cases are inserted.
func ListCases(ctx context.Context, db *gorm.DB, f CaseFilter) ([]Case, error) {
	q := db.WithContext(ctx).Model(&Case{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []Case
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, err
}
