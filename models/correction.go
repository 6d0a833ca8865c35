package models

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"
)

// The correction kinds and statuses as stored. cases gives them their types and the lifecycle;
// the queries below render them as SQL literals (see liveCorrectionSQL), never retyped.
const (
	CorrectionTransfer = "transfer"
	CorrectionCredit   = "credit"
	CorrectionReversal = "reversal"

	CorrectionPending   = "pending"
	CorrectionApplied   = "applied"
	CorrectionDenied    = "denied"
	CorrectionCancelled = "cancelled"
	CorrectionReversed  = "reversed"
)

// Conditions the correction queries share, as literals rather than bind parameters: PostgreSQL
// uses the partial index corrections_one_reversal only for a query whose text implies its
// predicate, status IN ('pending', 'applied').
var (
	// cardMoneySQL selects the corrections that take from a card's value (R7).
	cardMoneySQL = "kind IN (" + sqlList(CorrectionTransfer, CorrectionCredit) + ")"
	// liveCorrectionSQL selects the corrections that stand or may still stand.
	liveCorrectionSQL = "status IN (" + sqlList(CorrectionPending, CorrectionApplied) + ")"
)

// Correction is a requested balance correction (SPEC §2).
type Correction struct {
	ID                int64
	CaseID            int64
	Kind              string
	Status            string
	AmountMinor       int64
	Currency          string
	FromAccountID     int64
	ToAccountID       int64
	CardID            *int64
	Reason            string
	RequestedByID     int64
	RequiredApprovals int
	ReversesID        *int64
	DenialReason      *string
	DecidedByID       *int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	DecidedAt         *time.Time
	ReversedAt        *time.Time
	Version           int64
}

// InsertCorrection writes a request.
func InsertCorrection(ctx context.Context, tx *gorm.DB, c *Correction) error {
	if c.Version == 0 {
		c.Version = 1
	}
	return tx.WithContext(ctx).Create(c).Error
}

// CorrectionByIDForUpdate finds and locks a correction.
func CorrectionByIDForUpdate(ctx context.Context, tx *gorm.DB, id int64) (Correction, error) {
	var c Correction
	err := ForUpdate(tx.WithContext(ctx)).Where("id = ?", id).Take(&c).Error
	return c, notFound(err)
}

// CorrectionByID finds a correction.
func CorrectionByID(ctx context.Context, db *gorm.DB, id int64) (Correction, error) {
	var c Correction
	err := db.WithContext(ctx).Where("id = ?", id).Take(&c).Error
	return c, notFound(err)
}

