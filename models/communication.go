package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Communication is one call, email, chat, visit or internal note on a case. Rows are never
// updated or deleted (R9): an amendment is a new row that supersedes the old one.
type Communication struct {
	ID                 int64
	CaseID             int64
	Channel            string
	Direction          string
	OccurredAt         time.Time
	CounterpartName    string
	RepresentativeName string
	Reference          string
	DurationSeconds    *int64
	Body               string
	SupersedesID       *int64
	AuthorID           int64
	RecordedAt         time.Time
}

// InsertCommunication appends an entry; superseding an entry twice is a unique violation.
func InsertCommunication(ctx context.Context, tx *gorm.DB, c *Communication) error {
	return tx.WithContext(ctx).Create(c).Error
}

// CommunicationByID finds an entry.
func CommunicationByID(ctx context.Context, db *gorm.DB, id int64) (Communication, error) {
	var c Communication
	err := db.WithContext(ctx).Where("id = ?", id).Take(&c).Error
	return c, notFound(err)
}

// CommunicationRow is an entry with its author's email and the entry that supersedes it.
type CommunicationRow struct {
	Communication
	AuthorEmail  string
	SupersededBy *int64
}

// ListCommunications returns up to limit entries of a case, oldest occurred_at first, after the
// keyset (afterAt, afterID) when afterID > 0.
func ListCommunications(ctx context.Context, db *gorm.DB, caseID int64, afterAt time.Time, afterID int64, limit int) ([]CommunicationRow, error) {
	q := db.WithContext(ctx).Table("communications AS c").
		Select("c.*, u.email AS author_email, s.id AS superseded_by").
		Joins("JOIN users u ON u.id = c.author_id").
		Joins("LEFT JOIN communications s ON s.supersedes_id = c.id").
		Where("c.case_id = ?", caseID)
	if afterID > 0 {
		q = q.Where("(c.occurred_at > ? OR (c.occurred_at = ? AND c.id > ?))", afterAt, afterAt, afterID)
	}
	var out []CommunicationRow
	err := q.Order("c.occurred_at, c.id").Limit(limit).Scan(&out).Error
	return out, err
}

// MarkFirstResponse records a case's first response once, moving its version; it reports whether
// this was the first.
func MarkFirstResponse(ctx context.Context, tx *gorm.DB, caseID int64, at, now time.Time) (bool, error) {
	res := tx.WithContext(ctx).Exec(`UPDATE cases SET first_responded_at = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND first_responded_at IS NULL`, at, now, caseID)
	return res.RowsAffected == 1, res.Error
}
