package cases

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"giftdesk/models"
)

// Timeline page limits: the case page shows up to 200 entries, then pages.
const (
	DefaultTimelineLimit = 50
	MaxTimelineLimit     = 200
)

// TimelineQuery selects a page of a case's timeline: order asc (oldest first, the default) or
// desc, limit 1–200 (default 50), and the cursor of the previous page.
type TimelineQuery struct {
	Order, Limit, Cursor string
}

// TimelineEntry is one thing that happened on a case. Every entry has kind, at, id and actor;
// id is the row of its source (communication, evidence, correction, approval or audit event) and
// names the entry together with kind. The other fields are those of its kind (see the README).
type TimelineEntry struct {
	Kind  string    `json:"kind"`
	At    time.Time `json:"at"`
	ID    int64     `json:"id,string"`
	Actor string    `json:"actor"` // the email of who acted, "cli" or "system"
	// Note is a decision's own words: a verdict's note, an approval's note, a denial's reason, a
	// freeze's or an unfreeze's reason.
	Note          *string                   `json:"note,omitempty"`
	Case          *TimelineCase             `json:"case,omitempty"`
	Card          *TimelineCard             `json:"card,omitempty"`
	Changes       map[string]TimelineChange `json:"changes,omitempty"`
	Communication *CommunicationView        `json:"communication,omitempty"`
	Evidence      *TimelineEvidence         `json:"evidence,omitempty"`
	Correction    *TimelineCorrection       `json:"correction,omitempty"`
}

// TimelineCase is a case as it was created.
type TimelineCase struct {
	Type     string         `json:"type"`
	Priority string         `json:"priority"`
	Cards    []TimelineCard `json:"cards"`
}

// TimelineCard is a card as an entry shows it, masked.
type TimelineCard struct {
	ID             int64   `json:"id,string"`
	Last4          *string `json:"last4"`
	Serial         *string `json:"serial"`
	FaceValueMinor int64   `json:"face_value_minor"`
	Currency       string  `json:"currency"`
	Marketplace    string  `json:"marketplace"`
}

// TimelineChange is a field's value before and after a change: a string, a list of strings or null.
type TimelineChange struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// TimelineEvidence is an upload as an entry shows it; verification is its state now.
type TimelineEvidence struct {
	ID               int64    `json:"id,string"`
	Kind             string   `json:"kind"`
	FileName         string   `json:"file_name"`
	ContentType      string   `json:"content_type"`
	Size             int64    `json:"size"`
	StoreName        *string  `json:"store_name"`
	StoreLocation    *string  `json:"store_location"`
	PurchasedAt      *string  `json:"purchased_at"`
	AmountMinor      *int64   `json:"amount_minor"`
	Currency         *string  `json:"currency"`
	CardLast4        *string  `json:"card_last4"`
	PosTransactionID *string  `json:"pos_transaction_id"`
	Note             string   `json:"note"`
	Verification     string   `json:"verification"`
	Flags            []string `json:"flags"`
}

// TimelineCorrection is a correction as an entry shows it; status is its state now.
type TimelineCorrection struct {
	ID                int64   `json:"id,string"`
	Kind              string  `json:"kind"`
	Status            string  `json:"status"`
	AmountMinor       int64   `json:"amount_minor"`
	Currency          string  `json:"currency"`
	FromAccount       string  `json:"from_account"`
	ToAccount         string  `json:"to_account"`
	CardID            *string `json:"card_id"`
	CardLast4         *string `json:"card_last4"`
	CardSerial        *string `json:"card_serial"`
	Reason            string  `json:"reason"`
	RequiredApprovals int     `json:"required_approvals"`
	Reverses          *string `json:"reverses"`
	ReversedBy        *string `json:"reversed_by"`
}

// timelineWindow validates a timeline query, every problem at once.
func timelineWindow(q TimelineQuery) (models.TimelineWindow, error) {
	var f fieldErrors
	w := models.TimelineWindow{Limit: DefaultTimelineLimit}
	switch strings.TrimSpace(q.Order) {
	case "", "asc":
	case "desc":
		w.Desc = true
	default:
		f.add("order", "must be asc or desc")
	}
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > MaxTimelineLimit {
			f.add("limit", fmt.Sprintf("must be an integer from 1 to %d", MaxTimelineLimit))
		}
		w.Limit = n
	}
	if q.Cursor != "" {
		k, desc, err := decodeTimelineCursor(q.Cursor)
		if err != nil || desc != w.Desc {
			f.add("cursor", "is not a cursor this list returned in this order")
		}
		w.After = &k
	}
	return w, f.err()
}

// Timeline cursors carry the last entry's key and the order they were made for.
func encodeTimelineCursor(e TimelineEntry, desc bool) string {
	order := "a"
	if desc {
		order = "d"
	}
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s.%d.%s.%d", order, e.At.UnixMicro(), e.Kind, e.ID))
}

