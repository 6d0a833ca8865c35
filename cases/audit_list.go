package cases

import (
	"context"
	"encoding/json"
	"time"

	"giftdesk/models"
)

// AuditQuery filters the audit trail.
type AuditQuery struct {
	EntityType string
	EntityID   string
	Limit      string
	Cursor     string
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
	if err := p.RequireScope(ScopeAdmin); err != nil {
		return Page[AuditView]{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return Page[AuditView]{}, err
	}
	before, err := decodeCursor(q.Cursor)
	if err != nil {
		return Page[AuditView]{}, err
	}
	if len(q.EntityType) > 50 || len(q.EntityID) > 100 {
		return Page[AuditView]{}, Invalid("entity_id", "is longer than any entity id")
	}
	rows, err := models.ListAuditEvents(ctx, d.db, models.AuditFilter{EntityType: q.EntityType, EntityID: q.EntityID,
		BeforeID: before, Limit: limit + 1})
	if err != nil {
		return Page[AuditView]{}, storeErr(err)
	}
	page := Page[AuditView]{Data: make([]AuditView, 0, len(rows))}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = encodeCursor(rows[len(rows)-1].ID)
	}
	for _, r := range rows {
		page.Data = append(page.Data, AuditView{ID: r.ID, OccurredAt: r.OccurredAt,
			Actor:    AuditActor{Type: r.ActorType, UserID: r.ActorUserID, TokenID: r.ActorTokenID, Label: r.ActorLabel},
			ClientIP: r.ClientIP, UserAgent: r.UserAgent, RequestID: r.RequestID, Action: r.Action,
			EntityType: r.EntityType, EntityID: r.EntityID, Before: canonicalJSON(r.BeforeState),
			After: canonicalJSON(r.AfterState), ChainSeq: r.Seq})
	}
	return page, nil
}
