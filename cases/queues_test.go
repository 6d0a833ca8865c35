package cases_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models/modelstest"
)

func promoCase(summary, priority string) cases.NewCase {
	return cases.NewCase{Type: "promo_credit", Priority: priority, Summary: summary,
		Customer: cases.AccountInput{AccountID: "PROMO01", Marketplace: "US"}}
}

// TestQueuesCountWhatTheyList: each home queue (issue 21) counts exactly the cases its list
// shows, and each row carries its SLA state; a closed case is in no queue.
func TestQueuesCountWhatTheyList(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clock := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
		desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys, Now: func() time.Time { return clock }})
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		clock = clock.Add(-7 * time.Hour)
		both := create(t, desk, p, promoCase("urgent, seven hours old", "urgent")) // unanswered, and due for resolution within the hour
		clock = clock.Add(4 * time.Hour)
		late := create(t, desk, p, promoCase("urgent, three hours old", "urgent")) // first response due 1 h after: breached
		clock = clock.Add(3 * time.Hour)
		calm := create(t, desk, p, promoCase("normal, just in", "normal"))  // due in 8 h: on track
		soon := create(t, desk, p, promoCase("urgent, just in", "urgent"))  // due in 1 h: at risk
		done := create(t, desk, p, promoCase("normal, resolved", "normal")) // no queue once resolved
		patch := func(v cases.CaseView, patch cases.CasePatch) {
			t.Helper()
			if _, err := desk.UpdateCase(ctx, p, a, v.Ref, v.ETag(), patch); err != nil {
				t.Fatal(err)
			}
		}
		me := cases.Nullable{Set: true, Value: p.Email}
		patch(late, cases.CasePatch{Assignee: me})
		otherAgent(t, db, "other@example.com")
		patch(both, cases.CasePatch{Assignee: cases.Nullable{Set: true, Value: "other@example.com"}})
		patch(soon, cases.CasePatch{Status: "waiting_on_customer"})
		patch(done, cases.CasePatch{Assignee: me, Status: "resolved", Resolution: "no_action"})

		want := map[cases.Queue][]string{
			cases.QueueMine:       {late.Ref},
			cases.QueueUnassigned: {soon.Ref, calm.Ref},
			cases.QueueSLA:        {soon.Ref, late.Ref, both.Ref},
			cases.QueueWaiting:    {soon.Ref},
			cases.QueueApproval:   nil,
		}
		counts, err := desk.QueueCounts(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != len(cases.Queues) {
			t.Fatalf("%d counts for %d queues", len(counts), len(cases.Queues))
		}
		states := map[string]cases.SLAState{}
		for _, c := range counts {
			page, err := desk.ListCases(ctx, p, cases.CaseQuery{Queue: string(c.Queue)})
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, r := range page.Data {
				refs = append(refs, r.Ref)
				states[r.Ref] = r.SLAState
			}
			if !slices.Equal(refs, want[c.Queue]) || c.Count != int64(len(want[c.Queue])) {
				t.Errorf("queue %s: count %d, rows %v; want %v", c.Queue, c.Count, refs, want[c.Queue])
			}
		}
		all, err := desk.ListCases(ctx, p, cases.CaseQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all.Data {
			states[r.Ref] = r.SLAState
		}
		for ref, st := range map[string]cases.SLAState{late.Ref: cases.SLABreached, both.Ref: cases.SLABreached, soon.Ref: cases.SLAAtRisk, calm.Ref: cases.SLAOnTrack, done.Ref: ""} {
			if states[ref] != st {
				t.Errorf("%s: SLA state %q, want %q", ref, states[ref], st)
			}
		}
		if _, err := desk.ListCases(ctx, p, cases.CaseQuery{Queue: "everything"}); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("an unknown queue: %v", err)
		}
	})
}

