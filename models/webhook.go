package models

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// WebhookEndpoint is a receiver of webhook events. Its secret is stored encrypted (cases seals
// it), never in clear: the desk must sign with it, so it cannot be hashed.
type WebhookEndpoint struct {
	ID                       int64
	URL                      string
	SecretCiphertext         []byte
	Events                   StringList
	Active                   bool
	CreatedByID              *int64
	CreatedAt                time.Time
	DisabledAt               *time.Time
	PreviousSecretCiphertext []byte
	PreviousSecretUntil      *time.Time
	// RetiredSecrets are older secrets still in their overlap after a second rotation within
	// it: a JSON list of {"ciphertext", "until"}, kept by cases/webhooks.
	RetiredSecrets JSONDoc
}

// TableName names the table.
func (WebhookEndpoint) TableName() string { return "webhook_endpoints" }

// WebhookDelivery is one event to send to one endpoint, with its retry state.
type WebhookDelivery struct {
	ID             int64
	EndpointID     int64
	OutboxID       int64
	Status         string
	Attempts       int
	NextAttemptAt  *time.Time
	LastStatusCode *int
	LastError      string
	LeaseOwner     string
	LeaseUntil     *time.Time
	// RedeliverRequested: a redelivery was asked for while an attempt held the lease; the
	// attempt, when recorded, leaves the delivery due again.
	RedeliverRequested bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// TableName names the table.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// WebhookAttempt is one try at sending a delivery.
type WebhookAttempt struct {
	ID          int64
	DeliveryID  int64
	Attempt     int
	AttemptedAt time.Time
	StatusCode  *int
	Error       string
	DurationMS  int64 `gorm:"column:duration_ms"`
}

// TableName names the table.
func (WebhookAttempt) TableName() string { return "webhook_attempts" }

// CreateWebhookEndpoint inserts e.
func CreateWebhookEndpoint(ctx context.Context, tx *gorm.DB, e *WebhookEndpoint) error {
	return tx.WithContext(ctx).Create(e).Error
}

// WebhookEndpointPage returns up to limit endpoints, newest first, older than beforeID when it
// is not 0.
func WebhookEndpointPage(ctx context.Context, db *gorm.DB, beforeID int64, limit int) ([]WebhookEndpoint, error) {
	q := db.WithContext(ctx)
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	var out []WebhookEndpoint
	err := q.Order("id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// WebhookEndpointByID finds one endpoint; lock locks its row until the transaction ends.
func WebhookEndpointByID(ctx context.Context, db *gorm.DB, id int64, lock bool) (WebhookEndpoint, error) {
	q := db.WithContext(ctx).Where("id = ?", id)
	if lock {
		q = ForUpdate(q)
	}
	var out []WebhookEndpoint
	if err := q.Limit(1).Find(&out).Error; err != nil {
		return WebhookEndpoint{}, err
	}
	if len(out) == 0 {
		return WebhookEndpoint{}, ErrNotFound
	}
	return out[0], nil
}

// WebhookEndpointsByID loads the endpoints of ids in one statement.
func WebhookEndpointsByID(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]WebhookEndpoint, error) {
	out := make(map[int64]WebhookEndpoint, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []WebhookEndpoint
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// SaveWebhookEndpoint writes every column of e.
func SaveWebhookEndpoint(ctx context.Context, tx *gorm.DB, e *WebhookEndpoint) error {
	return tx.WithContext(ctx).Save(e).Error
}

// PendingFanout is an outbox event not yet turned into deliveries.
type PendingFanout struct {
	ID        int64
	EventType string
	CreatedAt time.Time
	// XactID is the writing transaction's id on PostgreSQL, 0 on SQLite.
	XactID int64
}

// UnfannedOutbox returns up to limit outbox events after the greatest one fanned out, in an
// order no late commit can fall behind: on PostgreSQL by (xact_id, id) and only below the
// snapshot's xmin, whose transactions have all ended, so an event committed late is above the
// cursor whenever it commits; on SQLite, whose writers are serialised, by id. Each read is one
// index probe for the cursor and one index range. Events are returned in that order, and a
// fan-out marks a contiguous run of them, so the greatest mark is always a safe cursor.
//
// An open transaction that wrote an event delays the events written after it until it ends; it
// never makes one be skipped.
func UnfannedOutbox(ctx context.Context, db *gorm.DB, limit int) ([]PendingFanout, error) {
	db = db.WithContext(ctx)
	var out []PendingFanout
	if DialectOf(db) != Postgres {
		var after []int64
		if err := db.Raw(`SELECT outbox_id FROM webhook_fanouts ORDER BY outbox_id DESC LIMIT 1`).Scan(&after).Error; err != nil {
			return nil, err
		}
		after = append(after, 0)
		err := db.Raw(`SELECT id, event_type, created_at FROM outbox WHERE id > ? ORDER BY id LIMIT ?`, after[0], limit).
			Scan(&out).Error
		return out, err
	}
	// The horizon is read first: every event below it is visible to the statements after.
	horizon, err := ChangeHorizon(ctx, db)
	if err != nil {
		return nil, err
	}
	var cursor []struct{ OutboxXactID, OutboxID int64 }
	if err := db.Raw(`SELECT outbox_xact_id, outbox_id FROM webhook_fanouts ORDER BY outbox_xact_id DESC, outbox_id DESC LIMIT 1`).
		Scan(&cursor).Error; err != nil {
		return nil, err
	}
	cursor = append(cursor, struct{ OutboxXactID, OutboxID int64 }{})
	err = db.Raw(`SELECT id, event_type, created_at, xact_id FROM outbox
		WHERE (xact_id, id) > (?, ?) AND xact_id < ? ORDER BY xact_id, id LIMIT ?`,
		cursor[0].OutboxXactID, cursor[0].OutboxID, horizon, limit).Scan(&out).Error
	return out, err
}

// webhookFanout marks an outbox event as turned into its deliveries.
type webhookFanout struct {
	OutboxID        int64 `gorm:"primaryKey;autoIncrement:false"`
	OutboxXactID    int64
	OutboxCreatedAt time.Time
	FannedAt        time.Time
}

func (webhookFanout) TableName() string { return "webhook_fanouts" }

// Fanned is an outbox event with the endpoints it is to be delivered to.
type Fanned struct {
	Event     PendingFanout
	Endpoints []int64
}

// FanOut creates the deliveries of events and marks them as fanned out, in tx: two multi-row
// inserts whatever the batch. Another dispatcher doing the same at once changes nothing: both
// inserts ignore conflicts.
func FanOut(ctx context.Context, tx *gorm.DB, events []Fanned, now time.Time) error {
	tx = tx.WithContext(ctx)
	var deliveries []WebhookDelivery
	marks := make([]webhookFanout, 0, len(events))
	for _, e := range events {
		for _, id := range e.Endpoints {
			deliveries = append(deliveries, WebhookDelivery{EndpointID: id, OutboxID: e.Event.ID, Status: "pending",
				NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now})
		}
		marks = append(marks, webhookFanout{OutboxID: e.Event.ID, OutboxXactID: e.Event.XactID, OutboxCreatedAt: e.Event.CreatedAt, FannedAt: now})
	}
	if len(deliveries) > 0 {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Omit("LastStatusCode", "LeaseUntil").
			CreateInBatches(&deliveries, 500).Error; err != nil {
			return err
		}
	}
	if len(marks) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&marks, 1000).Error
}

// ActiveWebhookEndpoints returns the enabled endpoints.
func ActiveWebhookEndpoints(ctx context.Context, db *gorm.DB) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := db.WithContext(ctx).Where("active = ?", true).Order("id").Find(&out).Error
	return out, err
}

// leaseNow is the clock leases are taken, renewed and compared on. On PostgreSQL it is the
// database's: several servers share the leases, and a server whose clock runs ahead must not take
// a lease another still holds. On SQLite one dispatcher runs, on the caller's clock.
func leaseNow(db *gorm.DB, now time.Time) clause.Expr {
	if DialectOf(db) == Postgres {
		return gorm.Expr("statement_timestamp()")
	}
	return gorm.Expr("?", now)
}

// leaseEnd is leaseNow plus lease.
func leaseEnd(db *gorm.DB, now time.Time, lease time.Duration) clause.Expr {
	if DialectOf(db) == Postgres {
		return gorm.Expr("statement_timestamp() + make_interval(secs => ?)", lease.Seconds())
	}
	return gorm.Expr("?", now.Add(lease))
}

// ClaimDeliveries leases up to limit due deliveries of enabled endpoints not in busy to owner for
// lease. On PostgreSQL the rows are selected FOR UPDATE SKIP LOCKED, so dispatchers claiming at
// once get different rows; a row leased by another dispatcher is skipped until its lease runs out.
// SQLite's transaction holds the one write lock. A claim fulfils any redelivery asked for.
func ClaimDeliveries(ctx context.Context, tx *gorm.DB, owner string, now time.Time, lease time.Duration, busy []int64, limit int) ([]WebhookDelivery, error) {
	tx = tx.WithContext(ctx)
	q := tx.Model(&WebhookDelivery{}).
		Where("status = 'pending' AND next_attempt_at <= ?", now).
		Where("(lease_until IS NULL OR lease_until < ?)", leaseNow(tx, now)).
		Where("endpoint_id IN (SELECT id FROM webhook_endpoints WHERE active = ?)", true)
	if len(busy) > 0 {
		q = q.Where("endpoint_id NOT IN ?", busy)
	}
	var rows []WebhookDelivery
	if err := ForUpdateSkipLocked(q).Order("next_attempt_at, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
		rows[i].LeaseOwner, rows[i].RedeliverRequested = owner, false
	}
	err := tx.Model(&WebhookDelivery{}).Where("id IN ?", ids).
		Updates(map[string]any{"lease_owner": owner, "lease_until": leaseEnd(tx, now, lease), "redeliver_requested": false}).Error
	return rows, err
}

// RenewLease extends owner's lease on delivery id, and reports false when owner no longer holds
// it (it ran out and another dispatcher took the delivery) or the delivery is no longer pending.
func RenewLease(ctx context.Context, db *gorm.DB, id int64, owner string, now time.Time, lease time.Duration) (bool, error) {
	db = db.WithContext(ctx)
	res := db.Model(&WebhookDelivery{}).
		Where("id = ? AND lease_owner = ? AND status = 'pending'", id, owner).
		Update("lease_until", leaseEnd(db, now, lease))
	return res.RowsAffected == 1, res.Error
}

// RecordAttempt writes attempt a and the delivery's new state, if owner still holds its lease,
// in tx; it reports whether it did. A redelivery asked for during the attempt leaves the delivery
// due at once, whatever the attempt's outcome.
func RecordAttempt(ctx context.Context, tx *gorm.DB, owner string, d *WebhookDelivery, a *WebhookAttempt) (bool, error) {
	tx = tx.WithContext(ctx)
	var held []WebhookDelivery
	if err := ForUpdate(tx.Where("id = ? AND lease_owner = ?", d.ID, owner)).Limit(1).Find(&held).Error; err != nil || len(held) == 0 {
		return false, err
	}
	if held[0].RedeliverRequested {
		d.Status, d.NextAttemptAt = "pending", &d.UpdatedAt
	}
	res := tx.Model(&WebhookDelivery{}).Where("id = ? AND lease_owner = ?", d.ID, owner).Updates(map[string]any{
		"status": d.Status, "attempts": d.Attempts, "next_attempt_at": d.NextAttemptAt, "last_status_code": d.LastStatusCode,
		"last_error": d.LastError, "lease_owner": "", "lease_until": nil, "updated_at": d.UpdatedAt, "redeliver_requested": false,
	})
	if res.Error != nil || res.RowsAffected != 1 {
		return false, res.Error
	}
	return true, tx.Create(a).Error
}

// ReleaseLeases gives back every pending delivery owner still holds, but those of the endpoints in
// busy, so that any dispatcher takes them at once rather than when their leases run out; it
// returns how many it gave back. The caller must have no attempt in flight outside busy: one
// released mid-attempt could be sent twice.
func ReleaseLeases(ctx context.Context, db *gorm.DB, owner string, busy []int64) (int64, error) {
	q := db.WithContext(ctx).Model(&WebhookDelivery{}).Where("lease_owner = ? AND status = 'pending'", owner)
	if len(busy) > 0 {
		q = q.Where("endpoint_id NOT IN ?", busy)
	}
	res := q.Updates(map[string]any{"lease_owner": "", "lease_until": nil})
	return res.RowsAffected, res.Error
}

// OutboxByID finds one outbox event.
func OutboxByID(ctx context.Context, db *gorm.DB, id int64) (OutboxEvent, error) {
	var out []OutboxEvent
	if err := db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&out).Error; err != nil {
		return OutboxEvent{}, err
	}
	if len(out) == 0 {
		return OutboxEvent{}, ErrNotFound
	}
	return out[0], nil
}

// DeliveryRow is a delivery as the log lists it, with its event's type and time.
type DeliveryRow struct {
	WebhookDelivery
	EventType      string
	EventCreatedAt time.Time
}

// DeliveryPage returns up to limit deliveries of endpoint, newest first, older than beforeID when
// it is not 0, their events joined in the same statement.
func DeliveryPage(ctx context.Context, db *gorm.DB, endpointID, beforeID int64, limit int) ([]DeliveryRow, error) {
	q := db.WithContext(ctx).Table("webhook_deliveries AS d").
		Select("d.*, o.event_type AS event_type, o.created_at AS event_created_at").
		Joins("JOIN outbox o ON o.id = d.outbox_id").Where("d.endpoint_id = ?", endpointID)
	if beforeID > 0 {
		q = q.Where("d.id < ?", beforeID)
	}
	var out []DeliveryRow
	err := q.Order("d.id DESC").Limit(limit).Scan(&out).Error
	return out, err
}

// AttemptsOfDeliveries loads the attempts of deliveries ids in one statement, by delivery, in
// order.
func AttemptsOfDeliveries(ctx context.Context, db *gorm.DB, ids []int64) (map[int64][]WebhookAttempt, error) {
	out := make(map[int64][]WebhookAttempt, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []WebhookAttempt
	if err := db.WithContext(ctx).Where("delivery_id IN ?", ids).Order("delivery_id, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.DeliveryID] = append(out[r.DeliveryID], r)
	}
	return out, nil
}

// DeliveryByID finds one delivery of endpoint; lock locks its row.
func DeliveryByID(ctx context.Context, db *gorm.DB, endpointID, id int64, lock bool) (WebhookDelivery, error) {
	q := db.WithContext(ctx).Where("id = ? AND endpoint_id = ?", id, endpointID)
	if lock {
		q = ForUpdate(q)
	}
	var out []WebhookDelivery
	if err := q.Limit(1).Find(&out).Error; err != nil {
		return WebhookDelivery{}, err
	}
	if len(out) == 0 {
		return WebhookDelivery{}, ErrNotFound
	}
	return out[0], nil
}

// RequeueDelivery makes delivery id, locked by the caller, due now, once more, whatever its
// state. While a dispatcher holds its lease (an attempt may be in flight) the lease is left alone
// and the redelivery is recorded for after the attempt: taking the lease would drop the attempt
// from the log and let another server send the event at the same time.
func RequeueDelivery(ctx context.Context, tx *gorm.DB, d WebhookDelivery, now time.Time) error {
	tx = tx.WithContext(ctx)
	leased := d.LeaseOwner != "" && d.LeaseUntil != nil
	if leased && DialectOf(tx) == Postgres {
		var live []bool
		if err := tx.Raw(`SELECT lease_until >= statement_timestamp() FROM webhook_deliveries WHERE id = ?`, d.ID).Scan(&live).Error; err != nil {
			return err
		}
		leased = len(live) == 1 && live[0]
	} else if leased {
		leased = !d.LeaseUntil.Before(now)
	}
	changes := map[string]any{"status": "pending", "next_attempt_at": now, "updated_at": now}
	if leased {
		changes["redeliver_requested"] = true
	} else {
		changes["lease_owner"], changes["lease_until"] = "", nil
	}
	return tx.Model(&WebhookDelivery{}).Where("id = ?", d.ID).Updates(changes).Error
}

// FailPendingDeliveries ends the pending deliveries of endpoint id, disabled: they would
// otherwise show a next try that never comes. A redelivery after re-enabling is not possible:
// disabling is for good.
func FailPendingDeliveries(ctx context.Context, tx *gorm.DB, endpointID int64, reason string, now time.Time) error {
	return tx.WithContext(ctx).Model(&WebhookDelivery{}).Where("endpoint_id = ? AND status = 'pending'", endpointID).
		Updates(map[string]any{"status": "failed", "next_attempt_at": nil, "last_error": reason, "updated_at": now}).Error
}

// WebhookBacklog is how far the webhook dispatcher is behind, for the operator's metrics. Each
// count stops at the limit it was read with: a count equal to it means at least that many.
type WebhookBacklog struct {
	Unfanned int64 // outbox events not yet turned into deliveries
	Pending  int64 // deliveries waiting for an attempt
	Retrying int64 // of the first Pending deliveries read, those with a failed attempt behind them
	Failed   int64 // deliveries that gave up (retries exhausted, 410 Gone, endpoint disabled)
	// OldestDue is when the pending delivery due first was due; nil when nothing is pending.
	OldestDue *time.Time
}

// ReadWebhookBacklog reads the backlog in three statements, each bounded by limit rows of an
// index whatever the size of the tables:
//   - Unfanned: the fan-out cursor is one probe of webhook_fanouts_cursor (PostgreSQL) or of the
//     primary key's end (SQLite), then at most limit entries of outbox_xact (PostgreSQL) or of the
//     outbox primary key (SQLite) above it: the dispatcher's own read (UnfannedOutbox);
//   - Pending, Retrying, Failed: at most limit entries each of webhook_deliveries_due (status,
//     next_attempt_at); Retrying reads the attempts of those pending rows only;
//   - OldestDue: the first entry of webhook_deliveries_due for status pending.
func ReadWebhookBacklog(ctx context.Context, db *gorm.DB, limit int) (WebhookBacklog, error) {
	db = db.WithContext(ctx)
	var b WebhookBacklog
	unfanned := `SELECT COUNT(*) FROM (SELECT 1 FROM outbox
		WHERE id > (SELECT COALESCE(MAX(outbox_id), 0) FROM webhook_fanouts) LIMIT ?) u`
	if DialectOf(db) == Postgres {
		unfanned = `WITH cursor AS (SELECT outbox_xact_id AS x, outbox_id AS i FROM webhook_fanouts
			ORDER BY outbox_xact_id DESC, outbox_id DESC LIMIT 1)
		SELECT COUNT(*) FROM (SELECT 1 FROM outbox
			WHERE (xact_id, id) > (COALESCE((SELECT x FROM cursor), 0), COALESCE((SELECT i FROM cursor), 0)) LIMIT ?) u`
	}
	if err := db.Raw(unfanned, limit).Scan(&b.Unfanned).Error; err != nil {
		return b, err
	}
	var counts []struct{ Pending, Retrying, Failed int64 }
	err := db.Raw(`SELECT
		(SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' LIMIT ?) p) AS pending,
		(SELECT COUNT(*) FROM (SELECT attempts FROM webhook_deliveries WHERE status = 'pending' LIMIT ?) r
			WHERE attempts > 0) AS retrying,
		(SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries WHERE status = 'failed' LIMIT ?) f) AS failed`,
		limit, limit, limit).Scan(&counts).Error
	if err != nil || len(counts) != 1 {
		return b, err
	}
	b.Pending, b.Retrying, b.Failed = counts[0].Pending, counts[0].Retrying, counts[0].Failed
	var due []time.Time
	err = db.Model(&WebhookDelivery{}).Where("status = 'pending' AND next_attempt_at IS NOT NULL").
		Order("next_attempt_at").Limit(1).Pluck("next_attempt_at", &due).Error
	if len(due) == 1 {
		b.OldestDue = &due[0]
	}
	return b, err
}
