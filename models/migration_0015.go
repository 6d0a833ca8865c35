package models

// balanceCheckpoints makes an account's balance a read of constant cost (issue 25): a background
// pass folds committed postings into per-account, per-currency checkpoints, and a balance is its
// checkpoint plus the postings the pass has not folded yet. Corrections write their postings as
// before and touch no checkpoint (R8's one transaction, and no row every correction updates: R10).
//
// The pass folds postings in (xact_id, id) order up to a mark, balance_checkpoint_mark, one row
// that it alone writes, in the same transaction as the amounts, so that a reader who reads both in
// one statement sees them agree. On PostgreSQL ids are not commit-ordered (a lower id can commit
// later), so postings carry the id of the transaction that wrote them, and the pass folds only
// those of transactions older than its snapshot's xmin: every one of them has ended, so nothing can
// commit behind the mark later (the audit sealer's idea). On SQLite writers are serialised, so ids
// grow in commit order: every posting carries xact_id 0 and the order is the id's.
//
// Postings written before this migration carry xact_id 0 (no table rewrite; they are all final)
// and the mark starts at (0, 0): until the first pass a balance is the plain sum, as before.
func balanceCheckpoints(d Dialect, _ string) []string {
	stmts := []string{
		`ALTER TABLE postings ADD COLUMN xact_id BIGINT NOT NULL DEFAULT 0`,
	}
	if d == Postgres {
		stmts = append(stmts, `ALTER TABLE postings ALTER COLUMN xact_id SET DEFAULT (pg_current_xact_id()::text::bigint)`)
	}
	stmts = append(stmts,
		// The pass's scan, and a reader's sum of an account's unfolded postings.
		`CREATE INDEX postings_xact ON postings (xact_id, id)`,
		`CREATE INDEX postings_account_xact ON postings (account_id, xact_id, id)`,
		// Only the primary key: the pass's updates of amount_minor stay heap-only (HOT) on
		// PostgreSQL, so that a hot account's checkpoint does not grow its index pass after pass.
		`CREATE TABLE balance_checkpoints (
			account_id BIGINT NOT NULL REFERENCES customer_accounts(id),
			currency TEXT NOT NULL CHECK (currency IN (`+sqlList(m1Currencies...)+`)),
			amount_minor BIGINT NOT NULL,
			PRIMARY KEY (account_id, currency)
		)`,
		`CREATE TABLE balance_checkpoint_mark (
			id INTEGER PRIMARY KEY CHECK (id = 1),
			through_xact BIGINT NOT NULL,
			through_posting_id BIGINT NOT NULL,
			folded BIGINT NOT NULL,
			taken_at {time} NOT NULL
		)`,
		`INSERT INTO balance_checkpoint_mark (id, through_xact, through_posting_id, folded, taken_at) VALUES (1, 0, 0, 0, {now})`,
	)
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