// CommittedOnCard sums what a card is promised: applied, non-reversed transfers and credits, plus
// pending ones (R7 at request time).
func CommittedOnCard(ctx context.Context, db *gorm.DB, cardID int64) (int64, error) {
	var sum int64
	err := db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(amount_minor), 0) FROM corrections
		WHERE card_id = ? AND `+cardMoneySQL+` AND `+liveCorrectionSQL, cardID).Scan(&sum).Error
	return sum, err
}

// LiveReversal returns the id of a correction's pending or applied reversal (a unique index
// allows one), ErrNotFound when it has none.
func LiveReversal(ctx context.Context, db *gorm.DB, id int64) (int64, error) {
	var ids []int64
	err := db.WithContext(ctx).Model(&Correction{}).Where("reverses_id = ? AND "+liveCorrectionSQL, id).
		Order("id").Limit(1).Pluck("id", &ids).Error
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, ErrNotFound
	}
	return ids[0], nil
}

// LiveReversalsOf returns, for each of the given corrections that has one, the id of its pending or
// applied reversal, in one statement.
func LiveReversalsOf(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct{ ID, ReversesID int64 }
	if err := db.WithContext(ctx).Model(&Correction{}).Select("id, reverses_id").
		Where("reverses_id IN ? AND "+liveCorrectionSQL, ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ReversesID] = r.ID
	}
	return out, nil
}

// PendingOnCase counts a case's pending corrections.
func PendingOnCase(ctx context.Context, db *gorm.DB, caseID int64) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Model(&Correction{}).Where("case_id = ? AND status = "+sqlList(CorrectionPending), caseID).Count(&n).Error
	return n, err
}

// UpdateCorrection writes the given columns of a correction if it is still at version.
func UpdateCorrection(ctx context.Context, tx *gorm.DB, id, version int64, changes map[string]any) (bool, error) {
	changes["version"] = version + 1
	res := tx.WithContext(ctx).Model(&Correction{}).Where("id = ? AND version = ?", id, version).Updates(changes)
	return res.RowsAffected == 1, res.Error
}

// CorrectionFilter selects corrections, newest first.
type CorrectionFilter struct {
	Status   string
	CaseID   int64
	BeforeID int64
	Limit    int
}

// ListCorrections returns corrections matching f.
func ListCorrections(ctx context.Context, db *gorm.DB, f CorrectionFilter) ([]Correction, error) {
	q := db.WithContext(ctx).Model(&Correction{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.CaseID > 0 {
		q = q.Where("case_id = ?", f.CaseID)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []Correction
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, err
}

// Approval is one supervisor's approval of a correction (append-only).
type Approval struct {
	ID            int64
	CorrectionID  int64
	RequestedByID int64
	ApproverID    int64
	Note          string
	CreatedAt     time.Time
}

// TableName names the table.
func (Approval) TableName() string { return "correction_approvals" }

// InsertApproval records an approval once per approver; a repeat is ignored (R5: it counts once).
func InsertApproval(ctx context.Context, tx *gorm.DB, a *Approval) (bool, error) {
	return InsertIgnoringConflict(ctx, tx, a, "correction_id", "approver_id")
}

// ApprovalsOf returns a correction's approvals, oldest first.
func ApprovalsOf(ctx context.Context, db *gorm.DB, correctionID int64) ([]Approval, error) {
	var out []Approval
	err := db.WithContext(ctx).Where("correction_id = ?", correctionID).Order("id").Find(&out).Error
	return out, err
}

// ApprovalsOfMany returns the approvals of the given corrections by correction, each in the order
// given, in one statement.
func ApprovalsOfMany(ctx context.Context, db *gorm.DB, correctionIDs []int64) (map[int64][]Approval, error) {
	out := make(map[int64][]Approval, len(correctionIDs))
	if len(correctionIDs) == 0 {
		return out, nil
	}
	var list []Approval
	if err := db.WithContext(ctx).Where("correction_id IN ?", correctionIDs).Order("id").Find(&list).Error; err != nil {
		return nil, err
	}
	for _, a := range list {
		out[a.CorrectionID] = append(out[a.CorrectionID], a)
	}
	return out, nil
}

// Posting is one ledger line: an applied correction moves amount from one account to another in
// two postings that sum to zero.
type Posting struct {
	ID           int64
	CorrectionID int64
	AccountID    int64
	AmountMinor  int64
	Currency     string
	CreatedAt    time.Time
}

// InsertPostings writes a correction's two postings.
func InsertPostings(ctx context.Context, tx *gorm.DB, p []Posting) error {
	return tx.WithContext(ctx).Create(&p).Error
}

// PostingRow is a posting with the other account of its correction, the correction's kind and
// status, and the ref of its case.
type PostingRow struct {
	Posting
	CounterAccount string
	CaseRef        string
	Kind           string
	Status         string
}

// PostingsOf returns up to limit postings of an account, each with its counter-account,
// correction and case in the same statement: a page costs one query whatever it holds. Newest
// first before id beforeID (0: from the newest); with afterID instead, the limit postings just
// above it, still newest first, so that a page can lead back to the one before.
func PostingsOf(ctx context.Context, db *gorm.DB, accountID, beforeID, afterID int64, limit int) ([]PostingRow, error) {
	q := db.WithContext(ctx).Table("postings AS p").
		Select("p.*, a.account_id AS counter_account, c.ref AS case_ref, k.kind, k.status").
		Joins("JOIN postings o ON o.correction_id = p.correction_id AND o.id <> p.id").
		Joins("JOIN customer_accounts a ON a.id = o.account_id").
		Joins("JOIN corrections k ON k.id = p.correction_id").
		Joins("JOIN cases c ON c.id = k.case_id").
		Where("p.account_id = ?", accountID)
	order := "p.id DESC"
	switch {
	case afterID > 0:
		q, order = q.Where("p.id > ?", afterID), "p.id ASC"
	case beforeID > 0:
		q = q.Where("p.id < ?", beforeID)
	}
	var out []PostingRow
	if err := q.Order(order).Limit(limit).Scan(&out).Error; err != nil {
		return nil, err
	}
	if afterID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// CardMoney is what corrections take from one card across every case it is on (R7): applied,
// non-reversed transfers and credits, and pending ones.
type CardMoney struct {
	Applied, Pending int64
}

// CardMoneyOf sums, for each of the given cards, its applied and pending transfers and credits
// across all its cases, in one statement.
func CardMoneyOf(ctx context.Context, db *gorm.DB, cardIDs []int64) (map[int64]CardMoney, error) {
	out := make(map[int64]CardMoney, len(cardIDs))
	if len(cardIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		CardID int64
		Status string
		Total  int64
	}
	if err := db.WithContext(ctx).Raw(`SELECT card_id, status, COALESCE(SUM(amount_minor), 0) AS total FROM corrections
		WHERE card_id IN ? AND `+cardMoneySQL+` AND `+liveCorrectionSQL+` GROUP BY card_id, status`, cardIDs).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		m := out[r.CardID]
		if r.Status == CorrectionApplied {
			m.Applied += r.Total
		} else {
			m.Pending += r.Total
		}
		out[r.CardID] = m
	}
	return out, nil
}
