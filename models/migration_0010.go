package models

// reportRanges indexes what the supervisors' reports (/reports, issue 22) read, each by the time
// its report filters on, so that a report reads only the date range asked for and never the whole
// table: cases opened (created_at), first answered and resolved (with type and created_at to
// measure the time taken), their SLA due times (with priority and what met them), decided and
// reversed corrections (with the columns summed), and cards added to cases. Every index is read
// alone (an index-only scan on PostgreSQL) for its report.
//
// Indexes rather than a rollup table: a table of counts per day and type would be one row that
// every case write of the day updates, the shared hot row SPEC R10 forbids (BENCHMARKS.md measured
// such a row at 80 % of the write throughput); an index entry is written per case, in the case's
// own transaction, and contends with nothing. Partial indexes leave out the cases still unanswered
// or unresolved, so the open backlog costs them nothing.
func reportRanges(d Dialect, _ string) []string {
	stmts := []string{
		`CREATE INDEX cases_created_type ON cases (created_at, type)`,
		`CREATE INDEX cases_responded ON cases (first_responded_at, type, created_at) WHERE first_responded_at IS NOT NULL`,
		`CREATE INDEX cases_resolved ON cases (resolved_at, type, created_at) WHERE resolved_at IS NOT NULL`,
		`CREATE INDEX cases_first_response_due ON cases (first_response_due, priority, first_responded_at, resolved_at)
			WHERE first_response_due IS NOT NULL`,
		`CREATE INDEX cases_resolution_due ON cases (resolution_due, priority, resolved_at) WHERE resolution_due IS NOT NULL`,
		`CREATE INDEX corrections_decided ON corrections (decided_at, status, kind, currency, amount_minor)
			WHERE decided_at IS NOT NULL`,
		`CREATE INDEX corrections_reversed ON corrections (reversed_at, kind, currency, amount_minor) WHERE reversed_at IS NOT NULL`,
		`CREATE INDEX case_cards_added ON case_cards (added_at, card_id)`,
	}
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
