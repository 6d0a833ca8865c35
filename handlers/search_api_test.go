package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestCaseSearchRefusesHostileQ: a q the list cannot take is a problem with its code, never a
// 500, and wildcards are plain text that find nothing.
func TestCaseSearchRefusesHostileQ(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		list := func(escapedQ string) (int, string) {
			w := h.do(request{method: http.MethodGet, path: "/api/v1/cases?q=" + escapedQ, token: tok})
			return w.Code, w.Body.String()
		}
		for _, tc := range []struct {
			name, q string
			status  int
			code    string
		}{
			{"NUL byte", "A%00B", http.StatusBadRequest, ""},
			{"invalid UTF-8", "%FF%FE", http.StatusBadRequest, ""},
			{"1,000 characters", strings.Repeat("x", 1000), http.StatusUnprocessableEntity, cases.CodeValidationFailed},
		} {
			w := h.do(request{method: http.MethodGet, path: "/api/v1/cases?q=" + tc.q, token: tok})
			if w.Code != tc.status || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s: %d %s %s", tc.name, w.Code, w.Header().Get("Content-Type"), w.Body)
				continue
			}
			if tc.code != "" {
				expectProblem(t, w, tc.status, tc.code)
			}
		}
		for _, q := range []string{"%", "_", `\`, `%_\`, "a%b_c", "GD-%"} {
			if status, body := list(url.QueryEscape(q)); status != http.StatusOK || !strings.Contains(body, `"data":[]`) {
				t.Errorf("%q: %d %s", q, status, body)
			}
		}
	})
}
