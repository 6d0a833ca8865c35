package models

// caseChanges gives every case a change sequence, the position of its latest write in the feed
// pollers read (GET /api/v1/cases?changed_after=…, issue 23). A trigger sets it on every insert
// and update, so that no write path can forget it.
//
// On PostgreSQL it is the id of the writing transaction (xid8, as a bigint): a poll exposes only
// the changes below its snapshot's xmin, whose transactions can no longer be running, so a change
// that commits late still lands above the cursor a poller resumes from (the audit sealer's idea,
// SPEC R10). A transaction id needs no shared counter: no row every write updates, no lock.
//
// On SQLite, which serialises writers, it is one more than the greatest sequence so far, read
// under the write lock the transaction already holds, so sequences grow in commit order. The
// index makes that maximum one index probe.
//
// Cases written before this migration start at 0: a poll from the beginning reads them first.
func caseChanges(d Dialect, _ string) []string {
	if d == Postgres {
		return []string{
			`ALTER TABLE cases ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0`,
			`CREATE FUNCTION giftdesk_case_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_seq := pg_current_xact_id()::text::bigint;
  RETURN NEW;
END
$$`,
			`CREATE TRIGGER cases_change_seq BEFORE INSERT OR UPDATE ON cases
			FOR EACH ROW EXECUTE FUNCTION giftdesk_case_changed()`,
			`CREATE INDEX cases_change_seq ON cases (change_seq, id)`,
		}
	}
	next := `(SELECT COALESCE(MAX(change_seq), 0) + 1 FROM cases)`
	return []string{
		`ALTER TABLE cases ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0`,
		`CREATE INDEX cases_change_seq ON cases (change_seq, id)`,
		`CREATE TRIGGER cases_change_seq_insert AFTER INSERT ON cases FOR EACH ROW
			BEGIN UPDATE cases SET change_seq = ` + next + ` WHERE id = NEW.id; END`,
		// The WHEN leaves out the trigger's own update, which moves the sequence.
		`CREATE TRIGGER cases_change_seq_update AFTER UPDATE ON cases FOR EACH ROW WHEN NEW.change_seq = OLD.change_seq
			BEGIN UPDATE cases SET change_seq = ` + next + ` WHERE id = NEW.id; END`,
	}
}
