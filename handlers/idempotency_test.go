package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// noExternal is a case body without an external reference, so that only the key can prevent a
// second case.
var noExternal = strings.Replace(caseBody, `"external": {"system": "zendesk", "id": "81234", "url": "https://example.zendesk.com/agent/tickets/81234"},`, "", 1)

func TestIdempotencyKey(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		post := func(token, key, body string) *httptestResponse {
			w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: token, body: strings.NewReader(body),
				header: map[string]string{"Idempotency-Key": key}})
			return &httptestResponse{w.Code, w.Body.String(), w.Header().Get("Idempotency-Replayed"), w.Header().Get("ETag")}
		}
		first := post(tok, "key-1", noExternal)
		again := post(tok, "key-1", noExternal)
		if first.code != http.StatusCreated || again.code != http.StatusCreated || again.body != first.body || again.replayed != "true" || again.etag != first.etag {
			t.Fatalf("replay: %d/%d replayed=%q same body=%v", first.code, again.code, again.replayed, again.body == first.body)
		}
		changed := strings.Replace(noExternal, "Redeemed on work account", "Another summary", 1)
		if w := post(tok, "key-1", changed); w.code != http.StatusUnprocessableEntity || !strings.Contains(w.body, cases.CodeIdempotencyMismatch) {
			t.Fatalf("another body under the key: %d %s", w.code, w.body)
		}
		other := h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		if w := post(other, "key-1", noExternal); w.code != http.StatusCreated || w.replayed != "" {
			t.Fatalf("keys are per token: %d replayed=%q", w.code, w.replayed)
		}
		// A refusal is replayed too; a malformed key is refused.
		bad := post(tok, "key-2", `{"type":"nonsense"}`)
		if w := post(tok, "key-2", `{"type":"nonsense"}`); w.code != http.StatusUnprocessableEntity || w.replayed != "true" || w.body != bad.body {
			t.Fatalf("replayed refusal: %d %q", w.code, w.replayed)
		}
		if w := post(tok, "bad key with spaces", noExternal); w.code != http.StatusUnprocessableEntity {
			t.Fatalf("malformed key: %d", w.code)
		}
		var n int64
		db.Raw(`SELECT count(*) FROM cases`).Scan(&n)
		if n != 2 {
			t.Fatalf("%d cases, want 2 (one per token)", n)
		}
	})
}

type httptestResponse struct {
	code           int
	body, replayed string
	etag           string
}

// TestConcurrentIdempotentRequests: 50 requests with one key at once make one case; each answer
// is that case (first or replayed) or 409 idempotency_in_progress.
func TestConcurrentIdempotentRequests(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		var wg sync.WaitGroup
		var mu sync.Mutex
		refs := map[string]bool{}
		inProgress := 0
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: tok, body: strings.NewReader(noExternal),
					header: map[string]string{"Idempotency-Key": "same-key"}})
				mu.Lock()
				defer mu.Unlock()
				switch w.Code {
				case http.StatusCreated:
					var v struct{ Ref string }
					_ = json.Unmarshal(w.Body.Bytes(), &v)
					refs[v.Ref] = true
				case http.StatusConflict:
					if !strings.Contains(w.Body.String(), cases.CodeIdempotencyInProgress) {
						t.Errorf("409 without its code: %s", w.Body)
					}
					inProgress++
				default:
					t.Errorf("answer %d %s", w.Code, w.Body)
				}
			}()
		}
		wg.Wait()
		var n int64
		db.Raw(`SELECT count(*) FROM cases`).Scan(&n)
		if n != 1 || len(refs) != 1 {
			t.Fatalf("%d cases and refs %v from one key; %d answered in progress", n, refs, inProgress)
		}
	})
}
