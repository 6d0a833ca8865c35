package models

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// AuditEvent is one recorded change (R10). Rows are never updated or deleted (R9); the sealer
// chains them afterwards in audit_seals.
type AuditEvent struct {
	ID           int64
	OccurredAt   time.Time
	ActorType    string // user, token, cli, system
	ActorUserID  *int64
	ActorTokenID *int64
	ActorLabel   string
	ClientIP     string
	UserAgent    string
	RequestID    string
	Action       string
	EntityType   string
	EntityID     string
	BeforeState  JSONDoc
	AfterState   JSONDoc
	// XactID is the inserting transaction on PostgreSQL (a column default); nil on SQLite.
	XactID *int64 `gorm:"->"`
}

// InsertAuditEvent writes e, normally inside the transaction of the change it records.
func InsertAuditEvent(ctx context.Context, db *gorm.DB, e *AuditEvent) error {
	// xact_id is left to the database default on PostgreSQL.
	return db.WithContext(ctx).Omit("xact_id").Create(e).Error
}

// AuditSeal chains one event (R10): seq orders the chain, Hash covers the previous hash and the
// event's canonical encoding.
type AuditSeal struct {
	Seq          int64 `gorm:"primaryKey;autoIncrement:false"`
	EventID      int64
	Hash         []byte
	SealedAt     time.Time
	LowWaterXact *int64
}

// SealHead is the end of the chain: the last seal, its event, and the low-water mark of its pass.
type SealHead struct {
	Seq          int64
	Hash         []byte
	EventID      int64
	LowWaterXact *int64
}

// LastSeal returns the end of the chain, or a zero head when nothing is sealed yet.
func LastSeal(ctx context.Context, db *gorm.DB) (SealHead, error) {
	var heads []SealHead
	err := db.WithContext(ctx).Raw(`SELECT seq, hash, event_id, low_water_xact FROM audit_seals
		ORDER BY seq DESC LIMIT 1`).Scan(&heads).Error
	if err != nil || len(heads) == 0 {
		return SealHead{}, err
	}
	return heads[0], nil
}

// LastSealRow returns the last seal whole, with when it was sealed; ErrNotFound when nothing is
// sealed yet.
func LastSealRow(ctx context.Context, db *gorm.DB) (AuditSeal, error) {
	var s AuditSeal
	err := db.WithContext(ctx).Order("seq DESC").Take(&s).Error
	return s, notFound(err)
}

// InsertSeal appends a seal.
func InsertSeal(ctx context.Context, db *gorm.DB, s *AuditSeal) error {
	return db.WithContext(ctx).Create(s).Error
}

// SealedEvent is a seal with its event, as verification reads them; Event.ID is 0 when the event
// row is gone.
type SealedEvent struct {
	Seal  AuditSeal
	Event AuditEvent
}

// SealsFrom returns up to limit seals from seq on, each with its event.
func SealsFrom(ctx context.Context, db *gorm.DB, seq int64, limit int) ([]SealedEvent, error) {
	var seals []AuditSeal
	if err := db.WithContext(ctx).Where("seq >= ?", seq).Order("seq").Limit(limit).Find(&seals).Error; err != nil {
		return nil, err
	}
	if len(seals) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(seals))
	for i, s := range seals {
		ids[i] = s.EventID
	}
	var events []AuditEvent
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&events).Error; err != nil {
		return nil, err
	}
	byID := make(map[int64]AuditEvent, len(events))
	for _, e := range events {
		byID[e.ID] = e
	}
	out := make([]SealedEvent, len(seals))
	for i, s := range seals {
		out[i] = SealedEvent{Seal: s, Event: byID[s.EventID]}
	}
	return out, nil
}

// UnsealedOutside returns up to limit unsealed events recorded before early or after late.
func UnsealedOutside(ctx context.Context, db *gorm.DB, early, late time.Time, limit int) ([]AuditEvent, error) {
	var out []AuditEvent
	err := db.WithContext(ctx).Where("(occurred_at < ? OR occurred_at > ?) AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = audit_events.id)", early, late).
		Order("id").Limit(limit).Find(&out).Error
	return out, err
}

// CountAudit returns how many events and seals exist.
func CountAudit(ctx context.Context, db *gorm.DB) (events, seals int64, err error) {
	if err = db.WithContext(ctx).Model(&AuditEvent{}).Count(&events).Error; err != nil {
		return
	}
	err = db.WithContext(ctx).Model(&AuditSeal{}).Count(&seals).Error
	return
}

// AuditFilter selects events for the audit API and pages, newest first. Every field left zero
// does not filter. Entities, when given, keeps the events of any of them.
type AuditFilter struct {
	EntityType string
	EntityID   string
	Entities   []EntityIDs
	Actor      string // the actor's label: a user's email, or cli
	Action     string
	From, To   *time.Time // occurred_at in [From, To)
	BeforeID   int64
	AfterID    int64 // instead of BeforeID: the Limit events just above it, still newest first
	Limit      int
}

// EntityIDs names entities of one type.
type EntityIDs struct {
	Type string
	IDs  []string
}

// AuditRow is an event with its place in the chain (Seq 0 while unsealed).
type AuditRow struct {
	AuditEvent
	Seq *int64
}

