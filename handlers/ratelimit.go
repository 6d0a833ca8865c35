package handlers

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// tokenLimiter holds a token bucket per API token (GIFTDESK_API_RATE requests per second, burst
// twice that), forgetting tokens idle for ten minutes so that memory stays bounded.
type tokenLimiter struct {
	perSecond float64
	mu        sync.Mutex
	buckets   map[int64]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newTokenLimiter(perSecond float64) *tokenLimiter {
	if perSecond <= 0 {
		return nil // 0 turns the limit off
	}
	return &tokenLimiter{perSecond: perSecond, buckets: map[int64]*bucket{}, lastSweep: time.Now()}
}

// allow takes one request from the token's bucket, or says how long until one is available.
func (t *tokenLimiter) allow(tokenID int64, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) > time.Minute {
		for id, b := range t.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(t.buckets, id)
			}
		}
		t.lastSweep = now
	}
	b, ok := t.buckets[tokenID]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(t.perSecond), int(math.Max(1, math.Ceil(2*t.perSecond))))}
		t.buckets[tokenID] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// rateLimit answers 429 with Retry-After when a token goes over its rate (SPEC 4.2). Console
// sessions are not limited here: people are throttled at sign-in.
func (s *Server) rateLimit(c *gin.Context) {
	p := principal(c)
	if s.limiter == nil || !p.ViaToken() {
		c.Next()
		return
	}
	if ok, wait := s.limiter.allow(p.TokenID, time.Now()); !ok {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeProblem(c, http.StatusTooManyRequests, "rate_limited",
			"this token sends more requests than GIFTDESK_API_RATE allows; retry after the Retry-After seconds", nil)
		return
	}
	c.Next()
}
