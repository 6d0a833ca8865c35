package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
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
		// A request refused by validation changed nothing and does not consume its key (SPEC 4.2):
		// the corrected body runs under it, and is then replayed.
		if w := post(tok, "key-2", `{"type":"nonsense"}`); w.code != http.StatusUnprocessableEntity || w.replayed != "" {
			t.Fatalf("refusal: %d replayed=%q", w.code, w.replayed)
		}
		if w := post(tok, "key-2", `{"type":"nonsense"}`); w.code != http.StatusUnprocessableEntity || w.replayed != "" {
			t.Fatalf("refusal sent again: %d replayed=%q", w.code, w.replayed)
		}
		corrected := post(tok, "key-2", noExternal)
		if corrected.code != http.StatusCreated || corrected.replayed != "" {
			t.Fatalf("corrected body under the refused key: %d replayed=%q %s", corrected.code, corrected.replayed, corrected.body)
		}
		if w := post(tok, "key-2", noExternal); w.code != http.StatusCreated || w.replayed != "true" || w.body != corrected.body {
			t.Fatalf("corrected body replayed: %d replayed=%q", w.code, w.replayed)
		}
		if w := post(tok, "bad key with spaces", noExternal); w.code != http.StatusUnprocessableEntity {
			t.Fatalf("malformed key: %d", w.code)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM cases`); n != 3 {
			t.Fatalf("%d cases, want 3 (one per token and key)", n)
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
					if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
						t.Errorf("201 answer: %v: %s", err, w.Body)
					}
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
		if n := modelstest.Count(t, db, `SELECT count(*) FROM cases`); n != 1 || len(refs) != 1 {
			t.Fatalf("%d cases and refs %v from one key; %d answered in progress", n, refs, inProgress)
		}
	})
}

// TestKeyOfARequestCutOffByAnOutageIsNotStuck cuts the database in the middle of a request sent
// under a key (as a restart does): it answers 503, and once the database is back the same request
// under the same key runs, instead of answering 409 for a day (issue 19).
func TestKeyOfARequestCutOffByAnOutageIsNotStuck(t *testing.T) {
	proxy, url := modelstest.NewProxy(t, modelstest.URL(t, models.Postgres))
	db, err := models.Open(context.Background(), models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	h := newHarness(t, db)
	tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	// The database goes away as the case row is written: after anything the request did first.
	var cut atomic.Bool
	if err := db.Callback().Create().Before("gorm:create").Register("test:cut", func(tx *gorm.DB) {
		if tx.Statement.Table == "cases" && cut.CompareAndSwap(false, true) {
			proxy.Cut()
		}
	}); err != nil {
		t.Fatal(err)
	}
	post := func() *httptest.ResponseRecorder {
		return h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: tok, body: strings.NewReader(noExternal),
			header: map[string]string{"Idempotency-Key": "outage-1"}})
	}
	expectProblem(t, post(), http.StatusServiceUnavailable, cases.CodeUnavailable)
	proxy.Resume()
	var w *httptest.ResponseRecorder
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if w = post(); w.Code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
	}
	if w.Code != http.StatusCreated || w.Header().Get("Idempotency-Replayed") != "" {
		t.Fatalf("the retry after the outage: %d replayed=%q %s", w.Code, w.Header().Get("Idempotency-Replayed"), w.Body)
	}
	again := post()
	if again.Code != http.StatusCreated || again.Header().Get("Idempotency-Replayed") != "true" || again.Body.String() != w.Body.String() {
		t.Fatalf("the retry of the committed request: %d replayed=%q", again.Code, again.Header().Get("Idempotency-Replayed"))
	}
	if n := modelstest.Count(t, h.db, `SELECT count(*) FROM cases`); n != 1 {
		t.Fatalf("%d cases from one key", n)
	}
}

// TestEveryPostReplaysItsAnswer sends each API POST that changes something twice under one key:
// the second answer is the first, byte for byte, and nothing is written twice.
func TestEveryPostReplaysItsAnswer(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsDecide)
		twice := func(token, path, body string, want int) string {
			t.Helper()
			var first *httptest.ResponseRecorder
			for i := 0; i < 2; i++ {
				w := h.do(request{method: http.MethodPost, path: path, token: token, body: strings.NewReader(body),
					header: map[string]string{"Idempotency-Key": "k-" + path}})
				if w.Code != want {
					t.Fatalf("%s (%d): %d %s", path, i, w.Code, w.Body)
				}
				if i == 0 {
					first = w
					continue
				}
				if w.Header().Get("Idempotency-Replayed") != "true" || w.Body.String() != first.Body.String() ||
					w.Header().Get("ETag") != first.Header().Get("ETag") {
					t.Fatalf("%s: not replayed as first answered: %q\n%s\n%s", path, w.Header().Get("Idempotency-Replayed"), first.Body, w.Body)
				}
			}
			return first.Body.String()
		}
		var created struct {
			Ref   string
			Cards []struct{ ID string }
		}
		if err := json.Unmarshal([]byte(twice(agent, "/api/v1/cases", noExternal, http.StatusCreated)), &created); err != nil {
			t.Fatal(err)
		}
		ref := created.Ref
		twice(agent, "/api/v1/cases/"+ref+"/cards", `{"serial":"5555000011112222","face_value_minor":2500,"currency":"USD","marketplace":"US"}`, http.StatusCreated)
		twice(agent, "/api/v1/cases/"+ref+"/communications", `{"channel":"phone","direction":"inbound","body":"called about the card"}`, http.StatusCreated)
		correction := func(amount int) string {
			var c struct{ ID string }
			body := fmt.Sprintf(`{"kind":"transfer","amount_minor":%d,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"%s","reason":"wrong account"}`,
				amount, created.Cards[0].ID)
			w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: agent, body: strings.NewReader(body),
				header: map[string]string{"Idempotency-Key": fmt.Sprintf("corr-%d", amount)}})
			if w.Code != http.StatusCreated {
				t.Fatalf("correction: %d %s", w.Code, w.Body)
			}
			if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		twice(sup, fmt.Sprintf("/api/v1/corrections/%s/approve", correction(100)), `{"note":"receipt checked"}`, http.StatusOK)
		twice(sup, fmt.Sprintf("/api/v1/corrections/%s/deny", correction(200)), `{"reason":"not the customer's card"}`, http.StatusOK)
		twice(agent, fmt.Sprintf("/api/v1/corrections/%s/cancel", correction(300)), `{}`, http.StatusOK)
		if n := modelstest.Count(t, db, `SELECT count(*) FROM cases`); n != 1 {
			t.Fatalf("%d cases", n)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM postings`); n != 2 {
			t.Fatalf("%d postings after one approval sent twice", n)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM communications`); n != 1 {
			t.Fatalf("%d communications", n)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action IN ('correction.approved', 'correction.applied', 'correction.denied', 'correction.cancelled')`); n != 3 {
			t.Fatalf("%d decision events for three decisions", n)
		}
	})
}

// TestKeyLeftInProgressByAnOlderVersion: a key an earlier version left in progress (its request
// died before the answer was kept) cannot tell whether its request committed: it answers 409,
// never an empty 200 replay (review of issue 19).
func TestKeyLeftInProgressByAnOlderVersion(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		p, err := h.desk.AuthenticateToken(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		hash := h.desk.RequestHash(http.MethodPost, "/api/v1/cases", []byte(noExternal))
		if err := db.Exec(`INSERT INTO idempotency_keys (owner, key, request_hash, state, created_at) VALUES (?, 'legacy', ?, 'in_progress', ?)`,
			cases.IdempotencyOwner(p), hash, models.Now()).Error; err != nil {
			t.Fatal(err)
		}
		w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: tok, body: strings.NewReader(noExternal),
			header: map[string]string{"Idempotency-Key": "legacy"}})
		expectProblem(t, w, http.StatusConflict, cases.CodeIdempotencyInProgress)
		if n := modelstest.Count(t, db, `SELECT count(*) FROM cases`); n != 0 {
			t.Fatalf("%d cases", n)
		}
	})
}
