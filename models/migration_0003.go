package models

// idempotency stores API answers by Idempotency-Key, per caller, for 24 hours (SPEC 4.2), in the
// database so that every server replays the same answer.
func idempotency(d Dialect, _ string) []string {
	stmts := []string{
		`CREATE TABLE idempotency_keys (
			owner TEXT NOT NULL CHECK (length(owner) BETWEEN 1 AND 64),
			key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
			request_hash {bytes} NOT NULL CHECK (length(request_hash) = 32),
			state TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
			status_code INTEGER,
			response_headers {json},
			response_body {bytes},
			created_at {time} NOT NULL,
			completed_at {time},
			PRIMARY KEY (owner, key),
			CONSTRAINT idempotency_done_has_answer CHECK (state <> 'done' OR status_code IS NOT NULL)
		)`,
		`CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`,
	}
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
