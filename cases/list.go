package cases

import (
	"context"
	"encoding/base64"
	"strconv"
	"time"

	"giftdesk/models"
)

// Page limits of SPEC 4.2's list endpoints.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 100
)

// Page is one page of a keyset-paginated list; NextCursor is empty on the last page.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// CaseQuery filters the case list.
type CaseQuery struct {
	Status string
	Type   string
	Limit  string // as given; "" means DefaultPageLimit
	Cursor string
}

// CaseRow is a case as the list shows it.
type CaseRow struct {
	Ref        string    `json:"ref"`
	Type       CaseType  `json:"type"`
	Status     Status    `json:"status"`
	Resolution *string   `json:"resolution"`
	Priority   Priority  `json:"priority"`
	Summary    string    `json:"summary"`
	Tags       []string  `json:"tags"`
	Flags      []string  `json:"flags"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    int64     `json:"version"`
}

// ListCases returns a page of cases, newest first, for a principal with cases:read.
func (d *Desk) ListCases(ctx context.Context, p Principal, q CaseQuery) (Page[CaseRow], error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return Page[CaseRow]{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return Page[CaseRow]{}, err
	}
	if q.Status != "" && !Status(q.Status).Valid() {
		return Page[CaseRow]{}, Invalid("status", "must be one of "+joinNames(Statuses))
	}
	if q.Type != "" && !CaseType(q.Type).Valid() {
		return Page[CaseRow]{}, Invalid("type", "unknown case type")
	}
	before, err := decodeCursor(q.Cursor)
	if err != nil {
		return Page[CaseRow]{}, err
	}
	// One extra row tells whether another page follows, without counting.
	rows, err := models.ListCases(ctx, d.db, models.CaseFilter{Status: q.Status, Type: q.Type, BeforeID: before, Limit: limit + 1})
	if err != nil {
		return Page[CaseRow]{}, storeErr(err)
	}
	page := Page[CaseRow]{Data: make([]CaseRow, 0, len(rows))}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = encodeCursor(rows[len(rows)-1].ID)
	}
	for _, c := range rows {
		page.Data = append(page.Data, CaseRow{Ref: c.Ref, Type: CaseType(c.Type), Status: Status(c.Status),
			Resolution: c.Resolution, Priority: Priority(c.Priority), Summary: c.Summary, Tags: c.Tags,
			Flags: c.Flags, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version})
	}
	return page, nil
}

func pageLimit(raw string) (int, error) {
	if raw == "" {
		return DefaultPageLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxPageLimit {
		return 0, Invalid("limit", "must be an integer from 1 to 100")
	}
	return n, nil
}

// Cursors are opaque to clients: base64url of the last row's id.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if id, perr := strconv.ParseInt(string(b), 10, 64); perr == nil && id > 0 {
			return id, nil
		}
	}
	return 0, Invalid("cursor", "is not a cursor this list returned")
}
