package models

// m8OpenStatuses are the statuses of an open case as issue 21 wrote them (R11: all but resolved and
// closed). The queries that want these indexes name the same list as literals (CaseFilter.StatusIn).
const m8OpenStatuses = `('new', 'investigating', 'waiting_on_customer', 'pending_approval')`

// openCaseDues indexes what the console's "SLA at risk" queue asks of open cases only (issue 21):
// a due time within two hours, or past. Closed and resolved cases keep their old due times, which
// are all in the past, so a plain index on a due time would hand the queue every case ever
// resolved; indexes over open cases alone stay as small as the work in hand. The first-response
// index also leaves out the cases already answered, since a met target no longer counts (SPEC 4.2),
// and carries the resolution due time so that the queue's count reads the indexes alone.
func openCaseDues(d Dialect, _ string) []string {
	stmts := []string{
		`CREATE INDEX cases_open_resolution_due ON cases (resolution_due) WHERE status IN ` + m8OpenStatuses,
		`CREATE INDEX cases_open_first_response_due ON cases (first_response_due, resolution_due)
			WHERE first_responded_at IS NULL AND status IN ` + m8OpenStatuses,
	}
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
