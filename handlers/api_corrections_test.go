package handlers

import (
	"encoding/json"
	"net/http"
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
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCorrectionsDeny)
		ref := h.newCase(agent, "c1")
		var got map[string]any
		_ = json.Unmarshal(h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: agent}).Body.Bytes(), &got)
		cardID := got["cards"].([]any)[0].(map[string]any)["id"].(string)
		body := `{"kind":"transfer","amount_minor":5000,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"` + cardID + `","reason":"wrong account"}`
		w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: agent, body: strings.NewReader(body),
			header: map[string]string{"Idempotency-Key": "corr-1"}})
		if w.Code != http.StatusCreated {
			t.Fatalf("request: %d %s", w.Code, w.Body)
		}
		var c cases.CorrectionView
		_ = json.Unmarshal(w.Body.Bytes(), &c)
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
