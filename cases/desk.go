// Package cases is giftdesk's domain: the case workflow, rules R1–R13, corrections, ledger and
// audit. It knows nothing of HTTP; every use case runs in one database transaction opened here.
package cases

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// Config builds a Desk.
type Config struct {
	DB         *gorm.DB
	Keys       Keys
	Thresholds Thresholds       // nil means R5's defaults
	SLA        SLATargets       // nil means DefaultSLATargets
	Now        func() time.Time // nil means models.Now
}

// Desk runs the desk's use cases against one database.
type Desk struct {
	db             *gorm.DB
	keys           Keys
	thresholds     Thresholds
	sla            SLATargets
	now            func() time.Time
	throttleAudits *onceEvery
}

// New returns a Desk.
func New(cfg Config) *Desk {
	d := &Desk{db: cfg.DB, keys: cfg.Keys, thresholds: cfg.Thresholds, now: cfg.Now, throttleAudits: &onceEvery{period: time.Minute}}
	if d.thresholds == nil {
		d.thresholds = DefaultThresholds()
	}
	if d.now == nil {
		d.now = models.Now
	} else {
		// As the database keeps times (UTC, microseconds): an answer built from what a use case
		// wrote (case creation, approvals) then equals the same answer read back.
		clock := cfg.Now
		d.now = func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	}
	d.sla = cfg.SLA
	if d.sla == nil {
		d.sla = DefaultSLATargets()
	}
	return d
}

// Ping reports whether the database answers; ErrUnavailable when it does not.
func (d *Desk) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := models.Ping(ctx, d.db); err != nil {
		return errors.Join(ErrUnavailable, err)
	}
	return nil
}

// maxTxAttempts bounds how often a transaction that lost a serialization race or a deadlock is
// run again before the caller is told to retry later.
const maxTxAttempts = 3

// inTx runs fn in one transaction: the unit every use case commits or rolls back whole. fn may
// run more than once, so it must not have effects outside the transaction. Inside a unit of work
// (Desk.Do) it joins that work's transaction.
func (d *Desk) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return d.inTxAnswering(ctx, nil, fn)
}

// inTxAnswering is inTx for a use case an API request may send under an Idempotency-Key: result
// returns what fn produced, and when ctx carries the request (WithIdempotency) its key is checked
// at the start of the transaction and written with the rendered answer at its end, so that the key
// is consumed exactly when the change commits.
func (d *Desk) inTxAnswering(ctx context.Context, result func() any, fn func(tx *gorm.DB) error) error {
	if w := workOf(ctx); w != nil {
		// Called inside a unit of work (Desk.Do): join its transaction. The request's key, if
		// any, belongs to whoever opened it.
		return storeErr(fn(w.Tx))
	}
	if req := idempotencyOf(ctx); req != nil && result != nil {
		inner := fn
		fn = func(tx *gorm.DB) error {
			if err := d.claimRequest(ctx, tx, req); err != nil {
				return err
			}
			if err := inner(tx); err != nil {
				return err
			}
			return d.recordAnswer(ctx, tx, req, result())
		}
	}
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = d.db.WithContext(ctx).Transaction(fn)
		if !models.IsRetryable(err) {
			return storeErr(err)
		}
		select {
		case <-ctx.Done():
			return storeErr(ctx.Err())
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
	return errors.Join(ErrUnavailable, err)
}

// storeErr marks database outages as ErrUnavailable so that callers answer 503, not 500.
// StoreErr is storeErr for the sub-packages of cases (reports, export): an unreachable database
// becomes ErrUnavailable, which the server answers with 503.
func StoreErr(err error) error { return storeErr(err) }

func storeErr(err error) error {
	if err != nil && models.IsUnavailable(err) {
		return errors.Join(ErrUnavailable, err)
	}
	return err
}
