package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/webhooks"
	"giftdesk/handlers"
	"giftdesk/models/modelstest"
)

var ctx = context.Background()

// fastSchedule stands for the real schedule in tests: the same number of retries, milliseconds
// apart.
var fastSchedule = []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond,
	20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}

type fixture struct {
	desk  *cases.Desk
	svc   *webhooks.Service
	admin cases.Principal
	agent cases.Principal
}

func newFixture(t *testing.T, db *gorm.DB, allowPrivate bool) fixture {
	t.Helper()
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	f := fixture{desk: desk, svc: webhooks.New(webhooks.Config{Desk: desk, AllowPrivate: allowPrivate})}
	for _, r := range []cases.Role{cases.RoleAdmin, cases.RoleAgent} {
		u, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: string(r) + "@example.com", Name: string(r), Role: r,
			Password: "correct horse battery staple 42"})
		if err != nil {
			t.Fatal(err)
		}
		p := cases.Principal{UserID: u.ID, Email: u.Email, Role: r}
		if r == cases.RoleAdmin {
			f.admin = p
		} else {
			f.agent = p
		}
	}
	return f
}

// deliveries reads the newest page of endpoint id's delivery log.
func (f fixture) deliveries(t *testing.T, id int64) webhooks.DeliveryPage {
	t.Helper()
	page, err := f.svc.Deliveries(ctx, f.admin, id, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return page
}

func (f fixture) actor(p cases.Principal) cases.Actor {
	return cases.ActorFor(p, "192.0.2.1", "test", "")
}

// createCase opens a case whose card's claim code is code, written in its texts as well.
func (f fixture) createCase(t *testing.T, code, external string) cases.CaseView {
	t.Helper()
	fv := int64(5000)
	in := cases.NewCase{Type: "wrong_account", Summary: "Redeemed on work account, code " + code,
		Description:     "Customer read " + strings.ToLower(code) + " twice",
		Customer:        cases.AccountInput{AccountID: "A1B2C3D4", Marketplace: "US", Email: "pat@example.com", Name: "Pat Doe"},
		IntendedAccount: &cases.AccountInput{AccountID: "Z9Y8X7W6", Marketplace: "US"},
		Cards: []cases.CardInput{{ClaimCode: code, FaceValueMinor: &fv, Currency: "USD", Marketplace: "US", Status: "redeemed",
			RedeemedTo: "A1B2C3D4", RedeemedAt: "2026-11-20T10:00:00Z"}},
		External: &cases.ExternalInput{System: "Zendesk", ID: external}}
	v, _, err := f.desk.CreateCase(ctx, f.agent, f.actor(f.agent), in)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type received struct {
	header http.Header
	body   []byte
}

// receiver records what it is sent; answer decides each reply from the number of the request.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int) int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	return newReceiverServing(t, answer, nil)
}

// newReceiverServing is newReceiver whose requests, once recorded, are served by then instead
// of answer when then is not nil.
func newReceiverServing(t *testing.T, answer func(n int) int, then http.Handler) *receiver {
	r := &receiver{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: b})
		n := len(r.got)
		r.mu.Unlock()
		if then != nil {
			then.ServeHTTP(w, req)
			return
		}
		w.WriteHeader(r.answer(n))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// eventually polls cond until it holds, or fails the test after a while.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func run(t *testing.T, d *webhooks.Dispatcher) {
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(c) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestReceiverFailingFirstSeesTheRetrySignedWithoutClaimCodes is issue 23's receiver: its first
// answer is a 500, so it sees the retry; every request carries a valid signature; no payload holds
// a claim code; every attempt is in the log.
func TestReceiverFailingFirstSeesTheRetrySignedWithoutClaimCodes(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		rcv := newReceiver(t, func(n int) int {
			if n == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusNoContent
		})
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL + "/hook", Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		key, err := webhooks.ParseSecret(ep.Secret)
		if err != nil {
			t.Fatal(err)
		}
		codes := []string{"ABCD-EFGH-JKLM-NPQR", "QWER-TYUI-OPAS-DFGH"}
		refs := map[string]bool{}
		for i, code := range codes {
			refs[f.createCase(t, code, fmt.Sprint("T-", i)).Ref] = true
		}
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 20 * time.Millisecond}))
		eventually(t, "both cases delivered", func() bool {
			page, err := f.svc.Deliveries(ctx, f.admin, ep.ID, "", "")
			if err != nil {
				t.Fatal(err)
			}
			delivered := 0
			for _, d := range page.Data {
				if d.Status == "delivered" {
					delivered++
				}
			}
			return delivered == 2
		})
		got := rcv.requests()
		if len(got) != 3 {
			t.Fatalf("%d requests, want 3 (one failed, its retry, the other case)", len(got))
		}
		if got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") && got[0].header.Get("webhook-id") != got[2].header.Get("webhook-id") {
			t.Error("the failed message was not sent again under its id")
		}
		for i, r := range got {
			h := r.header
			if !webhooks.Verify(key, h.Get("webhook-id"), h.Get("webhook-timestamp"), r.body, h.Get("webhook-signature")) {
				t.Errorf("request %d: signature %q does not verify", i, h.Get("webhook-signature"))
			}
			for _, code := range codes {
				for _, form := range []string{code, strings.ReplaceAll(code, "-", ""), strings.ToLower(code), cases.NormalizeClaimCode(code)} {
					if strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(form)) {
						t.Errorf("request %d carries claim code %s: %s", i, code, r.body)
					}
				}
			}
			var p struct {
				Type string          `json:"type"`
				ID   string          `json:"id"`
				TS   time.Time       `json:"timestamp"`
				Data cases.CaseView  `json:"data"`
				Raw  json.RawMessage `json:"-"`
			}
			mustUnmarshal(t, r.body, &p)
			if p.Type != "case.created" || p.ID != h.Get("webhook-id") || p.TS.IsZero() || !refs[p.Data.Ref] {
				t.Errorf("request %d: payload %s", i, r.body)
			}
		}
		page, err := f.svc.Deliveries(ctx, f.admin, ep.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		attempts := 0
		for _, d := range page.Data {
			attempts += len(d.Attempts)
			for _, a := range d.Attempts {
				if a.StatusCode == nil || a.AttemptedAt.IsZero() {
					t.Errorf("attempt logged without status or time: %+v", a)
					continue
				}
				if *a.StatusCode == 500 && a.Error == "" {
					t.Errorf("failed attempt logged without its error: %+v", a)
				}
			}
		}
		if attempts != 3 {
			t.Errorf("%d attempts logged, want 3", attempts)
		}

		// A redelivery sends the message once more, under the same id.
		first := page.Data[len(page.Data)-1]
		if _, err := f.svc.Redeliver(ctx, f.agent, f.actor(f.agent), ep.ID, first.ID); err == nil {
			t.Error("an agent redelivered")
		}
		if _, err := f.svc.Redeliver(ctx, f.admin, f.actor(f.admin), ep.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the redelivery", func() bool { return len(rcv.requests()) == 4 })
		if id := rcv.requests()[3].header.Get("webhook-id"); id != first.EventID {
			t.Errorf("redelivered as %s, want %s", id, first.EventID)
		}
	})
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}

