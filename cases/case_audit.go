package cases

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"giftdesk/models"
)

// CaseAuditLimit is how many events the case page shows: the newest; administrators read the
// rest on the audit page.
const CaseAuditLimit = 50

// AuditEntry is an audit event as people read it: who, when, from where, and what changed.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Actor      string // the user's email, cli, or system
	ViaToken   bool
	ClientIP   string
	UserAgent  string
	Action     string
	EntityType string
	EntityID   string
	Changes    []AuditChange
	// Created is true when the event has no before state: its changes are the values it set.
	Created bool
	Sealed  bool
}

// AuditChange is one field of an event's state, before and after ("" where it had none).
type AuditChange struct {
	Field, Before, After string
}

// CaseAudit is the newest events of a case and of its corrections, evidence and cards. More
// is true when older ones exist.
type CaseAudit struct {
	Entries []AuditEntry
	More    bool
}

// CaseAudit returns the newest CaseAuditLimit events of a case's trail, newest first, for anyone
// who may read the case. States are read as stored: claim codes were redacted before storage.
func (d *Desk) CaseAudit(ctx context.Context, p Principal, ref string) (CaseAudit, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CaseAudit{}, err
	}
	kase, err := models.CaseByRef(ctx, d.db, strings.ToUpper(strings.TrimSpace(ref)))
	if errors.Is(err, models.ErrNotFound) {
		return CaseAudit{}, NotFound("case")
	}
	if err != nil {
		return CaseAudit{}, storeErr(err)
	}
	ents, err := d.caseEntities(ctx, kase)
	if err != nil {
		return CaseAudit{}, err
	}
	rows, err := models.ListAuditEvents(ctx, d.db, models.AuditFilter{Entities: ents, Limit: CaseAuditLimit + 1})
	if err != nil {
		return CaseAudit{}, storeErr(err)
	}
	out := CaseAudit{More: len(rows) > CaseAuditLimit}
	if out.More {
		rows = rows[:CaseAuditLimit]
	}
	if out.Entries, err = d.auditEntries(ctx, rows); err != nil {
		return CaseAudit{}, err
	}
	return out, nil
}

// AuditTrail is ListAudit as the console's audit page shows it.
func (d *Desk) AuditTrail(ctx context.Context, p Principal, q AuditQuery) (Page[AuditEntry], error) {
	rows, next, prev, err := d.auditRows(ctx, p, q)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	entries, err := d.auditEntries(ctx, rows)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	return Page[AuditEntry]{Data: entries, NextCursor: next, PrevCursor: prev}, nil
}

// auditEntries reads events for people. States were redacted when stored, but a code given in
// free text before its card was on the case was not known then: every value is redacted again
// with the codes of every card the events are about (R1), as the timeline does.
func (d *Desk) auditEntries(ctx context.Context, rows []models.AuditRow) ([]AuditEntry, error) {
	cards, err := models.CardsNamedByEvents(ctx, d.db, rows)
	if err != nil {
		return nil, storeErr(err)
	}
	red := d.redactorOf(cards)
	out := make([]AuditEntry, 0, len(rows))
	for _, r := range rows {
		e := AuditEntry{ID: r.ID, At: r.OccurredAt, Actor: r.ActorLabel, ViaToken: r.ActorTokenID != nil, ClientIP: r.ClientIP,
			UserAgent: r.UserAgent, Action: r.Action, EntityType: r.EntityType, EntityID: r.EntityID, Sealed: r.Seq != nil,
			Created: len(r.BeforeState) == 0 || string(r.BeforeState) == "null"}
		if e.Actor == "" {
			e.Actor = r.ActorType
		}
		e.Changes = stateChanges(r.BeforeState, r.AfterState, red)
		out = append(out, e)
	}
	return out, nil
}

// maxChangeValue bounds a value shown in a change: a description may be 20,000 characters.
const maxChangeValue = 300

