package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func TestHealth(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		w := h.do(request{method: http.MethodGet, path: "/api/v1/health"})
		if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"status":"ok"}` {
			t.Fatalf("health = %d %s", w.Code, w.Body)
		}
		// The database goes away: 503 with a problem, not a 500.
		if err := models.Close(db); err != nil {
			t.Fatal(err)
		}
		w = h.do(request{method: http.MethodGet, path: "/api/v1/health"})
		expectProblem(t, w, http.StatusServiceUnavailable, cases.CodeUnavailable)
		if w.Header().Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	})
}

func TestListCasesPaginates(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		w := h.do(request{method: http.MethodGet, path: "/api/v1/cases", token: tok})
		if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"data":[]}` {
			t.Fatalf("empty list = %d %s", w.Code, w.Body)
		}
		insertCases(t, db, 5)
		seen := map[string]bool{}
		path := "/api/v1/cases?limit=2"
		pages := 0
		for path != "" {
			w := h.do(request{method: http.MethodGet, path: path, token: tok})
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body)
			}
			var page struct {
				Data       []map[string]any `json:"data"`
				NextCursor string           `json:"next_cursor"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Data {
				ref := c["ref"].(string)
				if seen[ref] {
					t.Fatalf("case %s on two pages", ref)
				}
				seen[ref] = true
			}
			pages++
			path = ""
			if page.NextCursor != "" {
				path = "/api/v1/cases?limit=2&cursor=" + page.NextCursor
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if len(seen) != 5 || pages != 3 {
			t.Fatalf("saw %d cases on %d pages, want 5 on 3", len(seen), pages)
		}
		w = h.do(request{method: http.MethodGet, path: "/api/v1/cases?status=new&type=other", token: tok})
		if w.Code != http.StatusOK || strings.Count(w.Body.String(), `"ref"`) != 5 {
			t.Fatalf("filtered list: %d %s", w.Code, w.Body)
		}
	})
}

func insertCases(t *testing.T, db *gorm.DB, n int) {
	t.Helper()
	ctx := context.Background()
	now := models.Now()
	if err := db.Exec(`INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('LIST1', 'US', ?, ?)`, now, now).Error; err != nil {
		t.Fatal(err)
	}
	acct, err := models.AccountByAccountID(ctx, db, "LIST1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		num, err := models.NextCaseNumber(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		c := models.Case{Ref: fmt.Sprintf("GD-%06d", num), Type: "other", Status: "new", Priority: "normal",
			CustomerAccountID: acct.ID, Summary: "case", CreatedAt: now, UpdatedAt: now}
		if err := models.InsertCase(ctx, db, &c); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHostileInputGetsAClearProblem(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		for _, q := range []struct{ query, field string }{
			{"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=-1", "limit"}, {"limit=1e3", "limit"},
			{"limit=99999999999999999999", "limit"}, {"cursor=%27%20OR%201=1--", "cursor"}, {"cursor=MA", "cursor"},
			{"status=new%27%3B%20DROP%20TABLE%20cases%3B--", "status"}, {"type=%3Cscript%3E", "type"},
		} {
			w := h.do(request{method: http.MethodGet, path: "/api/v1/cases?" + q.query, token: tok})
			p := expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
			if len(p.Errors) != 1 || p.Errors[0].Field != q.field {
				t.Errorf("%s: errors = %+v, want one on %s", q.query, p.Errors, q.field)
			}
			if strings.Contains(w.Body.String(), "<script>") {
				t.Errorf("%s: the answer echoes the input", q.query)
			}
		}
		// A declared body over 1 MiB is refused before it is read.
		w := h.do(request{method: http.MethodGet, path: "/api/v1/cases", token: tok, body: strings.NewReader(strings.Repeat("x", 2<<20))})
		expectProblem(t, w, http.StatusRequestEntityTooLarge, cases.CodeTooLarge)
		// Unknown route and method answer problems too.
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/nothing", token: tok}), http.StatusNotFound, cases.CodeNotFound)
		expectProblem(t, h.do(request{method: http.MethodDelete, path: "/api/v1/health"}), http.StatusMethodNotAllowed, "method_not_allowed")
	})
}

func TestHeadersAndLogs(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		w := h.do(request{method: http.MethodGet, path: "/api/v1/cases?q=pat@example.com", token: tok,
			header: map[string]string{"X-Request-Id": "ticket-trace-0001"}})
		if w.Header().Get("X-Request-Id") != "ticket-trace-0001" {
			t.Errorf("request id not echoed: %q", w.Header().Get("X-Request-Id"))
		}
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP = %q", csp)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Referrer-Policy") == "" {
			t.Error("missing nosniff or Referrer-Policy")
		}
		w = h.do(request{method: http.MethodGet, path: "/api/v1/cases", token: tok, header: map[string]string{"X-Request-Id": "bad id\nforged"}})
		if id := w.Header().Get("X-Request-Id"); id == "" || strings.ContainsAny(id, " \n") {
			t.Errorf("malformed request id kept: %q", id)
		}
		logs := h.logs.String()
		if !strings.Contains(logs, `"route":"/api/v1/cases"`) || !strings.Contains(logs, "ticket-trace-0001") {
			t.Fatalf("access log lacks route or request id: %s", logs)
		}
		for _, secret := range []string{tok, tok[len(cases.TokenPrefix):], "pat@example.com"} {
			if strings.Contains(logs, secret) {
				t.Fatalf("the log holds %q", secret[:6])
			}
		}
	})
}

func TestPeopleGetAPageNotAProblem(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		w := h.do(request{method: http.MethodGet, path: "/no/such/<script>page"})
		if w.Code != http.StatusNotFound || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("browser 404 = %d %q", w.Code, w.Header().Get("Content-Type"))
		}
		body := w.Body.String()
		if !strings.Contains(body, "Page not found") || strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
			t.Fatalf("404 page must show the escaped path: %s", body)
		}
		css := h.do(request{method: http.MethodGet, path: "/static/giftdesk.css"})
		if css.Code != http.StatusOK || !strings.HasPrefix(css.Header().Get("Content-Type"), "text/css") {
			t.Fatalf("stylesheet = %d %q", css.Code, css.Header().Get("Content-Type"))
		}
	})
}

// TestDatabaseOutageAnswers503ThenRecovers cuts the connection to PostgreSQL under a running
// server: requests answer 503 problems (never 500), and once the database is back the server
// answers again by itself (SPEC §5).
func TestDatabaseOutageAnswers503ThenRecovers(t *testing.T) {
	proxy, url := modelstest.NewProxy(t, modelstest.URL(t, models.Postgres))
	db, err := models.Open(context.Background(), models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	h := newHarness(t, db)
	tok := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
	for _, path := range []string{"/api/v1/health", "/api/v1/cases"} {
		if w := h.do(request{method: http.MethodGet, path: path, token: tok}); w.Code != http.StatusOK {
			t.Fatalf("%s before the outage: %d %s", path, w.Code, w.Body)
		}
	}
	proxy.Cut()
	for _, path := range []string{"/api/v1/health", "/api/v1/cases"} {
		w := h.do(request{method: http.MethodGet, path: path, token: tok})
		expectProblem(t, w, http.StatusServiceUnavailable, cases.CodeUnavailable)
	}
	proxy.Resume()
	deadline := time.Now().Add(15 * time.Second)
	for _, path := range []string{"/api/v1/health", "/api/v1/cases"} {
		for {
			w := h.do(request{method: http.MethodGet, path: path, token: tok})
			if w.Code == http.StatusOK {
				break
			}
			if w.Code != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("%s after the database came back: %d %s", path, w.Code, w.Body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if strings.Contains(h.logs.String(), `"status":500`) {
		t.Fatalf("the outage produced a 500: %s", h.logs.String())
	}
}

func TestMalformedTextIsRefusedUpFront(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("admin@example.com", cases.RoleAdmin, cases.Scopes...)
		for _, q := range []string{"entity_id=%00", "entity_id=%ff", "entity_type=%c3", "entity_type=a%00b", "x%00=1"} {
			w := h.do(request{method: http.MethodGet, path: "/api/v1/audit?" + q, token: tok})
			expectProblem(t, w, http.StatusBadRequest, "malformed_request")
		}
		if w := h.do(request{method: http.MethodGet, path: "/login?next=%00"}); w.Code != http.StatusBadRequest {
			t.Fatalf("console page with a NUL in the query: %d", w.Code)
		}
		// A NUL or broken UTF-8 in a form field is a failed sign-in, not a 500.
		for _, email := range []string{"a\x00b@example.com", "\xff@example.com"} {
			if w := h.loginPost(email, "whatever password", "", nil); w.Code != http.StatusUnauthorized {
				t.Fatalf("email %q: %d", email, w.Code)
			}
		}
		big := h.do(request{method: http.MethodPost, path: "/login", header: sameOrigin,
			body: strings.NewReader("email=" + strings.Repeat("a", 70<<10) + "&password=x")})
		if big.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 70 KiB form: %d, want 413", big.Code)
		}
		if strings.Contains(h.logs.String(), `"status":500`) {
			t.Fatal("hostile text produced a 500")
		}
	})
}
