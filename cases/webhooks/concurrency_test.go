package webhooks_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases/webhooks"
	"giftdesk/handlers"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestTwoDispatchersDeliverEachEventOnce runs two dispatchers, as two servers would, against one
// PostgreSQL database: every event reaches the receiver exactly once.
func TestTwoDispatchersDeliverEachEventOnce(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	f := newFixture(t, db, true)
	var mu sync.Mutex
	seen := map[string]int{}
	rcv := newReceiverServing(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		seen[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	for i := 0; i < 3; i++ {
		if _, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: fmt.Sprintf("%s/ep%d", rcv.URL, i)}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 30
	for i := 0; i < n; i++ {
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", fmt.Sprint("T-", i))
	}
	for i := 0; i < 2; i++ {
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 5 * time.Millisecond}))
	}
	// n case.created events, and n-1 case.updated (each later case flags the earlier ones as
	// duplicates); three endpoints receive each.
	events := modelstest.Count(t, db, `SELECT count(*) FROM outbox`)
	eventually(t, "every delivery made", func() bool {
		return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'`) == 3*events
	})
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for id, c := range seen {
		total += c
		if c != 3 {
			t.Errorf("event %s received %d times, want 3 (once per endpoint)", id, c)
		}
	}
	if total != int(3*events) {
		t.Errorf("%d requests, want %d", total, 3*events)
	}
	if a := modelstest.Count(t, db, `SELECT count(*) FROM webhook_attempts`); a != 3*events {
		t.Errorf("%d attempts logged, want %d", a, 3*events)
	}
}

// TestASlowReceiverDelaysOnlyItsOwnEndpoint: while one endpoint's receiver hangs, another's
// deliveries go through.
func TestASlowReceiverDelaysOnlyItsOwnEndpoint(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		release := make(chan struct{})
		slow := newReceiver(t, func(int) int { <-release; return http.StatusOK })
		defer close(release)
		fast := newReceiver(t, func(int) int { return http.StatusOK })
		for _, u := range []string{slow.URL, fast.URL} {
			if _, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: u, Events: []string{"case.created"}}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 3; i++ {
			f.createCase(t, "ABCD-EFGH-JKLM-NPQR", fmt.Sprint("T-", i))
		}
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 10 * time.Millisecond}))
		eventually(t, "the fast receiver served while the slow one hangs", func() bool { return len(fast.requests()) == 3 })
		eventually(t, "the slow receiver's first request", func() bool { return len(slow.requests()) >= 1 })
		time.Sleep(100 * time.Millisecond) // time for a second request, were one to be sent
		if n := len(slow.requests()); n != 1 {
			t.Errorf("the hanging receiver got %d requests at once, want 1 (one at a time per endpoint)", n)
		}
	})
}

// TestSecretIsStoredEncryptedAndRotationSignsWithBoth: the secret is nowhere in the database in
// clear; after a rotation, deliveries carry both signatures, each verifying with its secret.
func TestSecretIsStoredEncryptedAndRotationSignsWithBoth(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		rcv := newReceiver(t, func(int) int { return http.StatusOK })
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		oldKey, err := webhooks.ParseSecret(ep.Secret)
		if err != nil {
			t.Fatal(err)
		}
		rotated, err := f.svc.RotateSecret(ctx, f.admin, f.actor(f.admin), ep.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		newKey, err := webhooks.ParseSecret(rotated.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Secret == ep.Secret || rotated.PreviousSecretUntil == nil {
			t.Fatalf("rotation answered %+v", rotated)
		}
		var sealed [][]byte
		modelstest.Scan(t, db, &sealed, `SELECT secret_ciphertext FROM webhook_endpoints UNION ALL SELECT previous_secret_ciphertext FROM webhook_endpoints`)
		dump := modelstest.Dump(t, db)
		for _, k := range [][]byte{oldKey, newKey} {
			for _, s := range sealed {
				if bytes.Contains(s, k) {
					t.Error("a secret is stored in clear")
				}
			}
		}
		for _, s := range []string{ep.Secret, rotated.Secret, ep.Secret[len("whsec_"):]} {
			if bytes.Contains([]byte(dump), []byte(s)) {
				t.Errorf("secret %s found in the database", s)
			}
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 10 * time.Millisecond}))
		eventually(t, "the delivery", func() bool { return len(rcv.requests()) == 1 })
		r := rcv.requests()[0]
		h := r.header
		for name, k := range map[string][]byte{"new": newKey, "old": oldKey} {
			if !webhooks.Verify(k, h.Get("webhook-id"), h.Get("webhook-timestamp"), r.body, h.Get("webhook-signature")) {
				t.Errorf("the %s secret does not verify %q", name, h.Get("webhook-signature"))
			}
		}
	})
}
