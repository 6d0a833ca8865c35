package cases

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
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
	// PrevCursor leads back to the page before, for the console's "previous" link; empty on the
	// first page. The API pages forward only.
	PrevCursor string `json:"-"`
	// ChangeCursor is where a poller of the change feed resumes (changed_after); only the feed
	// sets it.
	ChangeCursor string `json:"change_cursor,omitempty"`
}

// CaseQuery filters the case list (SPEC 4.2). Every field is as the query string gave it; ""
// does not filter.
type CaseQuery struct {
	Status, Type, Priority, Marketplace, Flag string
	Assignee                                  string // me, none or an email
	Q                                         string
	ExternalSystem, ExternalID                string
	UpdatedSince                              string // RFC 3339
	Limit                                     string // "" means DefaultPageLimit
	Cursor                                    string
	// The console's filters. Card is a card's id: the cases it is on. Queue adds the conditions
	// of one of the home page's queues (see queueFilter), replacing the same filters above.
	// Prev is a PrevCursor: the page before it, instead of Cursor's page after.
	Card, Queue, Prev string

	// ChangedAfter reads the change feed from a ChangeCursor (see listCaseChanges); "0" is its
	// start.
	ChangedAfter string
}

// CaseRow is a case as the list shows it: enough to pick one without opening each.
type CaseRow struct {
	Ref        string      `json:"ref"`
	Type       CaseType    `json:"type"`
	Status     Status      `json:"status"`
	Resolution *string     `json:"resolution"`
	Priority   Priority    `json:"priority"`
	Summary    string      `json:"summary"`
	Customer   AccountView `json:"customer"`
	Assignee   *string     `json:"assignee"` // the assignee's email, null when unassigned
	Tags       []string    `json:"tags"`
	Flags      []string    `json:"flags"`
	SLA        SLAView     `json:"sla"`
	// SLAState is the console's badge of SLA; API clients read sla.
	SLAState  SLAState  `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
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
	if q.ChangedAfter != "" {
		return d.listCaseChanges(ctx, q, limit)
	}
	f, err := d.caseFilter(ctx, p, q)
	if err != nil {
		return Page[CaseRow]{}, err
	}
	f.Limit = limit + 1 // one extra row tells whether another page follows, without counting
	rows, err := models.ListCases(ctx, d.db, f)
	if err != nil {
		return Page[CaseRow]{}, storeErr(err)
	}
	page := Page[CaseRow]{Data: make([]CaseRow, 0, len(rows))}
	// Paging back, the extra row is the newest one; a page reached from another has that page
	// on its other side.
	switch more := len(rows) > limit; {
	case f.AfterID > 0:
		if more {
			rows = rows[1:]
		}
		if len(rows) > 0 {
			page.NextCursor = EncodeCursor(rows[len(rows)-1].ID)
			if more {
				page.PrevCursor = EncodeCursor(rows[0].ID)
			}
		}
	default:
		if more {
			rows = rows[:limit]
			page.NextCursor = EncodeCursor(rows[len(rows)-1].ID)
		}
		if f.BeforeID > 0 && len(rows) > 0 {
			page.PrevCursor = EncodeCursor(rows[0].ID)
		}
	}
	if page.Data, err = d.caseRows(ctx, rows); err != nil {
		return Page[CaseRow]{}, err
	}
	return page, nil
}

// caseRows shows cases as the list does. Customers and assignees are loaded for the whole page
// at once: two statements, not two per row.
func (d *Desk) caseRows(ctx context.Context, rows []models.Case) ([]CaseRow, error) {
	var accountIDs, assigneeIDs []int64
	for _, c := range rows {
		accountIDs = append(accountIDs, c.CustomerAccountID)
		if c.AssigneeID != nil {
			assigneeIDs = append(assigneeIDs, *c.AssigneeID)
		}
	}
	accounts, err := models.AccountsByID(ctx, d.db, accountIDs)
	if err != nil {
		return nil, storeErr(err)
	}
	assignees, err := models.UserEmails(ctx, d.db, assigneeIDs)
	if err != nil {
		return nil, storeErr(err)
	}
	now := d.now()
	out := make([]CaseRow, 0, len(rows))
	for _, c := range rows {
		row := CaseRow{Ref: c.Ref, Type: CaseType(c.Type), Status: Status(c.Status),
			Resolution: c.Resolution, Priority: Priority(c.Priority), Summary: c.Summary, Customer: accountView(accounts[c.CustomerAccountID]),
			Tags: c.Tags, Flags: c.Flags, SLA: slaView(c, now), SLAState: slaState(c, now), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
		if c.AssigneeID != nil {
			email := assignees[*c.AssigneeID]
			row.Assignee = &email
		}
		out = append(out, row)
	}
	return out, nil
}

// caseFilter validates a case query and resolves its assignee.
func (d *Desk) caseFilter(ctx context.Context, p Principal, q CaseQuery) (models.CaseFilter, error) {
	var f models.CaseFilter
	var errs fieldErrors
	if q.Status != "" && !Status(q.Status).Valid() {
		errs.add("status", "must be one of "+joinNames(Statuses))
	}
	if q.Type != "" && !CaseType(q.Type).Valid() {
		errs.add("type", "must be one of "+joinNames(CaseTypes))
	}
	if q.Priority != "" && !Priority(q.Priority).Valid() {
		errs.add("priority", "must be one of "+joinNames(Priorities))
	}
	if q.Marketplace != "" && !Marketplace(strings.ToUpper(q.Marketplace)).Valid() {
		errs.add("marketplace", "must be one of "+joinNames(Marketplaces()))
	}
	if len(q.Flag) > 50 {
		errs.add("flag", "is longer than any flag")
	}
	f.Status, f.Type, f.Priority, f.Marketplace, f.Flag = q.Status, q.Type, q.Priority, strings.ToUpper(q.Marketplace), q.Flag
	switch a := strings.TrimSpace(q.Assignee); a {
	case "":
	case "me":
		f.AssigneeID = &p.UserID
	case "none":
		f.Unassigned = true
	default:
		u, err := models.UserByEmail(ctx, d.db, NormalizeEmail(a))
		if errors.Is(err, models.ErrNotFound) {
			errs.add("assignee", "must be me, none or the email of a user")
		} else if err != nil {
			return f, storeErr(err)
		} else {
			f.AssigneeID = &u.ID
		}
	}
	_, search, err := SearchFor(q.Q)
	if re := (*RuleError)(nil); errors.As(err, &re) {
		errs.list = append(errs.list, re.Fields...)
	}
	f.Search = search
	if (q.ExternalSystem == "") != (q.ExternalID == "") {
		errs.add("external_id", "external_system and external_id go together")
	}
	f.ExternalSystem, f.ExternalID = strings.ToLower(q.ExternalSystem), q.ExternalID
	if q.UpdatedSince != "" {
		t, err := ParseTime(q.UpdatedSince)
		if err != nil {
			errs.add("updated_since", err.Error())
		} else {
			t = t.UTC()
			f.UpdatedSince = &t
		}
	}
	if q.Card != "" {
		id, err := strconv.ParseInt(strings.TrimSpace(q.Card), 10, 64)
		if err != nil || id <= 0 {
			errs.add("card", "must be the id of a card")
		}
		f.CardID = id
	}
	if q.Queue != "" && !queueFilter(&f, p, Queue(q.Queue), d.now()) {
		errs.add("queue", "must be one of "+joinNames(Queues))
	}
	f.BeforeID, f.AfterID = errs.cursors(q.Cursor, q.Prev)
	return f, errs.err()
}

// cursors reads a list's two paging cursors: cursor, the next (older) page, and prev, the one
// before it; one at a time.
func (f *fieldErrors) cursors(cursor, prev string) (before, after int64) {
	before, err := DecodeCursor(cursor)
	if err != nil {
		f.add("cursor", "is not a cursor this list returned")
	}
	after, err = DecodeCursor(prev)
	if err != nil {
		f.add("prev", "is not a cursor this list returned")
	}
	if before > 0 && after > 0 {
		f.add("prev", "goes without cursor: one page at a time")
	}
	return before, after
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

// EncodeCursor is a list's cursor: opaque to clients, base64url of the last row's id. Every
// keyset list of the desk and its sub-packages pages with it.
func EncodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// DecodeCursor reads a cursor EncodeCursor made; "" is the first page (0). Only the canonical
// form is taken (the round trip must give s back): "+1", "01" or base64 with stray low bits name
// the same row under another spelling, which no list ever hands out.
func DecodeCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if id, perr := strconv.ParseInt(string(b), 10, 64); perr == nil && id > 0 && EncodeCursor(id) == s {
			return id, nil
		}
	}
	return 0, Invalid("cursor", "is not a cursor this list returned")
}
