package handlers

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestCaseAuditTrail reads the case page's audit trail: the case's own events and those of its
// corrections, with who, from where and what changed, and never a claim code, although the case
// was opened with one and a note states one (R1).
func TestCaseAuditTrail(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		f := seedLedger(t, h, 1)
		agent := h.session("agent@example.com", cases.RoleAgent)
		cc := consoleCase{harness: h, ref: f.ref, agent: agent}
		if w := cc.post(agent, "/cases/"+f.ref+"/update", map[string]string{"version": "", "priority": "urgent"}); w.Code >= 500 {
			t.Fatalf("update: %d", w.Code)
		}
		w := cc.page(agent)
		if w.Code != http.StatusOK {
			t.Fatalf("case page: %d %s", w.Code, w.Body)
		}
		body := w.Body.String()
		trail := body[strings.Index(body, `id="audit"`):]
		for _, want := range []string{"case.created", "correction.requested", "correction.applied", "agent@example.com",
			"sup@example.com", "(API token)", "correction " + f.fixes[0], "1.00 USD"} {
			if !strings.Contains(trail, want) {
				t.Errorf("the audit trail lacks %q", want)
			}
		}
		if strings.Index(trail, "correction.applied") > strings.Index(trail, "case.created") {
			t.Error("the audit trail is not newest first")
		}
		noClaimCode(t, body)
	})
}

// TestCaseAuditTrailRedactsCodesLearnedLater states a code in a communication before its card is
// on the case: stored as written then, it must still never be shown.
func TestCaseAuditTrailRedactsCodesLearnedLater(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, "sqlite"))
	tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	ref := h.newCase(tok, "late")
	const code = "ZX98-QW76-PO54"
	if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/communications", token: tok,
		body: strings.NewReader(`{"channel":"phone","direction":"inbound","body":"the customer read ` + code + ` to me"}`)}); w.Code != http.StatusCreated {
		t.Fatalf("communication: %d %s", w.Code, w.Body)
	}
	if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/cards", token: tok,
		body: strings.NewReader(`{"claim_code":"` + code + `","marketplace":"US","currency":"USD","face_value_minor":2500}`)}); w.Code != http.StatusCreated {
		t.Fatalf("card: %d %s", w.Code, w.Body)
	}
	page := h.do(request{method: http.MethodGet, path: "/cases/" + ref, cookie: h.session("agent@example.com", cases.RoleAgent)}).Body.String()
	for _, form := range []string{code, "ZX98QW76PO54"} {
		if strings.Contains(page, form) {
			t.Fatalf("the case page shows the claim code as %s…", form[:4])
		}
	}
	if !strings.Contains(page, "[claim code ••••PO54]") {
		t.Error("the redacted code is not in the trail")
	}
}

