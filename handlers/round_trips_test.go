package handlers

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestAPIRoundTripsPerWrite pins the statements of a case creation and an approval through the
// API, token authentication and Idempotency-Key included (issue 25: 24 and 34 on PostgreSQL before), so that a
// change adding a round trip fails here; the answer built from what the creation wrote is the
// case a GET reads, and a replay sends the same bytes for two statements.
func TestAPIRoundTripsPerWrite(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCorrectionsDecide)
		// The key's advisory lock is PostgreSQL's; SQLite's immediate transaction already
		// serialises writers.
		lock := int64(0)
		if models.DialectOf(db) == models.Postgres {
			lock = 1
		}
		post := func(path, token, key string, body []byte, want int) ([]byte, int64) {
			t.Helper()
			before := counter.N.Load()
			w := h.do(request{method: http.MethodPost, path: path, token: token, body: bytes.NewReader(body),
				header: map[string]string{"Idempotency-Key": key}})
			if w.Code != want {
				t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
			}
			return w.Body.Bytes(), counter.N.Load() - before
		}
		h.newCase(agent, "warm-up") // the token's first use writes last_used_at
		// Authentication, the key's fast look-up, its lock and look-up in the transaction, the
		// creation (11, see cases.TestRoundTripsPerWrite) and the key with its answer.
		created, n := post("/api/v1/cases", agent, "create-1", benchCaseBody(1), http.StatusCreated)
		if want := 15 + lock; n != want {
			t.Errorf("POST /api/v1/cases sent %d statements, want %d", n, want)
		}
		var v cases.CaseView
		mustUnmarshal(t, created, &v)
		_, n, read := h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases/" + v.Ref, token: agent})
		if string(read) != string(created) {
			t.Fatalf("the creation answered\n%s\na GET reads\n%s", created, read)
		}
		if n == 0 {
			t.Fatal("no statement counted for the GET")
		}
		replayed, n := post("/api/v1/cases", agent, "create-1", benchCaseBody(1), http.StatusCreated)
		if string(replayed) != string(created) || n != 2 {
			t.Fatalf("replay: %d statements, same answer %v", n, string(replayed) == string(created))
		}

		body := `{"kind":"transfer","amount_minor":1000,"currency":"USD","from_account":"CUST001","to_account":"HOME001","card_id":"` +
			idText(v.Cards[0].ID) + `","reason":"wrong account"}`
		answer, _ := post("/api/v1/cases/"+v.Ref+"/corrections", agent, "corr-1", []byte(body), http.StatusCreated)
		var c cases.CorrectionView
		mustUnmarshal(t, answer, &c)
		h.do(request{method: http.MethodGet, path: "/api/v1/cases", token: sup}) // the token's first use
		// Authentication, the key's three statements and its answer, the approval (22, see
		// cases.TestRoundTripsPerWrite).
		approved, n := post("/api/v1/corrections/"+idText(c.ID)+"/approve", sup, "approve-1", []byte(`{}`), http.StatusOK)
		if want := 26 + lock; n != want {
			t.Errorf("POST approve sent %d statements, want %d", n, want)
		}
		_, _, read = h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/corrections/" + idText(c.ID), token: sup})
		if string(read) != string(approved) || !strings.Contains(string(approved), `"status":"applied"`) {
			t.Fatalf("the approval answered\n%s\na GET reads\n%s", approved, read)
		}
	})
}
