package cases

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// Work is one unit of work: a transaction with its clock and actor, and the writers of the audit
// events and outbox rows that commit with the change they record (R8, R10). Code outside Desk,
// such as the capabilities in sub-packages of cases, writes audited changes through it.
type Work struct {
	ctx   context.Context
	desk  *Desk
	Tx    *gorm.DB  // the transaction; pass it to models functions
	Actor Actor     // who the change is done for
	Now   time.Time // the time of the change, read once
}

type workCtxKey struct{}

func workOf(ctx context.Context) *Work {
	w, _ := ctx.Value(workCtxKey{}).(*Work)
	return w
}

// Context is the context the work runs under. A use case of the Desk called with it joins the
// work's transaction instead of opening its own: it commits, or not, with the rest.
func (w *Work) Context() context.Context { return w.ctx }

// Audit writes the audit event of a change in the work's transaction.
func (w *Work) Audit(action, entityType string, entityID, before, after any) error {
	return w.desk.audit(w.ctx, w.Tx, w.Actor, action, entityType, entityID, before, after)
}

// Announce writes a webhook event to the outbox in the work's transaction.
func (w *Work) Announce(event string, payload any) error {
	return w.desk.outbox(w.ctx, w.Tx, event, payload)
}

// Do runs fn as one unit of work for actor a. When ctx already carries a unit of work, fn joins
// its transaction (and its actor and clock), as Gitea's WithTx does: nothing commits until the
// outermost unit does, and an error anywhere rolls all of it back. Otherwise a transaction is
// opened; it may run fn again after a deadlock or a serialization failure, or when a use case in
// it lost a creation race (CreateCase), so fn must have no effect outside the transaction.
func (d *Desk) Do(ctx context.Context, a Actor, fn func(w *Work) error) error {
	if w := workOf(ctx); w != nil {
		return storeErr(fn(w))
	}
	for attempt := 0; ; attempt++ {
		err := d.inTx(ctx, func(tx *gorm.DB) error {
			w := &Work{desk: d, Tx: tx, Actor: a, Now: d.now()}
			w.ctx = context.WithValue(ctx, workCtxKey{}, w)
			return fn(w)
		})
		if errors.Is(err, errRaceLost) && attempt < 3 {
			continue
		}
		return err
	}
}
