package models

// webhookFanoutCursor replaces the webhook fan-out's time window with a cursor that a late commit
// cannot fall behind. 0012 looked for unmarked events written up to 15 minutes before the newest
// marked one, so an event whose transaction stayed open longer before committing, or whose clock
// lagged, was never delivered.
//
// The dispatcher now reads the outbox in commit-safe order from the greatest event it has fanned
// out: on PostgreSQL by (xact_id, id), below the snapshot's xmin, so every event it passes belongs
// to a transaction that has ended and any later commit lands above the cursor (the audit sealer's
// and the change feed's idea, SPEC R10); on SQLite, whose writers are serialised, by id. Each mark
// keeps its event's xact_id so that the cursor is one probe of an index.
//
// It also adds redeliver_requested: a redelivery asked for while an attempt is in flight is kept
// for after that attempt, instead of taking the lease from under it (which dropped the attempt
// from the log and let a second server send the same event at once).
//
// And retired_secrets: the secrets a second rotation within the overlap retires, each with the
// end of its overlap, so that a rotation never stops a secret the receiver may still hold before
// the 24 hours it was promised.
//
// Marks of events newer (in that order) than the oldest event not yet fanned out are deleted, so
// that the new cursor starts before it: those events are fanned out again, which creates no
// second delivery (webhook_deliveries is unique per endpoint and event).
func webhookFanoutCursor(d Dialect, _ string) []string {
	if d == Postgres {
		return []string{
			`ALTER TABLE webhook_fanouts ADD COLUMN outbox_xact_id BIGINT NOT NULL DEFAULT 0`,
			`UPDATE webhook_fanouts f SET outbox_xact_id = o.xact_id FROM outbox o WHERE o.id = f.outbox_id`,
			`DELETE FROM webhook_fanouts f WHERE (f.outbox_xact_id, f.outbox_id) > (
				SELECT o.xact_id, o.id FROM outbox o
				WHERE NOT EXISTS (SELECT 1 FROM webhook_fanouts m WHERE m.outbox_id = o.id)
				ORDER BY o.xact_id, o.id LIMIT 1)`,
			`DROP INDEX webhook_fanouts_created`,
			`CREATE INDEX webhook_fanouts_cursor ON webhook_fanouts (outbox_xact_id, outbox_id)`,
			`DROP INDEX outbox_created`,
			`CREATE INDEX outbox_xact ON outbox (xact_id, id)`,
			`ALTER TABLE webhook_deliveries ADD COLUMN redeliver_requested BOOLEAN NOT NULL DEFAULT FALSE`,
			`ALTER TABLE webhook_endpoints ADD COLUMN retired_secrets JSONB NOT NULL DEFAULT '[]'`,
		}
	}
	return []string{
		`ALTER TABLE webhook_fanouts ADD COLUMN outbox_xact_id BIGINT NOT NULL DEFAULT 0`,
		`DELETE FROM webhook_fanouts WHERE outbox_id > (
			SELECT MIN(o.id) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM webhook_fanouts m WHERE m.outbox_id = o.id))`,
		`DROP INDEX webhook_fanouts_created`,
		`DROP INDEX outbox_created`,
		`ALTER TABLE webhook_deliveries ADD COLUMN redeliver_requested BOOLEAN NOT NULL DEFAULT FALSE`,
		`ALTER TABLE webhook_endpoints ADD COLUMN retired_secrets TEXT NOT NULL DEFAULT '[]'`,
	}
}
