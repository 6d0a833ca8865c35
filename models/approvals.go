package models

import (
	"context"

	"gorm.io/gorm"
)

// PendingCorrections returns up to limit pending corrections, oldest first, after id afterID (0:
// from the oldest): the approval queue, read on the index corrections_status (status, id).
func PendingCorrections(ctx context.Context, db *gorm.DB, afterID int64, limit int) ([]Correction, error) {
	q := db.WithContext(ctx).Model(&Correction{}).Where("status = " + sqlList(CorrectionPending))
	if afterID > 0 {
		q = q.Where("id > ?", afterID)
	}
	var out []Correction
	err := q.Order("id").Limit(limit).Find(&out).Error
	return out, err
}

// CaseTypesByID returns the types of the cases with the given ids, by id, in one statement.
func CaseTypesByID(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]string, error) {
	return columnByID(ctx, db, &Case{}, "type", ids)
}

// CardsByID returns the cards with the given ids, by id, in one statement.
func CardsByID(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]GiftCard, error) {
	out := make(map[int64]GiftCard, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var list []GiftCard
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&list).Error; err != nil {
		return nil, err
	}
	for _, c := range list {
		out[c.ID] = c
	}
	return out, nil
}

// LargestVerifiedReceipts returns, for each of the given cases, the amount of its largest verified
// receipt in each currency, in one statement: what R6 compares a credit with.
func LargestVerifiedReceipts(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64]map[string]int64, error) {
	out := make(map[int64]map[string]int64, len(caseIDs))
	if len(caseIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		CaseID   int64
		Currency string
		Largest  int64
	}
	if err := db.WithContext(ctx).Raw(`SELECT case_id, currency, MAX(amount_minor) AS largest FROM evidence
		WHERE case_id IN ? AND kind = 'receipt' AND verification = 'verified' AND amount_minor IS NOT NULL AND currency IS NOT NULL
		GROUP BY case_id, currency`, caseIDs).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		if out[r.CaseID] == nil {
			out[r.CaseID] = map[string]int64{}
		}
		out[r.CaseID][r.Currency] = r.Largest
	}
	return out, nil
}