// ListAuditEvents returns events matching f with their seal sequence. Each entity condition is
// one (entity_type, entity_id) range of audit_events_entity, so a case's events are found by
// index however large the trail.
func ListAuditEvents(ctx context.Context, db *gorm.DB, f AuditFilter) ([]AuditRow, error) {
	q := db.WithContext(ctx).Table("audit_events").Select("audit_events.*, audit_seals.seq").
		Joins("LEFT JOIN audit_seals ON audit_seals.event_id = audit_events.id")
	if f.EntityType != "" {
		q = q.Where("audit_events.entity_type = ?", f.EntityType)
	}
	if f.EntityID != "" {
		q = q.Where("audit_events.entity_id = ?", f.EntityID)
	}
	if len(f.Entities) > 0 {
		var conds []string
		var args []any
		for _, e := range f.Entities {
			if len(e.IDs) == 0 {
				continue
			}
			conds = append(conds, "(audit_events.entity_type = ? AND audit_events.entity_id IN ?)")
			args = append(args, e.Type, e.IDs)
		}
		if len(conds) == 0 {
			return []AuditRow{}, nil
		}
		q = q.Where("("+strings.Join(conds, " OR ")+")", args...)
	}
	if f.Actor != "" {
		q = q.Where("audit_events.actor_label = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("audit_events.action = ?", f.Action)
	}
	if f.From != nil {
		q = q.Where("audit_events.occurred_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("audit_events.occurred_at < ?", *f.To)
	}
	order := "audit_events.id DESC"
	switch {
	case f.AfterID > 0:
		q, order = q.Where("audit_events.id > ?", f.AfterID), "audit_events.id ASC"
	case f.BeforeID > 0:
		q = q.Where("audit_events.id < ?", f.BeforeID)
	}
	var out []AuditRow
	if err := q.Order(order).Limit(f.Limit).Scan(&out).Error; err != nil {
		return nil, err
	}
	if f.AfterID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// CaseEntities returns the ids, as audit events name them, of a case's corrections, evidence and
// cards, in one statement.
func CaseEntities(ctx context.Context, db *gorm.DB, caseID int64) ([]EntityIDs, error) {
	var rows []struct {
		Type string
		ID   int64
	}
	err := db.WithContext(ctx).Raw(`SELECT 'correction' AS type, id FROM corrections WHERE case_id = ?
		UNION ALL SELECT 'evidence', id FROM evidence WHERE case_id = ?
		UNION ALL SELECT 'card', card_id FROM case_cards WHERE case_id = ?`, caseID, caseID, caseID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	byType := map[string]*EntityIDs{}
	var out []EntityIDs
	for _, t := range []string{"correction", "evidence", "card"} {
		out = append(out, EntityIDs{Type: t})
	}
	for i := range out {
		byType[out[i].Type] = &out[i]
	}
	for _, r := range rows {
		e := byType[r.Type]
		e.IDs = append(e.IDs, strconv.FormatInt(r.ID, 10))
	}
	return out, nil
}

// CardsNamedByEvents returns, in one statement, the cards whose codes the states of the given
// events could hold: the cards themselves, and every card on the cases the events are about
// (directly, or through one of their corrections or evidence).
func CardsNamedByEvents(ctx context.Context, db *gorm.DB, events []AuditRow) ([]GiftCard, error) {
	ids := map[string][]int64{}
	var refs []string
	for _, e := range events {
		if e.EntityType == "case" {
			refs = append(refs, e.EntityID)
			continue
		}
		if id, err := strconv.ParseInt(e.EntityID, 10, 64); err == nil {
			ids[e.EntityType] = append(ids[e.EntityType], id)
		}
	}
	// IN () is a syntax error: an empty list is given as one impossible value. A page of events
	// names the same case fifty times: each value once keeps the statement (and its prepared
	// variants, one per list length) small.
	orNone := func(l []int64) []int64 {
		if len(l) == 0 {
			return []int64{0}
		}
		slices.Sort(l)
		return slices.Compact(l)
	}
	slices.Sort(refs)
	refs = slices.Compact(refs)
	if len(refs) == 0 {
		refs = []string{""}
	}
	var out []GiftCard
	err := db.WithContext(ctx).Raw(`SELECT g.* FROM gift_cards g WHERE `+idAmong(db, "g.id", `SELECT id FROM gift_cards WHERE id IN ?
		UNION SELECT cc.card_id FROM case_cards cc WHERE cc.case_id IN (
			SELECT id FROM cases WHERE ref IN ?
			UNION SELECT case_id FROM corrections WHERE id IN ?
			UNION SELECT case_id FROM evidence WHERE id IN ?)`),
		orNone(ids["card"]), refs, orNone(ids["correction"]), orNone(ids["evidence"])).Scan(&out).Error
	return out, err
}

// UnsealedBacklog is how far the audit sealer is behind, for the operator's metrics: the events
// it would chain now, counted up to limit (a count equal to limit means at least that many), and
// when the next one it would chain was recorded (nil when none waits). Both read the range the
// sealer itself reads (unsealedAfter): on PostgreSQL audit_events_xact from the last pass's
// low-water mark, on SQLite the primary key above the last chained event, each row checked against
// audit_seals' unique event_id index; so at most limit unsealed rows plus the events the last pass
// sealed, whatever the size of the trail.
func UnsealedBacklog(ctx context.Context, db *gorm.DB, head SealHead, limit int) (int64, *time.Time, error) {
	var n int64
	sub := unsealedAfter(ctx, db, head).Model(&AuditEvent{}).Select("1").Limit(limit)
	if err := db.WithContext(ctx).Table("(?) AS u", sub).Count(&n).Error; err != nil || n == 0 {
		return n, nil, err
	}
	order := "id"
	if DialectOf(db) == Postgres {
		order = "xact_id, id"
	}
	var at []time.Time
	if err := unsealedAfter(ctx, db, head).Model(&AuditEvent{}).Order(order).Limit(1).Pluck("occurred_at", &at).Error; err != nil || len(at) == 0 {
		return n, nil, err
	}
	return n, &at[0], nil
}