func decodeTimelineCursor(s string) (models.TimelineKey, bool, error) {
	bad := errors.New("not a timeline cursor")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return models.TimelineKey{}, false, bad
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 4 || (parts[0] != "a" && parts[0] != "d") || models.TimelineRank(parts[2]) < 0 {
		return models.TimelineKey{}, false, bad
	}
	us, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[3], 10, 64)
	at := time.UnixMicro(us).UTC()
	if err1 != nil || err2 != nil || id <= 0 || CheckTimeRange(at) != nil {
		return models.TimelineKey{}, false, bad
	}
	k, desc := models.TimelineKey{At: at, Kind: parts[2], ID: id}, parts[0] == "d"
	// Canonical only, as DecodeCursor: the round trip gives s back.
	if encodeTimelineCursor(TimelineEntry{At: k.At, Kind: k.Kind, ID: k.ID}, desc) != s {
		return models.TimelineKey{}, false, bad
	}
	return k, desc, nil
}

// Timeline returns a page of a case's timeline (SPEC 4.2, issue 21): its communications (amended
// ones marked), evidence and verdicts, correction requests and decisions, status, assignment,
// priority and tag changes, cards added, frozen and unfrozen, duplicate flags, merged in one order
// by (at, kind, id). A page costs a fixed handful of statements whatever it holds: the case, its
// cards' codes for the redactor, and one statement per source. Every text is redacted again with
// the codes of the case's cards as they are now: an audit event or an entry written before a card
// was added to the case may hold its code, typed before the desk knew it was one (R1, R2).
func (d *Desk) Timeline(ctx context.Context, p Principal, ref string, q TimelineQuery) (Page[TimelineEntry], error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return Page[TimelineEntry]{}, err
	}
	w, err := timelineWindow(q)
	if err != nil {
		return Page[TimelineEntry]{}, err
	}
	c, err := models.CaseByRef(ctx, d.db, ref)
	if errors.Is(err, models.ErrNotFound) {
		return Page[TimelineEntry]{}, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return Page[TimelineEntry]{}, storeErr(err)
	}
	red, err := d.caseRedactor(ctx, d.db, c.ID)
	if err != nil {
		return Page[TimelineEntry]{}, storeErr(err)
	}
	page, err := d.timeline(ctx, c, red, w)
	return page, storeErr(err)
}

// timeline reads one window of case c's timeline, every text redacted with red.
func (d *Desk) timeline(ctx context.Context, c models.Case, red *Redactor, w models.TimelineWindow) (Page[TimelineEntry], error) {
	limit := w.Limit
	w.Limit++ // one more entry tells whether another page follows, without counting
	var entries []TimelineEntry
	comms, err := models.TimelineCommunications(ctx, d.db, c.ID, w)
	if err != nil {
		return Page[TimelineEntry]{}, storeErr(err)
	}
	for _, r := range comms {
		entries = append(entries, communicationEntry(r, red))
	}
	evidence, err := models.TimelineEvidence(ctx, d.db, c.ID, w)
	if err != nil {
		return Page[TimelineEntry]{}, storeErr(err)
	}
	for _, r := range evidence {
		entries = append(entries, evidenceEntry(r, red))
	}
	corrections, err := models.TimelineCorrections(ctx, d.db, c.ID, w)
	if err != nil {
		return Page[TimelineEntry]{}, storeErr(err)
	}
	for _, r := range corrections {
		entries = append(entries, correctionEntry(r, red))
	}
	events, err := models.TimelineAudit(ctx, d.db, c.ID, c.Ref, w)
	if err != nil {
		return Page[TimelineEntry]{}, storeErr(err)
	}
	for _, r := range events {
		entries = append(entries, auditEntry(r, red))
	}
	slices.SortFunc(entries, func(a, b TimelineEntry) int {
		order := cmp.Or(a.At.Compare(b.At), cmp.Compare(models.TimelineRank(a.Kind), models.TimelineRank(b.Kind)), cmp.Compare(a.ID, b.ID))
		if w.Desc {
			return -order
		}
		return order
	})
	page := Page[TimelineEntry]{Data: orEmpty(entries)}
	if len(entries) > limit {
		page.Data = entries[:limit]
		page.NextCursor = encodeTimelineCursor(page.Data[limit-1], w.Desc)
	}
	return page, nil
}

func redactPtr(red *Redactor, s *string) *string {
	if s == nil {
		return nil
	}
	r := red.Redact(*s)
	return &r
}

func communicationEntry(r models.CommunicationRow, red *Redactor) TimelineEntry {
	v := redactedCommunicationView(r, red)
	return TimelineEntry{Kind: models.TimelineCommunication, At: r.OccurredAt, ID: r.ID, Actor: r.AuthorEmail, Communication: &v}
}

