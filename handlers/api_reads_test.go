package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// countingHarness is a harness whose database counts every statement it is sent.
func countingHarness(t *testing.T, db *gorm.DB) (*harness, *modelstest.StatementCounter) {
	counter := modelstest.NewStatementCounter()
	return newHarness(t, db.Session(&gorm.Session{Logger: counter})), counter
}

// statementsOf returns the answer to r and how many statements it sent.
func (h *harness) statementsOf(counter *modelstest.StatementCounter, r request) (*http.Response, int64, []byte) {
	h.t.Helper()
	before := counter.N.Load()
	w := h.do(r)
	if w.Code != http.StatusOK {
		h.t.Fatalf("%s %s: %d %s", r.method, r.path, w.Code, w.Body)
	}
	return w.Result(), counter.N.Load() - before, w.Body.Bytes()
}

// TestEvidenceReads: a case's evidence is listed page by page, and each item read alone, with its
// metadata, verification and flags; a page costs the same statements whatever it holds (issue 19).
func TestEvidenceReads(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		second := h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		reader := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		ref, other := h.newCase(agent, "r1"), h.newCase(agent, "r2")
		var uploaded []cases.EvidenceView
		for i, fields := range []map[string]string{receipt, {"kind": "card_photo"}, {"kind": "screenshot", "note": "chat"}} {
			w := h.upload(agent, ref, fields, "f.png", append(pngBytes, byte('a'+i)))
			var ev cases.EvidenceView
			if err := json.Unmarshal(w.Body.Bytes(), &ev); err != nil || w.Code != http.StatusCreated {
				t.Fatalf("upload %d: %d %s", i, w.Code, w.Body)
			}
			uploaded = append(uploaded, ev)
		}
		if w := h.do(request{method: http.MethodPost, path: "/api/v1/evidence/" + idText(uploaded[0].ID) + "/verify", token: second,
			body: strings.NewReader(`{"verdict":"verified","note":"matches the till roll"}`)}); w.Code != http.StatusOK {
			t.Fatalf("verify: %d %s", w.Code, w.Body)
		}
		// The same file on another case: both are flagged and name each other.
		if w := h.upload(agent, other, map[string]string{"kind": "card_photo"}, "f.png", append(pngBytes, 'b')); w.Code != http.StatusCreated {
			t.Fatalf("duplicate upload: %d %s", w.Code, w.Body)
		}

		// A token's first use also records it (last_used_at, once a minute): count from the second.
		h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: reader})
		_, full, body := h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/evidence", token: reader})
		var page struct {
			Data       []cases.EvidenceView `json:"data"`
			NextCursor *string              `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 3 || page.NextCursor != nil || !strings.Contains(string(body), `"data":[`) {
			t.Fatalf("evidence list: %s", body)
		}
		for i, ev := range page.Data {
			if ev.ID != uploaded[i].ID || ev.Case != ref || ev.SHA256 != uploaded[i].SHA256 || ev.Kind != uploaded[i].Kind || ev.UploadedBy != "agent@example.com" {
				t.Errorf("row %d: %+v, want %+v", i, ev, uploaded[i])
			}
		}
		if got := page.Data[0]; got.Verification != "verified" || got.VerifiedBy == nil || *got.VerifiedBy != "agent2@example.com" ||
			got.VerificationNote == nil || got.AmountMinor == nil || *got.AmountMinor != 5000 {
			t.Errorf("verified receipt: %+v", got)
		}
		if got := page.Data[1]; len(got.Flags) != 1 || got.Flags[0] != cases.FlagPossibleDuplicate || len(got.Duplicates) != 1 || got.Duplicates[0] != other {
			t.Errorf("duplicate photo: flags %v duplicates %v", got.Flags, got.Duplicates)
		}
		if got := page.Data[2]; got.Verification != "unverified" || got.VerifiedBy != nil || len(got.Flags) != 0 || len(got.Duplicates) != 0 {
			t.Errorf("plain screenshot: %+v", got)
		}
		// A page of one costs what a page of three does: no statement per row.
		_, one, _ := h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases/" + other + "/evidence", token: reader})
		if one != full {
			t.Errorf("a page of 1 evidence item took %d statements, a page of 3 took %d", one, full)
		}
		// Keyset pages.
		_, _, body = h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/evidence?limit=2", token: reader})
		page.NextCursor = nil
		if err := json.Unmarshal(body, &page); err != nil || len(page.Data) != 2 || page.NextCursor == nil {
			t.Fatalf("first page: %s", body)
		}
		_, _, body = h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/evidence?limit=2&cursor=" + *page.NextCursor, token: reader})
		page.NextCursor = nil
		if err := json.Unmarshal(body, &page); err != nil || len(page.Data) != 1 || page.Data[0].ID != uploaded[2].ID || page.NextCursor != nil {
			t.Fatalf("last page: %s", body)
		}
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/evidence?cursor=zz", token: reader}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/cases/GD-999999/evidence", token: reader}), http.StatusNotFound, cases.CodeNotFound)

		// One item: the same view as in the list.
		_, _, body = h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/evidence/" + idText(uploaded[1].ID), token: reader})
		var one1 cases.EvidenceView
		if err := json.Unmarshal(body, &one1); err != nil {
			t.Fatal(err)
		}
		if one1.ID != uploaded[1].ID || one1.Case != ref || len(one1.Duplicates) != 1 || one1.Duplicates[0] != other || one1.ContentType != "image/png" {
			t.Fatalf("evidence item: %s", body)
		}
		for _, key := range []string{"id", "sha256", "content_type", "size", "kind", "verification", "flags"} {
			if !strings.Contains(string(body), `"`+key+`"`) {
				t.Errorf("evidence JSON lacks %q", key)
			}
		}
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/evidence/999999", token: reader}), http.StatusNotFound, cases.CodeNotFound)
	})
}

// TestCaseListRowsCarryCustomerAndAssignee: each row of GET /api/v1/cases names its customer
// account and its assignee, loaded in batches: a page of many costs what a page of one does.
func TestCaseListRowsCarryCustomerAndAssignee(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead)
		var refs []string
		for i, who := range []string{"agent@example.com", "sup@example.com", "", "agent@example.com"} {
			account := []string{"ACCT-A", "ACCT-B", "ACCT-C", "ACCT-D"}[i]
			body := strings.ReplaceAll(strings.Replace(caseBody, `"81234"`, `"list-`+account+`"`, 1), "A1B2C3D4", account)
			w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: agent, body: strings.NewReader(body)})
			var v cases.CaseView
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusCreated {
				t.Fatalf("case %d: %d %s", i, w.Code, w.Body)
			}
			refs = append(refs, v.Ref)
			if who != "" {
				if w := h.do(request{method: http.MethodPatch, path: "/api/v1/cases/" + v.Ref, token: agent, body: strings.NewReader(`{"assignee":"` + who + `"}`),
					header: map[string]string{"If-Match": v.ETag()}}); w.Code != http.StatusOK {
					t.Fatalf("assign: %d %s", w.Code, w.Body)
				}
			}
		}
		type row struct {
			Ref      string            `json:"ref"`
			Customer cases.AccountView `json:"customer"`
			Assignee *string           `json:"assignee"`
		}
		var page struct{ Data []row }
		_, many, body := h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases", token: agent})
		if err := json.Unmarshal(body, &page); err != nil || len(page.Data) != 4 {
			t.Fatalf("list: %s", body)
		}
		want := map[string][2]string{refs[0]: {"ACCT-A", "agent@example.com"}, refs[1]: {"ACCT-B", "sup@example.com"}, refs[2]: {"ACCT-C", ""}, refs[3]: {"ACCT-D", "agent@example.com"}}
		for _, r := range page.Data {
			w := want[r.Ref]
			assignee := ""
			if r.Assignee != nil {
				assignee = *r.Assignee
			}
			if r.Customer.AccountID != w[0] || r.Customer.Marketplace != "US" || assignee != w[1] {
				t.Errorf("row %s: customer %+v assignee %q, want %v", r.Ref, r.Customer, assignee, w)
			}
		}
		if !strings.Contains(string(body), `"assignee":null`) {
			t.Errorf("an unassigned row must say assignee null: %s", body)
		}
		_, one, _ := h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases?limit=1", token: agent})
		if one != many {
			t.Errorf("a page of 1 case took %d statements, a page of 4 took %d", one, many)
		}
	})
}

// TestPostingsCarryCounterAccountAndCase: each posting of an account (its page and /postings)
// names the other account of its correction and the case's ref, in a fixed number of statements.
func TestPostingsCarryCounterAccountAndCase(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCorrectionsDecide)
		ref := h.newCase(agent, "p1")
		w := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: agent})
		var kase cases.CaseView
		if err := json.Unmarshal(w.Body.Bytes(), &kase); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			body := `{"kind":"transfer","amount_minor":1000,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"` +
				idText(kase.Cards[0].ID) + `","reason":"wrong account"}`
			w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: agent, body: strings.NewReader(body)})
			var c cases.CorrectionView
			if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || w.Code != http.StatusCreated {
				t.Fatalf("request: %d %s", w.Code, w.Body)
			}
			if w := h.do(request{method: http.MethodPost, path: "/api/v1/corrections/" + idText(c.ID) + "/approve", token: sup, body: strings.NewReader(`{}`)}); w.Code != http.StatusOK {
				t.Fatalf("approve: %d %s", w.Code, w.Body)
			}
		}
		type posting struct {
			CorrectionID   string `json:"correction_id"`
			AmountMinor    int64  `json:"amount_minor"`
			CounterAccount string `json:"counter_account"`
			Case           string `json:"case"`
		}
		var ledger struct{ Postings []posting }
		_, many, body := h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/accounts/Z9Y8X7W6", token: agent})
		if err := json.Unmarshal(body, &ledger); err != nil || len(ledger.Postings) != 3 {
			t.Fatalf("account: %s", body)
		}
		for _, p := range ledger.Postings {
			if p.CounterAccount != "A1B2C3D4" || p.Case != ref || p.AmountMinor != 1000 {
				t.Errorf("posting %+v, want counter-account A1B2C3D4 and case %s", p, ref)
			}
		}
		var page struct{ Data []posting }
		_, _, body = h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/accounts/A1B2C3D4/postings", token: agent})
		if err := json.Unmarshal(body, &page); err != nil || len(page.Data) != 3 || page.Data[0].CounterAccount != "Z9Y8X7W6" ||
			page.Data[0].Case != ref || page.Data[0].AmountMinor != -1000 {
			t.Fatalf("postings: %s", body)
		}
		_, one, _ := h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/accounts/Z9Y8X7W6?limit=1", token: agent})
		if one != many {
			t.Errorf("a page of 1 posting took %d statements, a page of 3 took %d", one, many)
		}
	})
}

// TestEvidenceListTakesNoUploadSlot: the list shares its path with the upload, but not the
// upload's limits: with every upload slot taken, reading a case's evidence still answers.
func TestEvidenceListTakesNoUploadSlot(t *testing.T) {
	db := modelstest.Open(t, models.SQLite)
	h := newHarness(t, db)
	agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	ref := h.newCase(agent, "slots")
	for i := 0; i < cap(h.srv.uploads); i++ {
		h.srv.uploads <- struct{}{}
	}
	done := make(chan int, 1)
	go func() {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/cases/"+ref+"/evidence", nil)
		req.Header.Set("Authorization", "Bearer "+agent)
		h.srv.ServeHTTP(w, req)
		done <- w.Code
	}()
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Fatalf("list with every upload slot taken: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the evidence list waited for an upload slot")
	}
}