// TestAuditPage is the admin's audit page: agents and supervisors get 403 on the page and on the
// verification; filters narrow the list and bad days are answered next to their field; the
// verification is the one of `giftdesk audit verify` and says where the chain broke.
func TestAuditPage(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		f := seedLedger(t, h, 2)
		admin := h.session("admin@example.com", cases.RoleAdmin)
		for _, role := range []cases.Role{cases.RoleAgent, cases.RoleSupervisor} {
			cookie := h.session(string(role)+"-audit@example.com", role)
			if w := h.do(request{method: http.MethodGet, path: "/audit", cookie: cookie}); w.Code != http.StatusForbidden {
				t.Errorf("GET /audit as %s: %d", role, w.Code)
			}
			if w := h.do(request{method: http.MethodPost, path: "/audit/verify", cookie: cookie, header: sameOrigin}); w.Code != http.StatusForbidden ||
				strings.Contains(w.Body.String(), "intact") {
				t.Errorf("POST /audit/verify as %s: %d", role, w.Code)
			}
			if nav := h.do(request{method: http.MethodGet, path: "/", cookie: cookie}).Body.String(); strings.Contains(nav, `href="/audit"`) {
				t.Errorf("the %s's navigation links the audit page", role)
			}
		}
		get := func(path string) (int, string) {
			t.Helper()
			w := h.do(request{method: http.MethodGet, path: path, cookie: admin})
			return w.Code, w.Body.String()
		}
		code, body := get("/audit")
		if code != http.StatusOK || !strings.Contains(body, `href="/audit" aria-current="page">Audit`) || !strings.Contains(body, "Verify the chain") {
			t.Fatalf("audit page: %d", code)
		}
		if _, body := get("/audit?action=correction.applied"); strings.Count(body, "<code>correction.applied</code>") != 2 || strings.Contains(body, "<code>case.created</code>") {
			t.Error("the action filter does not keep exactly the two approvals")
		}
		if _, body := get("/audit?actor=SUP@example.com"); strings.Contains(body, "<code>case.created</code>") || !strings.Contains(body, "<code>correction.applied</code>") {
			t.Error("the actor filter does not keep only the supervisor's events")
		}
		_, whole := get("/audit?case=" + strings.ToLower(f.ref))
		if !strings.Contains(whole, "<code>case.created</code>") || !strings.Contains(whole, "<code>correction.requested</code>") {
			t.Error("the case filter lacks the case's own or its corrections' events")
		}
		noClaimCode(t, whole)
		noClaimCode(t, body)
		if _, body := get("/audit?entity_type=correction&entity_id=" + f.fixes[0]); strings.Count(body, "<code>correction.") != 2 {
			t.Error("the entity filter does not keep the two events of one correction")
		}
		if _, body := get("/audit?from=2000-01-01&to=2000-01-02"); !strings.Contains(body, "No event matches") {
			t.Error("a day range in the past still lists events")
		}
		code, body = get("/audit?from=yesterday&to=2026-13-01&case=GD-999999")
		if code != http.StatusUnprocessableEntity || strings.Count(body, `class="field-error"`) != 2 ||
			!strings.Contains(body, `id="f-from-error"`) || !strings.Contains(body, `aria-invalid="true"`) {
			t.Errorf("bad days: %d, want 422 with an error next to each day", code)
		}
		if code, body := get("/audit?from=2026-11-29&to=2026-11-01"); code != http.StatusUnprocessableEntity || !strings.Contains(body, "is before the from date") {
			t.Errorf("a reversed range: %d", code)
		}
		if code, _ := get("/audit?cursor=bm90LWEtaWQ"); code != http.StatusUnprocessableEntity {
			t.Errorf("a forged cursor: %d", code)
		}
		if code, _ := get("/audit?case=GD-999999"); code != http.StatusUnprocessableEntity {
			t.Errorf("an unknown case: %d", code)
		}
		// Keyset paging: one event a page, the second page leads back to the first.
		_, first := get("/audit?limit=1")
		next, _ := ledgerPager(first)
		if next == "" {
			t.Fatal("no older link on a page of one event")
		}
		_, second := get(next)
		older, newer := ledgerPager(second)
		if !strings.Contains(second, "Newest events") || newer == "" || older == "" || second == first {
			t.Fatal("the second page does not lead back to the newest events")
		}
		firstID := regexp.MustCompile(`<tr id="audit-\d+"`).FindString(first)
		if _, back := get(newer); !strings.Contains(back, firstID) || strings.Contains(back, `rel="prev"`) {
			t.Errorf("the newer link of the second page does not lead to the first (%s)", firstID)
		}
		if code, _ := get("/audit?prev=bm90LWEtaWQ"); code != http.StatusUnprocessableEntity {
			t.Errorf("a forged newer cursor: %d", code)
		}

		// Verification: without a sealing pass the events are waiting; after one, intact.
		if !strings.Contains(body, "Waiting to be chained") {
			t.Error("the chain's state is not shown")
		}
		if _, err := h.desk.SealPass(context.Background()); err != nil {
			t.Fatal(err)
		}
		if w := h.do(request{method: http.MethodPost, path: "/audit/verify", cookie: admin, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}); w.Code != http.StatusForbidden {
			t.Errorf("a verification without the browser's same-origin proof: %d", w.Code)
		}
		w := h.do(request{method: http.MethodPost, path: "/audit/verify", cookie: admin, header: sameOrigin})
		report, err := h.desk.VerifyAudit(context.Background())
		if err != nil || !report.Intact() {
			t.Fatalf("verify: %v %+v", err, report)
		}
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "The chain is intact.") || !strings.Contains(w.Body.String(), report.HeadHash) {
			t.Fatalf("verdict: %d %s", w.Code, w.Body)
		}
		_, state := get("/audit")
		if !strings.Contains(state, report.HeadHash[:12]) || !strings.Contains(state, "<dd>0 events</dd>") {
			t.Error("the chain's head or its unsealed count is not shown after sealing")
		}
		modelstest.DisableAppendOnly(t, db, "audit_events")
		modelstest.Exec(t, db, `UPDATE audit_events SET action = 'user.deleted' WHERE id = (SELECT MIN(id) FROM audit_events)`)
		w = h.do(request{method: http.MethodPost, path: "/audit/verify", cookie: admin, header: sameOrigin})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "The chain is broken.") || !strings.Contains(w.Body.String(), "was altered") {
			t.Fatalf("verdict on an altered event: %d %s", w.Code, w.Body)
		}
	})
}
