package models

// queuesAtScale gives the home queues and the case page an index for each question they ask at a
// million cases (issue 25, measured with giftdesk-bench; BENCHMARKS.md section 16):
//   - an agent's open cases, newest first (the "mine" queue and its count): without it the planner
//     walked the open cases' due-date index filtering by assignee (256 ms for the count);
//   - open cases nobody holds, newest first (the "unassigned" queue): the assignee index holds the
//     closed unassigned cases too, and the planner, misjudging how many nulls there are, sorted
//     38,000 rows (237 ms);
//   - the cases naming an account as the intended one (the case page's "other cases of these
//     accounts", and the version bump when an account changes): there was no index at all, so each
//     case page read every case (200 ms).
func queuesAtScale(Dialect, string) []string {
	return []string{
		`CREATE INDEX cases_open_assignee ON cases (assignee_id, id) WHERE status IN ` + m16OpenStatuses,
		`CREATE INDEX cases_open_unassigned ON cases (id) WHERE assignee_id IS NULL AND status IN ` + m16OpenStatuses,
		`CREATE INDEX cases_intended_account ON cases (intended_account_id) WHERE intended_account_id IS NOT NULL`,
	}
}

// m16OpenStatuses are the open statuses as migration 0016 wrote them; the queues' statements name
// them in the same order (statusLiterals), which is what lets PostgreSQL match the partial indexes.
const m16OpenStatuses = `('new', 'investigating', 'waiting_on_customer', 'pending_approval')`
