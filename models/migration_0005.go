package models

// cardFreeze records who froze a card, when and why (issue 19, SPEC §2). Freezing is a risk
// decision: a frozen card carries its author and reason; unfreezing clears them, and the audit
// trail keeps both decisions. A card that is not frozen holds none of them. frozen_reason is free
// text the desk redacts (R2), so its column leaves room for redaction's growth (see redacted).
func cardFreeze(d Dialect, _ string) []string {
	stmts := []string{
		`ALTER TABLE gift_cards ADD COLUMN frozen_reason TEXT CHECK (length(frozen_reason) BETWEEN 1 AND ` + redacted(2000) + `)`,
		`ALTER TABLE gift_cards ADD COLUMN frozen_by_id BIGINT REFERENCES users(id)`,
		// SQLite cannot add a table constraint to a table, so the rule that ties the three columns to
		// the flag rides on the last column; PostgreSQL accepts the same column constraint.
		`ALTER TABLE gift_cards ADD COLUMN frozen_at {time}
			CONSTRAINT gift_cards_freeze_facts_only_when_frozen
			CHECK (frozen OR (frozen_reason IS NULL AND frozen_by_id IS NULL AND frozen_at IS NULL))`,
	}
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
