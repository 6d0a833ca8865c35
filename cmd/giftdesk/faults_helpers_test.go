package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/webhooks"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// The helpers of the database-fault and graceful-shutdown tests: serve as an operator runs it (a
// process of its own), the staff and tokens of a load, and the ledger's invariants.

// envRounds reads a positive count from the environment variable name (longer runs by hand),
// else def.
func envRounds(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// lockedBuffer collects a process's standard error while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveProcess is one `giftdesk serve` process.
type serveProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
	exited chan struct{}
	err    error // Wait's answer, once exited is closed
}

// startServe starts `giftdesk serve` on a free port with env and waits until its health check
// answers. The process is killed when the test ends if it is still running.
func startServe(t *testing.T, bin string, env []string) *serveProcess {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &serveProcess{addr: addr, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--addr", addr)
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.exited:
			t.Fatalf("serve exited at start (%v): %s", p.err, p.errorLines())
		default:
		}
		if resp, err := client.Get(p.url("/api/v1/health")); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
	}
	t.Fatalf("serve did not answer within a minute: %s", p.errorLines())
	return nil
}

func (p *serveProcess) url(path string) string { return "http://" + p.addr + path }

// errorLines returns serve's warning and error lines, at most 20, for a failure message. Never
// the whole of its standard error: at a first start it holds the bootstrap admin's password.
func (p *serveProcess) errorLines() string {
	var out []string
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, "password") {
			continue
		}
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) || strings.HasPrefix(line, "giftdesk: ") {
			out = append(out, line)
		}
	}
	if len(out) > 20 {
		out = append(out[:10], append([]string{"…"}, out[len(out)-10:]...)...)
	}
	return strings.Join(out, "\n")
}

// logged counts serve's log lines holding every fragment.
func (p *serveProcess) logged(fragments ...string) int {
	n := 0
lines:
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		for _, f := range fragments {
			if !strings.Contains(line, f) {
				continue lines
			}
		}
		n++
	}
	return n
}

