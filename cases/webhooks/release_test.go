package webhooks_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases/webhooks"
	"giftdesk/handlers"
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
