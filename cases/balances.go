package cases

import (
	"context"
	"errors"
	"sort"
	"strings"

	"gorm.io/gorm"

	"giftdesk/models"
)

// Balances in constant time (issue 25). An account's balance in a currency is the sum of its
// postings (SPEC §2). Summing them all on every read grows with the ledger (96,000 postings on the
// goodwill account of a million-case desk), and a running balance updated by every correction
// would be a row every correction writes: a serial point (R10). So corrections write their
// postings and nothing else (R8), and a background pass, one at a time across servers, folds
// committed postings into per-account checkpoints up to a mark; a balance is the checkpoint plus
// the postings after the mark (models.Balances, models.FoldPostings).

// BalancePassLimit is how many postings one checkpoint pass folds at most: a pass is a short
// transaction, however far behind the checkpoints are.
const BalancePassLimit = 20000

// CheckpointBalances runs one checkpoint pass and returns how many postings it folded:
// BalancePassLimit means more are waiting. It does nothing when another pass holds the lock.
// Safe to call from any number of processes.
func (d *Desk) CheckpointBalances(ctx context.Context) (int, error) {
	return d.checkpointBalances(ctx, BalancePassLimit)
}

// checkpointBalances is a pass that folds at most limit postings.
func (d *Desk) checkpointBalances(ctx context.Context, limit int) (int, error) {
	folded := 0
	err := d.inTx(ctx, func(tx *gorm.DB) error {
		folded = 0
		ok, err := models.TryBalanceLock(ctx, tx)
		if err != nil || !ok {
			return err
		}
		// Taken before reading the mark and the postings: everything below it is final.
		lowWater, err := models.PostingLowWater(ctx, tx)
		if err != nil {
			return err
		}
		mark, err := models.BalanceMarkOf(ctx, tx)
		if err != nil {
			return err
		}
		_, folded, err = models.FoldPostings(ctx, tx, mark, lowWater, limit, d.now())
		return err
	})
	return folded, err
}

// CatchUpBalances runs checkpoint passes until one folds less than a full batch, and returns how
// many postings they folded: what a seed or a benchmark runs so that reads start caught up.
func (d *Desk) CatchUpBalances(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := d.CheckpointBalances(ctx)
		total += int64(n)
		if err != nil || n < BalancePassLimit {
			return total, err
		}
	}
}

// balances is the one computation of an account's balances, by currency: every path that shows
// or checks a balance calls it.
func (d *Desk) balances(ctx context.Context, db *gorm.DB, accountID int64) ([]Balance, error) {
	sums, err := models.Balances(ctx, db, accountID)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]Balance, 0, len(sums))
	for cur, sum := range sums {
		out = append(out, Balance{Currency: cur, AmountMinor: sum})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out, nil
}

// AccountBalances returns an account's balances by currency, an account with no posting holding
// nothing (an empty map), and NotFound for an account the desk does not know.
func (d *Desk) AccountBalances(ctx context.Context, p Principal, accountID string) (map[string]int64, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return nil, err
	}
	acct, err := models.AccountByAccountID(ctx, d.db, strings.TrimSpace(accountID))
	if errors.Is(err, models.ErrNotFound) {
		return nil, NotFound("account")
	}
	if err != nil {
		return nil, storeErr(err)
	}
	list, err := d.balances(ctx, d.db, acct.ID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(list))
	for _, b := range list {
		out[b.Currency] = b.AmountMinor
	}
	return out, nil
}
