package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestRateLimitHeaders: every answer to a token says where its bucket stands (RateLimit-Limit, the
// burst; RateLimit-Remaining, what is left after this request; RateLimit-Reset, seconds until the
// bucket is whole again), the 429 too, with Retry-After and nothing remaining; with the limit off
// no answer claims one.
func TestRateLimitHeaders(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, models.SQLite))
	limited, err := New(Config{Desk: h.desk, APIRate: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = limited
	agent := h.token("a@example.com", cases.RoleAgent, cases.ScopeCasesRead)
	num := func(w *httptest.ResponseRecorder, name string) int {
		t.Helper()
		n, err := strconv.Atoi(w.Header().Get(name))
		if err != nil {
			t.Fatalf("%s = %q on a %d", name, w.Header().Get(name), w.Code)
		}
		return n
	}
	// Rate 2 per second, burst 4: the remaining count falls by one per request, and the bucket is
	// whole again within limit/rate = 2 seconds.
	paths := []string{"/api/v1/cases", "/api/v1/cases/GD-999999", "/api/v1/cases", "/api/v1/corrections"}
	for i, path := range paths {
		w := h.do(request{method: http.MethodGet, path: path, token: agent})
		if w.Code != http.StatusOK && w.Code != http.StatusNotFound {
			t.Fatalf("request %d: %d %s", i+1, w.Code, w.Body)
		}
		if got := num(w, "RateLimit-Limit"); got != 4 {
			t.Errorf("request %d: RateLimit-Limit %d, want 4", i+1, got)
		}
		if got, want := num(w, "RateLimit-Remaining"), 3-i; got != want {
			t.Errorf("request %d: RateLimit-Remaining %d, want %d", i+1, got, want)
		}
		if reset := num(w, "RateLimit-Reset"); reset < 1 || reset > 2 {
			t.Errorf("request %d: RateLimit-Reset %d, want 1 or 2 seconds", i+1, reset)
		}
		if w.Header().Get("Retry-After") != "" {
			t.Errorf("request %d within the burst carries Retry-After", i+1)
		}
	}
	w := h.do(request{method: http.MethodGet, path: "/api/v1/cases", token: agent})
	expectProblem(t, w, http.StatusTooManyRequests, "rate_limited")
	if retry := num(w, "Retry-After"); retry != 1 {
		t.Errorf("429 Retry-After %d, want 1 (one request is back after 0.5 s)", retry)
	}
	if num(w, "RateLimit-Remaining") != 0 || num(w, "RateLimit-Limit") != 4 {
		t.Errorf("429: RateLimit-Remaining %s, RateLimit-Limit %s", w.Header().Get("RateLimit-Remaining"), w.Header().Get("RateLimit-Limit"))
	}
	if reset := num(w, "RateLimit-Reset"); reset != 2 {
		t.Errorf("429: RateLimit-Reset %d, want 2 (an empty bucket of 4 at 2 per second)", reset)
	}

	// The limit off (GIFTDESK_API_RATE=0): no rate-limit headers at all.
	open := newHarness(t, modelstest.Open(t, models.SQLite))
	tok := open.token("b@example.com", cases.RoleAgent, cases.ScopeCasesRead)
	w = open.do(request{method: http.MethodGet, path: "/api/v1/cases", token: tok})
	for _, name := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if v := w.Header().Get(name); v != "" {
			t.Errorf("with the limit off, %s = %q", name, v)
		}
	}
}
