package handlers

import (
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func TestAPIRateLimitPerToken(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, models.SQLite))
	limited, err := New(Config{Desk: h.desk, APIRate: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = limited
	first := h.token("a@example.com", cases.RoleAgent, cases.ScopeCasesRead)
	other := h.token("b@example.com", cases.RoleAgent, cases.ScopeCasesRead)
	get := func(tok string) (int, string) {
		w := h.do(request{method: http.MethodGet, path: "/api/v1/cases", token: tok})
		return w.Code, w.Header().Get("Retry-After")
	}
	// Burst is twice the rate: four at once pass, the fifth waits.
	for i := 0; i < 4; i++ {
		if code, _ := get(first); code != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i+1, code)
		}
	}
	code, retry := get(first)
	if n, err := strconv.Atoi(retry); code != http.StatusTooManyRequests || err != nil || n < 1 {
		t.Fatalf("over the burst: %d Retry-After %q", code, retry)
	}
	if code, _ := get(other); code != http.StatusOK {
		t.Fatalf("another token was limited too: %d", code)
	}
	time.Sleep(600 * time.Millisecond) // at 2 per second, one request is back
	if code, _ := get(first); code != http.StatusOK {
		t.Fatalf("after waiting: %d", code)
	}
	// GIFTDESK_API_RATE=0 turns the limit off.
	if newTokenLimiter(0) != nil {
		t.Fatal("rate 0 must mean no limiter")
	}
}
