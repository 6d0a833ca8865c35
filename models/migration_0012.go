package models

// webhookDispatch adds what the webhook dispatcher (issue 23) needs beyond 0001's tables:
//   - webhook_fanouts marks each outbox event once it has been turned into one delivery per
//     matching endpoint, so that an event committed late (transactions commit out of order) is
//     still found: the dispatcher looks for unmarked events, not for ids above a cursor;
//   - a lease on each delivery (lease_owner, lease_until), so that several servers sharing one
//     PostgreSQL never send the same attempt at once, and a server that dies mid-attempt only
//     delays the delivery until its lease runs out;
//   - the previous secret of a rotated endpoint and when it stops being used to sign;
//   - the last error of a delivery and the attempt's number, for the delivery log.
func webhookDispatch(d Dialect, _ string) []string {
	stmts := []string{
		`CREATE TABLE webhook_fanouts (
			outbox_id BIGINT PRIMARY KEY REFERENCES outbox(id),
			outbox_created_at {time} NOT NULL,
			fanned_at {time} NOT NULL
		)`,
		`CREATE INDEX webhook_fanouts_created ON webhook_fanouts (outbox_created_at)`,
		`CREATE INDEX outbox_created ON outbox (created_at, id)`,
		`ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_ciphertext {bytes}`,
		`ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_until {time}`,
		`ALTER TABLE webhook_deliveries ADD COLUMN lease_owner TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE webhook_deliveries ADD COLUMN lease_until {time}`,
		`ALTER TABLE webhook_deliveries ADD COLUMN last_error TEXT NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000)`,
		`ALTER TABLE webhook_attempts ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1`,
		`CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id)`,
	}
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
