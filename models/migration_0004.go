package models

// search adds the indexes the case list and search need at scale (issue 14): trigram indexes for
// case-insensitive substring search on PostgreSQL, a GIN index for flags, and an index per queue
// order. SQLite gets the plain ones.
func search(d Dialect, _ string) []string {
	stmts := []string{
		`CREATE INDEX cases_assignee_id ON cases (assignee_id, id)`,
		`CREATE INDEX cases_priority ON cases (priority, id)`,
		`CREATE INDEX cases_type ON cases (type, id)`,
		`CREATE INDEX customer_accounts_account_lower ON customer_accounts (lower(account_id))`,
	}
	if d == Postgres {
		stmts = append(stmts,
			// pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
			`CREATE EXTENSION IF NOT EXISTS pg_trgm`,
			`CREATE INDEX cases_ref_trgm ON cases USING gin (ref gin_trgm_ops)`,
			`CREATE INDEX customer_accounts_account_trgm ON customer_accounts USING gin (account_id gin_trgm_ops)`,
			`CREATE INDEX customer_accounts_email_trgm ON customer_accounts USING gin (email gin_trgm_ops)`,
			`CREATE INDEX gift_cards_serial_trgm ON gift_cards USING gin (serial gin_trgm_ops)`,
			`CREATE INDEX cases_flags ON cases USING gin (flags jsonb_path_ops)`,
		)
	}
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