// TestCaseListPagesBothWays: the console's previous link leads back to exactly the page before.
func TestCaseListPagesBothWays(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		var refs []string
		for i := 0; i < 5; i++ {
			refs = append([]string{create(t, desk, p, promoCase("paging", "normal")).Ref}, refs...)
		}
		page := func(q cases.CaseQuery) (cases.Page[cases.CaseRow], []string) {
			t.Helper()
			q.Limit = "2"
			pg, err := desk.ListCases(ctx, p, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range pg.Data {
				out = append(out, r.Ref)
			}
			return pg, out
		}
		first, got := page(cases.CaseQuery{})
		if !slices.Equal(got, refs[:2]) || first.PrevCursor != "" || first.NextCursor == "" {
			t.Fatalf("first page %v prev %q", got, first.PrevCursor)
		}
		second, got := page(cases.CaseQuery{Cursor: first.NextCursor})
		if !slices.Equal(got, refs[2:4]) || second.PrevCursor == "" || second.NextCursor == "" {
			t.Fatalf("second page %v", got)
		}
		third, got := page(cases.CaseQuery{Cursor: second.NextCursor})
		if !slices.Equal(got, refs[4:]) || third.NextCursor != "" || third.PrevCursor == "" {
			t.Fatalf("third page %v", got)
		}
		back, got := page(cases.CaseQuery{Prev: third.PrevCursor})
		if !slices.Equal(got, refs[2:4]) || back.PrevCursor == "" || back.NextCursor != second.NextCursor {
			t.Fatalf("back to the second page: %v prev %q next %q", got, back.PrevCursor, back.NextCursor)
		}
		start, got := page(cases.CaseQuery{Prev: back.PrevCursor})
		if !slices.Equal(got, refs[:2]) || start.PrevCursor != "" || start.NextCursor != first.NextCursor {
			t.Fatalf("back to the first page: %v prev %q", got, start.PrevCursor)
		}
		if _, err := desk.ListCases(ctx, p, cases.CaseQuery{Cursor: first.NextCursor, Prev: third.PrevCursor}); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("both ways at once: %v", err)
		}
	})
}

// TestBulkUpdateReportsRefusalsAndAppliesTheRest: a bulk change goes through UpdateCase row by
// row: a stale row and a row R11 refuses are reported by ref with their reason, the others are
// applied, each with its own audit event.
func TestBulkUpdateReportsRefusalsAndAppliesTheRest(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		fresh := create(t, desk, p, promoCase("fresh", "normal"))
		stale := create(t, desk, p, promoCase("stale", "normal"))
		resolved := create(t, desk, p, promoCase("resolved", "normal"))
		if _, err := desk.UpdateCase(ctx, p, a, stale.Ref, stale.ETag(), cases.CasePatch{Priority: "high"}); err != nil {
			t.Fatal(err)
		}
		res, err := desk.UpdateCase(ctx, p, a, resolved.Ref, resolved.ETag(), cases.CasePatch{Status: "resolved", Resolution: "no_action"})
		if err != nil {
			t.Fatal(err)
		}
		before := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'case.updated'`)
		out, err := desk.BulkUpdate(ctx, p, a, []cases.BulkTarget{{fresh.Ref, fresh.Version}, {stale.Ref, stale.Version}, {resolved.Ref, res.Version}},
			cases.BulkChange{Assignee: "me", Status: "waiting_on_customer"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.Applied, []string{fresh.Ref}) || len(out.Refused) != 2 ||
			out.Refused[0].Ref != stale.Ref || out.Refused[0].Err.Code != cases.CodeStaleVersion ||
			out.Refused[1].Ref != resolved.Ref || out.Refused[1].Err.Code != cases.CodeInvalidTransition {
			t.Fatalf("bulk result %+v", out)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'case.updated'`); n != before+1 {
			t.Fatalf("%d audit events for one applied row", n-before)
		}
		got, err := desk.GetCase(ctx, p, fresh.Ref)
		if err != nil || got.Status != "waiting_on_customer" || got.Assignee == nil || *got.Assignee != p.Email {
			t.Fatalf("the applied row: %+v %v", got, err)
		}
		for _, bad := range []cases.BulkChange{{}, {Status: "asleep"}} {
			if _, err := desk.BulkUpdate(ctx, p, a, []cases.BulkTarget{{fresh.Ref, got.Version}}, bad); codeOf(err) != cases.CodeValidationFailed {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if _, err := desk.BulkUpdate(ctx, p, a, nil, cases.BulkChange{Assignee: "none"}); codeOf(err) != cases.CodeValidationFailed {
			t.Errorf("no rows: %v", err)
		}
	})
}

