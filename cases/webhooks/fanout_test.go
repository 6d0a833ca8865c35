package webhooks_test

import (
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases/webhooks"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// lateEvent writes an outbox event in tx as a transaction that began at createdAt would.
func lateEvent(t *testing.T, tx *gorm.DB, createdAt time.Time) int64 {
	t.Helper()
	e := models.OutboxEvent{EventType: "case.updated", Payload: models.JSONDoc(`{"late":true}`), CreatedAt: createdAt}
	if err := models.InsertOutbox(ctx, tx, &e); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

// endpointSince registers an endpoint for every event as of an hour before since.
func (f fixture) endpointSince(t *testing.T, db *gorm.DB, since time.Time) int64 {
	t.Helper()
	ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	modelstest.Exec(t, db, `UPDATE webhook_endpoints SET created_at = ? WHERE id = ?`, since.Add(-time.Hour), ep.ID)
	return ep.ID
}

func deliveriesOf(t *testing.T, db *gorm.DB, outboxID int64) int64 {
	t.Helper()
	return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE outbox_id = ?`, outboxID)
}

// TestAnEventStampedBeforeTheNewestFannedOutIsStillDelivered: an event that reaches the outbox
// with a time long before the newest event already fanned out (its transaction began an hour ago,
// or its server's clock lags) is fanned out all the same: the dispatcher follows commit order,
// not timestamps.
func TestAnEventStampedBeforeTheNewestFannedOutIsStillDelivered(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		now := time.Now().UTC()
		ep := f.endpointSince(t, db, now.Add(-2*time.Hour))
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		d := f.svc.NewDispatcher(webhooks.DispatcherConfig{Schedule: fastSchedule})
		fanned := func(what string, cond func() bool) {
			t.Helper()
			// Other tests' transactions in the same cluster may hold the horizon back for a moment.
			eventually(t, what, func() bool {
				if err := d.FanOut(ctx); err != nil {
					t.Fatal(err)
				}
				return cond()
			})
		}
		fanned("the case's events fanned out", func() bool {
			return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?`, ep) > 0
		})
		late := lateEvent(t, db, now.Add(-time.Hour))
		fanned("the event stamped an hour early fanned out", func() bool { return deliveriesOf(t, db, late) == 1 })
	})
}

// TestAnEventCommittedLateIsDelayedNeverSkipped holds a transaction that wrote an outbox event
// open while another commits its events and the dispatcher fans out; when the first commits, an
// hour later by its timestamp, its event is fanned out too.
func TestAnEventCommittedLateIsDelayedNeverSkipped(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	f := newFixture(t, db, true)
	now := time.Now().UTC()
	f.endpointSince(t, db, now.Add(-2*time.Hour))
	open := db.Begin()
	if open.Error != nil {
		t.Fatal(open.Error)
	}
	defer open.Rollback()
	late := lateEvent(t, open, now.Add(-time.Hour))
	f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
	d := f.svc.NewDispatcher(webhooks.DispatcherConfig{Schedule: fastSchedule})
	if err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	// The committed events come after the open transaction's: they wait for it.
	if n := modelstest.Count(t, db, `SELECT count(*) FROM webhook_fanouts`); n != 0 {
		t.Errorf("%d events fanned out past a transaction still open, want 0 until it ends", n)
	}
	if err := open.Commit().Error; err != nil {
		t.Fatal(err)
	}
	// Other tests' transactions in the same cluster may hold the horizon back for a moment.
	events := modelstest.Count(t, db, `SELECT count(*) FROM outbox`)
	eventually(t, "every event fanned out", func() bool {
		if err := d.FanOut(ctx); err != nil {
			t.Fatal(err)
		}
		return modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries`) == events
	})
	if n := deliveriesOf(t, db, late); n != 1 {
		t.Errorf("the late commit's event has %d deliveries, want 1", n)
	}
}
