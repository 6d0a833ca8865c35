package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/seed"
	"giftdesk/models/modelstest"
)

// TestSeededDeskReads: a seeded desk reads through the API (every answer checked against the
// OpenAPI document) and the console like one its users filled: lists, case pages, timelines,
// evidence files, corrections, the approval queue and account ledgers.
func TestSeededDeskReads(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		if _, err := seed.Run(context.Background(), h.desk, seed.Options{Cases: 300, Seed: 3, Checked: true}); err != nil {
			t.Fatal(err)
		}
		tok := h.token("reader@example.com", cases.RoleSupervisor, cases.ScopeCasesRead)
		cookie := h.session("console@example.com", cases.RoleSupervisor)
		var refs []string
		// A case of each kind worth reading: duplicates, a reversal, evidence, a pending correction.
		for _, q := range []string{
			`SELECT MIN(c.ref) FROM cases c JOIN case_links l ON l.case_id = c.id`,
			`SELECT MIN(c.ref) FROM cases c JOIN corrections k ON k.case_id = c.id WHERE k.kind = 'reversal'`,
			`SELECT MIN(c.ref) FROM cases c JOIN evidence e ON e.case_id = c.id`,
			`SELECT MIN(c.ref) FROM cases c WHERE c.status = 'pending_approval'`,
			`SELECT MAX(ref) FROM cases`,
		} {
			var ref string
			modelstest.Scan(t, db, &ref, q)
			if ref == "" {
				t.Fatalf("no case for %s", q)
			}
			refs = append(refs, ref)
		}
		get := func(path string, api bool) string {
			t.Helper()
			r := request{method: http.MethodGet, path: path}
			if api {
				r.token = tok
			} else {
				r.cookie = cookie
			}
			w := h.do(r)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, w.Code, w.Body.String())
			}
			return w.Body.String()
		}
		get("/api/v1/cases?limit=100", true)
		get("/api/v1/cases?flag=possible_duplicate", true)
		get("/api/v1/corrections?status=pending", true)
		for _, ref := range refs {
			for _, p := range []string{"", "/timeline", "/communications", "/evidence"} {
				get("/api/v1/cases/"+ref+p, true)
			}
			get("/api/v1/corrections?case="+ref, true)
			get("/cases/"+ref, false)
		}
		var evidence int64
		modelstest.Scan(t, db, &evidence, `SELECT MIN(id) FROM evidence`)
		get("/api/v1/evidence/"+strconv.FormatInt(evidence, 10), true)
		if body := get("/api/v1/evidence/"+strconv.FormatInt(evidence, 10)+"/file", true); len(body) == 0 {
			t.Fatal("empty evidence file")
		}
		var account string
		modelstest.Scan(t, db, &account, `SELECT a.account_id FROM customer_accounts a JOIN postings p ON p.account_id = a.id ORDER BY p.id LIMIT 1`)
		get("/api/v1/accounts/"+account, true)
		get("/accounts/"+account, false)
		for _, page := range []string{"/", "/cases", "/cases?status=pending_approval", "/approvals", "/reports"} {
			if body := get(page, false); !strings.Contains(body, "GD-") && (page == "/cases" || page == "/approvals") {
				t.Errorf("%s lists no case", page)
			}
		}
	})
}
