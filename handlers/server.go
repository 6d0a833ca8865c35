// Package handlers serves giftdesk over HTTP: the JSON API (and, later, the console). Handlers
// are thin: bind, call one cases function, write the answer.
package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
	"giftdesk/cases/webhooks"
	"giftdesk/templates"
)

// Config builds a Server.
type Config struct {
	Desk   *cases.Desk
	Logger *slog.Logger
	// TrustedProxies are the addresses or CIDR ranges of load balancers whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed. Empty: the peer address is the client.
	TrustedProxies []string
	// TempDir receives uploads while they are checked; "" means the system's temporary folder.
	TempDir string
	// MaxUploads bounds the uploads running at once (default 8); more wait their turn.
	MaxUploads int
	// MaxUploadsPerToken bounds the uploads one token (or console user) runs at once (default 2);
	// more are refused with 429 and Retry-After.
	MaxUploadsPerToken int
	// UploadIdleTimeout frees an upload's slot when its body stops arriving for that long (default
	// 15 s); UploadTimeout bounds the whole body (default 90 s). Either answers 408.
	UploadIdleTimeout, UploadTimeout time.Duration
	// APIRate is GIFTDESK_API_RATE: requests per second per API token, burst twice that; 0 is
	// no limit.
	APIRate float64
	// WebhookAllowPrivate is GIFTDESK_WEBHOOK_ALLOW_PRIVATE=1: webhook endpoints may be on
	// loopback, private or link-local addresses.
	WebhookAllowPrivate bool
}

// Server is the HTTP face of a Desk.
type Server struct {
	desk     *cases.Desk
	webhooks *webhooks.Service
	log      *slog.Logger
	pages    templates.Set
	cop      *http.CrossOriginProtection
	proxies  []*net.IPNet
	tempDir  string
	uploads  chan struct{}
	// uploadsPerOwner, uploadIdle and uploadTotal: see Config.MaxUploadsPerToken and the timeouts.
	uploadsPerOwner *slotCounter
	uploadIdle      time.Duration
	uploadTotal     time.Duration
	limiter         *tokenLimiter
	engine          *gin.Engine
	metrics         *metrics
	compress        func(http.Handler) http.HandlerFunc
	replies         []templates.Reply
}

// New builds the server and its routes. It fails when a page template does not parse, so that a
// broken page stops the start instead of a request.
func New(cfg Config) (*Server, error) {
	gin.SetMode(gin.ReleaseMode)
	assets, err := templates.LoadAssets()
	if err != nil {
		return nil, err
	}
	pages, err := templates.Parse(pageFuncs(assets, time.Now), consolePages...)
	if err != nil {
		return nil, err
	}
	s := &Server{desk: cfg.Desk, log: cfg.Logger, pages: pages, cop: http.NewCrossOriginProtection(), tempDir: cfg.TempDir,
		webhooks: webhooks.New(webhooks.Config{Desk: cfg.Desk, AllowPrivate: cfg.WebhookAllowPrivate})}
	if s.replies, err = loadReplies(); err != nil {
		return nil, err
	}
	if cfg.MaxUploads <= 0 {
		cfg.MaxUploads = 8
	}
	s.uploads = make(chan struct{}, cfg.MaxUploads)
	if cfg.MaxUploadsPerToken <= 0 {
		cfg.MaxUploadsPerToken = 2
	}
	s.uploadsPerOwner = &slotCounter{max: cfg.MaxUploadsPerToken, held: map[string]int{}}
	s.uploadIdle, s.uploadTotal = cfg.UploadIdleTimeout, cfg.UploadTimeout
	if s.uploadIdle <= 0 {
		s.uploadIdle = 15 * time.Second
	}
	if s.uploadTotal <= 0 {
		s.uploadTotal = 90 * time.Second
	}
	s.limiter = newTokenLimiter(cfg.APIRate)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics, err = newMetrics(cfg.Desk, s.log); err != nil {
		return nil, err
	}
	if s.compress, err = newCompressor(); err != nil {
		return nil, err
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// Forwarding headers are believed only from the operator's load balancers, so a client cannot
	// forge its address in the audit trail or the sign-in throttle.
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	for _, p := range cfg.TrustedProxies {
		if !strings.Contains(p, "/") {
			if strings.Contains(p, ":") {
				p += "/128"
			} else {
				p += "/32"
			}
		}
		if _, n, err := net.ParseCIDR(p); err == nil {
			s.proxies = append(s.proxies, n)
		}
	}
	r.Use(s.metrics.observe, withRequestID, s.accessLog, s.recoverPanics, securityHeaders, noStoreButAssets, s.rejectMalformedText)
	s.register(r)
	r.GET("/static/*file", s.staticFile(assets))
	r.NoRoute(s.notFound)
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, http.StatusMethodNotAllowed, "method_not_allowed", "this resource does not support "+c.Request.Method, nil)
	})
	s.engine = r
	return s, nil
}

// notFound answers a problem to API callers and a page to people.
func (s *Server) notFound(c *gin.Context) {
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		writeProblem(c, http.StatusNotFound, cases.CodeNotFound, "no such resource", nil)
		return
	}
	s.renderError(c, http.StatusNotFound, "Page not found",
		"There is no page at "+c.Request.URL.Path+". It may have moved, or the link may be mistyped.")
}

// render writes a page. The page is rendered whole before the status is sent, so that a template
// error is answered as a clean 500 error page, not as a 200 cut off where the template failed.
func (s *Server) render(c *gin.Context, status int, page string, view any) {
	var buf bytes.Buffer
	if err := s.pages.Page(page).Execute(&buf, view); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", slog.String("page", page),
			slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
		if page == pageError {
			// The error page itself failed: a plain answer cannot.
			c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte(http.StatusText(http.StatusInternalServerError)+"\n"))
			return
		}
		s.renderServerError(c)
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serveCompressed(w, r) }

// ListenAndServe serves on addr until ctx ends, then stops accepting and lets requests in flight
// finish for up to 20 seconds. ready, when not nil, receives the bound address.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// overTLS reports whether the browser reached the desk over HTTPS: directly, or through a trusted
// proxy that says so in X-Forwarded-Proto.
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if r.Header.Get("X-Forwarded-Proto") != "https" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, n := range s.proxies {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}