// onDesk runs fn on a desk over the database at url, outside any server.
func onDesk(t *testing.T, url string, fn func(desk *cases.Desk)) {
	t.Helper()
	db, err := models.Open(context.Background(), models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	fn(cases.New(cases.Config{DB: db, Keys: casestest.Keys}))
}

// staff are the people of a load: an agent (API token and console session), two supervisors
// (API tokens; a dual approval needs both), each with the scopes of their work.
type staff struct {
	agentToken, sup1Token, sup2Token string
	agentEmail, agentPassword        string
}

// addStaff creates the load's users and tokens directly on the database at url.
func addStaff(t *testing.T, url string) staff {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	s := staff{agentEmail: "agent@example.com", agentPassword: "correct horse battery staple"}
	users := []struct {
		email  string
		role   cases.Role
		token  *string
		scopes []cases.Scope
	}{
		{s.agentEmail, cases.RoleAgent, &s.agentToken, []cases.Scope{cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite}},
		{"sup1@example.com", cases.RoleSupervisor, &s.sup1Token, []cases.Scope{cases.ScopeCasesRead, cases.ScopeCorrectionsDecide, cases.ScopeExport}},
		{"sup2@example.com", cases.RoleSupervisor, &s.sup2Token, []cases.Scope{cases.ScopeCasesRead, cases.ScopeCorrectionsDecide}},
	}
	for _, u := range users {
		if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: u.email, Name: u.email, Role: u.role, Password: s.agentPassword}); err != nil {
			t.Fatal(err)
		}
		raw, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: u.email, Name: "load", Scopes: u.scopes})
		if err != nil {
			t.Fatal(err)
		}
		*u.token = raw
	}
	if _, err := desk.SealPass(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// signIn signs the agent in on the console and returns a client carrying the session cookie that
// does not follow redirects (a redirect to /login would hide a lost session).
func signIn(t *testing.T, p *serveProcess, s staff, timeout time.Duration) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(p.url("/login"), url.Values{"email": {s.agentEmail}, "password": {s.agentPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console sign-in: %d", resp.StatusCode)
	}
	return c
}

// apiCall is one API request's answer; err is set when no answer came.
type apiCall struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// decode reads a JSON answer into v.
func (a apiCall) decode(v any) error { return json.Unmarshal(a.body, v) }

// problemCode returns the code of a problem answer, or "".
func (a apiCall) problemCode() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(a.body, &p)
	return p.Code
}

// callAPI sends one request with a bearer token (when not empty) and an Idempotency-Key (when not
// empty), and reads the whole answer.
func callAPI(c *http.Client, method, u, token, key string, body any) apiCall {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiCall{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return apiCall{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return apiCall{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return apiCall{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// isTimeout reports a request that got no answer within its client's timeout: a hang.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// ledgerReport is what checkLedger found.
type ledgerReport struct {
	Cases, Corrections, Applied, Postings int64
}

// checkLedger fails t on every rule casestest.Violations finds broken on db (postings, approvals,
// face values, reversals, an audit event and an outbox row for every change: SPEC R5, R8), and
// counts what the desk holds for the test's report.
func checkLedger(t *testing.T, db *gorm.DB) ledgerReport {
	t.Helper()
	count := func(q string) int64 { return modelstest.Count(t, db, q) }
	broken, err := casestest.Violations(context.Background(), db, cases.DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range broken {
		t.Errorf("ledger: %s", v)
	}
	applied := count(`SELECT count(*) FROM corrections WHERE status IN ('applied', 'reversed')`)
	return ledgerReport{Cases: count(`SELECT count(*) FROM cases`), Corrections: count(`SELECT count(*) FROM corrections`),
		Applied: applied, Postings: count(`SELECT count(*) FROM postings`)}
}

// auditVerify runs `giftdesk audit verify` against env's database and fails t unless it passes
// with no event left unchained.
func auditVerify(t *testing.T, bin string, env []string) string {
	t.Helper()
	cmd := exec.Command(bin, "audit", "verify")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("audit verify: %v: %s", err, out)
	}
	line := strings.TrimSpace(string(out))
	if !strings.Contains(line, " 0 waiting to be chained") {
		t.Errorf("audit verify: %s, want every event chained", line)
	}
	return line
}

// caseBody is a wrong_account case whose card, redeemed to from, can move up to 1,000 USD to to.
func caseBody(serial, from, to string) map[string]any {
	return map[string]any{"type": "wrong_account", "summary": "Redeemed on the wrong account",
		"customer":         map[string]any{"account_id": from, "marketplace": "US"},
		"intended_account": map[string]any{"account_id": to, "marketplace": "US"},
		"cards": []map[string]any{{"serial": serial, "face_value_minor": 100000, "currency": "USD", "marketplace": "US",
			"status": "redeemed", "redeemed_to": from, "redeemed_at": "2026-11-20T10:00:00Z"}}}
}

// caseAnswer is the part of a case answer the loads use.
type caseAnswer struct {
	Ref   string `json:"ref"`
	Cards []struct {
		ID string `json:"id"`
	} `json:"cards"`
}

// correctionAnswer is the part of a correction answer the loads use.
type correctionAnswer struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	RequiredApprovals int    `json:"required_approvals"`
}

func correctionBody(amount int64, from, to, cardID string) map[string]any {
	return map[string]any{"kind": "transfer", "amount_minor": amount, "currency": "USD", "from_account": from,
		"to_account": to, "card_id": cardID, "reason": "moved to the intended account"}
}

func describeCall(a apiCall) string {
	if a.err != nil {
		return a.err.Error()
	}
	body := string(a.body)
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("%d %s", a.status, body)
}

// countingReceiver is a webhook endpoint that counts each event it receives and, while hold is
// set, takes a second to answer, so that a dispatcher stopped meanwhile has an attempt in flight.
type countingReceiver struct {
	*httptest.Server
	hold   atomic.Bool
	mu     sync.Mutex
	seen   map[string]int
	bodies map[string]map[[sha256.Size]byte]bool
}

func newCountingReceiver(t *testing.T, hold bool) *countingReceiver {
	r := &countingReceiver{seen: map[string]int{}, bodies: map[string]map[[sha256.Size]byte]bool{}}
	r.hold.Store(hold)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		r.seen[id]++
		if r.bodies[id] == nil {
			r.bodies[id] = map[[sha256.Size]byte]bool{}
		}
		r.bodies[id][sha256.Sum256(b)] = true
		r.mu.Unlock()
		if r.hold.Load() {
			time.Sleep(time.Second)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *countingReceiver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.seen {
		n += c
	}
	return n
}

// conflicting counts the events received with two different bodies.
func (r *countingReceiver) conflicting() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.bodies {
		if len(b) > 1 {
			n++
		}
	}
	return n
}

// received reports whether the event id has arrived.
func (r *countingReceiver) received(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[id] > 0
}

// duplicates counts the events received more than once.
func (r *countingReceiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.seen {
		if c > 1 {
			n++
		}
	}
	return n
}

// addEndpoint registers a webhook endpoint at receiver for events, directly on desk.
func addEndpoint(t *testing.T, desk *cases.Desk, receiver string, events ...string) {
	t.Helper()
	if _, err := webhooks.New(webhooks.Config{Desk: desk, AllowPrivate: true}).Create(context.Background(), cases.Principal{Role: cases.RoleAdmin},
		cases.CLIActor, webhooks.NewEndpoint{URL: receiver, Events: events}); err != nil {
		t.Fatal(err)
	}
}
