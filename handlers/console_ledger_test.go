package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// ledgerFixture is a case with n applied transfers of 1.00, 2.00, … USD from A1B2C3D4 to Z9Y8X7W6.
type ledgerFixture struct {
	ref   string
	fixes []string // correction ids, oldest first
}

func seedLedger(t *testing.T, h *harness, n int) ledgerFixture {
	t.Helper()
	agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
	sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCorrectionsDecide)
	ref := h.newCase(agent, "ledger-"+t.Name())
	var kase cases.CaseView
	mustUnmarshal(t, h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: agent}).Body.Bytes(), &kase)
	f := ledgerFixture{ref: ref}
	for i := 1; i <= n; i++ {
		w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: agent, body: strings.NewReader(fmt.Sprintf(
			`{"kind":"transfer","amount_minor":%d,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"%d","reason":"wrong account"}`,
			i*100, kase.Cards[0].ID))})
		var v struct{ ID string }
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusCreated {
			t.Fatalf("request: %d %s", w.Code, w.Body)
		}
		if w := h.do(request{method: http.MethodPost, path: "/api/v1/corrections/" + v.ID + "/approve", token: sup,
			body: strings.NewReader(`{"note":"checked"}`)}); w.Code != http.StatusOK {
			t.Fatalf("approve: %d %s", w.Code, w.Body)
		}
		f.fixes = append(f.fixes, v.ID)
	}
	return f
}

var hrefOf = regexp.MustCompile(`href="([^"]*)" rel="(next|prev)"`)

// ledgerPager returns the page's Older (next) and Newer (prev) links, unescaped.
func ledgerPager(body string) (next, prev string) {
	for _, m := range hrefOf.FindAllStringSubmatch(body, -1) {
		link := strings.ReplaceAll(m[1], "&amp;", "&")
		if m[2] == "next" {
			next = link
		} else {
			prev = link
		}
	}
	return next, prev
}

// TestConsoleLedgerPage reads an account's page as an agent: balances in currency units, postings
// newest first with their correction and case, keyset pages both ways, and a clear page for an
// unknown account or a forged page link, never a 500.
func TestConsoleLedgerPage(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		f := seedLedger(t, h, 3)
		agent := h.session("agent@example.com", cases.RoleAgent)
		get := func(path string) (int, string) {
			t.Helper()
			w := h.do(request{method: http.MethodGet, path: path, cookie: agent})
			return w.Code, w.Body.String()
		}
		code, body := get("/accounts/A1B2C3D4")
		if code != http.StatusOK {
			t.Fatalf("account page: %d %s", code, body)
		}
		for _, want := range []string{"-6.00 USD", "customer account", "US",
			`href="/cases/` + f.ref + `#correction-` + f.fixes[2] + `"`, `href="/cases/` + f.ref + `"`, `href="/accounts/Z9Y8X7W6"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the account page lacks %q", want)
			}
		}
		if i, j := strings.Index(body, "-3.00 USD"), strings.Index(body, "-1.00 USD"); i < 0 || j < 0 || i > j {
			t.Errorf("postings are not newest first (3.00 at %d, 1.00 at %d)", i, j)
		}
		if code, body := get("/accounts/Z9Y8X7W6"); code != http.StatusOK || !strings.Contains(body, "6.00 USD") || strings.Contains(body, "-6.00 USD") {
			t.Errorf("the receiving account: %d, balance missing", code)
		}
		if code, body := get("/accounts/system:goodwill"); code != http.StatusOK || !strings.Contains(body, "system account") {
			t.Errorf("a system account: %d", code)
		}

		// One posting a page: older three times, then newer back to the first.
		var seen []string
		path := "/accounts/A1B2C3D4?limit=1"
		for i := 0; i < 3; i++ {
			code, body := get(path)
			if code != http.StatusOK {
				t.Fatalf("page %d: %d", i, code)
			}
			m := regexp.MustCompile(`#correction-(\d+)"`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("page %d has no posting", i)
			}
			seen = append(seen, m[1])
			next, prev := ledgerPager(body)
			if (prev != "") != (i > 0) {
				t.Errorf("page %d: newer link %q", i, prev)
			}
			if (next != "") != (i < 2) {
				t.Errorf("page %d: older link %q", i, next)
			}
			if i < 2 {
				path = next
			} else {
				path = prev
			}
		}
		if want := []string{f.fixes[2], f.fixes[1], f.fixes[0]}; strings.Join(seen, ",") != strings.Join(want, ",") {
			t.Errorf("pages showed corrections %v, want %v", seen, want)
		}
		if _, body := get(path); !strings.Contains(body, "#correction-"+f.fixes[1]+`"`) {
			t.Errorf("the newer link from the last page does not lead to the page before it")
		}

		for path, want := range map[string]int{
			"/accounts/NOBODY":                      http.StatusNotFound,
			"/accounts/A1B2C3D4?cursor=bm90LWEtaWQ": http.StatusBadRequest,
			"/accounts/A1B2C3D4?prev=%21%21":        http.StatusBadRequest,
			"/accounts/A1B2C3D4?cursor=MQ&prev=MQ":  http.StatusBadRequest,
			"/accounts/A1B2C3D4?limit=1000":         http.StatusBadRequest,
		} {
			code, body := get(path)
			if code != want || !strings.HasPrefix(body, "<!doctype html>") {
				t.Errorf("GET %s: %d, want a %d page", path, code, want)
			}
			if want == http.StatusBadRequest && !strings.Contains(body, "page link is not valid") {
				t.Errorf("GET %s: the page does not say what is wrong", path)
			}
		}

		// The case page links its accounts and anchors its corrections for the ledger's links.
		_, kase := get("/cases/" + f.ref)
		for _, want := range []string{`href="/accounts/A1B2C3D4"`, `href="/accounts/Z9Y8X7W6"`, `id="correction-` + f.fixes[0] + `"`} {
			if !strings.Contains(kase, want) {
				t.Errorf("the case page lacks %s", want)
			}
		}
	})
}
