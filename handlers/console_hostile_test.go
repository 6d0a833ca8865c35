package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestConsoleFormsRefuseNULBytes posts a NUL byte into each stored text of each console form,
// the rest of the form valid, on PostgreSQL (whose text columns refuse NUL: SQLSTATE 22021): every
// answer is a 4xx, never a 500, and nothing is written.
func TestConsoleFormsRefuseNULBytes(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	sample := seedConsoleCase(t, h)
	cookie := h.session("agent9@example.com", cases.RoleAgent)
	base := "/cases/" + sample.ref
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{base + "/communications", url.Values{"channel": {"phone"}, "direction": {"inbound"}, "body": {"A\x00B"}}},
		{base + "/communications", url.Values{"channel": {"phone"}, "direction": {"inbound"}, "body": {"ok"}, "counterpart_name": {"A\x00"}}},
		{base + "/corrections", url.Values{"kind": {"transfer"}, "amount": {"1.00"}, "currency": {"USD"}, "from_account": {"A1B2C3D4"}, "to_account": {"Z9Y8X7W6"}, "card_id": {"1"}, "reason": {"A\x00"}}},
		{base + "/corrections", url.Values{"kind": {"transfer"}, "amount": {"1.00"}, "currency": {"USD"}, "from_account": {"A1\x00"}, "to_account": {"Z9Y8X7W6"}, "card_id": {"1"}, "reason": {"r"}}},
		{base + "/cards/1/freeze", url.Values{"frozen": {"true"}, "frozen_reason": {"A\x00"}}},
		{"/account", url.Values{"time_zone": {"UTC\x00"}}},
		{"/cases/new", url.Values{"type": {"promo_credit"}, "summary": {"A\x00"}, "customer.account_id": {"X1"}, "customer.marketplace": {"US"}}},
		{"/cases/new", url.Values{"type": {"promo_credit"}, "summary": {"ok"}, "customer.account_id": {"X1\x00"}, "customer.marketplace": {"US"}}},
		{"/cases/bulk", url.Values{"case": {sample.ref + ":1"}, "assignee": {"a\x00@b"}}},
		{"/search", url.Values{"q": {"A\x00B"}}},
	} {
		before := modelstest.Count(t, h.db, `SELECT (SELECT count(*) FROM communications) + (SELECT count(*) FROM corrections) + (SELECT count(*) FROM cases)`)
		w := h.do(request{method: http.MethodPost, path: tc.path, cookie: cookie, body: strings.NewReader(tc.form.Encode()), header: sameOrigin})
		// The search box redirects a non-code term to the list, whose address check answers 400.
		if w.Code < 400 && !(tc.path == "/search" && w.Code == http.StatusSeeOther) || w.Code >= 500 {
			t.Errorf("%s with a NUL byte: %d", tc.path, w.Code)
		}
		if after := modelstest.Count(t, h.db, `SELECT (SELECT count(*) FROM communications) + (SELECT count(*) FROM corrections) + (SELECT count(*) FROM cases)`); after != before {
			t.Errorf("%s with a NUL byte wrote %d rows", tc.path, after-before)
		}
	}
	if w := h.do(request{method: http.MethodGet, path: "/cases?q=A%00B", cookie: cookie}); w.Code != http.StatusBadRequest {
		t.Errorf("the list with a NUL byte in its address: %d", w.Code)
	}

	// The supervisor's and the admin's forms.
	h.session("agent8@example.com", cases.RoleAgent)
	supervisor := h.session("sup9@example.com", cases.RoleSupervisor)
	admin := h.session("admin9@example.com", cases.RoleAdmin)
	fix := strconv.FormatInt(sample.fix, 10)
	for _, tc := range []struct {
		path, cookie string
		form         url.Values
	}{
		{"/approvals/" + fix + "/deny", supervisor, url.Values{"reason": {"A\x00B"}}},
		{"/approvals/" + fix + "/approve", supervisor, url.Values{"note": {"A\x00B"}}},
		{"/admin/users", admin, url.Values{"email": {"new@example.com"}, "name": {"A\x00B"}, "role": {"agent"}}},
		{"/admin/users", admin, url.Values{"email": {"new\x00@example.com"}, "name": {"New"}, "role": {"agent"}}},
		{"/admin/tokens", admin, url.Values{"email": {"agent8@example.com"}, "name": {"A\x00B"}, "scopes": {"cases:read"}}},
		{"/admin/tokens", admin, url.Values{"email": {"agent8\x00@example.com"}, "name": {"sync"}, "scopes": {"cases:read"}}},
	} {
		count := `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM api_tokens) + (SELECT count(*) FROM correction_approvals) +
			(SELECT count(*) FROM corrections WHERE status <> 'pending_approval')`
		before := modelstest.Count(t, h.db, count)
		w := h.do(request{method: http.MethodPost, path: tc.path, cookie: tc.cookie, body: strings.NewReader(tc.form.Encode()), header: sameOrigin})
		if w.Code < 400 || w.Code >= 500 {
			t.Errorf("%s with a NUL byte: %d", tc.path, w.Code)
		}
		if after := modelstest.Count(t, h.db, count); after != before {
			t.Errorf("%s with a NUL byte wrote %d rows", tc.path, after-before)
		}
	}

	// Paging addresses edited by hand: a page that explains, never a 500.
	for _, path := range []string{"/approvals?cursor=zz", "/approvals?limit=0", "/approvals?limit=101", "/approvals?limit=%00",
		"/admin/tokens?cursor=zz", "/admin/tokens?limit=-1", "/accounts/A1B2C3D4?cursor=zz", "/audit?cursor=zz", "/audit?actor=%00",
		"/reports?from=%00", "/cases?cursor=zz"} {
		w := h.do(request{method: http.MethodGet, path: path, cookie: admin})
		if w.Code < 400 || w.Code >= 500 {
			t.Errorf("GET %s: %d", path, w.Code)
		}
	}
}
