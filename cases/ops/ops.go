// Package ops reads what an operator watches besides requests: the work the desk still has to do
// in the background (webhook deliveries, audit chaining) and its database pool. It reads, never
// writes; the /metrics route that calls it is for admins only.
package ops

import (
	"context"
	"database/sql"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
)

// Cap bounds every count of Backlog: a scrape stays a few index probes of at most this many rows
// however far behind the desk falls. A count equal to Cap means at least that many.
const Cap = 10000

// Backlog is the background work still to do, read at one moment.
type Backlog struct {
	// OutboxUnfanned: webhook events written but not yet turned into deliveries.
	OutboxUnfanned int64
	// DeliveriesPending: deliveries waiting for their first or next attempt.
	DeliveriesPending int64
	// DeliveriesRetrying: pending deliveries whose last attempt failed (among the first Cap
	// pending ones).
	DeliveriesRetrying int64
	// DeliveriesFailed: deliveries that gave up (SPEC 4.3's schedule exhausted, 410 Gone, or
	// their endpoint disabled); a redelivery makes one pending again.
	DeliveriesFailed int64
	// OldestDueDelivery: how long the pending delivery due first has been due; 0 when none is.
	OldestDueDelivery time.Duration
	// AuditUnchained: audit events the sealer would chain now (R10).
	AuditUnchained int64
	// OldestUnchained: how long ago the next event to chain was recorded; 0 when none waits. R10
	// allows 60 seconds.
	OldestUnchained time.Duration
}

// ReadBacklog reads the backlog: four bounded statements and the chain's head, each served by an
// index (see models.ReadWebhookBacklog and models.UnsealedBacklog).
func ReadBacklog(ctx context.Context, desk *cases.Desk) (Backlog, error) {
	db := desk.ReadDB(ctx)
	now := desk.Now()
	var b Backlog
	w, err := models.ReadWebhookBacklog(ctx, db, Cap)
	if err != nil {
		return b, cases.StoreErr(err)
	}
	b.OutboxUnfanned, b.DeliveriesPending, b.DeliveriesRetrying, b.DeliveriesFailed = w.Unfanned, w.Pending, w.Retrying, w.Failed
	b.OldestDueDelivery = since(now, w.OldestDue)
	head, err := models.LastSeal(ctx, db)
	if err != nil {
		return b, cases.StoreErr(err)
	}
	n, oldest, err := models.UnsealedBacklog(ctx, db, head, Cap)
	if err != nil {
		return b, cases.StoreErr(err)
	}
	b.AuditUnchained, b.OldestUnchained = n, since(now, oldest)
	return b, nil
}

// since is how long ago t was, 0 for nil or a time still ahead.
func since(now time.Time, t *time.Time) time.Duration {
	if t == nil || t.After(now) {
		return 0
	}
	return now.Sub(*t)
}

// Pool is the desk's connection pool, for its statistics.
func Pool(desk *cases.Desk) (*sql.DB, error) { return desk.ReadDB(context.Background()).DB() }
