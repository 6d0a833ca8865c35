package webhooks_test

import (
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

// holdingReceiver answers 200, holding each request until release is closed, and counts the
// requests in flight at once.
func holdingReceiver(t *testing.T, release chan struct{}, inFlight, most *atomic.Int32) *receiver {
	return newReceiverServing(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
	}))
}

// TestRedeliveryDuringAnAttemptWaitsForIt: a redelivery asked for while an attempt is in flight
// neither drops that attempt from the log nor sends the event a second time at once; it is sent
// again after the attempt.
func TestRedeliveryDuringAnAttemptWaitsForIt(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		release := make(chan struct{})
		var inFlight, most atomic.Int32
		rcv := holdingReceiver(t, release, &inFlight, &most)
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		// Two dispatchers, as two servers: neither may take the delivery while the other sends it.
		for i := 0; i < 2; i++ {
			run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 10 * time.Millisecond}))
		}
		eventually(t, "the first attempt in flight", func() bool { return len(rcv.requests()) == 1 })
		page := f.deliveries(t, ep.ID)
		if _, err := f.svc.Redeliver(ctx, f.admin, f.actor(f.admin), ep.ID, page.Data[0].ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond) // time for a second send, were the lease taken away
		if n := len(rcv.requests()); n != 1 {
			t.Errorf("%d requests while the first attempt is in flight, want 1", n)
		}
		close(release)
		eventually(t, "the redelivery after the attempt", func() bool {
			p := f.deliveries(t, ep.ID)
			return len(p.Data) == 1 && len(p.Data[0].Attempts) == 2 && p.Data[0].Status == "delivered"
		})
		if n := len(rcv.requests()); n != 2 {
			t.Errorf("%d requests, want 2: the attempt and the redelivery", n)
		}
		if m := most.Load(); m != 1 {
			t.Errorf("%d requests in flight at once, want 1", m)
		}
	})
}

// TestDisablingEndsPendingDeliveries: the deliveries waiting for a retry fail when their endpoint
// is disabled, saying why, instead of showing a next try that never comes.
func TestDisablingEndsPendingDeliveries(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		rcv := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()),
			Schedule: []time.Duration{time.Hour}, Poll: 10 * time.Millisecond}))
		eventually(t, "the first attempt", func() bool { p := f.deliveries(t, ep.ID); return len(p.Data) == 1 && len(p.Data[0].Attempts) == 1 })
		if _, err := f.svc.Disable(ctx, f.admin, f.actor(f.admin), ep.ID); err != nil {
			t.Fatal(err)
		}
		d := f.deliveries(t, ep.ID).Data[0]
		if d.Status != "failed" || d.NextAttemptAt != nil || d.LastError == "" {
			t.Errorf("delivery after disabling: %+v, want failed with a reason and no next try", d)
		}
	})
}

// TestAStoppingDispatcherRecordsTheAttemptInFlight: a server stopping while a receiver is
// answering waits for the answer and logs it, so that a delivered event is not sent again.
func TestAStoppingDispatcherRecordsTheAttemptInFlight(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		release := make(chan struct{})
		var inFlight, most atomic.Int32
		rcv := holdingReceiver(t, release, &inFlight, &most)
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		d := f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 10 * time.Millisecond})
		stop, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); d.Run(stop) }()
		eventually(t, "the attempt in flight", func() bool { return len(rcv.requests()) == 1 })
		cancel()
		time.AfterFunc(100*time.Millisecond, func() { close(release) })
		select {
		case <-done:
		case <-time.After(webhooks.DeliveryTimeout + 5*time.Second):
			t.Fatal("the dispatcher did not stop")
		}
		del := f.deliveries(t, ep.ID).Data[0]
		if del.Status != "delivered" || len(del.Attempts) != 1 || del.Attempts[0].StatusCode == nil || *del.Attempts[0].StatusCode != http.StatusOK {
			t.Errorf("after stopping: %+v, want the attempt in flight logged as delivered", del)
		}
	})
}

// TestLeasesFollowTheDatabaseClock: a server whose clock runs an hour ahead cannot take a
// delivery another server holds the lease of.
func TestLeasesFollowTheDatabaseClock(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	f := newFixture(t, db, true)
	if _, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: "http://127.0.0.1:9/hook", Events: []string{"case.created"}}); err != nil {
		t.Fatal(err)
	}
	f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
	d := f.svc.NewDispatcher(webhooks.DispatcherConfig{Schedule: fastSchedule})
	eventually(t, "the delivery fanned out", func() bool {
		if err := d.FanOut(ctx); err != nil {
			t.Fatal(err)
		}
		return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries`) == 1
	})
	now := time.Now()
	claim := func(owner string, at time.Time) int {
		var got []models.WebhookDelivery
		err := db.Transaction(func(tx *gorm.DB) error {
			var err error
			got, err = models.ClaimDeliveries(ctx, tx, owner, at, time.Minute, nil, 10)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	if n := claim("a", now); n != 1 {
		t.Fatalf("first server claimed %d deliveries, want 1", n)
	}
	if n := claim("b", now.Add(time.Hour)); n != 0 {
		t.Errorf("a server an hour ahead claimed %d deliveries still leased, want 0", n)
	}
}