// stateChanges compares two states field by field (nested fields by their path, customer.email)
// and lists the fields that differ, in name order. A state that is not an object is one field
// named "".
func stateChanges(before, after models.JSONDoc, red *Redactor) []AuditChange {
	b, a := flatState(before, red), flatState(after, red)
	fields := make([]string, 0, len(b)+len(a))
	for k := range b {
		fields = append(fields, k)
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	var out []AuditChange
	for _, f := range fields {
		if b[f] != a[f] {
			out = append(out, AuditChange{Field: f, Before: b[f], After: a[f]})
		}
	}
	return out
}

func flatState(doc models.JSONDoc, red *Redactor) map[string]string {
	out := map[string]string{}
	if len(doc) == 0 {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		out[""] = clip(red.Redact(string(doc)))
		return out
	}
	flatten(out, "", v, 0, red)
	return out
}

// flatten writes v's leaves into out by path. Objects nest two levels deep at most; deeper ones
// and arrays of objects are shown as compact JSON. An amount beside its currency is shown in the
// currency's units.
func flatten(out map[string]string, path string, v any, depth int, red *Redactor) {
	obj, isObj := v.(map[string]any)
	if !isObj || depth > 2 {
		if v == nil && path != "" {
			return
		}
		out[path] = clip(red.Redact(leaf(v)))
		return
	}
	for k, child := range obj {
		p := k
		if path != "" {
			p = path + "." + k
		}
		flatten(out, p, child, depth+1, red)
	}
	if n, ok := obj["amount_minor"].(json.Number); ok {
		if cur, ok := obj["currency"].(string); ok {
			if minor, err := n.Int64(); err == nil {
				p := "amount_minor"
				if path != "" {
					p = path + ".amount_minor"
				}
				out[p] = FormatMinor(minor, Currency(cur))
			}
		}
	}
}

func leaf(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "yes"
		}
		return "no"
	case []any:
		if len(t) == 0 {
			return "none"
		}
		parts := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				parts = append(parts, s)
				continue
			}
			b, _ := json.Marshal(x)
			parts = append(parts, string(b))
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxChangeValue {
		return s
	}
	r := []rune(s)
	return string(r[:maxChangeValue]) + "…"
}

// AuditChain is the state of the chain (R10) as the audit page shows it.
type AuditChain struct {
	HeadSeq     int64  // 0 while nothing is sealed
	HeadHash    string // hex
	HeadEventID int64
	SealedAt    *time.Time
	Unsealed    int64 // events still to chain
}

// AuditChainState reads the head of the chain and how many events wait to be chained, for an
// administrator.
func (d *Desk) AuditChainState(ctx context.Context, p Principal) (AuditChain, error) {
	if err := p.RequireScope(ScopeAdmin); err != nil {
		return AuditChain{}, err
	}
	return d.auditChain(ctx)
}

// auditChain reads the head of the chain and how many events wait to be chained.
func (d *Desk) auditChain(ctx context.Context) (AuditChain, error) {
	var out AuditChain
	var head models.SealHead
	s, err := models.LastSealRow(ctx, d.db)
	switch {
	case errors.Is(err, models.ErrNotFound):
	case err != nil:
		return out, storeErr(err)
	default:
		at := s.SealedAt
		out.HeadSeq, out.HeadHash, out.HeadEventID, out.SealedAt = s.Seq, hex.EncodeToString(s.Hash), s.EventID, &at
		head = models.SealHead{Seq: s.Seq, Hash: s.Hash, EventID: s.EventID, LowWaterXact: s.LowWaterXact}
	}
	if out.Unsealed, err = models.CountUnsealed(ctx, d.db, head); err != nil {
		return out, storeErr(err)
	}
	return out, nil
}

// VerifyAuditFor is VerifyAudit, the verification of `giftdesk audit verify`, run by an
// administrator from the console.
func (d *Desk) VerifyAuditFor(ctx context.Context, p Principal) (AuditReport, error) {
	if err := p.RequireScope(ScopeAdmin); err != nil {
		return AuditReport{}, err
	}
	return d.VerifyAudit(ctx)
}
