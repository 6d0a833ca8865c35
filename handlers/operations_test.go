package handlers

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// operationsPaths are the admin-only operations routes, as a monitoring system or an admin asks
// for them.
var operationsPaths = []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/cmdline"}

// TestOperationsAreForAdminsOnly: /metrics and the profiles answer an admin's token with the admin
// scope and an admin's console session; a token without the scope, or of a user below admin, is
// refused as the API refuses (403 scope_required / role_required), an agent's or supervisor's
// session as the console refuses (403 page), no credentials as either does.
func TestOperationsAreForAdminsOnly(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		var allButAdmin []cases.Scope
		for _, sc := range cases.Scopes {
			if sc != cases.ScopeAdmin {
				allButAdmin = append(allButAdmin, sc)
			}
		}
		adminToken := h.token("ops@example.com", cases.RoleAdmin, cases.ScopeAdmin)
		noScope := h.token("admin-no-scope@example.com", cases.RoleAdmin, allButAdmin...)
		agentToken := h.token("agent@example.com", cases.RoleAgent, cases.Scopes...)
		supToken := h.token("sup@example.com", cases.RoleSupervisor, cases.Scopes...)
		agent := h.session("agent-page@example.com", cases.RoleAgent)
		sup := h.session("sup-page@example.com", cases.RoleSupervisor)
		admin := h.session("admin-page@example.com", cases.RoleAdmin)
		for _, path := range operationsPaths {
			get := func(r request) *http.Response {
				r.method, r.path = http.MethodGet, path
				return h.do(r).Result()
			}
			if w := get(request{}); w.StatusCode != http.StatusSeeOther || !strings.HasPrefix(w.Header.Get("Location"), "/login") {
				t.Errorf("%s anonymous: %d to %q, want the sign-in page", path, w.StatusCode, w.Header.Get("Location"))
			}
			for name, c := range map[string]struct {
				token  string
				status int
				code   string
			}{
				"forged token":       {"gdk_forged", http.StatusUnauthorized, cases.CodeUnauthenticated},
				"no admin scope":     {noScope, http.StatusForbidden, cases.CodeScopeRequired},
				"agent, all scopes":  {agentToken, http.StatusForbidden, cases.CodeRoleRequired},
				"supervisor, scopes": {supToken, http.StatusForbidden, cases.CodeRoleRequired},
			} {
				w := h.do(request{method: http.MethodGet, path: path, token: c.token})
				if w.Code != c.status {
					t.Errorf("%s with %s: %d, want %d", path, name, w.Code, c.status)
					continue
				}
				expectProblem(t, w, c.status, c.code)
			}
			for name, cookie := range map[string]string{"agent": agent, "supervisor": sup} {
				w := get(request{cookie: cookie})
				if w.StatusCode != http.StatusForbidden || !strings.HasPrefix(w.Header.Get("Content-Type"), "text/html") {
					t.Errorf("%s as %s: %d %q, want the 403 page", path, name, w.StatusCode, w.Header.Get("Content-Type"))
				}
			}
			for name, r := range map[string]request{"admin token": {token: adminToken}, "admin session": {cookie: admin}} {
				if w := get(r); w.StatusCode != http.StatusOK {
					t.Errorf("%s as %s: %d, want 200", path, name, w.StatusCode)
				}
			}
		}
		// A profile is a profile: the heap in pprof's text form names runtime functions.
		w := h.do(request{method: http.MethodGet, path: "/debug/pprof/heap?debug=1", token: adminToken})
		if !strings.Contains(w.Body.String(), "heap profile:") {
			t.Errorf("heap profile: %.200s", w.Body)
		}
	})
}

