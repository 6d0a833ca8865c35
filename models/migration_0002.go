package models

// identity adds console sessions and login throttling, both in the database so that several
// servers share them (SPEC §5), and the index the audit sealer walks.
func identity(d Dialect, _ string) []string {
	stmts := []string{
		// The id is a keyed hash of the cookie's secret: a copy of this table signs nobody in.
		`CREATE TABLE sessions (
			id_hash {bytes} PRIMARY KEY CHECK (length(id_hash) = 32),
			user_id BIGINT NOT NULL REFERENCES users(id),
			created_at {time} NOT NULL,
			last_seen_at {time} NOT NULL,
			client_ip TEXT NOT NULL DEFAULT '' CHECK (length(client_ip) <= 64),
			user_agent TEXT NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512)
		)`,
		`CREATE INDEX sessions_user ON sessions (user_id)`,
		`CREATE INDEX sessions_last_seen ON sessions (last_seen_at)`,

		// One row per failed sign-in; counting rows in a window needs no shared counter row.
		`CREATE TABLE login_failures (
			id {pk},
			email TEXT NOT NULL CHECK (length(email) <= 254),
			client_ip TEXT NOT NULL CHECK (length(client_ip) <= 64),
			failed_at {time} NOT NULL
		)`,
		`CREATE INDEX login_failures_email ON login_failures (email, failed_at)`,
		`CREATE INDEX login_failures_ip ON login_failures (client_ip, failed_at)`,
	}
	if d == Postgres {
		// The sealer reads events by inserting transaction (R10).
		stmts = append(stmts, `CREATE INDEX audit_events_xact ON audit_events (xact_id, id)`)
	}
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
