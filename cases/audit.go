package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"giftdesk/models"
)

// Actor is who made a change, for the audit trail: a user through the console or a token, or
// the command line.
type Actor struct {
	Principal *Principal // nil for the command line
	Kind      string     // "user", "token", "cli" or "system"
	IP        string
	UserAgent string
	RequestID string
}

// CLIActor is the actor of commands run on the server's machine.
var CLIActor = Actor{Kind: "cli"}

// ActorFor returns the actor of a request made by p.
func ActorFor(p Principal, ip, userAgent, requestID string) Actor {
	kind := "user"
	if p.ViaToken() {
		kind = "token"
	}
	return Actor{Principal: &p, Kind: kind, IP: ip, UserAgent: userAgent, RequestID: requestID}
}

// audit builds and writes one event.
func (d *Desk) audit(ctx context.Context, tx *gorm.DB, a Actor, action, entityType string, entityID any, before, after any) error {
	doc, err := marshalState(after)
	if err != nil {
		return err
	}
	return d.auditEncoded(ctx, tx, a, action, entityType, entityID, before, doc)
}

// auditEncoded is audit with the after state already encoded (marshalState's bytes): a use case
// that also sends the same state to the outbox encodes it once (writeCreated).
func (d *Desk) auditEncoded(ctx context.Context, tx *gorm.DB, a Actor, action, entityType string, entityID any, before any, after models.JSONDoc) error {
	e := models.AuditEvent{
		OccurredAt: d.now(),
		ActorType:  a.Kind,
		ClientIP:   a.IP,
		UserAgent:  truncate(a.UserAgent, 512),
		RequestID:  a.RequestID,
		Action:     action,
		EntityType: entityType,
		EntityID:   fmt.Sprint(entityID),
	}
	if e.ActorType == "" {
		e.ActorType = "system"
	}
	if p := a.Principal; p != nil {
		e.ActorUserID = &p.UserID
		e.ActorLabel = p.Email
		if p.TokenID != 0 {
			e.ActorTokenID = &p.TokenID
		}
	} else if a.Kind == "cli" {
		e.ActorLabel = "cli"
	}
	var err error
	if e.BeforeState, err = marshalState(before); err != nil {
		return err
	}
	e.AfterState = after
	return models.InsertAuditEvent(ctx, tx, &e)
}

func marshalState(v any) (models.JSONDoc, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	return models.JSONDoc(b), err
}

// truncate cuts s to at most n bytes on a rune boundary, and drops invalid UTF-8 (PostgreSQL
// refuses it in text columns).
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
