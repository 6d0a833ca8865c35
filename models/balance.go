package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Balance checkpoints (migration 0015): a background pass folds committed postings into
// balance_checkpoints, one row per account and currency, up to balance_checkpoint_mark; a balance
// is an account's checkpoints plus its postings after the mark. Writers never touch either table.

// BalanceMark is how far the checkpoints reach: every posting at or before (ThroughXact,
// ThroughPostingID) in (xact_id, id) order is folded into them, and none after it.
type BalanceMark struct {
	ThroughXact      int64
	ThroughPostingID int64
	// Folded counts the postings folded since the migration; TakenAt is the last pass that folded any.
	Folded  int64
	TakenAt time.Time
}

// TableName names the mark's one-row table.
func (BalanceMark) TableName() string { return "balance_checkpoint_mark" }

// Balances returns an account's balance per currency: its checkpoints plus the sum of its postings
// after the mark. One statement, so that checkpoints and mark come from one snapshot (a pass that
// commits between two statements would otherwise count its postings twice or not at all); it
// reads one primary-key range and the few postings the pass has not folded yet, whatever the
// ledger's size.
func Balances(ctx context.Context, db *gorm.DB, accountID int64) (map[string]int64, error) {
	var rows []struct {
		Currency string
		Sum      int64
	}
	err := db.WithContext(ctx).Raw(balancesSQL, accountID, accountID).Scan(&rows).Error
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Currency] = r.Sum
	}
	return out, err
}

// balancesSQL compares (xact_id, id) with the mark as a row, which both databases serve as one
// range of postings_account_xact; the two scalar subqueries are constants of the statement.
const balancesSQL = `SELECT currency, SUM(amount_minor) AS sum FROM (
	SELECT currency, amount_minor FROM balance_checkpoints WHERE account_id = ?
	UNION ALL
	SELECT currency, amount_minor FROM postings WHERE account_id = ?
		AND (xact_id, id) > ((SELECT through_xact FROM balance_checkpoint_mark WHERE id = 1),
			(SELECT through_posting_id FROM balance_checkpoint_mark WHERE id = 1))
) b GROUP BY currency`

// BalanceMarkOf reads the mark.
func BalanceMarkOf(ctx context.Context, db *gorm.DB) (BalanceMark, error) {
	var m BalanceMark
	err := db.WithContext(ctx).Where("id = 1").Take(&m).Error
	return m, notFound(err)
}

// FoldPostings folds up to limit postings after mark into the checkpoints, in (xact_id, id)
// order, taking only postings of transactions below lowWater (PostingLowWater, read before in
// the same transaction), and moves the mark past them. It returns the new mark and how many it
// folded. The caller holds the pass's lock (TryBalanceLock) in tx.
//
// Why lowWater: every transaction below it has ended, so every posting it wrote is visible now
// and nothing can commit at or before the new mark later. A posting of a transaction still
// running carries an xact_id at or above lowWater, whatever its id, and stays after the mark,
// where readers add it once it commits.
func FoldPostings(ctx context.Context, tx *gorm.DB, mark BalanceMark, lowWater int64, limit int, now time.Time) (BalanceMark, int, error) {
	var batch []struct{ XactID, ID int64 }
	if err := tx.WithContext(ctx).Raw(`SELECT xact_id, id FROM postings
		WHERE (xact_id, id) > (?, ?) AND xact_id < ? ORDER BY xact_id, id LIMIT ?`,
		mark.ThroughXact, mark.ThroughPostingID, lowWater, limit).Scan(&batch).Error; err != nil {
		return mark, 0, err
	}
	if len(batch) == 0 {
		return mark, 0, nil
	}
	end := batch[len(batch)-1]
	if err := tx.WithContext(ctx).Exec(`INSERT INTO balance_checkpoints (account_id, currency, amount_minor)
		SELECT account_id, currency, SUM(amount_minor) FROM postings
		WHERE (xact_id, id) > (?, ?) AND (xact_id, id) <= (?, ?)
		GROUP BY account_id, currency
		ON CONFLICT (account_id, currency) DO UPDATE SET amount_minor = balance_checkpoints.amount_minor + excluded.amount_minor`,
		mark.ThroughXact, mark.ThroughPostingID, end.XactID, end.ID).Error; err != nil {
		return mark, 0, err
	}
	next := BalanceMark{ThroughXact: end.XactID, ThroughPostingID: end.ID, Folded: mark.Folded + int64(len(batch)), TakenAt: now}
	res := tx.WithContext(ctx).Model(&BalanceMark{}).Where("id = 1").Updates(map[string]any{
		"through_xact": next.ThroughXact, "through_posting_id": next.ThroughPostingID, "folded": next.Folded, "taken_at": now})
	if res.Error == nil && res.RowsAffected != 1 {
		return mark, 0, ErrNotFound
	}
	return next, len(batch), res.Error
}

// UnfoldedPostings counts the postings after the mark, up to limit (the pass's lag, for operators
// and tests; limit bounds the count's cost on a desk the pass has not caught up with).
func UnfoldedPostings(ctx context.Context, db *gorm.DB, limit int) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM (SELECT 1 FROM postings
		WHERE (xact_id, id) > ((SELECT through_xact FROM balance_checkpoint_mark WHERE id = 1),
			(SELECT through_posting_id FROM balance_checkpoint_mark WHERE id = 1)) LIMIT ?) b`, limit).Scan(&n).Error
	return n, err
}
