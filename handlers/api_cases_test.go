package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

const caseBody = `{"type": "wrong_account", "priority": "normal", "summary": "Redeemed on work account",
 "description": "free text",
 "customer": {"account_id": "A1B2C3D4", "marketplace": "US", "email": "pat@example.com", "name": "Pat Doe"},
 "intended_account": {"account_id": "Z9Y8X7W6", "marketplace": "US", "email": "pat.home@example.com"},
 "cards": [{"claim_code": "AB12-CDEF34-GH56", "serial": "6046123412341234", "face_value_minor": 5000,
            "currency": "USD", "marketplace": "US", "status": "redeemed",
            "redeemed_to": "A1B2C3D4", "redeemed_at": "2026-11-20T10:00:00Z"}],
 "external": {"system": "zendesk", "id": "81234", "url": "https://example.zendesk.com/agent/tickets/81234"},
 "tags": ["phone"]}`

func TestCaseAPI(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: tok, body: strings.NewReader(caseBody)})
		if w.Code != http.StatusCreated || w.Header().Get("ETag") != `"1"` || !strings.HasPrefix(w.Header().Get("Location"), "/api/v1/cases/GD-") {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		var created map[string]any
		mustUnmarshal(t, w.Body.Bytes(), &created)
		ref := created["ref"].(string)
		for _, key := range []string{"ref", "type", "status", "resolution", "priority", "summary", "description", "customer", "intended_account",
			"cards", "flags", "duplicates", "assignee", "external", "tags", "sla", "created_at", "updated_at", "version"} {
			if _, ok := created[key]; !ok {
				t.Errorf("case JSON lacks %q", key)
			}
		}
		sla, _ := created["sla"].(map[string]any)
		for _, key := range []string{"first_response_due", "first_response_at", "resolution_due", "breached"} {
			if _, ok := sla[key]; !ok {
				t.Errorf("case JSON's sla lacks %q", key)
			}
		}
		if strings.Contains(w.Body.String(), "CDEF34") {
			t.Fatal("the answer holds the claim code")
		}
		again := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: tok, body: strings.NewReader(caseBody)})
		if again.Code != http.StatusOK || !strings.Contains(again.Body.String(), ref) {
			t.Fatalf("known external: %d", again.Code)
		}
		get := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: tok})
		if get.Code != http.StatusOK || get.Header().Get("ETag") != `"1"` {
			t.Fatalf("get: %d %q", get.Code, get.Header().Get("ETag"))
		}
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/cases/GD-999999", token: tok}), http.StatusNotFound, cases.CodeNotFound)
		patch := func(etag, body string) *httptest.ResponseRecorder {
			hdr := map[string]string{"Content-Type": "application/json"}
			if etag != "" {
				hdr["If-Match"] = etag
			}
			return h.do(request{method: http.MethodPatch, path: "/api/v1/cases/" + ref, token: tok, body: strings.NewReader(body), header: hdr})
		}
		expectProblem(t, patch("", `{"status":"investigating"}`), http.StatusPreconditionRequired, cases.CodeVersionRequired)
		expectProblem(t, patch(`"9"`, `{"status":"investigating"}`), http.StatusPreconditionFailed, cases.CodeStaleVersion)
		p := expectProblem(t, patch(`"1"`, `{"status":"closed"}`), http.StatusUnprocessableEntity, cases.CodeInvalidTransition)
		if !strings.Contains(p.Detail, "investigating") {
			t.Fatalf("invalid_transition detail %q names no allowed target", p.Detail)
		}
		ok := patch(`"1"`, `{"status":"investigating","assignee":"agent@example.com"}`)
		if ok.Code != http.StatusOK || ok.Header().Get("ETag") != `"2"` || !strings.Contains(ok.Body.String(), `"assignee":"agent@example.com"`) {
			t.Fatalf("patch: %d %s", ok.Code, ok.Body)
		}
		// The server log holds no claim code, whatever the requests carried.
		h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/cards", token: tok,
			body: strings.NewReader(`{"claim_code":"lkjh-gfds-poiu","face_value_minor":100,"currency":"USD","marketplace":"US"}`)})
		h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: tok, body: strings.NewReader(`{"type":"code_problem","cards":[{"claim_code":"MNBV-CXZL-KJHG-FDSA"}]}`)})
		for _, code := range []string{"AB12-CDEF34", "AB12CDEF34", "LKJH-GFDS", "LKJHGFDS", "MNBV-CXZL", "MNBVCXZL"} {
			if strings.Contains(strings.ToUpper(h.logs.String()), code) {
				t.Fatalf("the server log holds part of a claim code (%s)", code)
			}
		}
		readOnly := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		expectProblem(t, h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: readOnly, body: strings.NewReader(caseBody)}), http.StatusForbidden, cases.CodeScopeRequired)
	})
}

