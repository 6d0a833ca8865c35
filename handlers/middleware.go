package handlers

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

const requestIDKey = "giftdesk.request_id"

// maxJSONBody is SPEC 4.2's limit for JSON bodies (evidence uploads have their own).
const maxJSONBody = 1 << 20

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// withRequestID takes a well-formed X-Request-Id from the caller (a ticketing system's trace id),
// else makes one, and echoes it.
func withRequestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !safeRequestID.MatchString(id) {
		id = rand.Text()
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// accessLog writes one line per request: the route pattern, never the raw path or query, which
// can hold account ids, emails or search terms.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
		slog.String("request_id", requestID(c)),
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", c.Writer.Status()),
		slog.Int("bytes", c.Writer.Size()),
		slog.Duration("duration", time.Since(start)))
}

// recoverPanics turns a panic into a logged 500 problem instead of a dropped connection.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.fail(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}

// securityHeaders sets the headers of SPEC §5 on every response.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Next()
}

// limitJSONBody refuses a declared Content-Length over the limit before reading a byte, and caps
// what is read when the length is not declared.
func limitJSONBody(c *gin.Context) {
	if c.Request.ContentLength > maxJSONBody {
		writeProblem(c, http.StatusRequestEntityTooLarge, cases.CodeTooLarge,
			fmt.Sprintf("the body is larger than %d bytes", maxJSONBody), nil)
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody)
	}
	c.Next()
}

// rejectMalformedText refuses a path or query string holding NUL bytes or invalid UTF-8 before any
// handler sees it: no database column takes them, and PostgreSQL answers them with an error.
func (s *Server) rejectMalformedText(c *gin.Context) {
	bad := !cleanString(c.Request.URL.Path)
	if !bad {
		for k, vs := range c.Request.URL.Query() {
			if !cleanString(k) {
				bad = true
			}
			for _, v := range vs {
				bad = bad || !cleanString(v)
			}
		}
	}
	if !bad {
		c.Next()
		return
	}
	const msg = "the address holds a NUL byte or invalid UTF-8"
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		writeProblem(c, http.StatusBadRequest, "malformed_request", msg, nil)
		return
	}
	s.renderError(c, http.StatusBadRequest, "Bad request", "The address holds a NUL byte or invalid UTF-8.")
	c.Abort()
}

func cleanString(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
