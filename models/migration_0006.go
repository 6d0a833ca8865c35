package models

// idempotencyAnswersOnly forgets the refusals that versions before issue 19 kept under an
// Idempotency-Key. A refusal (4xx) changed nothing, and SPEC 4.2 now lets a refused request be
// sent again, corrected, under its key. Keys left in progress by a request those versions lost
// stay: nobody can tell whether it committed, so they keep answering 409 until they expire.
func idempotencyAnswersOnly(_ Dialect, _ string) []string {
	return []string{`DELETE FROM idempotency_keys WHERE state = 'done' AND status_code >= 400`}
}
