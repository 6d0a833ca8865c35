package cases

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"giftdesk/models"
)

// AuditQuery filters the audit trail. Every field is as the query string gave it; "" does not
// filter.
type AuditQuery struct {
	EntityType string
	EntityID   string
	Limit      string
	Cursor     string
	// The console's filters. Case is a case's ref: its own events and those of its corrections,
	// evidence and cards. Actor is the actor's email (or cli); From and To are days
	// (YYYY-MM-DD), both included, in Zone (UTC when nil).
	Case, Actor, Action, From, To string
	Zone                          *time.Location
	// Prev is a PrevCursor: the page before it, instead of Cursor's page after.
	Prev string
}

// AuditView is an audit event as the API shows it.
type AuditView struct {
	ID         int64           `json:"id,string"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      AuditActor      `json:"actor"`
	ClientIP   string          `json:"client_ip"`
	UserAgent  string          `json:"user_agent"`
	RequestID  string          `json:"request_id"`
	Action     string          `json:"action"`
	EntityType string          `json:"entity_type"`
	EntityID   string          `json:"entity_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	ChainSeq   *int64          `json:"chain_seq"` // null until the sealer has chained it
}

// AuditActor says who acted.
type AuditActor struct {
	Type    string `json:"type"`
	UserID  *int64 `json:"user_id,string,omitempty"`
	TokenID *int64 `json:"token_id,string,omitempty"`
	Label   string `json:"label"`
}

// ListAudit returns audit events, newest first, for an administrator.
func (d *Desk) ListAudit(ctx context.Context, p Principal, q AuditQuery) (Page[AuditView], error) {
	rows, next, _, err := d.auditRows(ctx, p, q)
	if err != nil {
		return Page[AuditView]{}, err
	}
	page := Page[AuditView]{Data: make([]AuditView, 0, len(rows)), NextCursor: next}
	for _, r := range rows {
		page.Data = append(page.Data, AuditView{ID: r.ID, OccurredAt: r.OccurredAt,
			Actor:    AuditActor{Type: r.ActorType, UserID: r.ActorUserID, TokenID: r.ActorTokenID, Label: r.ActorLabel},
			ClientIP: r.ClientIP, UserAgent: r.UserAgent, RequestID: r.RequestID, Action: r.Action,
			EntityType: r.EntityType, EntityID: r.EntityID, Before: canonicalJSON(r.BeforeState),
			After: canonicalJSON(r.AfterState), ChainSeq: r.Seq})
	}
	return page, nil
}

// auditRows is the one read of the audit trail for administrators: ListAudit for the API,
// AuditTrail for the console.
func (d *Desk) auditRows(ctx context.Context, p Principal, q AuditQuery) (rows []models.AuditRow, next, prev string, err error) {
	if err := p.RequireScope(ScopeAdmin); err != nil {
		return nil, "", "", err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", "", err
	}
	f, err := d.auditFilter(ctx, q)
	if err != nil {
		return nil, "", "", err
	}
	f.Limit = limit + 1
	if rows, err = models.ListAuditEvents(ctx, d.db, f); err != nil {
		return nil, "", "", storeErr(err)
	}
	rows, next, prev = keysetPage(rows, func(r models.AuditRow) int64 { return r.ID }, limit, f.BeforeID, f.AfterID)
	return rows, next, prev, nil
}

// auditFilter checks an AuditQuery, naming every bad field at once.
func (d *Desk) auditFilter(ctx context.Context, q AuditQuery) (models.AuditFilter, error) {
	var errs fieldErrors
	f := models.AuditFilter{EntityType: strings.TrimSpace(q.EntityType), EntityID: strings.TrimSpace(q.EntityID),
		Actor: strings.ToLower(strings.TrimSpace(q.Actor)), Action: strings.TrimSpace(q.Action)}
	if len(f.EntityType) > 50 || len(f.EntityID) > 100 {
		errs.add("entity_id", "is longer than any entity id")
	}
	if len(f.Actor) > 320 {
		errs.add("actor", "is longer than any email")
	}
	if len(f.Action) > 100 {
		errs.add("action", "is longer than any action")
	}
	zone := q.Zone
	if zone == nil {
		zone = time.UTC
	}
	day := func(field, raw string) *time.Time {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil
		}
		t, err := time.ParseInLocation(time.DateOnly, raw, zone)
		if err != nil {
			errs.add(field, "must be a date such as 2026-11-29")
			return nil
		}
		return &t
	}
	f.From = day("from", q.From)
	if to := day("to", q.To); to != nil {
		end := to.AddDate(0, 0, 1)
		f.To = &end
		if f.From != nil && to.Before(*f.From) {
			errs.add("to", "is before the from date")
		}
	}
	f.BeforeID, f.AfterID = errs.cursors(q.Cursor, q.Prev)
	if ref := strings.TrimSpace(q.Case); ref != "" && errs.err() == nil {
		kase, err := models.CaseByRef(ctx, d.db, strings.ToUpper(ref))
		switch {
		case errors.Is(err, models.ErrNotFound):
			errs.add("case", "is not the ref of a case")
		case err != nil:
			return f, storeErr(err)
		default:
			if f.Entities, err = d.caseEntities(ctx, kase); err != nil {
				return f, err
			}
		}
	}
	if err := errs.err(); err != nil {
		return f, err
	}
	for _, t := range []*time.Time{f.From, f.To} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return f, nil
}

// caseEntities are the entities whose events make up a case's trail: the case itself and its
// corrections, evidence and cards.
func (d *Desk) caseEntities(ctx context.Context, kase models.Case) ([]models.EntityIDs, error) {
	ents, err := models.CaseEntities(ctx, d.db, kase.ID)
	if err != nil {
		return nil, storeErr(err)
	}
	return append([]models.EntityIDs{{Type: "case", IDs: []string{kase.Ref}}}, ents...), nil
}
