package handlers

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// feedPage is one answer of the change feed.
type feedPage struct {
	Data []struct {
		Ref       string    `json:"ref"`
		Tags      []string  `json:"tags"`
		UpdatedAt time.Time `json:"updated_at"`
		Version   int64     `json:"version"`
	} `json:"data"`
	NextCursor   string `json:"next_cursor"`
	ChangeCursor string `json:"change_cursor"`
}

// poll reads the change feed from cursor the way README tells a ticketing system to: page after
// page while next_cursor says more is ready. It returns the tags of every case seen (the
// latest wins, as an upsert by ref would keep it), the refs in the order seen, and the cursor to
// resume from.
func (h *harness) poll(token, cursor string, limit string) (map[string]string, []string, string) {
	h.t.Helper()
	seen := map[string]string{}
	var order []string
	for range 1000 {
		w := h.do(request{method: http.MethodGet, path: "/api/v1/cases?limit=" + limit + "&changed_after=" + url.QueryEscape(cursor), token: token})
		if w.Code != http.StatusOK {
			h.t.Fatalf("poll from %s: %d %s", cursor, w.Code, w.Body)
		}
		var p feedPage
		mustUnmarshal(h.t, w.Body.Bytes(), &p)
		if p.ChangeCursor == "" {
			h.t.Fatalf("poll from %s: no change_cursor: %s", cursor, w.Body)
		}
		for _, c := range p.Data {
			seen[c.Ref] = strings.Join(c.Tags, ",")
			order = append(order, c.Ref)
		}
		cursor = p.ChangeCursor
		if p.NextCursor == "" {
			return seen, order, cursor
		}
		if p.NextCursor != p.ChangeCursor {
			h.t.Fatalf("next_cursor %s differs from change_cursor %s", p.NextCursor, p.ChangeCursor)
		}
	}
	h.t.Fatal("the feed never ended")
	return nil, nil, ""
}

