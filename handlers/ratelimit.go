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

// quota is what a token's bucket says after a request: the burst it may send, what is left of
// it, how long until it is whole again, and, for a refused request, how long until one more is
// allowed.
type quota struct {
	limit, remaining int
	reset, wait      time.Duration
}

// allow takes one request from the token's bucket; ok is false when none is available.
func (t *tokenLimiter) allow(tokenID int64, now time.Time) (ok bool, q quota) {
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
	b, found := t.buckets[tokenID]
	if !found {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(t.perSecond), int(math.Max(1, math.Ceil(2*t.perSecond))))}
		t.buckets[tokenID] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	ok = true
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		ok, q.wait = false, delay
	}
	left := math.Max(0, b.lim.TokensAt(now))
	q.limit = b.lim.Burst()
	q.remaining = int(math.Floor(left))
	q.reset = time.Duration((float64(q.limit) - left) / t.perSecond * float64(time.Second))
	return ok, q
}

// seconds rounds a duration up to whole seconds, as the rate-limit headers give them.
func seconds(d time.Duration) string { return strconv.Itoa(int(math.Ceil(d.Seconds()))) }

// rateLimit answers 429 with Retry-After when a token goes over its rate (SPEC 4.2), and tells
// every token's answer where it stands: RateLimit-Limit (the burst), RateLimit-Remaining (what is
// left of it after this request) and RateLimit-Reset (seconds until it is whole again), the fields
// of the IETF draft "RateLimit header fields for HTTP". Console sessions are not limited here:
// people are throttled at sign-in.
func (s *Server) rateLimit(c *gin.Context) {
	p := principal(c)
	if s.limiter == nil || !p.ViaToken() {
		c.Next()
		return
	}
	ok, q := s.limiter.allow(p.TokenID, time.Now())
	c.Header("RateLimit-Limit", strconv.Itoa(q.limit))
	c.Header("RateLimit-Remaining", strconv.Itoa(q.remaining))
	c.Header("RateLimit-Reset", seconds(q.reset))
	if !ok {
		c.Header("Retry-After", seconds(q.wait))
		writeProblem(c, http.StatusTooManyRequests, "rate_limited",
			"this token sends more requests than GIFTDESK_API_RATE allows; retry after the Retry-After seconds", nil)
		return
	}
	c.Next()
}