func evidenceEntry(r models.TimelineEvidenceRow, red *Redactor) TimelineEntry {
	e := TimelineEntry{Kind: r.EntryKind, At: r.UploadedAt, ID: r.ID, Actor: r.ActorEmail, Evidence: &TimelineEvidence{
		ID: r.ID, Kind: r.Kind, FileName: red.Redact(r.FileName), ContentType: r.ContentType, Size: r.Size,
		StoreName: redactPtr(red, r.StoreName), StoreLocation: redactPtr(red, r.StoreLocation), PurchasedAt: r.PurchasedAt,
		AmountMinor: r.AmountMinor, Currency: r.Currency, CardLast4: r.CardLast4, PosTransactionID: redactPtr(red, r.PosTransactionID),
		Note: red.Redact(r.Note), Verification: r.Verification, Flags: orEmpty([]string(r.Flags))}}
	if r.EntryKind != models.TimelineEvidenceAdded && r.VerifiedAt != nil {
		e.At, e.Note = *r.VerifiedAt, redactPtr(red, r.VerificationNote)
	}
	return e
}

func correctionEntry(r models.TimelineCorrectionRow, red *Redactor) TimelineEntry {
	e := TimelineEntry{Kind: r.EntryKind, ID: r.EntryID, Actor: "system", Correction: &TimelineCorrection{
		ID: r.Correction.ID, Kind: r.Kind, Status: r.Status, AmountMinor: r.AmountMinor, Currency: r.Currency,
		FromAccount: r.FromAccount, ToAccount: r.ToAccount, CardID: idString(r.CardID), CardLast4: r.CardLast4, CardSerial: r.CardSerial,
		Reason: red.Redact(r.Reason), RequiredApprovals: r.RequiredApprovals, Reverses: idString(r.ReversesID), ReversedBy: idString(r.ReversedBy)}}
	if r.ActorEmail != nil {
		e.Actor = *r.ActorEmail
	}
	at := func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	}
	switch r.EntryKind {
	case models.TimelineCorrectionRequested:
		e.At = r.CreatedAt
	case models.TimelineCorrectionApproved:
		e.At, e.Note = at(r.ApprovedAt), redactPtr(red, r.ApprovalNote)
	case models.TimelineCorrectionApplied:
		e.At = at(r.DecidedAt)
	case models.TimelineCorrectionDenied:
		e.At, e.Note = at(r.DecidedAt), redactPtr(red, r.DenialReason)
	case models.TimelineCorrectionReversed:
		e.At = at(r.ReversedAt)
	case models.TimelineCorrectionCancelled:
		e.At = r.UpdatedAt
	}
	return e
}

// Fields of the audit trail's before and after that the timeline shows, per kind.
var (
	caseUpdatedFields = []string{"status", "resolution", "assignee", "priority", "tags"}
	caseFlaggedFields = []string{"flags", "duplicates"}
)

// auditEntry reads an audit event into an entry. Only the named fields of its before and after
// are read, never the whole document, and every text is redacted.
func auditEntry(r models.TimelineAuditRow, red *Redactor) TimelineEntry {
	e := TimelineEntry{Kind: models.TimelineAuditKind(r.Action), At: r.OccurredAt, ID: r.ID, Actor: r.ActorLabel}
	if e.Actor == "" {
		e.Actor = "system"
	}
	switch e.Kind {
	case models.TimelineCaseCreated:
		var created TimelineCase
		_ = json.Unmarshal(r.AfterState, &created) // a malformed document leaves the details empty, never the entry out
		created.Cards = orEmpty(created.Cards)
		e.Case = &created
	case models.TimelineCardAdded:
		var card TimelineCard
		_ = json.Unmarshal(r.AfterState, &card)
		e.Card = &card
	case models.TimelineCardFrozen, models.TimelineCardUnfrozen:
		var decision struct {
			TimelineCard
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(r.AfterState, &decision)
		reason := red.Redact(decision.Reason)
		e.Card, e.Note = &decision.TimelineCard, &reason
	case models.TimelineCaseUpdated:
		e.Changes = auditChanges(r, caseUpdatedFields, red)
	case models.TimelineCaseFlagged:
		e.Changes = auditChanges(r, caseFlaggedFields, red)
	}
	return e
}

// auditChanges returns the named fields that an event's before or after holds.
func auditChanges(r models.TimelineAuditRow, fields []string, red *Redactor) map[string]TimelineChange {
	var before, after map[string]json.RawMessage
	_ = json.Unmarshal(r.BeforeState, &before)
	_ = json.Unmarshal(r.AfterState, &after)
	out := map[string]TimelineChange{}
	for _, f := range fields {
		b, inBefore := before[f]
		a, inAfter := after[f]
		if inBefore || inAfter {
			out[f] = TimelineChange{From: changeValue(b, red), To: changeValue(a, red)}
		}
	}
	return out
}

// changeValue reads a changed field's value: a string, a list of strings, or null for anything else.
func changeValue(raw json.RawMessage, red *Redactor) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return red.Redact(s)
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		for i := range list {
			list[i] = red.Redact(list[i])
		}
		return orEmpty(list)
	}
	return nil
}
