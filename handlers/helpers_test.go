package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
)

// harness is a server on a fresh database, with a log buffer the tests can grep.
type harness struct {
	t    *testing.T
	db   *gorm.DB
	desk *cases.Desk
	srv  *Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newHarness(t *testing.T, db *gorm.DB) *harness { return newHarnessWith(t, db, Config{}) }

// newHarnessWith is newHarness with a server configured by cfg (its Desk and Logger are set here).
func newHarnessWith(t *testing.T, db *gorm.DB, cfg Config) *harness {
	logs := &syncBuffer{}
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	cfg.Desk, cfg.Logger = desk, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, db: db, desk: desk, srv: srv, logs: logs}
}

// user creates a user and returns a token with the given scopes.
func (h *harness) token(email string, role cases.Role, scopes ...cases.Scope) string {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: "Test " + string(role), Role: role,
		Password: "correct horse battery"}); err != nil && !strings.Contains(err.Error(), "already exists") {
		h.t.Fatal(err)
	}
	raw, _, err := h.desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: email, Name: "test", Scopes: scopes})
	if err != nil {
		h.t.Fatal(err)
	}
	return raw
}

// session creates a user (if needed) and signs them in, returning the session cookie's value.
func (h *harness) session(email string, role cases.Role) string {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: "Test " + string(role), Role: role,
		Password: "correct horse battery"}); err != nil && !strings.Contains(err.Error(), "already exists") {
		h.t.Fatal(err)
	}
	s, err := h.desk.SignIn(ctx, cases.SignInInput{Email: email, Password: "correct horse battery", ClientIP: "192.0.2.1"})
	if err != nil {
		h.t.Fatal(err)
	}
	return s.Token
}

type request struct {
	method, path, token string
	cookie              string // session cookie value
	body                io.Reader
	header              map[string]string
}

// do serves r. Every API exchange is checked against the OpenAPI document (checkContract).
func (h *harness) do(r request) *httptest.ResponseRecorder {
	h.t.Helper()
	isAPI := strings.HasPrefix(r.path, "/api/")
	var sentBody []byte
	haveBody := r.body == nil
	if isAPI && r.body != nil {
		if sentBody, haveBody = rewindable(r.body); haveBody {
			r.body = bytes.NewReader(sentBody)
		}
	}
	req := httptest.NewRequest(r.method, r.path, r.body)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: r.cookie})
	}
	if r.body != nil && r.method == http.MethodPost && !strings.HasPrefix(r.path, "/api/") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	sent := req.Clone(req.Context())
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, req)
	if isAPI {
		checkContract(h.t, sent, sentBody, haveBody, w)
	}
	return w
}

// mustUnmarshal decodes JSON into v, failing the test when it cannot: a zero value would pass
// checks by accident.
func mustUnmarshal(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %T: %v: %.200s", v, err, data)
	}
}

// problemOf decodes a problem answer and checks its form.
func problemOf(t *testing.T, w *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, w.Code, w.Body)
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, w.Body)
	}
	if p.Status != w.Code || p.Code == "" || p.Title == "" || p.Type == "" {
		t.Fatalf("incomplete problem %+v for status %d", p, w.Code)
	}
	return p
}

func expectProblem(t *testing.T, w *httptest.ResponseRecorder, status int, code string) Problem {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	p := problemOf(t, w)
	if p.Code != code {
		t.Fatalf("code = %q, want %q; detail %q", p.Code, code, p.Detail)
	}
	return p
}

// concretePath fills a route pattern's parameters with a harmless value.
func concretePath(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "x1"
		}
	}
	return strings.Join(parts, "/")
}
