package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/webhooks"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// dbFaultRoundsVar sets how many times TestDatabaseFaultsUnderLoad runs its four faults (default
// 1, as in CI): `GIFTDESK_TEST_DB_FAULT_ROUNDS=10 go test -run TestDatabaseFaultsUnderLoad ./cmd/giftdesk/`.
const dbFaultRoundsVar = "GIFTDESK_TEST_DB_FAULT_ROUNDS"

const (
	// faultRequestTimeout bounds every request of the load: one without an answer by then hangs.
	faultRequestTimeout = 15 * time.Second
	// faultDowntime is how long a stopped database stays down.
	faultDowntime = 2 * time.Second
	// faultRecovery bounds how long the desk may take to serve again once the database is back.
	faultRecovery = 20 * time.Second
	// faultWorkers is how many clients run stories at once.
	faultWorkers = 4
)

// TestDatabaseFaultsUnderLoad runs `giftdesk serve` on a PostgreSQL cluster of its own under a
// mixed load (API reads and writes with corrections and approvals, console pages of a signed-in
// agent, the health check) and takes the database away under it: pg_ctl restart, a fast stop and
// an immediate stop (each down for two seconds, then started), and pg_terminate_backend of every
// connection of the desk. While the database is down the API answers 503 problems with
// Retry-After and the console a 503 page; no answer is another 5xx and no request hangs; once
// the database is back the same server serves again by itself; afterwards every acknowledged
// write is there, every idempotent retry replayed or ran once, the ledger's invariants hold and
// `giftdesk audit verify` passes with every event chained (SPEC §5).
func TestDatabaseFaultsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster and a server: skipped with -short")
	}
	rounds := envRounds(t, dbFaultRoundsVar, 1)
	cluster := modelstest.StartCluster(t)
	dbURL := cluster.Database(t, "giftdesk_faults")
	admin := cluster.Admin(t)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	env := append(serverEnv(dbURL, filepath.Join(dir, "data")), "GIFTDESK_WEBHOOK_ALLOW_PRIVATE=1")
	people := addStaff(t, dbURL)
	rcv := newCountingReceiver(t, false)
	onDesk(t, dbURL, func(desk *cases.Desk) { addEndpoint(t, desk, rcv.URL, "case.created", "correction.applied") })
	serve := startServe(t, bin, env)
	load := newFaultLoad(t, serve, people)
	load.start()

	type fault struct {
		name string
		run  func() error
	}
	stopStart := func(mode string) func() error {
		return func() error {
			if err := cluster.Stop(mode); err != nil {
				return err
			}
			load.probeWhileDown(faultDowntime)
			return cluster.Start()
		}
	}
	faults := []fault{
		{"pg_ctl restart -m fast", func() error { return cluster.Restart("fast") }},
		{"fast stop, down 2 s, start", stopStart("fast")},
		{"immediate stop, down 2 s, start", stopStart("immediate")},
		{"pg_terminate_backend of the desk's connections, three times", func() error {
			for i := 0; i < 3; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				n, err := cluster.TerminateBackends(ctx, admin, "giftdesk_faults")
				cancel()
				if err != nil {
					return err
				}
				load.terminated.Add(int64(n))
				time.Sleep(300 * time.Millisecond)
			}
			return nil
		}},
	}
	injected := map[string]int{}
	var healthBack, storiesBack time.Duration // the slowest, over every fault
	for round := 1; round <= rounds; round++ {
		for _, f := range faults {
			load.waitForProgress(t, "before "+f.name)
			if err := f.run(); err != nil {
				t.Fatalf("round %d, %s: %v", round, f.name, err)
			}
			injected[f.name]++
			back := time.Now()
			healthBack = max(healthBack, load.waitForHealth(t, "after "+f.name))
			load.waitForProgress(t, "after "+f.name)
			storiesBack = max(storiesBack, time.Since(back))
		}
	}
	load.stop()
	if isClosed(serve.exited) {
		t.Fatalf("serve exited during the faults: %v: %s", serve.err, serve.errorLines())
	}

	// Every answer was one of the allowed ones, and the desk saw the outages.
	st := load.report()
	t.Logf("faults: %v; %d connections terminated; once the database was back, health answered 200 within %s and two more stories completed within %s",
		injected, load.terminated.Load(), healthBack.Round(10*time.Millisecond), storiesBack.Round(10*time.Millisecond))
	t.Logf("load: %s", st)
	for _, f := range load.failures() {
		t.Error(f)
	}
	if st.apiUnavailable == 0 || st.pagesUnavailable == 0 {
		t.Errorf("no 503 seen (API %d, console %d): the faults did not reach the desk", st.apiUnavailable, st.pagesUnavailable)
	}
	if n := serve.logged(`"msg":"request"`, `"status":5`) - serve.logged(`"msg":"request"`, `"status":503`); n != 0 {
		t.Errorf("serve logged %d answers with a 5xx other than 503:\n%s", n, serve.errorLines())
	}

	// Nothing acknowledged is lost, each idempotent request ran once, and the ledger holds.
	db, err := models.Open(context.Background(), models.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	load.checkAcknowledged(t, db)
	// The dispatcher survived: a case opened now reaches the receiver within seconds, and no
	// event was ever sent with two different bodies.
	after := callAPI(load.api, http.MethodPost, serve.url("/api/v1/cases"), people.agentToken, "faults-after", caseBody("7999000000000001", "FAULTZA", "FAULTZB"))
	if after.status != http.StatusCreated {
		t.Fatalf("a case after the faults: %s", describeCall(after))
	}
	event := webhooks.EventID(modelstest.Count(t, db, `SELECT MAX(id) FROM outbox WHERE event_type = 'case.created'`))
	waitFor(t, 20*time.Second, "the webhook of a case opened after the faults", func() bool { return rcv.received(event) })
	// Deliveries whose attempt an outage left unrecorded are taken back at the next pass, not
	// after the minute's lease: every event arrives.
	waitFor(t, 20*time.Second, "every webhook delivered", func() bool {
		return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'`) == 0 &&
			modelstest.Count(t, db, `SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM webhook_fanouts f WHERE f.outbox_id = o.id)`) == 0
	})
	if n := rcv.conflicting(); n != 0 {
		t.Errorf("%d webhook events delivered with two different bodies", n)
	}
	t.Logf("webhooks: all %d deliveries delivered; %d received, %d events more than once (an attempt whose record an outage lost)",
		modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries`), rcv.total(), rcv.duplicates())
	// The sealer survived the outages: every event is chained within its two seconds.
	time.Sleep(2 * time.Second)
	report := checkLedger(t, db)
	line := auditVerify(t, bin, env)
	// The balance pass survived too: it folds every posting once the load has stopped.
	deadline := time.Now().Add(faultRecovery)
	for modelstest.Count(t, db, `SELECT COALESCE(MAX(through_posting_id), 0) FROM balance_checkpoint_mark`) <
		modelstest.Count(t, db, `SELECT COALESCE(MAX(id), 0) FROM postings`) {
		if time.Now().After(deadline) {
			t.Fatal("the balance checkpoint pass did not fold the postings after the faults")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("after the faults: %d cases, %d corrections (%d applied), %d postings; %s",
		report.Cases, report.Corrections, report.Applied, report.Postings, line)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// faultLoad is the mixed load of TestDatabaseFaultsUnderLoad: workers each run stories (a case,
// a correction, its approvals, reads of the API and the console) one after the other, sending
// every write again after a 503 as a client would, until they are stopped.
type faultLoad struct {
	serve   *serveProcess
	people  staff
	api     *http.Client
	console *http.Client
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	stories      atomic.Int64 // stories completed
	terminated   atomic.Int64 // backends ended by pg_terminate_backend
	stoppedNanos atomic.Int64 // when stop was called

	mu    sync.Mutex
	stats faultStats
	fails []string
	// acknowledged writes: case refs answered 201/200, correction ids seen applied
	refs      []string
	applied   []string
	requested int
	// Idempotency-Keys whose request was answered only when sent again after a 503
	retriedKeys map[string]int
}

type faultStats struct {
	requests, ok, apiUnavailable, pagesUnavailable, downProbes, retriedWrites int
}

func (s faultStats) String() string {
	return fmt.Sprintf("%d requests: %d answered 2xx/3xx or an expected 4xx, %d API 503 problems, %d console 503 pages; "+
		"%d probes while the database was stopped; %d requests sent again after a 503",
		s.requests, s.ok, s.apiUnavailable, s.pagesUnavailable, s.downProbes, s.retriedWrites)
}

func newFaultLoad(t *testing.T, serve *serveProcess, people staff) *faultLoad {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // a test that stops early leaves no worker behind for long
	return &faultLoad{serve: serve, people: people, ctx: ctx, cancel: cancel,
		api:         &http.Client{Timeout: faultRequestTimeout},
		console:     signIn(t, serve, people, faultRequestTimeout),
		retriedKeys: map[string]int{}}
}

func (l *faultLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) < 50 {
		l.fails = append(l.fails, fmt.Sprintf(format, args...))
	}
}

func (l *faultLoad) failures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.fails...)
}

func (l *faultLoad) report() faultStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *faultLoad) count(f func(s *faultStats)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.stats)
}

// answered classifies an API answer: false when it was a 503 problem (send again later), true
// otherwise. An answer that is neither allowed nor a 503 problem, no answer at all, or a hang is
// a failure.
func (l *faultLoad) answered(what string, a apiCall) bool {
	l.count(func(s *faultStats) { s.requests++ })
	switch {
	case a.err != nil && isTimeout(a.err):
		l.fail("%s hung past %s: %v", what, faultRequestTimeout, a.err)
		return false
	case a.err != nil:
		l.fail("%s got no answer: %v", what, a.err)
		return false
	case a.status == http.StatusServiceUnavailable:
		l.count(func(s *faultStats) { s.apiUnavailable++ })
		if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || a.problemCode() != cases.CodeUnavailable {
			l.fail("%s: 503 %q %s, want a problem with code %s", what, ct, describeCall(a), cases.CodeUnavailable)
		}
		if a.header.Get("Retry-After") == "" {
			l.fail("%s: 503 without Retry-After", what)
		}
		return false
	case a.status >= 500:
		l.fail("%s: %s", what, describeCall(a))
		return false
	}
	l.count(func(s *faultStats) { s.ok++ })
	return true
}

// page fetches a console page and classifies it as answered does: 200 HTML, or a 503 page with
// Retry-After while the database is away.
func (l *faultLoad) page(path string) bool {
	l.count(func(s *faultStats) { s.requests++ })
	resp, err := l.console.Get(l.serve.url(path))
	if err != nil {
		if isTimeout(err) {
			l.fail("page %s hung past %s: %v", path, faultRequestTimeout, err)
		} else {
			l.fail("page %s got no answer: %v", path, err)
		}
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		l.fail("page %s: the body broke off: %v", path, err)
		return false
	}
	isHTML := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")
	switch {
	case resp.StatusCode == http.StatusOK && isHTML:
		l.count(func(s *faultStats) { s.ok++ })
		return true
	case resp.StatusCode == http.StatusServiceUnavailable:
		l.count(func(s *faultStats) { s.pagesUnavailable++ })
		if !isHTML || resp.Header.Get("Retry-After") == "" {
			l.fail("page %s: 503 %q Retry-After %q, want an HTML page with Retry-After", path,
				resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"))
		}
		return false
	default:
		// A lost session redirects to /login: that is a failure too.
		l.fail("page %s: %d %q %s %.200s", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Location"), body)
		return false
	}
}

// retry sends a request until it is answered (not a 503), waiting a little between attempts as
// a client honouring Retry-After would (shortened: the test wants many faults in little time).
// It gives up, failing, when the desk does not answer within faultRecovery of the load's stop.
func (l *faultLoad) retry(what string, send func(again bool) bool) bool {
	for attempt := 0; ; attempt++ {
		if attempt == 1 {
			l.count(func(s *faultStats) { s.retriedWrites++ })
		}
		if send(attempt > 0) {
			return true
		}
		if len(l.failures()) > 0 {
			return false
		}
		select {
		case <-l.ctx.Done():
			// Finish the story: the load stops only once the desk answers again.
			if time.Now().After(l.stoppedAt().Add(faultRecovery)) {
				l.fail("%s: still unanswered %s after the load stopped", what, faultRecovery)
				return false
			}
		case <-time.After(200 * time.Millisecond):
		}
		if l.ctx.Err() != nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (l *faultLoad) stoppedAt() time.Time { return time.Unix(0, l.stoppedNanos.Load()) }

func (l *faultLoad) start() {
	for w := 0; w < faultWorkers; w++ {
		l.wg.Add(1)
		go func(w int) {
			defer l.wg.Done()
			for i := 0; l.ctx.Err() == nil && len(l.failures()) == 0; i++ {
				if l.story(w, i) {
					l.stories.Add(1)
				}
			}
		}(w)
	}
}

func (l *faultLoad) stop() {
	l.stoppedNanos.Store(time.Now().UnixNano())
	l.cancel()
	l.wg.Wait()
}

// waitForProgress waits until two more stories have completed end to end: the desk serves.
func (l *faultLoad) waitForProgress(t *testing.T, when string) {
	t.Helper()
	want := l.stories.Load() + 2
	deadline := time.Now().Add(faultRecovery)
	for l.stories.Load() < want {
		if fails := l.failures(); len(fails) > 0 {
			t.Fatalf("%s: %s", when, strings.Join(fails, "\n"))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no story completed within %s: the desk did not recover by itself\n%s", when, faultRecovery, l.serve.errorLines())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForHealth polls the health check until it answers 200 and returns how long that took.
func (l *faultLoad) waitForHealth(t *testing.T, when string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		a := callAPI(l.api, http.MethodGet, l.serve.url("/api/v1/health"), "", "", nil)
		if l.answered("health", a) && a.status == http.StatusOK {
			return time.Since(start)
		}
		if time.Since(start) > faultRecovery {
			t.Fatalf("%s: health still %s after %s: the desk did not recover by itself", when, describeCall(a), faultRecovery)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// probeWhileDown asks the API, the health check and the console while the database is stopped,
// for d: each must answer 503 at once.
func (l *faultLoad) probeWhileDown(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		for _, path := range []string{"/api/v1/health", "/api/v1/cases"} {
			began := time.Now()
			a := callAPI(l.api, http.MethodGet, l.serve.url(path), l.people.agentToken, "", nil)
			if l.answered("probe "+path, a) {
				l.fail("probe %s while the database is stopped: %s, want 503", path, describeCall(a))
			}
			if took := time.Since(began); took > 5*time.Second {
				l.fail("probe %s while the database is stopped took %s", path, took)
			}
		}
		if l.page("/cases") {
			l.fail("console /cases answered 200 while the database is stopped")
		}
		l.count(func(s *faultStats) { s.downProbes++ })
	}
}

// story runs one customer's case through the desk: create it, request a transfer, approve it
// (twice for an amount at the dual-approval threshold), read it back through the API and the
// console. It reports whether the story completed.
func (l *faultLoad) story(w, i int) bool {
	from, to := fmt.Sprintf("FAULTW%dA", w), fmt.Sprintf("FAULTW%dB", w)
	key := fmt.Sprintf("faults-%d-%d", w, i)
	var c caseAnswer
	body := caseBody(fmt.Sprintf("7%03d%012d", w, i), from, to)
	if !l.retry("create case "+key, func(again bool) bool {
		a := callAPI(l.api, http.MethodPost, l.serve.url("/api/v1/cases"), l.people.agentToken, key+"-case", body)
		if !l.answered("create case", a) {
			return false
		}
		if a.status != http.StatusCreated || a.decode(&c) != nil || c.Ref == "" || len(c.Cards) != 1 {
			l.fail("create case %s: %s", key, describeCall(a))
			return true
		}
		l.ack(again, key+"-case", func() { l.refs = append(l.refs, c.Ref) })
		return true
	}) || c.Ref == "" {
		return false
	}
	amount := int64(100)
	if i%3 == 0 {
		amount = 60000 // at the USD dual-approval threshold: two supervisors
	}
	var corr correctionAnswer
	if !l.retry("request correction "+key, func(again bool) bool {
		a := callAPI(l.api, http.MethodPost, l.serve.url("/api/v1/cases/"+c.Ref+"/corrections"), l.people.agentToken, key+"-corr",
			correctionBody(amount, from, to, c.Cards[0].ID))
		if !l.answered("request correction", a) {
			return false
		}
		if a.status != http.StatusCreated || a.decode(&corr) != nil || corr.ID == "" {
			l.fail("request correction %s: %s", key, describeCall(a))
			return true
		}
		l.ack(again, key+"-corr", func() { l.requested++ })
		return true
	}) || corr.ID == "" {
		return false
	}
	approvers := []string{l.people.sup1Token}
	if corr.RequiredApprovals == 2 {
		approvers = append(approvers, l.people.sup2Token)
	}
	for n, tok := range approvers {
		if !l.retry("approve "+corr.ID, func(again bool) bool {
			a := callAPI(l.api, http.MethodPost, l.serve.url("/api/v1/corrections/"+corr.ID+"/approve"), tok, "", map[string]any{"note": "ok"})
			if !l.answered("approve", a) {
				return false
			}
			code := a.problemCode()
			switch {
			case a.status == http.StatusOK:
			// A 503 may come after the approval committed: sent again, the supervisor is told
			// it is done already.
			case again && a.status == http.StatusConflict && code == "already_approved" && n == 0 && len(approvers) == 2:
			case again && a.status == http.StatusUnprocessableEntity && code == "already_decided" && n == len(approvers)-1:
			default:
				l.fail("approve %s (%d of %d): %s", corr.ID, n+1, len(approvers), describeCall(a))
			}
			return true
		}) {
			return false
		}
	}
	var got correctionAnswer
	if !l.retry("read correction "+corr.ID, func(bool) bool {
		a := callAPI(l.api, http.MethodGet, l.serve.url("/api/v1/corrections/"+corr.ID), l.people.agentToken, "", nil)
		if !l.answered("read correction", a) {
			return false
		}
		if a.status != http.StatusOK || a.decode(&got) != nil || got.Status != "applied" {
			l.fail("correction %s after its approvals: %s", corr.ID, describeCall(a))
		}
		return true
	}) {
		return false
	}
	l.mu.Lock()
	l.applied = append(l.applied, corr.ID)
	l.mu.Unlock()
	// Reads: each answered once, a 503 is an answer too (the story goes on).
	for _, path := range []string{"/api/v1/cases/" + c.Ref, "/api/v1/accounts/" + from, "/api/v1/corrections?case=" + c.Ref, "/api/v1/health"} {
		a := callAPI(l.api, http.MethodGet, l.serve.url(path), l.people.agentToken, "", nil)
		if l.answered("GET "+path, a) {
			if a.status != http.StatusOK {
				l.fail("GET %s: %s", path, describeCall(a))
			}
		}
	}
	for _, path := range []string{"/", "/cases/" + c.Ref, "/approvals", "/accounts/" + to} {
		l.page(path)
	}
	return len(l.failures()) == 0
}

// ack records an acknowledged write; again says it was sent before without an answer, so that
// the write may be a replay of an earlier commit.
func (l *faultLoad) ack(again bool, key string, record func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if again {
		l.retriedKeys[key]++
	}
	if record != nil {
		record()
	}
}

// checkAcknowledged fails t unless the database holds exactly what the desk acknowledged: every
// case answered 201 once and no other (a create sent again after a 503 that had committed
// replayed instead of running twice), every correction requested once, every one seen applied
// still applied.
func (l *faultLoad) checkAcknowledged(t *testing.T, db *gorm.DB) {
	t.Helper()
	l.mu.Lock()
	refs, applied, requested := append([]string(nil), l.refs...), append([]string(nil), l.applied...), l.requested
	retried := len(l.retriedKeys)
	l.mu.Unlock()
	if len(refs) == 0 || len(applied) == 0 {
		t.Fatalf("the load acknowledged %d cases and %d applied corrections: it did not run", len(refs), len(applied))
	}
	if n := modelstest.Count(t, db, `SELECT count(*) FROM cases`); n != int64(len(refs)) {
		t.Errorf("%d cases in the database, %d acknowledged: a retried create ran twice or an acknowledged one was lost", n, len(refs))
	}
	if n := modelstest.Count(t, db, `SELECT count(DISTINCT ref) FROM cases WHERE ref IN ?`, refs); n != int64(len(refs)) {
		t.Errorf("%d of the %d acknowledged cases are in the database", n, len(refs))
	}
	if n := modelstest.Count(t, db, `SELECT count(*) FROM corrections`); n != int64(requested) {
		t.Errorf("%d corrections in the database, %d acknowledged", n, requested)
	}
	if n := modelstest.Count(t, db, `SELECT count(*) FROM corrections WHERE status = 'applied' AND CAST(id AS TEXT) IN ?`, applied); n != int64(len(applied)) {
		t.Errorf("%d of the %d corrections seen applied are applied", n, len(applied))
	}
	t.Logf("acknowledged: %d cases, %d corrections, %d applied; %d idempotent writes answered only when sent again", len(refs), requested, len(applied), retried)
}
