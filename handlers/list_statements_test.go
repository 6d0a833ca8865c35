package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/webhooks"
	"giftdesk/models/modelstest"
)

// TestEveryListCostsTheSameStatementsWhateverItsPage reads every list route with a page of one
// row and a page of six, and fails when the larger page sends more statements: a list loads its
// rows' details in batches, never with a query per row (issue 20). Every GET route of the table
// whose answer is a page must be listed here, so that a new list cannot skip the check.
func TestEveryListCostsTheSameStatementsWhateverItsPage(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
		second := h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCorrectionsDecide)
		admin := h.token("admin@example.com", cases.RoleAdmin, cases.ScopeAdmin, cases.ScopeCasesRead)
		const rows = 6
		var hooks []string
		for i := 0; i < rows; i++ { // before the events, so that they fan out to them
			w := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: admin,
				body: strings.NewReader(fmt.Sprintf(`{"url":"https://93.184.216.34/hook%d"}`, i))})
			var v struct{ ID string }
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusCreated {
				t.Fatalf("webhook: %d %s", w.Code, w.Body)
			}
			hooks = append(hooks, v.ID)
		}
		var refs []string
		for i := 0; i < rows; i++ {
			refs = append(refs, h.newCase(agent, fmt.Sprintf("list-%d", i)))
		}
		ref := refs[0]
		var kase struct {
			Cards []struct{ ID string }
		}
		get := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: agent})
		if err := json.Unmarshal(get.Body.Bytes(), &kase); err != nil || len(kase.Cards) == 0 {
			t.Fatalf("case: %v %s", err, get.Body)
		}
		post := func(token, path, body string) string {
			t.Helper()
			w := h.do(request{method: http.MethodPost, path: path, token: token, body: strings.NewReader(body)})
			var v struct{ ID string }
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusCreated {
				t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
			}
			return v.ID
		}
		for i := 0; i < rows; i++ {
			post(agent, "/api/v1/cases/"+ref+"/communications", fmt.Sprintf(`{"channel":"phone","direction":"outbound","body":"call %d"}`, i))
			ev := h.upload(agent, ref, map[string]string{"kind": "card_photo"}, "c.png", append(pngBytes, byte('a'+i)))
			var e struct{ ID string }
			if err := json.Unmarshal(ev.Body.Bytes(), &e); err != nil || ev.Code != http.StatusCreated {
				t.Fatalf("upload: %d %s", ev.Code, ev.Body)
			}
			if w := h.do(request{method: http.MethodPost, path: "/api/v1/evidence/" + e.ID + "/verify", token: second,
				body: strings.NewReader(`{"verdict":"verified","note":"clear photo"}`)}); w.Code != http.StatusOK {
				t.Fatalf("verify: %d %s", w.Code, w.Body)
			}
			id := post(agent, "/api/v1/cases/"+ref+"/corrections", fmt.Sprintf(
				`{"kind":"transfer","amount_minor":%d,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"%s","reason":"wrong account"}`,
				100+i, kase.Cards[0].ID))
			if w := h.do(request{method: http.MethodPost, path: "/api/v1/corrections/" + id + "/approve", token: sup,
				body: strings.NewReader(`{"note":"checked"}`)}); w.Code != http.StatusOK {
				t.Fatalf("approve: %d %s", w.Code, w.Body)
			}
		}
		for i := 0; i < rows; i++ { // the approval queue's rows
			post(agent, "/api/v1/cases/"+refs[i]+"/corrections", fmt.Sprintf(
				`{"kind":"transfer","amount_minor":%d,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"%s","reason":"wrong account"}`,
				10+i, kase.Cards[0].ID))
		}
		if err := webhooks.New(webhooks.Config{Desk: h.desk}).NewDispatcher(webhooks.DispatcherConfig{}).FanOut(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Console pages, read with a session: their next link is rel="next".
		cookies := map[string]string{"/approvals": h.session("sup@example.com", cases.RoleSupervisor)}
		lists := map[string]struct {
			token, path string
		}{
			"/api/v1/cases":                     {agent, "/api/v1/cases"},
			"/api/v1/cases (change feed)":       {agent, "/api/v1/cases?changed_after=0"},
			"/api/v1/cases/:ref/communications": {agent, "/api/v1/cases/" + ref + "/communications"},
			"/api/v1/cases/:ref/evidence":       {agent, "/api/v1/cases/" + ref + "/evidence"},
			"/api/v1/cases/:ref/timeline":       {agent, "/api/v1/cases/" + ref + "/timeline"},
			"/api/v1/corrections":               {agent, "/api/v1/corrections"},
			"/api/v1/accounts/:id":              {agent, "/api/v1/accounts/A1B2C3D4"},
			"/api/v1/accounts/:id/postings":     {agent, "/api/v1/accounts/A1B2C3D4/postings"},
			"/api/v1/audit":                     {admin, "/api/v1/audit"},
			"/api/v1/webhooks":                  {admin, "/api/v1/webhooks"},
			"/api/v1/webhooks/:id/deliveries":   {admin, "/api/v1/webhooks/" + hooks[0] + "/deliveries"},
			"/approvals":                        {"", "/approvals"},
		}
		h.feedSettled(agent, rows)
		for route, l := range lists {
			cookie := cookies[route]
			sep := "?"
			if strings.Contains(l.path, "?") {
				sep = "&"
			}
			_, one, body := h.statementsOf(counter, request{method: http.MethodGet, path: l.path + sep + "limit=1", token: l.token, cookie: cookie})
			_, six, _ := h.statementsOf(counter, request{method: http.MethodGet, path: l.path + sep + "limit=6", token: l.token, cookie: cookie})
			if six != one {
				t.Errorf("%s: a page of one row took %d statements, a page of six %d", route, one, six)
			}
			if !strings.Contains(string(body), `"next_cursor"`) && (cookie == "" || !strings.Contains(string(body), `rel="next"`)) {
				t.Errorf("%s: the page of one row has no next cursor: %s", route, body)
			}
		}
		// The console's lists, read with a session: the same count for one row as for six.
		agentCookie, adminCookie := h.session("agent@example.com", cases.RoleAgent), h.session("admin@example.com", cases.RoleAdmin)
		pages := map[string]struct{ cookie, path string }{
			"/accounts/:id": {agentCookie, "/accounts/A1B2C3D4"},
			"/audit":        {adminCookie, "/audit"},
		}
		for route, l := range pages {
			_, one, body := h.statementsOf(counter, request{method: http.MethodGet, path: l.path + "?limit=1", cookie: l.cookie})
			_, six, _ := h.statementsOf(counter, request{method: http.MethodGet, path: l.path + "?limit=6", cookie: l.cookie})
			if six != one {
				t.Errorf("%s: a page of one row took %d statements, a page of six %d", route, one, six)
			}
			if !strings.Contains(string(body), `rel="next"`) {
				t.Errorf("%s: the page of one row has no link to the next", route)
			}
		}
		// Every GET route whose answer is a page is in the table above.
		for _, rt := range h.srv.routes() {
			if rt.method != http.MethodGet || !strings.HasPrefix(rt.path, "/api/") {
				continue
			}
			if _, listed := lists[rt.path]; listed {
				continue
			}
			path := strings.NewReplacer(":ref", ref, ":id", "1").Replace(rt.path)
			w := h.do(request{method: http.MethodGet, path: path, token: admin})
			var page map[string]json.RawMessage
			if json.Unmarshal(w.Body.Bytes(), &page) == nil && page["data"] != nil {
				t.Errorf("%s answers a page but is not checked here", rt.path)
			}
		}
		// Console lists: a keyset page of one row and of six (the admin's token list), and the
		// users page before and after six more users.
		for i := 0; i < rows; i++ {
			h.token("admin@example.com", cases.RoleAdmin, cases.ScopeCasesRead)
		}
		_, one, _ := h.statementsOf(counter, request{method: http.MethodGet, path: "/admin/tokens?limit=1", cookie: adminCookie})
		_, six, body := h.statementsOf(counter, request{method: http.MethodGet, path: "/admin/tokens?limit=6", cookie: adminCookie})
		if six != one || !strings.Contains(string(body), `rel="next"`) {
			t.Errorf("/admin/tokens: a page of one token took %d statements, a page of six %d (next link: %t)", one, six, strings.Contains(string(body), `rel="next"`))
		}
		_, before, _ := h.statementsOf(counter, request{method: http.MethodGet, path: "/admin/users", cookie: adminCookie})
		for i := 0; i < rows; i++ {
			h.token(fmt.Sprintf("more-%d@example.com", i), cases.RoleAgent, cases.ScopeCasesRead)
		}
		if _, after, _ := h.statementsOf(counter, request{method: http.MethodGet, path: "/admin/users", cookie: adminCookie}); after != before {
			t.Errorf("/admin/users: %d statements, %d after six more users", before, after)
		}
	})
}
