package cases

import "context"

// CheckpointBalancesLimit runs a balance checkpoint pass that folds at most limit postings, so
// that tests can stop the mark between any two postings.
func CheckpointBalancesLimit(ctx context.Context, d *Desk, limit int) (int, error) {
	return d.checkpointBalances(ctx, limit)
}