// pollUntil polls from cursor until the feed shows ref with tags: a transaction elsewhere in
// the PostgreSQL cluster (another test's database) holds the horizon back for as long as it runs,
// which delays a change but must never lose it.
func (h *harness) pollUntil(token, cursor, ref, tags string) (map[string]string, string) {
	h.t.Helper()
	all := map[string]string{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen, _, next := h.poll(token, cursor, "100")
		for k, v := range seen {
			all[k] = v
		}
		cursor = next
		if all[ref] == tags {
			return all, cursor
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the feed never showed %s tagged %q; it showed %v", ref, tags, all)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// feedSettled waits until a full sync shows n cases (see pollUntil).
func (h *harness) feedSettled(token string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen, _, _ := h.poll(token, cases.ChangeFeedStart, "100")
		if len(seen) >= n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the feed shows %d cases, want %d", len(seen), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) patchTags(token, ref, tags string) {
	h.t.Helper()
	get := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: token})
	var v cases.CaseView
	mustUnmarshal(h.t, get.Body.Bytes(), &v)
	w := h.do(request{method: http.MethodPatch, path: "/api/v1/cases/" + ref, token: token,
		body: strings.NewReader(`{"tags":["` + tags + `"]}`), header: map[string]string{"If-Match": v.ETag()}})
	if w.Code != http.StatusOK {
		h.t.Fatalf("patch %s: %d %s", ref, w.Code, w.Body)
	}
}

// updatedSince reads the plain list with updated_since, the way a poller without the change
// feed would, and returns the tags of the cases it saw and the greatest updated_at.
func (h *harness) updatedSince(token string, since time.Time) (map[string]string, time.Time) {
	h.t.Helper()
	w := h.do(request{method: http.MethodGet, path: "/api/v1/cases?limit=100&updated_since=" + url.QueryEscape(since.Format(time.RFC3339Nano)), token: token})
	if w.Code != http.StatusOK {
		h.t.Fatalf("updated_since: %d %s", w.Code, w.Body)
	}
	var p feedPage
	mustUnmarshal(h.t, w.Body.Bytes(), &p)
	refs := map[string]string{}
	mark := since
	for _, c := range p.Data {
		refs[c.Ref] = strings.Join(c.Tags, ",")
		if c.UpdatedAt.After(mark) {
			mark = c.UpdatedAt
		}
	}
	return refs, mark
}

// TestChangeFeedFindsAChangeThatCommitsLate is issue 23's out-of-order sync: a transaction has
// changed case A but not committed while another changes case B and commits, and a poll runs.
// The poll resumes later from the cursor it was given and must find A once it commits. A poller
// of updated_since misses A: B's later updated_at moved its mark past A's before A was visible.
// That is why the change feed exists.
func TestChangeFeedFindsAChangeThatCommitsLate(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	h := newHarness(t, db)
	agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	a, b := h.newCase(agent, "late-a"), h.newCase(agent, "late-b")

	// First a full sync, from the feed's start; the updated_since poller starts from the same point.
	_, cursor := h.pollUntil(agent, cases.ChangeFeedStart, b, "phone")
	_, mark := h.updatedSince(agent, time.Unix(0, 0).UTC())

	// A's writer: the desk's versioned update, in a transaction that stays open.
	ctx := t.Context()
	slow := db.Begin()
	t.Cleanup(func() { slow.Rollback() })
	caseA, err := models.CaseByRef(ctx, slow, a)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := models.UpdateCaseVersioned(ctx, slow, caseA.ID, caseA.Version,
		map[string]any{"tags": models.StringList{"changed-late"}, "updated_at": time.Now().UTC()}); err != nil || !ok {
		t.Fatalf("update A: %t %v", ok, err)
	}
	time.Sleep(5 * time.Millisecond)
	h.patchTags(agent, b, "changed-and-committed")

	seen, _, cursor := h.poll(agent, cursor, "100")
	if _, ok := seen[a]; ok {
		t.Fatalf("the poll shows %s before its transaction committed", a)
	}
	if _, ok := seen[b]; ok {
		t.Errorf("the poll shows %s while an older transaction still runs: its cursor would pass that transaction's changes", b)
	}
	refs, mark := h.updatedSince(agent, mark)
	if refs[b] != "changed-and-committed" || refs[a] == "changed-late" {
		t.Fatalf("updated_since shows %v, want %s's change and not %s's", refs, b, a)
	}

	if err := slow.Commit().Error; err != nil {
		t.Fatal(err)
	}
	seen, _ = h.pollUntil(agent, cursor, a, "changed-late")
	if seen[b] != "changed-and-committed" {
		t.Errorf("the poll after the commit shows %v, want %s too", seen, b)
	}
	// The plain list from its mark: A's updated_at is older than B's, so A is skipped for good.
	refs, _ = h.updatedSince(agent, mark)
	if refs[a] == "changed-late" {
		t.Errorf("updated_since found %s's change after all: the scenario did not reproduce the miss", a)
	}
}

// TestChangeFeed checks the feed on both databases: a full sync from the start, a resume that
// shows only what changed since, a case changed twice shown once as it is now, pages of one that
// lose no case when several share a change sequence (one transaction on PostgreSQL), and the
// parameters it refuses.
func TestChangeFeed(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		var refs []string
		for _, ext := range []string{"f1", "f2", "f3", "f4"} {
			refs = append(refs, h.newCase(agent, ext))
		}
		_, cursor := h.pollUntil(agent, cases.ChangeFeedStart, refs[3], "phone")
		h.feedSettled(agent, 4)
		seen, order, full := h.poll(agent, cases.ChangeFeedStart, "1")
		if len(seen) != 4 || len(order) != 4 {
			t.Fatalf("full sync in pages of one: %v", order)
		}
		if seen, _, _ := h.poll(agent, full, "100"); len(seen) != 0 {
			t.Errorf("a resume with nothing changed shows %v", seen)
		}

		h.patchTags(agent, refs[1], "first-change")
		h.patchTags(agent, refs[1], "second-change")
		seen, cursor = h.pollUntil(agent, cursor, refs[1], "second-change")
		if len(seen) != 1 {
			t.Errorf("the resume shows %v, want only %s", seen, refs[1])
		}
		_, order, _ = h.poll(agent, full, "100")
		if !slices.Equal(order, []string{refs[1]}) {
			t.Errorf("a case changed twice shows as %v, want once", order)
		}

		// One transaction touches every case of the account: on PostgreSQL they share a sequence.
		var acct int64
		if err := db.Raw(`SELECT id FROM customer_accounts WHERE account_id = 'A1B2C3D4'`).Scan(&acct).Error; err != nil || acct == 0 {
			t.Fatalf("account: %d %v", acct, err)
		}
		if err := db.Transaction(func(tx *gorm.DB) error {
			_, err := models.TouchCasesOfAccount(t.Context(), tx, acct, time.Now().UTC())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if models.DialectOf(db) == models.Postgres {
			if n := modelstest.Count(t, db, `SELECT count(DISTINCT change_seq) FROM cases`); n != 1 {
				t.Fatalf("the touched cases hold %d change sequences, want 1", n)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			seen, order, _ = h.poll(agent, cursor, "1")
			if len(seen) == 4 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(seen) != 4 || len(order) != 4 {
			t.Errorf("pages of one after a transaction touched four cases: %v", order)
		}

		for _, tt := range []struct{ query, field string }{
			{"changed_after=nonsense", "changed_after"},
			{"changed_after=" + encodeID(7), "changed_after"},
			{"changed_after=0&status=new", "status"},
			{"changed_after=0&updated_since=2026-11-20T10:00:00Z", "updated_since"},
			{"changed_after=0&cursor=" + encodeID(7), "cursor"},
			{"changed_after=0&limit=101", "limit"},
			{"changed_after=" + changeCursor(1<<40, 0), "changed_after"},
		} {
			w := h.do(request{method: http.MethodGet, path: "/api/v1/cases?" + tt.query, token: agent})
			if p := expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed); !slices.Contains(fieldsOf(p), tt.field) {
				t.Errorf("%s: %v, want %s named", tt.query, p.Errors, tt.field)
			}
		}
		// A list cursor is not a change cursor, and the other way round.
		w := h.do(request{method: http.MethodGet, path: "/api/v1/cases?cursor=" + url.QueryEscape(full), token: agent})
		expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		var plain map[string]json.RawMessage
		w = h.do(request{method: http.MethodGet, path: "/api/v1/cases", token: agent})
		mustUnmarshal(t, w.Body.Bytes(), &plain)
		if _, ok := plain["change_cursor"]; ok {
			t.Errorf("the plain list answers a change_cursor: %s", w.Body)
		}
	})
}

func encodeID(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func changeCursor(seq, id int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "c%d.%d", seq, id))
}
