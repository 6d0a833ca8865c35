package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

func TestCorrectionAPI(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCorrectionsDecide)
		ref := h.newCase(agent, "c1")
		var got map[string]any
		mustUnmarshal(t, h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: agent}).Body.Bytes(), &got)
		cardID := got["cards"].([]any)[0].(map[string]any)["id"].(string)
		body := `{"kind":"transfer","amount_minor":5000,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"` + cardID + `","reason":"wrong account"}`
		w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: agent, body: strings.NewReader(body),
			header: map[string]string{"Idempotency-Key": "corr-1"}})
		if w.Code != http.StatusCreated {
			t.Fatalf("request: %d %s", w.Code, w.Body)
		}
		var c cases.CorrectionView
		mustUnmarshal(t, w.Body.Bytes(), &c)
		for _, key := range []string{"id", "case", "kind", "status", "amount_minor", "currency", "from_account", "to_account", "card_id",
			"reason", "required_approvals", "approvals", "requested_by", "denial_reason", "reverses", "reversed_by", "created_at", "decided_at"} {
			if !strings.Contains(w.Body.String(), `"`+key+`"`) {
				t.Errorf("correction JSON lacks %q", key)
			}
		}
		// The same key replays the answer: no second request.
		again := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: agent, body: strings.NewReader(body),
			header: map[string]string{"Idempotency-Key": "corr-1"}})
		if again.Code != http.StatusCreated || again.Body.String() != w.Body.String() {
			t.Fatalf("replay: %d", again.Code)
		}
		id := idText(c.ID)
		expectProblem(t, h.do(request{method: http.MethodPost, path: "/api/v1/corrections/" + id + "/approve", token: agent, body: strings.NewReader(`{}`)}),
			http.StatusForbidden, cases.CodeScopeRequired)
		expectProblem(t, h.do(request{method: http.MethodPost, path: "/api/v1/corrections/" + id + "/deny", token: sup, body: strings.NewReader(`{}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		ok := h.do(request{method: http.MethodPost, path: "/api/v1/corrections/" + id + "/approve", token: sup, body: strings.NewReader(`{"note":"checked"}`)})
		if ok.Code != http.StatusOK || !strings.Contains(ok.Body.String(), `"status":"applied"`) {
			t.Fatalf("approve: %d %s", ok.Code, ok.Body)
		}
		acct := h.do(request{method: http.MethodGet, path: "/api/v1/accounts/Z9Y8X7W6", token: agent})
		if acct.Code != http.StatusOK || !strings.Contains(acct.Body.String(), `"balances":{"USD":5000}`) {
			t.Fatalf("account: %d %s", acct.Code, acct.Body)
		}
		queue := h.do(request{method: http.MethodGet, path: "/api/v1/corrections?status=applied&case=" + ref, token: agent})
		if queue.Code != http.StatusOK || !strings.Contains(queue.Body.String(), id) {
			t.Fatalf("list: %d %s", queue.Code, queue.Body)
		}
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/accounts/NOBODY", token: agent}), http.StatusNotFound, cases.CodeNotFound)
	})
}

// TestRepeatApprovalAnswers409: the same supervisor approving a dual-approval correction again
// answers 409 already_approved, naming that another supervisor is needed, and writes nothing.
func TestRepeatApprovalAnswers409(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCorrectionsDecide)
		body := strings.Replace(strings.Replace(caseBody, `"face_value_minor": 5000`, `"face_value_minor": 90000`, 1), `"81234"`, `"dual-1"`, 1)
		w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: agent, body: strings.NewReader(body)})
		var kase cases.CaseView
		if err := json.Unmarshal(w.Body.Bytes(), &kase); err != nil || w.Code != http.StatusCreated {
			t.Fatalf("case: %d %s", w.Code, w.Body)
		}
		req := `{"kind":"transfer","amount_minor":60000,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"` +
			idText(kase.Cards[0].ID) + `","reason":"wrong account"}`
		w = h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + kase.Ref + "/corrections", token: agent, body: strings.NewReader(req)})
		var c cases.CorrectionView
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || w.Code != http.StatusCreated || c.RequiredApprovals != 2 {
			t.Fatalf("request: %d %s", w.Code, w.Body)
		}
		approve := func() *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPost, path: "/api/v1/corrections/" + idText(c.ID) + "/approve", token: sup, body: strings.NewReader(`{"note":"ok"}`)})
		}
		if w := approve(); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"pending"`) {
			t.Fatalf("first approval: %d %s", w.Code, w.Body)
		}
		var approvals, events int64
		count := func() (int64, int64) {
			var a, e int64
			if err := db.Raw(`SELECT count(*) FROM correction_approvals`).Scan(&a).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Raw(`SELECT count(*) FROM audit_events`).Scan(&e).Error; err != nil {
				t.Fatal(err)
			}
			return a, e
		}
		approvals, events = count()
		p := expectProblem(t, approve(), http.StatusConflict, cases.CodeAlreadyApproved)
		if !strings.Contains(p.Detail, "another supervisor") {
			t.Fatalf("detail %q does not say another supervisor is needed", p.Detail)
		}
		if a, e := count(); a != approvals || e != events {
			t.Fatalf("the repeat wrote %d approvals and %d audit events", a-approvals, e-events)
		}
	})
}

// TestDecisionsWithoutABody: an approval needs no note, so no body at all is an empty one; a
// denial without a body is told it needs a reason (newcomer review of issue 19).
func TestDecisionsWithoutABody(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newJSONFixture(t, db)
		w := f.h.do(request{method: http.MethodPost, path: "/api/v1/corrections/" + f.approveID + "/approve", token: f.sup})
		if w.Code != http.StatusOK {
			t.Fatalf("approve without a body: %d %s", w.Code, w.Body)
		}
		deny := f.route(t, "deny correction")
		p := expectProblem(t, f.h.do(request{method: http.MethodPost, path: deny.path, token: f.sup}), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		if len(p.Errors) != 1 || p.Errors[0].Field != "reason" {
			t.Fatalf("deny without a body: %+v", p)
		}
	})
}
