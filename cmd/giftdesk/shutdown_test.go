package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

const (
	// shutdownBound is how long serve may take to exit after SIGTERM: its 20 s drain of requests
	// in flight, plus the last sealing pass and the dispatcher's attempt in flight.
	shutdownBound = 25 * time.Second
	// shutdownDeliveries is how many webhook deliveries wait when serve starts: more than it
	// sends before it is stopped, so that it holds claims it has not sent.
	shutdownDeliveries = 20
)

// TestSIGTERMFinishesWorkInFlightAndGivesBackClaims stops `giftdesk serve` with SIGTERM while an
// evidence upload is still arriving, other clients are sending requests, and the webhook
// dispatcher holds claims on deliveries to a slow receiver. Serve stops accepting connections at
// once, finishes the upload (201, its audit event chained), answers no request with a 5xx,
// records the webhook attempt in flight, gives back the deliveries it claimed and did not send,
// and exits 0 within shutdownBound; a second serve started afterwards sends the rest at once
// rather than after the minute's lease, each event exactly once.
func TestSIGTERMFinishesWorkInFlightAndGivesBackClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and stops a server: skipped with -short")
	}
	dbURL := modelstest.URL(t, models.Postgres)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	env := append(serverEnv(dbURL, filepath.Join(dir, "data")), "GIFTDESK_WEBHOOK_ALLOW_PRIVATE=1")
	people := addStaff(t, dbURL)
	rcv := newCountingReceiver(t, true)
	ref := prepareShutdownDesk(t, dbURL, rcv.URL)

	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	first := startServe(t, bin, env)
	// The dispatcher claims every waiting delivery in its first pass and sends them one by one.
	waitFor(t, 20*time.Second, "the dispatcher holding claims with an attempt in flight", func() bool {
		return rcv.total() >= 1 && modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE lease_owner <> ''`) >= 2
	})

	upload := startSlowUpload(t, first, people.agentToken, ref)
	<-upload.begun
	load := startShutdownLoad(first, people.agentToken, ref, 2)
	time.Sleep(300 * time.Millisecond)

	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	// New connections are refused at once, while the upload is still arriving.
	refusedAfter := time.Duration(-1)
	for time.Since(signalled) < 2*time.Second {
		conn, err := net.DialTimeout("tcp", first.addr, time.Second)
		if err != nil {
			refusedAfter = time.Since(signalled)
			break
		}
		conn.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if refusedAfter < 0 {
		t.Fatal("serve still accepts connections 2 s after SIGTERM")
	}
	if isClosed(upload.done) {
		t.Fatal("the upload ended before serve stopped accepting: the test did not stop serve with a request in flight")
	}
	select {
	case <-first.exited:
	case <-time.After(shutdownBound):
		t.Fatalf("serve still running %s after SIGTERM", shutdownBound)
	}
	exitedAfter := time.Since(signalled)
	if first.err != nil {
		t.Fatalf("serve after SIGTERM: %v, want exit 0: %s", first.err, first.errorLines())
	}
	load.stop()
	<-upload.done
	if upload.status != http.StatusCreated {
		t.Fatalf("the upload in flight at SIGTERM: %d %s, want 201", upload.status, upload.body)
	}
	if n := modelstest.Count(t, db, `SELECT count(*) FROM evidence`); n != 1 {
		t.Fatalf("%d evidence rows after the upload, want 1", n)
	}
	answered, served5xx := load.result()
	if served5xx != 0 {
		t.Errorf("%d requests answered with a 5xx during the shutdown", served5xx)
	}
	// The sealer ran until the upload was answered: its event is chained by this server.
	if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)`); n != 0 {
		t.Errorf("%d audit events left unchained by the stopped server", n)
	}
	// The attempt in flight was recorded; the rest were given back.
	sentByFirst := rcv.total()
	if n := modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE lease_owner <> '' OR lease_until IS NOT NULL`); n != 0 {
		t.Errorf("%d webhook deliveries still claimed by the stopped server", n)
	}
	if n := modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'`); n != int64(sentByFirst) {
		t.Errorf("%d deliveries recorded as delivered, %d received: an attempt in flight was not recorded", n, sentByFirst)
	}
	if sentByFirst >= shutdownDeliveries {
		t.Fatalf("the first server sent all %d deliveries before it stopped: nothing left to give back", sentByFirst)
	}
	t.Logf("SIGTERM: refused new connections after %s, exited 0 after %s; upload in flight answered 201; %d requests answered meanwhile, %d 5xx; %d of %d webhooks sent, the rest given back",
		refusedAfter.Round(time.Millisecond), exitedAfter.Round(time.Millisecond), answered, served5xx, sentByFirst, shutdownDeliveries)

	// A second server takes the given-back deliveries at once (the lease would hold them a minute).
	rcv.hold.Store(false)
	started := time.Now()
	second := startServe(t, bin, env)
	waitFor(t, 20*time.Second, "the second server sending the rest", func() bool {
		return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'`) == shutdownDeliveries
	})
	took := time.Since(started)
	if took > 15*time.Second {
		t.Errorf("the second server took %s to send the given-back deliveries: it waited for leases", took)
	}
	if dup := rcv.duplicates(); dup != 0 {
		t.Errorf("%d events received more than once", dup)
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-second.exited
	if second.err != nil {
		t.Errorf("the second serve after SIGTERM: %v", second.err)
	}
	line := auditVerify(t, bin, env)
	t.Logf("second server: every delivery sent %s after its start, each once; %s", took.Round(time.Millisecond), line)
}