// TestSearchKeepsClaimCodesOutOfURLs: the header's search box looks a claim code up by its HMAC
// (audited, found or not) and hands any other term on as a text search.
func TestSearchKeepsClaimCodesOutOfURLs(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		found, err := desk.Search(ctx, p, a, " ab12 cdef34 gh56 ")
		if err != nil || found.CardID != v.Cards[0].ID || found.Query != "" || found.NoCard {
			t.Fatalf("a known code: %+v %v", found, err)
		}
		missed, err := desk.Search(ctx, p, a, "QQQQ-WWWW-EEEE")
		if err != nil || !missed.NoCard || missed.Query != "" || missed.CardID != 0 {
			t.Fatalf("an unknown code: %+v %v", missed, err)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action IN ('card.looked_up', 'card.lookup_missed')`); n != 2 {
			t.Fatalf("%d look-ups audited, want 2", n)
		}
		for _, term := range []string{"6046123412341234", v.Ref, "pat@example.com", "A1B2C3D4"} {
			if got, err := desk.Search(ctx, p, a, term); err != nil || got.Query != term || got.CardID != 0 || got.NoCard || got.Private {
				t.Errorf("%q: %+v %v", term, got, err)
			}
		}
		// A code with a stray character is no code, but could be one: it never goes into a URL.
		for _, term := range []string{"PQ7X-2MZK-4HTV.", "AB12CDEF34GH5!"} {
			if got, err := desk.Search(ctx, p, a, term); err != nil || !got.Private {
				t.Errorf("a near code %q: %+v %v", term, got, err)
			}
		}
	})
}

// TestEvidenceToVerifyQueue: evidence waits in the queue of every agent but its uploader (four
// eyes), and leaves it with its verdict (walk review of issue 21: a verifier could not find it).
func TestEvidenceToVerifyQueue(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		uploader := agentPrincipal(t, db)
		verifier := otherAgent(t, db, "verifier@example.com")
		v := create(t, desk, uploader, wrongAccountCase(testCode, ""))
		spooled, err := cases.SpoolUpload(strings.NewReader("\x89PNG\r\n\x1a\nreceipt"), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer spooled.Close()
		e, err := desk.AddEvidence(ctx, uploader, cases.ActorFor(uploader, "", "", ""), v.Ref, cases.EvidenceFields{Kind: "card_photo"}, spooled)
		if err != nil {
			t.Fatal(err)
		}
		toVerify := func(p cases.Principal) (int64, []string) {
			t.Helper()
			counts, err := desk.QueueCounts(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			page, err := desk.ListCases(ctx, p, cases.CaseQuery{Queue: string(cases.QueueVerify)})
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, r := range page.Data {
				refs = append(refs, r.Ref)
			}
			for _, c := range counts {
				if c.Queue == cases.QueueVerify {
					return c.Count, refs
				}
			}
			t.Fatal("no verify queue counted")
			return 0, nil
		}
		if n, refs := toVerify(uploader); n != 0 || len(refs) != 0 {
			t.Fatalf("the uploader's queue: %d %v", n, refs)
		}
		if n, refs := toVerify(verifier); n != 1 || !slices.Equal(refs, []string{v.Ref}) {
			t.Fatalf("the verifier's queue: %d %v", n, refs)
		}
		if _, err := desk.VerifyEvidence(ctx, verifier, cases.ActorFor(verifier, "", "", ""), e.ID, "verified", "matches"); err != nil {
			t.Fatal(err)
		}
		if n, refs := toVerify(verifier); n != 0 || len(refs) != 0 {
			t.Fatalf("after the verdict: %d %v", n, refs)
		}
	})
}

// TestQueueCountsStopPastTheirLimit: a queue longer than cases.QueueCountLimit counts as the
// limit and "more" (the home page shows 1,000+), so that a count never visits every case of a long
// queue; a queue at the limit exactly is counted exactly.
func TestQueueCountsStopPastTheirLimit(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
		p := agentPrincipal(t, db)
		seedCase := create(t, desk, p, promoCase("the account the others share", "normal"))
		// Waiting cases made in one statement: as many as the limit, then one more.
		insertWaiting := func(from, to int) {
			t.Helper()
			if err := db.Exec(`INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, tags, flags,
					created_at, updated_at, version)
				WITH RECURSIVE g(n) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT n + 1 FROM g WHERE n < CAST(? AS INTEGER))
				SELECT 'GD-' || (900000 + n), 'promo_credit', 'waiting_on_customer', 'normal',
					(SELECT customer_account_id FROM cases WHERE ref = ?), 'waiting ' || n, '[]', '[]', ?, ?, 1 FROM g`,
				from, to, seedCase.Ref, time.Now().UTC(), time.Now().UTC()).Error; err != nil {
				t.Fatal(err)
			}
		}
		waiting := func() cases.QueueCount {
			t.Helper()
			counts, err := desk.QueueCounts(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range counts {
				if c.Queue == cases.QueueWaiting {
					return c
				}
			}
			t.Fatal("no waiting queue counted")
			return cases.QueueCount{}
		}
		insertWaiting(1, cases.QueueCountLimit)
		if c := waiting(); c.Count != cases.QueueCountLimit || c.More {
			t.Errorf("%d waiting cases count as %d, more %v", cases.QueueCountLimit, c.Count, c.More)
		}
		insertWaiting(cases.QueueCountLimit+1, cases.QueueCountLimit+1)
		if c := waiting(); c.Count != cases.QueueCountLimit || !c.More {
			t.Errorf("%d waiting cases count as %d, more %v", cases.QueueCountLimit+1, c.Count, c.More)
		}
	})
}
