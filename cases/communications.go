package cases

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// Channels and directions of communication entries (SPEC §2).
var (
	channels   = []string{"phone", "email", "chat", "in_person", "internal_note"}
	directions = []string{"inbound", "outbound", "internal"}
)

// maxFutureOccurredAt is how far ahead an entry may be dated (SPEC 4.2): clocks differ a little.
const maxFutureOccurredAt = 5 * time.Minute

// NewCommunication is the body of POST /api/v1/cases/{ref}/communications (SPEC 4.2).
type NewCommunication struct {
	Channel            string `json:"channel"`
	Direction          string `json:"direction"`
	OccurredAt         string `json:"occurred_at"`
	CounterpartName    string `json:"counterpart_name"`
	RepresentativeName string `json:"representative_name"`
	Reference          string `json:"reference"`
	DurationSeconds    *int64 `json:"duration_seconds"`
	Body               string `json:"body"`
	Supersedes         string `json:"supersedes"`
}

// CommunicationView is an entry as the API shows it.
type CommunicationView struct {
	ID                 int64     `json:"id,string"`
	Channel            string    `json:"channel"`
	Direction          string    `json:"direction"`
	OccurredAt         time.Time `json:"occurred_at"`
	CounterpartName    string    `json:"counterpart_name"`
	RepresentativeName string    `json:"representative_name"`
	Reference          string    `json:"reference"`
	DurationSeconds    *int64    `json:"duration_seconds"`
	Body               string    `json:"body"`
	Supersedes         *string   `json:"supersedes"`
	SupersededBy       *string   `json:"superseded_by"`
	Author             string    `json:"author"`
	RecordedAt         time.Time `json:"recorded_at"`
}

func idString(id *int64) *string {
	if id == nil {
		return nil
	}
	s := strconv.FormatInt(*id, 10)
	return &s
}

func communicationView(r models.CommunicationRow) CommunicationView {
	return CommunicationView{ID: r.ID, Channel: r.Channel, Direction: r.Direction, OccurredAt: r.OccurredAt,
		CounterpartName: r.CounterpartName, RepresentativeName: r.RepresentativeName, Reference: r.Reference,
		DurationSeconds: r.DurationSeconds, Body: r.Body, Supersedes: idString(r.SupersedesID),
		SupersededBy: idString(r.SupersededBy), Author: r.AuthorEmail, RecordedAt: r.RecordedAt}
}

// communication is a validated NewCommunication.
type communication struct {
	channel, direction                           string
	occurred                                     time.Time
	counterpart, representative, reference, body string
	supersedes                                   *int64
}

// checkCommunication is the validation of an entry that needs no database, every problem at once.
func checkCommunication(in NewCommunication, now time.Time) (communication, error) {
	var f fieldErrors
	c := communication{channel: strings.TrimSpace(in.Channel), direction: strings.TrimSpace(in.Direction), occurred: now}
	switch {
	case !contains(channels, c.channel):
		f.add("channel", "must be one of "+strings.Join(channels, ", "))
		if !contains(directions, c.direction) {
			f.add("direction", "must be one of "+strings.Join(directions, ", "))
		}
	case !contains(directions, c.direction):
		f.add("direction", "must be one of "+strings.Join(directions, ", "))
	case (c.channel == "internal_note") != (c.direction == "internal"):
		f.add("direction", "an internal_note is internal, and only an internal_note is")
	}
	if s := strings.TrimSpace(in.OccurredAt); s != "" {
		if t := f.fact("occurred_at", s, now, maxFutureOccurredAt); t != nil {
			c.occurred = *t
		}
	}
	c.counterpart = f.text("counterpart_name", in.CounterpartName, maxNameRunes, false)
	c.representative = f.text("representative_name", in.RepresentativeName, maxNameRunes, false)
	c.reference = f.text("reference", in.Reference, maxNameRunes, false)
	c.body = f.text("body", in.Body, maxDescriptionRunes, false)
	if in.DurationSeconds != nil && (*in.DurationSeconds < 0 || *in.DurationSeconds > 7*24*3600) {
		f.add("duration_seconds", "must be between 0 and a week")
	}
	if c.body == "" && c.counterpart == "" && c.reference == "" {
		f.add("body", "say what was said: a body, a counterpart or a reference")
	}
	if s := strings.TrimSpace(in.Supersedes); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			f.add("supersedes", "must be the id of an entry of this case")
		} else {
			c.supersedes = &id
		}
	}
	return c, f.err()
}