// waitFor polls cond until it holds, failing t after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// prepareShutdownDesk registers the receiver for case.created and opens shutdownDeliveries
// cases, so that serve finds that many deliveries waiting; it returns the first case's ref.
func prepareShutdownDesk(t *testing.T, dbURL, receiver string) string {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	addEndpoint(t, desk, receiver, "case.created")
	agent, err := desk.PrincipalByEmail(ctx, "agent@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := 0; i < shutdownDeliveries; i++ {
		face := int64(5000)
		v, _, err := desk.CreateCase(ctx, agent, cases.CLIActor, cases.NewCase{Type: "wrong_account", Summary: "shutdown test",
			Customer: cases.AccountInput{AccountID: "STOP1", Marketplace: "US"}, IntendedAccount: &cases.AccountInput{AccountID: "STOP2", Marketplace: "US"},
			Cards: []cases.CardInput{{Serial: fmt.Sprintf("8%015d", i), FaceValueMinor: &face, Currency: "USD", Marketplace: "US", Status: "redeemed", RedeemedTo: "STOP1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = v.Ref
		}
	}
	if _, err := desk.SealPass(ctx); err != nil {
		t.Fatal(err)
	}
	return first
}

// slowUpload is an evidence upload whose body arrives over about three seconds.
type slowUpload struct {
	begun  chan struct{} // the first part of the body has been sent
	done   chan struct{}
	status int
	body   string
}

func startSlowUpload(t *testing.T, p *serveProcess, token, ref string) *slowUpload {
	t.Helper()
	var file bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	rng := rand.New(rand.NewSource(1))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Intn(256))
	}
	if err := png.Encode(&file, img); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("kind", "screenshot"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", "screen.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(file.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	u := &slowUpload{begun: make(chan struct{}), done: make(chan struct{})}
	pr, pw := io.Pipe()
	go func() {
		// 15 parts, 200 ms apart: the body is complete about 3 s after it began.
		b := body.Bytes()
		part := len(b)/15 + 1
		for i := 0; i < len(b); i += part {
			end := min(i+part, len(b))
			if _, err := pw.Write(b[i:end]); err != nil {
				return
			}
			if i == 0 {
				close(u.begun)
			}
			time.Sleep(200 * time.Millisecond)
		}
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, p.url("/api/v1/cases/"+ref+"/evidence"), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(body.Len())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	go func() {
		defer close(u.done)
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			u.body = err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		u.status, u.body = resp.StatusCode, string(b)
	}()
	return u
}

// shutdownLoad is clients listing cases and adding communications while serve stops: until each gets no answer (the
// listener is closed), every answer must be below 500.
type shutdownLoad struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	answered atomic.Int64
	fivexx   atomic.Int64
}

func startShutdownLoad(p *serveProcess, token, ref string, clients int) *shutdownLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &shutdownLoad{cancel: cancel}
	for w := 0; w < clients; w++ {
		l.wg.Add(1)
		go func(w int) {
			defer l.wg.Done()
			c := &http.Client{Timeout: 15 * time.Second}
			for i := 0; ctx.Err() == nil; i++ {
				var a apiCall
				if i%2 == 0 {
					a = callAPI(c, http.MethodGet, p.url("/api/v1/cases?limit=20"), token, "", nil)
				} else {
					// A write whose event no webhook is subscribed to: the deliveries stay the test's.
					key := fmt.Sprintf("shutdown-%d-%d", w, i)
					a = callAPI(c, http.MethodPost, p.url("/api/v1/cases/"+ref+"/communications"), token, key, map[string]any{
						"channel": "phone", "direction": "inbound", "occurred_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
						"body": "The customer called again about the transfer."})
				}
				if a.err != nil {
					return // refused: serve has stopped accepting
				}
				l.answered.Add(1)
				if a.status >= 500 {
					l.fivexx.Add(1)
				}
			}
		}(w)
	}
	return l
}

func (l *shutdownLoad) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *shutdownLoad) result() (answered, fivexx int64) { return l.answered.Load(), l.fivexx.Load() }
