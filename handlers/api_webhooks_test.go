package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestWebhookRoutesNeedTheAdminScope: a token without admin gets 403 scope_required on every
// webhook route; an admin's token with it reaches them.
func TestWebhookRoutesNeedTheAdminScope(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarnessWith(t, db, Config{WebhookAllowPrivate: true})
		tok := h.token("boss@example.com", cases.RoleAdmin, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsDecide)
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/api/v1/webhooks"}, {http.MethodPost, "/api/v1/webhooks"}, {http.MethodDelete, "/api/v1/webhooks/1"},
			{http.MethodPost, "/api/v1/webhooks/1/rotate-secret"}, {http.MethodGet, "/api/v1/webhooks/1/deliveries"},
			{http.MethodPost, "/api/v1/webhooks/1/deliveries/1/redeliver"},
		} {
			w := h.do(request{method: r.method, path: r.path, token: tok, body: strings.NewReader(`{"url":"http://127.0.0.1:9/x"}`)})
			expectProblem(t, w, http.StatusForbidden, cases.CodeScopeRequired)
		}
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeAdmin)
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/webhooks", token: agent}), http.StatusForbidden, cases.CodeRoleRequired)
	})
}

// TestWebhookSecretIsShownOnce: the creation answers the secret; no GET shows it again, nor does
// a replay of the creation under its Idempotency-Key.
func TestWebhookSecretIsShownOnce(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarnessWith(t, db, Config{WebhookAllowPrivate: true})
		tok := h.token("boss@example.com", cases.RoleAdmin, cases.ScopeAdmin)
		create := func() *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: tok,
				header: map[string]string{"Idempotency-Key": "create-hook-1"},
				body:   strings.NewReader(`{"url":"http://127.0.0.1:9/hook","events":["case.created","correction.applied"]}`)})
		}
		w := create()
		if w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		var got struct {
			ID     string   `json:"id"`
			Secret string   `json:"secret"`
			Events []string `json:"events"`
			Active bool     `json:"active"`
		}
		mustUnmarshal(t, w.Body.Bytes(), &got)
		if !strings.HasPrefix(got.Secret, "whsec_") || got.ID == "" || len(got.Events) != 2 || !got.Active {
			t.Fatalf("created %s", w.Body)
		}
		secretPart := got.Secret[len("whsec_"):]
		replay := create()
		if replay.Code != http.StatusCreated || replay.Header().Get("Idempotency-Replayed") != "true" {
			t.Fatalf("replay: %d %v", replay.Code, replay.Header())
		}
		for name, w := range map[string]*httptest.ResponseRecorder{
			"replay":     replay,
			"list":       h.do(request{method: http.MethodGet, path: "/api/v1/webhooks", token: tok}),
			"deliveries": h.do(request{method: http.MethodGet, path: "/api/v1/webhooks/" + got.ID + "/deliveries", token: tok}),
			"audit":      h.do(request{method: http.MethodGet, path: "/api/v1/audit?entity_type=webhook_endpoint", token: tok}),
		} {
			if w.Code != http.StatusOK && w.Code != http.StatusCreated {
				t.Errorf("%s: %d %s", name, w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), secretPart) || strings.Contains(w.Body.String(), `"secret"`) {
				t.Errorf("%s shows the secret: %s", name, w.Body)
			}
		}
		if strings.Contains(modelstest.Dump(t, db), secretPart) {
			t.Error("the secret is stored in clear")
		}
		del := h.do(request{method: http.MethodDelete, path: "/api/v1/webhooks/" + got.ID, token: tok})
		if del.Code != http.StatusOK || !strings.Contains(del.Body.String(), `"active":false`) {
			t.Fatalf("disable: %d %s", del.Code, del.Body)
		}
		list := h.do(request{method: http.MethodGet, path: "/api/v1/webhooks", token: tok})
		if !strings.Contains(list.Body.String(), got.ID) {
			t.Errorf("a disabled endpoint left the list: %s", list.Body)
		}
		expectProblem(t, h.do(request{method: http.MethodDelete, path: "/api/v1/webhooks/999999", token: tok}), http.StatusNotFound, cases.CodeNotFound)
		expectProblem(t, h.do(request{method: http.MethodPost, path: "/api/v1/webhooks/" + got.ID + "/deliveries/999999/redeliver", token: tok}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
	})
}