// TestGoneDisablesTheEndpoint: a 410 fails the delivery at once and disables the endpoint,
// audited; its log stays.
func TestGoneDisablesTheEndpoint(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		rcv := newReceiver(t, func(int) int { return http.StatusGone })
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL})
		if err != nil {
			t.Fatal(err)
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 20 * time.Millisecond}))
		eventually(t, "the endpoint disabled", func() bool {
			v, err := f.svc.Get(ctx, f.admin, ep.ID)
			return err == nil && !v.Active
		})
		time.Sleep(200 * time.Millisecond)
		if n := len(rcv.requests()); n != 1 {
			t.Errorf("%d requests, want 1: a 410 is not retried", n)
		}
		page, err := f.svc.Deliveries(ctx, f.admin, ep.ID, "", "")
		if err != nil || len(page.Data) != 1 || page.Data[0].Status != "failed" {
			t.Fatalf("log %+v, %v: want the one failed delivery", page.Data, err)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'webhook.disabled'`); n != 1 {
			t.Errorf("%d webhook.disabled audit events, want 1", n)
		}
	})
}

// TestLoopbackReceiverRefusedWithoutAllowPrivate: without GIFTDESK_WEBHOOK_ALLOW_PRIVATE the
// loopback receiver is refused when registered, and at delivery (an endpoint registered while
// private targets were allowed, or a name that resolves to loopback since) no connection is made.
func TestLoopbackReceiverRefusedWithoutAllowPrivate(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, false)
		rcv := newReceiver(t, func(int) int { return http.StatusOK })
		_, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL})
		var re *cases.RuleError
		if !asRule(err, &re) || re.Code != cases.CodeValidationFailed || len(re.Fields) != 1 || re.Fields[0].Field != "url" {
			t.Fatalf("loopback endpoint: %v, want validation_failed naming url", err)
		}
		// Registered by name while private targets were allowed: at delivery the name resolves to
		// loopback, and the connection is refused then (as after DNS rebinding).
		allowing := webhooks.New(webhooks.Config{Desk: f.desk, AllowPrivate: true})
		ep, err := allowing.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)})
		if err != nil {
			t.Fatal(err)
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 20 * time.Millisecond}))
		eventually(t, "the attempt logged", func() bool {
			page, err := f.svc.Deliveries(ctx, f.admin, ep.ID, "", "")
			return err == nil && len(page.Data) == 1 && len(page.Data[0].Attempts) > 0
		})
		page := f.deliveries(t, ep.ID)
		if a := page.Data[0].Attempts[0]; a.StatusCode != nil || !strings.Contains(a.Error, "private") {
			t.Errorf("attempt %+v, want refused before connecting", a)
		}
		if n := len(rcv.requests()); n != 0 {
			t.Errorf("the loopback receiver got %d requests", n)
		}
	})
}

func asRule(err error, re **cases.RuleError) bool {
	r, ok := err.(*cases.RuleError)
	if ok {
		*re = r
	}
	return ok
}