func TestCaseAPIHostileInput(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		withField := func(from, to string) string { return strings.Replace(caseBody, from, to, 1) }
		for _, tt := range []struct {
			name, body string
			status     int
			code       string
		}{
			{"malformed JSON", `{"type": "wrong_account",`, http.StatusBadRequest, cases.CodeMalformedJSON},
			{"an array", `[1, 2]`, http.StatusBadRequest, cases.CodeMalformedJSON},
			{"empty body", ``, http.StatusBadRequest, cases.CodeMalformedJSON},
			{"two objects", caseBody + caseBody, http.StatusBadRequest, cases.CodeMalformedJSON},
			{"face value as text", withField(`"face_value_minor": 5000`, `"face_value_minor": "5000"`), http.StatusUnprocessableEntity, cases.CodeValidationFailed},
			{"huge number", withField(`"face_value_minor": 5000`, `"face_value_minor": 99999999999999999999999`), http.StatusUnprocessableEntity, cases.CodeValidationFailed},
			{"negative amount", withField(`"face_value_minor": 5000`, `"face_value_minor": -5`), http.StatusUnprocessableEntity, cases.CodeValidationFailed},
			{"5 KB account id", withField(`"A1B2C3D4", "marketplace"`, `"`+strings.Repeat("A", 5000)+`", "marketplace"`), http.StatusUnprocessableEntity, cases.CodeValidationFailed},
			{"NUL in summary", withField(`"Redeemed on work account"`, `"Redeemed\u0000"`), http.StatusUnprocessableEntity, cases.CodeValidationFailed},
			{"invalid UTF-8", withField(`"free text"`, "\"free \xff text\""), http.StatusBadRequest, cases.CodeMalformedJSON},
			{"SQL in account id", withField(`"A1B2C3D4", "marketplace"`, `"x'; DROP TABLE cases; --", "marketplace"`), http.StatusUnprocessableEntity, cases.CodeValidationFailed},
			{"script in summary is stored as text", strings.Replace(withField(`"Redeemed on work account"`, `"<script>alert(1)</script>"`), `"81234"`, `"99999"`, 1), http.StatusCreated, ""},
		} {
			w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: tok, body: strings.NewReader(tt.body)})
			if tt.code == "" {
				if w.Code != tt.status {
					t.Errorf("%s: %d %s", tt.name, w.Code, w.Body)
				}
				continue
			}
			if w.Code != tt.status {
				t.Errorf("%s: %d %s, want %d", tt.name, w.Code, w.Body, tt.status)
				continue
			}
			problemOf(t, w)
		}
		big := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: tok,
			body: strings.NewReader(`{"summary":"` + strings.Repeat("x", 2<<20) + `"}`)})
		expectProblem(t, big, http.StatusRequestEntityTooLarge, cases.CodeTooLarge)
		if strings.Contains(h.logs.String(), `"status":500`) {
			t.Fatal("hostile input produced a 500")
		}
	})
}
