// Package handlers serves giftdesk over HTTP: the JSON API (and, later, the console). Handlers
// are thin: bind, call one cases function, write the answer.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// Config builds a Server.
type Config struct {
	Desk   *cases.Desk
	Logger *slog.Logger
}

// Server is the HTTP face of a Desk.
type Server struct {
	desk   *cases.Desk
	log    *slog.Logger
	engine *gin.Engine
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{desk: cfg.Desk, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// The desk is reached directly or through a proxy the operator configures; until then, trust
	// no forwarding header, so a client cannot forge its address in the audit trail.
	_ = r.SetTrustedProxies(nil)
	r.Use(withRequestID, s.accessLog, s.recoverPanics, securityHeaders)
	s.register(r)
	r.NoRoute(func(c *gin.Context) {
		writeProblem(c, http.StatusNotFound, cases.CodeNotFound, "no such resource", nil)
	})
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, http.StatusMethodNotAllowed, "method_not_allowed", "this resource does not support "+c.Request.Method, nil)
	})
	s.engine = r
	return s
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

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