// AddCommunication records an entry on a case. Entries are append-only (R9); an amendment names
// the entry it supersedes, which stays. Every text is redacted of the case's claim codes (R2).
func (d *Desk) AddCommunication(ctx context.Context, p Principal, a Actor, ref string, in NewCommunication) (CommunicationView, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return CommunicationView{}, err
	}
	now := d.now()
	checked, err := checkCommunication(in, now)
	if err != nil {
		return CommunicationView{}, err
	}
	channel, direction, occurred, supersedes := checked.channel, checked.direction, checked.occurred, checked.supersedes
	counterpart, representative, reference, body := checked.counterpart, checked.representative, checked.reference, checked.body
	var view CommunicationView
	err = d.inTxAnswering(ctx, func() any { return view }, func(tx *gorm.DB) error {
		c, err := lockOpenCase(ctx, tx, ref)
		if err != nil {
			return err
		}
		if supersedes != nil {
			old, err := models.CommunicationByID(ctx, tx, *supersedes)
			if errors.Is(err, models.ErrNotFound) || (err == nil && old.CaseID != c.ID) {
				return Invalid("supersedes", "must be the id of an entry of this case")
			}
			if err != nil {
				return err
			}
		}
		red, err := d.caseRedactor(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		entry := models.Communication{CaseID: c.ID, Channel: channel, Direction: direction, OccurredAt: occurred,
			CounterpartName: red.Redact(counterpart), RepresentativeName: red.Redact(representative), Reference: red.Redact(reference),
			DurationSeconds: in.DurationSeconds, Body: red.Redact(body), SupersedesID: supersedes, AuthorID: p.UserID, RecordedAt: now}
		if err := models.InsertCommunication(ctx, tx, &entry); err != nil {
			if models.IsUniqueViolation(err) {
				return Invalid("supersedes", "this entry is already superseded: amend its latest amendment")
			}
			return err
		}
		if direction == "outbound" {
			// Never before the case existed: a back-dated reply must not meet the deadline.
			respondedAt := occurred
			if respondedAt.Before(c.CreatedAt) {
				respondedAt = c.CreatedAt
			}
			first, err := models.MarkFirstResponse(ctx, tx, c.ID, respondedAt, now)
			if err != nil {
				return err
			}
			if first {
				if err := d.announceCases(ctx, tx, []int64{c.ID}); err != nil {
					return err
				}
			}
		}
		view = communicationView(models.CommunicationRow{Communication: entry, AuthorEmail: p.Email})
		if err := d.audit(ctx, tx, a, "communication.created", "case", c.Ref, nil, view); err != nil {
			return err
		}
		return d.outbox(ctx, tx, "communication.created", map[string]any{"case": c.Ref, "communication": view})
	})
	return view, err
}

// ListCommunications returns a case's entries, oldest occurred_at first, superseded ones marked.
func (d *Desk) ListCommunications(ctx context.Context, p Principal, ref, limitRaw, cursor string) (Page[CommunicationView], error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return Page[CommunicationView]{}, err
	}
	limit, err := pageLimit(limitRaw)
	if err != nil {
		return Page[CommunicationView]{}, err
	}
	afterAt, afterID, err := decodeTimeCursor(cursor)
	if err != nil {
		return Page[CommunicationView]{}, err
	}
	c, err := models.CaseByRef(ctx, d.db, ref)
	if errors.Is(err, models.ErrNotFound) {
		return Page[CommunicationView]{}, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return Page[CommunicationView]{}, storeErr(err)
	}
	rows, err := models.ListCommunications(ctx, d.db, c.ID, afterAt, afterID, limit+1)
	if err != nil {
		return Page[CommunicationView]{}, storeErr(err)
	}
	page := Page[CommunicationView]{Data: make([]CommunicationView, 0, len(rows))}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		page.NextCursor = encodeTimeCursor(last.OccurredAt, last.ID)
	}
	// Entries are append-only: one written before a card joined the case still holds its code as
	// typed, so every read redacts again with the case's cards of today (R1, R2).
	red, err := d.caseRedactor(ctx, d.db, c.ID)
	if err != nil {
		return Page[CommunicationView]{}, storeErr(err)
	}
	for _, r := range rows {
		page.Data = append(page.Data, redactedCommunicationView(r, red))
	}
	return page, nil
}

// redactedCommunicationView is an entry as it is read: its texts redacted of the case's codes.
func redactedCommunicationView(r models.CommunicationRow, red *Redactor) CommunicationView {
	v := communicationView(r)
	v.CounterpartName, v.RepresentativeName = red.Redact(v.CounterpartName), red.Redact(v.RepresentativeName)
	v.Reference, v.Body = red.Redact(v.Reference), red.Redact(v.Body)
	return v
}

// Time-ordered cursors carry the last row's time and id.
func encodeTimeCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", at.UnixMicro(), id)))
}

func decodeTimeCursor(s string) (time.Time, int64, error) {
	if s == "" {
		return time.Time{}, 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		us, id, ok := strings.Cut(string(b), ".")
		u, err1 := strconv.ParseInt(us, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		// Canonical only, as DecodeCursor: the round trip gives s back.
		if at := time.UnixMicro(u).UTC(); ok && err1 == nil && err2 == nil && n > 0 && CheckTimeRange(at) == nil && encodeTimeCursor(at, n) == s {
			return at, n, nil
		}
	}
	return time.Time{}, 0, Invalid("cursor", "is not a cursor this list returned")
}
