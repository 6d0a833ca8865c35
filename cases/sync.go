package cases

import (
	"context"
	"encoding/base64"
	"fmt"

	"giftdesk/models"
)

// The change feed (issue 23): GET /api/v1/cases?changed_after=<cursor> reads the cases in the
// order they were last written, and answers with a change_cursor to resume from. Unlike
// updated_since, it never skips a change whose transaction committed after a poll had already
// passed its time: a poll exposes only changes whose writing transactions can no longer be
// running (below models.ChangeHorizon), so a change still in flight lands above the cursor the
// poll hands back. A case changed several times shows once, as it is now.

// ChangeFeedStart is the cursor of the feed's beginning: polling from it is a full sync.
const ChangeFeedStart = "0"

// changePos is a position in the feed: after the case id of change sequence seq.
type changePos struct{ seq, id int64 }

// Change cursors are opaque to clients: base64url of "c<seq>.<id>", unlike a list cursor.
func (c changePos) cursor() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "c%d.%d", c.seq, c.id))
}

func decodeChangeCursor(s string) (changePos, bool) {
	if s == ChangeFeedStart {
		return changePos{}, true
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return changePos{}, false
	}
	var c changePos
	// The round trip refuses anything but the canonical form, trailing bytes included.
	if _, err := fmt.Sscanf(string(b), "c%d.%d", &c.seq, &c.id); err != nil || c.seq < 0 || c.id < 0 || c.cursor() != s {
		return changePos{}, false
	}
	return c, true
}

// listCaseChanges reads one page of the change feed after q.ChangedAfter. The feed takes no
// filter: a filtered feed would not show a case leaving its filter.
func (d *Desk) listCaseChanges(ctx context.Context, q CaseQuery, limit int) (Page[CaseRow], error) {
	var errs fieldErrors
	after, ok := decodeChangeCursor(q.ChangedAfter)
	if !ok {
		errs.add("changed_after", "is not a change_cursor this list returned, nor 0")
	}
	for _, f := range [][2]string{{"status", q.Status}, {"type", q.Type}, {"priority", q.Priority},
		{"marketplace", q.Marketplace}, {"flag", q.Flag}, {"assignee", q.Assignee}, {"q", q.Q},
		{"external_system", q.ExternalSystem}, {"external_id", q.ExternalID}, {"updated_since", q.UpdatedSince},
		{"cursor", q.Cursor}, {"card", q.Card}, {"queue", q.Queue}, {"prev", q.Prev}} {
		if f[1] != "" {
			errs.add(f[0], "goes without changed_after: the change feed takes only limit")
		}
	}
	if err := errs.err(); err != nil {
		return Page[CaseRow]{}, err
	}
	// The horizon is read first: whatever commits after it has a change_seq at or above it.
	horizon, err := models.ChangeHorizon(ctx, d.db)
	if err != nil {
		return Page[CaseRow]{}, storeErr(err)
	}
	if after.seq > horizon {
		return Page[CaseRow]{}, Invalid("changed_after", "is ahead of this database (was it restored from another?): poll again from 0")
	}
	rows, err := models.ListCases(ctx, d.db, models.CaseFilter{
		Changes: &models.ChangeRange{AfterSeq: after.seq, AfterID: after.id, Horizon: horizon}, Limit: limit + 1})
	if err != nil {
		return Page[CaseRow]{}, storeErr(err)
	}
	page := Page[CaseRow]{}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		page.NextCursor = changePos{last.ChangeSeq, last.ID}.cursor()
		page.ChangeCursor = page.NextCursor
	} else {
		// Every change below the horizon has been read: the next poll starts at it, unless the
		// poller already stood there.
		next := changePos{seq: horizon}
		if after.seq >= horizon {
			next = after
		}
		page.ChangeCursor = next.cursor()
	}
	if page.Data, err = d.caseRows(ctx, rows); err != nil {
		return Page[CaseRow]{}, err
	}
	return page, nil
}