// TestWebhookURLsOnPrivateAddressesAreRefused: without GIFTDESK_WEBHOOK_ALLOW_PRIVATE, loopback,
// private and link-local targets answer 422 validation_failed naming url.
func TestWebhookURLsOnPrivateAddressesAreRefused(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("boss@example.com", cases.RoleAdmin, cases.ScopeAdmin)
		for _, u := range []string{"http://localhost:8080/x", "http://127.0.0.1/x", "http://[::1]/x", "http://10.1.2.3/x",
			"http://169.254.169.254/latest/meta-data", "http://192.168.0.10/x", "ftp://example.com/x", "https://u:p@example.com/x", ""} {
			w := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: tok, body: strings.NewReader(fmt.Sprintf(`{"url":%q}`, u))})
			p := expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
			if len(p.Errors) != 1 || p.Errors[0].Field != "url" {
				t.Errorf("%s: errors %+v, want one naming url", u, p.Errors)
			}
		}
		w := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: tok,
			body: strings.NewReader(`{"url":"http://93.184.216.34/x","events":["case.exploded"],"secret":"whsec_short"}`)})
		p := expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		if got := strings.Join(fieldsOf(p), ","); got != "events[0],secret" {
			t.Errorf("errors %+v, want events[0] and secret", p.Errors)
		}
		// An unknown field comes with every other problem of the body, in one answer (SPEC 4.2).
		w = h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: tok,
			body: strings.NewReader(`{"url":"https://93.184.216.34:99999/x","bogus":1,"events":["case.created","nope"],"secret":"abc"}`)})
		p = expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		got := fieldsOf(p)
		slices.Sort(got)
		if strings.Join(got, ",") != "bogus,events[1],secret,url" {
			t.Errorf("errors %+v, want bogus, events[1], secret and url at once", p.Errors)
		}
		// Invalid UTF-8 in a console form never reaches the database.
		if w := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: tok,
			body: strings.NewReader("{\"url\":\"https://93.184.216.34/a\u0000b\"}")}); w.Code == http.StatusCreated {
			t.Errorf("a URL with a NUL was registered: %s", w.Body)
		}
	})
}

// TestWebhookSecretRotation: rotating answers a new secret once; the endpoint then shows until when
// the old one still signs, and a bad secret is refused naming secret.
func TestWebhookSecretRotation(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("boss@example.com", cases.RoleAdmin, cases.ScopeAdmin)
		w := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: tok, body: strings.NewReader(`{"url":"https://93.184.216.34/hook"}`)})
		var ep struct{ ID, Secret string }
		mustUnmarshal(t, w.Body.Bytes(), &ep)
		rot := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks/" + ep.ID + "/rotate-secret", token: tok})
		var got struct {
			Secret              string `json:"secret"`
			PreviousSecretUntil string `json:"previous_secret_until"`
		}
		mustUnmarshal(t, rot.Body.Bytes(), &got)
		if rot.Code != http.StatusOK || !strings.HasPrefix(got.Secret, "whsec_") || got.Secret == ep.Secret || got.PreviousSecretUntil == "" {
			t.Fatalf("rotate: %d %s", rot.Code, rot.Body)
		}
		list := h.do(request{method: http.MethodGet, path: "/api/v1/webhooks", token: tok})
		if !strings.Contains(list.Body.String(), "previous_secret_until") || strings.Contains(list.Body.String(), "whsec_") {
			t.Errorf("list after rotation: %s", list.Body)
		}
		bad := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks/" + ep.ID + "/rotate-secret", token: tok,
			body: strings.NewReader(`{"secret":"not-a-secret"}`)})
		if p := expectProblem(t, bad, http.StatusUnprocessableEntity, cases.CodeValidationFailed); len(p.Errors) != 1 || p.Errors[0].Field != "secret" {
			t.Errorf("bad secret: %+v", p)
		}
	})
}
