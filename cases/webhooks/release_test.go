package webhooks_test

import (
	"bytes"
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases/webhooks"
	"giftdesk/handlers"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestAStoppingDispatcherGivesBackWhatItDidNotSend: a dispatcher stopped while it holds several
// deliveries of one endpoint finishes the attempt in flight and gives the others back, so that
// another server sends them at once rather than when the minute's lease runs out.
func TestAStoppingDispatcherGivesBackWhatItDidNotSend(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		release := make(chan struct{})
		var inFlight, most atomic.Int32
		rcv := holdingReceiver(t, release, &inFlight, &most)
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		for i, code := range []string{"ABCD-EFGH-JKLM-NPQR", "BCDE-FGHJ-KLMN-PQRS", "CDEF-GHJK-LMNP-QRST"} {
			f.createCase(t, code, "T-"+string(rune('1'+i)))
		}
		sender := handlers.NewWebhookSender(f.svc.AllowPrivate())
		first := f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: sender, Schedule: fastSchedule, Poll: 10 * time.Millisecond})
		stop, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); first.Run(stop) }()
		eventually(t, "the first attempt in flight", func() bool { return len(rcv.requests()) == 1 })
		if held := modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE lease_owner <> ''`); held != 3 {
			t.Fatalf("%d deliveries claimed while the first is sent, want all 3 (one pass claims them)", held)
		}
		cancel()
		time.AfterFunc(100*time.Millisecond, func() { close(release) })
		select {
		case <-done:
		case <-time.After(webhooks.DeliveryTimeout + 5*time.Second):
			t.Fatal("the dispatcher did not stop")
		}
		if held := modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE lease_owner <> '' OR lease_until IS NOT NULL`); held != 0 {
			t.Fatalf("%d deliveries still claimed by the stopped dispatcher", held)
		}
		if n := len(rcv.requests()); n != 1 {
			t.Fatalf("the stopped dispatcher sent %d requests, want only the one in flight", n)
		}
		// Another server: the default lease is a minute, so only given-back deliveries go within
		// eventually's 20 seconds.
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: sender, Schedule: fastSchedule, Poll: 10 * time.Millisecond}))
		eventually(t, "the other server sending the two given back", func() bool {
			return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'delivered'`, ep.ID) == 3
		})
		if n := len(rcv.requests()); n != 3 {
			t.Errorf("%d requests in all, want 3: each event once", n)
		}
	})
}

// TestAnAttemptAnOutageLeftUnrecordedIsSentAgainAtOnce: the database goes away while a receiver
// answers, so the attempt cannot be recorded and its lease stays held; once the database is back
// the same dispatcher takes the lease back and sends the event again at once, not a minute later.
func TestAnAttemptAnOutageLeftUnrecordedIsSentAgainAtOnce(t *testing.T) {
	proxy, url := modelstest.NewProxy(t, modelstest.URL(t, models.Postgres))
	db, err := models.Open(ctx, models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	f := newFixture(t, db, true)
	var cut atomic.Bool
	back := make(chan struct{})
	rcv := newReceiverServing(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cut.CompareAndSwap(false, true) {
			proxy.Cut()
			time.AfterFunc(300*time.Millisecond, func() { proxy.Resume(); close(back) })
		}
	}))
	ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
	if err != nil {
		t.Fatal(err)
	}
	f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
	run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 10 * time.Millisecond}))
	eventually(t, "the first attempt", func() bool { return len(rcv.requests()) >= 1 })
	<-back
	// The default lease is a minute: only a lease taken back lets the event go within 20 s.
	eventually(t, "the event sent again and recorded", func() bool {
		return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'delivered'`, ep.ID) == 1
	})
	got := rcv.requests()
	if len(got) != 2 || !bytes.Equal(got[0].body, got[1].body) {
		t.Fatalf("%d requests, want 2 with the same body: the unrecorded attempt and its resend", len(got))
	}
}