// scrape reads /metrics with an admin token.
func (h *harness) scrape(token string) string {
	h.t.Helper()
	w := h.do(request{method: http.MethodGet, path: "/metrics", token: token})
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		h.t.Fatalf("/metrics: %d %q %.300s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	return w.Body.String()
}

// gaugeValue reads one unlabelled series of a scrape; the test fails when it is absent.
func gaugeValue(t *testing.T, scrape, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(scrape)
	if m == nil {
		t.Fatalf("no series %s in the scrape", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMetricsTimeRequestsByRouteTemplate: after a request for a case, the histogram has a series
// for its route template, never for the path with the case's ref; a request no route takes is
// "unmatched"; the pool's statistics are there.
func TestMetricsTimeRequestsByRouteTemplate(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		admin := h.token("ops@example.com", cases.RoleAdmin, cases.Scopes...)
		ref := h.newCase(admin, "metrics-1")
		if w := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: admin}); w.Code != http.StatusOK {
			t.Fatalf("GET case: %d", w.Code)
		}
		if w := h.do(request{method: http.MethodGet, path: "/no-such-page/" + ref}); w.Code != http.StatusNotFound {
			t.Fatalf("unknown page: %d", w.Code)
		}
		if w := h.do(request{method: "BREW", path: "/api/v1/cases"}); w.Code < 400 {
			t.Fatalf("BREW: %d", w.Code)
		}
		s := h.scrape(admin)
		for _, want := range []string{
			`giftdesk_http_request_duration_seconds_count{code="200",method="GET",route="/api/v1/cases/:ref"} 1`,
			`giftdesk_http_request_duration_seconds_count{code="201",method="POST",route="/api/v1/cases"} 1`,
			`giftdesk_http_request_duration_seconds_bucket{code="200",method="GET",route="/api/v1/cases/:ref",le="+Inf"} 1`,
			`giftdesk_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
			`method="other"`,
			`go_sql_open_connections{db_name="giftdesk"}`,
			`go_goroutines `,
		} {
			if !strings.Contains(s, want) {
				t.Errorf("the scrape lacks %s", want)
			}
		}
		if strings.Contains(s, ref) || strings.Contains(s, "BREW") {
			t.Errorf("a raw path or method made a series:\n%s", grepLines(s, "giftdesk_http"))
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBacklogGaugesFollowTheDatabase: the webhook gauges count an event waiting for its fan-out,
// then its pending delivery, a retrying one and a failed one, and how long the oldest has been
// due; the audit gauges count the events the sealer has not chained, and drop to 0 after a pass.
func TestBacklogGaugesFollowTheDatabase(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		admin := h.token("ops@example.com", cases.RoleAdmin, cases.Scopes...)
		if _, err := h.desk.SealPass(context.Background()); err != nil {
			t.Fatal(err)
		}
		s := h.scrape(admin)
		for _, g := range []string{"giftdesk_webhook_outbox_unfanned_events", "giftdesk_webhook_deliveries_pending",
			"giftdesk_webhook_deliveries_retrying", "giftdesk_webhook_deliveries_failed", "giftdesk_webhook_oldest_due_delivery_seconds",
			"giftdesk_audit_unchained_events", "giftdesk_audit_oldest_unchained_seconds"} {
			if v := gaugeValue(t, s, g); v != 0 {
				t.Errorf("%s = %v on a quiet desk", g, v)
			}
		}
		// An event recorded an hour ago and not chained: the sealer is an hour behind.
		late := models.AuditEvent{OccurredAt: h.desk.Now().Add(-time.Hour), ActorType: "cli", Action: "test.late", EntityType: "test", EntityID: "1"}
		if err := models.InsertAuditEvent(context.Background(), db, &late); err != nil {
			t.Fatal(err)
		}
		s = h.scrape(admin)
		if v := gaugeValue(t, s, "giftdesk_audit_unchained_events"); v != 1 {
			t.Errorf("unchained events: %v, want 1", v)
		}
		if v := gaugeValue(t, s, "giftdesk_audit_oldest_unchained_seconds"); v < 3500 || v > 3700 {
			t.Errorf("oldest unchained event: %v s, want about an hour", v)
		}
		w := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: admin,
			body: strings.NewReader(`{"url": "https://93.184.216.34/hook", "events": ["case.created"]}`)})
		if w.Code != http.StatusCreated {
			t.Fatalf("webhook: %d %s", w.Code, w.Body)
		}
		h.newCase(admin, "backlog-1")
		s = h.scrape(admin)
		if v := gaugeValue(t, s, "giftdesk_webhook_outbox_unfanned_events"); v != 1 {
			t.Errorf("unfanned events: %v, want 1", v)
		}
		if v := gaugeValue(t, s, "giftdesk_audit_unchained_events"); v < 1 {
			t.Errorf("unchained events: %v after a creation", v)
		}
		fanOutAll(t, h, db)
		s = h.scrape(admin)
		if v := gaugeValue(t, s, "giftdesk_webhook_outbox_unfanned_events"); v != 0 {
			t.Errorf("unfanned events after the fan-out: %v", v)
		}
		if v := gaugeValue(t, s, "giftdesk_webhook_deliveries_pending"); v != 1 {
			t.Errorf("pending deliveries: %v, want 1", v)
		}
		if v := gaugeValue(t, s, "giftdesk_webhook_deliveries_retrying"); v != 0 {
			t.Errorf("retrying deliveries: %v, want 0", v)
		}
		// The delivery failed once and is due again since an hour; a second one gave up.
		modelstest.Exec(t, db, `UPDATE webhook_deliveries SET attempts = 1, next_attempt_at = ?`, h.desk.Now().Add(-time.Hour))
		h.newCase(admin, "backlog-2")
		fanOutAll(t, h, db)
		modelstest.Exec(t, db, `UPDATE webhook_deliveries SET status = 'failed', attempts = 8, next_attempt_at = NULL WHERE attempts = 0`)
		s = h.scrape(admin)
		for g, want := range map[string]float64{"giftdesk_webhook_deliveries_pending": 1, "giftdesk_webhook_deliveries_retrying": 1,
			"giftdesk_webhook_deliveries_failed": 1} {
			if v := gaugeValue(t, s, g); v != want {
				t.Errorf("%s = %v, want %v", g, v, want)
			}
		}
		if v := gaugeValue(t, s, "giftdesk_webhook_oldest_due_delivery_seconds"); v < 3500 || v > 3700 {
			t.Errorf("oldest due delivery: %v s, want about an hour", v)
		}
		if _, err := h.desk.SealPass(context.Background()); err != nil {
			t.Fatal(err)
		}
		s = h.scrape(admin)
		for _, g := range []string{"giftdesk_audit_unchained_events", "giftdesk_audit_oldest_unchained_seconds"} {
			if v := gaugeValue(t, s, g); v != 0 {
				t.Errorf("%s after a sealing pass: %v", g, v)
			}
		}
	})
}

// fanOutAll fans every outbox event out to every endpoint as the dispatcher would, without its
// horizon: a long transaction of another test in the same PostgreSQL cluster holds that back for
// as long as it runs, and the gauges, not the dispatcher, are under test here.
func fanOutAll(t *testing.T, h *harness, db *gorm.DB) {
	t.Helper()
	var events []models.PendingFanout
	modelstest.Scan(t, db, &events, `SELECT id, event_type, created_at, COALESCE(xact_id, 0) AS xact_id FROM outbox
		WHERE id NOT IN (SELECT outbox_id FROM webhook_fanouts)`)
	var endpoints []int64
	modelstest.Scan(t, db, &endpoints, `SELECT id FROM webhook_endpoints`)
	batch := make([]models.Fanned, len(events))
	for i, e := range events {
		batch[i].Event = e
		if e.EventType == "case.created" { // the endpoint's one event
			batch[i].Endpoints = endpoints
		}
	}
	if err := models.FanOut(context.Background(), db, batch, h.desk.Now()); err != nil {
		t.Fatal(err)
	}
}
