package cases_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// laterCode is a card's code typed into a case before its card is added to the case.
const laterCode = "ZX98-WVUT76-SR54"

func entryKey(e cases.TimelineEntry) string { return e.Kind + ":" + strconv.FormatInt(e.ID, 10) }

func entryKeys(list []cases.TimelineEntry) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, entryKey(e))
	}
	return out
}

// walkTimeline reads a case's whole timeline page by page.
func walkTimeline(t *testing.T, desk *cases.Desk, p cases.Principal, ref, order string, limit int) []cases.TimelineEntry {
	t.Helper()
	var out []cases.TimelineEntry
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatalf("%s %s limit %d: the cursor never ends", ref, order, limit)
		}
		page, err := desk.Timeline(context.Background(), p, ref, cases.TimelineQuery{Order: order, Limit: strconv.Itoa(limit), Cursor: cursor})
		if err != nil {
			t.Fatalf("%s %s limit %d: %v", ref, order, limit, err)
		}
		if len(page.Data) > limit || (page.NextCursor != "" && len(page.Data) != limit) {
			t.Fatalf("%s %s limit %d: a page of %d entries, next cursor %q", ref, order, limit, len(page.Data), page.NextCursor)
		}
		out = append(out, page.Data...)
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
}

func findEntry(t *testing.T, list []cases.TimelineEntry, kind string, id int64) cases.TimelineEntry {
	t.Helper()
	for _, e := range list {
		if e.Kind == kind && e.ID == id {
			return e
		}
	}
	t.Fatalf("no %s %d in %v", kind, id, entryKeys(list))
	return cases.TimelineEntry{}
}

// TestTimelineMergesEveryKindInOrder makes each kind of entry through the use cases, then reads
// the case's timeline both ways, whole and page by page: one order, no gap, no repeat, and no
// claim code, not even one typed before its card was on the case.
func TestTimelineMergesEveryKindInOrder(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clk := newClock()
		desk := deskWithClock(db, clk)
		agent := agentPrincipal(t, db)
		second := otherAgent(t, db, "second@example.com")
		sup := supervisor(t, db, "sup@example.com")
		act := func(p cases.Principal) cases.Actor { return cases.ActorFor(p, "", "", "") }
		step := func() { clk.Advance(time.Minute) }
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		created := clk.Now()
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		other := wrongAccountCase("OKMN-IJBU-HVGY", "")
		other.Cards[0].Serial = ""
		w := create(t, desk, agent, other)
		ref := v.Ref
		update := func(body string) {
			t.Helper()
			cur := mustGetCase(t, desk, agent, ref)
			_, err := desk.UpdateCase(ctx, agent, act(agent), ref, cur.ETag(), patchJSON(t, body))
			must(err)
		}
		comm := func(in cases.NewCommunication) cases.CommunicationView {
			t.Helper()
			c, err := desk.AddCommunication(ctx, agent, act(agent), ref, in)
			must(err)
			return c
		}

		step()
		// A call from before the case was opened: it goes first, by when it happened.
		call := comm(cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: created.Add(-30 * time.Minute).Format(time.RFC3339),
			CounterpartName: "Pat Doe", RepresentativeName: "Rep 7", Reference: "CALL-1", Body: "read the code " + testCode})
		step()
		update(`{"tags": ["code ` + laterCode + `"]}`)
		step()
		spoken := comm(cases.NewCommunication{Channel: "chat", Direction: "inbound", Body: "the other card is " + laterCode})
		step()
		_, _, err := desk.AddCard(ctx, agent, act(agent), ref, cases.CardInput{ClaimCode: laterCode, FaceValueMinor: i64(2500), Currency: "USD", Marketplace: "US"})
		must(err)
		step()
		shared := other.Cards[0]
		_, _, err = desk.AddCard(ctx, agent, act(agent), ref, shared)
		must(err)
		step()
		update(`{"status": "investigating"}`)
		step()
		update(`{"assignee": "agent@example.com"}`)
		step()
		update(`{"priority": "high"}`)
		step()
		amended := comm(cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: created.Add(-30 * time.Minute).Format(time.RFC3339),
			CounterpartName: "Pat Doe", Body: "the call lasted ten minutes", Supersedes: idStr(call.ID)})
		step()
		receipt, err := desk.AddEvidence(ctx, agent, act(agent), ref, cases.EvidenceFields{Kind: "receipt", AmountMinor: "5000", Currency: "USD",
			PurchasedAt: "2026-11-01", StoreName: "Store 12", Note: "photo of the receipt"}, pngFile(t, "receipt"))
		must(err)
		step()
		_, err = desk.VerifyEvidence(ctx, second, act(second), receipt.ID, "verified", "matches the card")
		must(err)
		step()
		photo, err := desk.AddEvidence(ctx, agent, act(agent), ref, cases.EvidenceFields{Kind: "card_photo"}, pngFile(t, "photo"))
		must(err)
		step()
		_, err = desk.VerifyEvidence(ctx, second, act(second), photo.ID, "rejected", "blurred")
		must(err)
		step()
		applied := requestTransfer(t, desk, agent, v, 1000)
		step()
		_, err = desk.ApproveCorrection(ctx, sup, act(sup), applied.ID, "checked the ledger")
		must(err)
		step()
		reversal, err := desk.RequestCorrection(ctx, agent, act(agent), ref, cases.NewCorrection{Kind: "reversal", Reverses: idStr(applied.ID), Reason: "customer found the balance"})
		must(err)
		step()
		_, err = desk.ApproveCorrection(ctx, sup, act(sup), reversal.ID, "")
		must(err)
		step()
		denied := requestTransfer(t, desk, agent, v, 1000)
		step()
		_, err = desk.DenyCorrection(ctx, sup, act(sup), denied.ID, "no proof of the redemption")
		must(err)
		step()
		cancelled := requestTransfer(t, desk, agent, v, 1000)
		step()
		_, err = desk.CancelCorrection(ctx, agent, act(agent), cancelled.ID)
		must(err)
		step()
		frozen, unfrozen := true, false
		_, err = desk.UpdateCard(ctx, agent, act(agent), v.Cards[0].ID, cases.CardPatch{Frozen: &frozen, FrozenReason: "customer reports a theft"})
		must(err)
		step()
		_, err = desk.UpdateCard(ctx, sup, act(sup), v.Cards[0].ID, cases.CardPatch{Frozen: &unfrozen, FrozenReason: "the customer has the card"})
		must(err)

		all := walkTimeline(t, desk, agent, ref, "asc", 200)
		counts := map[string]int{}
		for _, e := range all {
			counts[e.Kind]++
		}
		want := map[string]int{"case_created": 1, "communication": 3, "case_updated": 4, "card_added": 2, "case_flagged": 1,
			"evidence_added": 2, "evidence_verified": 1, "evidence_rejected": 1, "correction_requested": 4, "correction_approved": 2,
			"correction_applied": 2, "correction_reversed": 1, "correction_denied": 1, "correction_cancelled": 1, "card_frozen": 1, "card_unfrozen": 1}
		for kind, n := range want {
			if counts[kind] != n {
				t.Errorf("%d %s entries, want %d: %v", counts[kind], kind, n, entryKeys(all))
			}
		}
		if len(all) != 28 {
			t.Fatalf("%d entries, want 28: %v", len(all), entryKeys(all))
		}
		// Oldest first: the call from before the case, its amendment, then the case's creation.
		if all[0].ID != call.ID || all[1].ID != amended.ID || all[2].Kind != "case_created" {
			t.Fatalf("oldest first: %v", entryKeys(all[:3]))
		}
		for i := 1; i < len(all); i++ {
			if all[i].At.Before(all[i-1].At) {
				t.Fatalf("not oldest first at %d: %v", i, entryKeys(all))
			}
		}
		// Entries of one instant keep the order things happen in: an approval, then what it applied.
		var decided []string
		for _, e := range all {
			if e.Correction != nil && e.At.Equal(findEntry(t, all, "correction_requested", reversal.ID).At.Add(time.Minute)) {
				decided = append(decided, e.Kind)
			}
		}
		if !slices.Equal(decided, []string{"correction_approved", "correction_applied", "correction_reversed"}) {
			t.Fatalf("the reversal's approval gave %v", decided)
		}
		// Newest first is the same list backwards, and every page size walks it without gap or repeat.
		desc := walkTimeline(t, desk, agent, ref, "desc", 200)
		backwards := slices.Clone(all)
		slices.Reverse(backwards)
		if !slices.Equal(entryKeys(desc), entryKeys(backwards)) {
			t.Fatalf("newest first is not oldest first reversed:\n%v\n%v", entryKeys(desc), entryKeys(backwards))
		}
		for _, limit := range []int{1, 2, 3, 5, 27, 28, 29} {
			if got := walkTimeline(t, desk, agent, ref, "asc", limit); !slices.Equal(entryKeys(got), entryKeys(all)) {
				t.Fatalf("asc by %d:\n%v\nwant\n%v", limit, entryKeys(got), entryKeys(all))
			}
			if got := walkTimeline(t, desk, agent, ref, "desc", limit); !slices.Equal(entryKeys(got), entryKeys(desc)) {
				t.Fatalf("desc by %d:\n%v\nwant\n%v", limit, entryKeys(got), entryKeys(desc))
			}
		}
		def, err := desk.Timeline(ctx, agent, ref, cases.TimelineQuery{})
		if err != nil || len(def.Data) != 28 || def.NextCursor != "" || def.Data[0].ID != call.ID {
			t.Fatalf("default query: %d entries, cursor %q, %v", len(def.Data), def.NextCursor, err)
		}

		// What each entry says.
		c := findEntry(t, all, "communication", call.ID)
		if c.Actor != "agent@example.com" || c.Communication == nil || c.Communication.SupersededBy == nil || *c.Communication.SupersededBy != idStr(amended.ID) ||
			!c.At.Equal(created.Add(-30*time.Minute)) || c.Communication.Body != "read the code [claim code ••••GH56]" {
			t.Fatalf("the amended call: %+v %+v", c, c.Communication)
		}
		if a := findEntry(t, all, "communication", amended.ID); a.Communication.Supersedes == nil || *a.Communication.Supersedes != idStr(call.ID) {
			t.Fatalf("the amendment: %+v", a.Communication)
		}
		if s := findEntry(t, all, "communication", spoken.ID); s.Communication.Body != "the other card is [claim code ••••SR54]" {
			t.Fatalf("a code typed before its card was added: %q", s.Communication.Body)
		}
		if e := findByKind(t, all, "case_created"); e.Actor != "agent@example.com" || e.Case == nil ||
			e.Case.Type != "wrong_account" || len(e.Case.Cards) != 1 || e.Case.Cards[0].Last4 == nil || *e.Case.Cards[0].Last4 != "GH56" || !e.At.Equal(created) {
			t.Fatalf("case_created: %+v %+v", e, e.Case)
		}
		var changes []string
		for _, e := range all {
			if e.Kind == "case_updated" {
				for field, ch := range e.Changes {
					changes = append(changes, field+":"+timelineJSON(t, ch))
				}
			}
		}
		slices.Sort(changes)
		wantChanges := []string{`assignee:{"from":null,"to":"agent@example.com"}`, `priority:{"from":"normal","to":"high"}`,
			`status:{"from":"new","to":"investigating"}`, `tags:{"from":["phone","code [claim code ••••GH56]"],"to":["code [claim code ••••SR54]"]}`}
		if !slices.Equal(changes, wantChanges) {
			t.Fatalf("changes:\n%v\nwant\n%v", changes, wantChanges)
		}
		flag := findByKind(t, all, "case_flagged")
		if ch, ok := flag.Changes["duplicates"]; !ok || timelineJSON(t, ch) != `{"from":[],"to":["`+w.Ref+`"]}` {
			t.Fatalf("case_flagged: %+v", flag.Changes)
		}
		for _, e := range all {
			if e.Kind == "card_added" {
				if e.Card == nil || e.Card.Last4 == nil || (*e.Card.Last4 != "SR54" && *e.Card.Last4 != "HVGY") || e.Actor != "agent@example.com" {
					t.Fatalf("card_added: %+v", e.Card)
				}
			}
		}
		if v := findEntry(t, all, "evidence_verified", receipt.ID); v.Actor != "second@example.com" || v.Note == nil || *v.Note != "matches the card" ||
			v.Evidence == nil || v.Evidence.Kind != "receipt" || v.Evidence.AmountMinor == nil || *v.Evidence.AmountMinor != 5000 {
			t.Fatalf("evidence_verified: %+v %+v", v, v.Evidence)
		}
		if r := findEntry(t, all, "evidence_rejected", photo.ID); r.Actor != "second@example.com" || r.Note == nil || *r.Note != "blurred" {
			t.Fatalf("evidence_rejected: %+v", r)
		}
		if a := findEntry(t, all, "evidence_added", receipt.ID); a.Actor != "agent@example.com" || a.Evidence.Note != "photo of the receipt" {
			t.Fatalf("evidence_added: %+v %+v", a, a.Evidence)
		}
		if a := findEntry(t, all, "correction_applied", applied.ID); a.Actor != "sup@example.com" || a.Correction.Kind != "transfer" ||
			a.Correction.Status != "reversed" || a.Correction.FromAccount != "A1B2C3D4" || a.Correction.ToAccount != "Z9Y8X7W6" ||
			a.Correction.AmountMinor != 1000 || a.Correction.CardLast4 == nil || *a.Correction.CardLast4 != "GH56" ||
			a.Correction.ReversedBy == nil || *a.Correction.ReversedBy != idStr(reversal.ID) {
			t.Fatalf("correction_applied: %+v %+v", a, a.Correction)
		}
		if r := findEntry(t, all, "correction_reversed", applied.ID); r.Actor != "sup@example.com" || r.Correction.ReversedBy == nil {
			t.Fatalf("correction_reversed: %+v %+v", r, r.Correction)
		}
		if r := findEntry(t, all, "correction_requested", reversal.ID); r.Correction.Kind != "reversal" || r.Correction.Reverses == nil || *r.Correction.Reverses != idStr(applied.ID) {
			t.Fatalf("the reversal's request: %+v", r.Correction)
		}
		if d := findEntry(t, all, "correction_denied", denied.ID); d.Actor != "sup@example.com" || d.Note == nil || *d.Note != "no proof of the redemption" {
			t.Fatalf("correction_denied: %+v", d)
		}
		if c := findEntry(t, all, "correction_cancelled", cancelled.ID); c.Actor != "agent@example.com" || c.Correction.Status != "cancelled" {
			t.Fatalf("correction_cancelled: %+v", c)
		}
		for _, e := range all {
			if e.Kind == "correction_approved" {
				if e.Actor != "sup@example.com" || e.Correction == nil || e.Note == nil {
					t.Fatalf("correction_approved: %+v", e)
				}
			}
		}
		if f := findByKind(t, all, "card_frozen"); f.Actor != "agent@example.com" || f.Note == nil || *f.Note != "customer reports a theft" || f.Card == nil || f.Card.ID != v.Cards[0].ID {
			t.Fatalf("card_frozen: %+v", f)
		}
		if u := findByKind(t, all, "card_unfrozen"); u.Actor != "sup@example.com" || u.Note == nil || *u.Note != "the customer has the card" {
			t.Fatalf("card_unfrozen: %+v", u)
		}

		// No claim code, in any form, not even one typed before its card was on the case.
		body := strings.ToUpper(timelineJSON(t, all))
		for _, code := range []string{testCode, laterCode} {
			flat := strings.ReplaceAll(code, "-", "")
			if strings.Contains(body, flat) || strings.Contains(body, code) || strings.Contains(body, strings.ReplaceAll(code, "-", " ")) {
				t.Fatalf("the timeline shows the claim code ••••%s: %s", code[len(code)-4:], body)
			}
		}

		// The other case sees its own story and the shared card's, none of this case's.
		others := walkTimeline(t, desk, agent, w.Ref, "asc", 200)
		for _, e := range others {
			if e.Communication != nil || e.Evidence != nil || e.Correction != nil {
				t.Fatalf("%s shows %s of another case", w.Ref, entryKey(e))
			}
		}
		if got := entryKeys(others); len(got) != 2 || others[0].Kind != "case_created" || others[1].Kind != "case_flagged" {
			t.Fatalf("%s: %v", w.Ref, got)
		}

		// Refusals.
		first, err := desk.Timeline(ctx, agent, ref, cases.TimelineQuery{Order: "asc", Limit: "2"})
		must(err)
		for _, bad := range []struct {
			q     cases.TimelineQuery
			field string
		}{
			{cases.TimelineQuery{Order: "newest"}, "order"},
			{cases.TimelineQuery{Limit: "0"}, "limit"},
			{cases.TimelineQuery{Limit: "201"}, "limit"},
			{cases.TimelineQuery{Limit: "ten"}, "limit"},
			{cases.TimelineQuery{Cursor: "bogus"}, "cursor"},
			{cases.TimelineQuery{Cursor: first.NextCursor, Order: "desc"}, "cursor"},
		} {
			_, err := desk.Timeline(ctx, agent, ref, bad.q)
			var re *cases.RuleError
			if !errorsAs(err, &re) || re.Code != cases.CodeValidationFailed || re.Field != bad.field {
				t.Errorf("%+v: %v, want validation_failed on %s", bad.q, err, bad.field)
			}
		}
		if _, err := desk.Timeline(ctx, agent, "GD-999999", cases.TimelineQuery{}); !errors.Is(err, cases.ErrNotFound) {
			t.Fatalf("unknown case: %v", err)
		}
		token := agent
		token.TokenID, token.Scopes = 1, []cases.Scope{cases.ScopeCasesWrite}
		if _, err := desk.Timeline(ctx, token, ref, cases.TimelineQuery{}); codeOf(err) != cases.CodeScopeRequired {
			t.Fatalf("a token without cases:read: %v", err)
		}
	})
}

func findByKind(t *testing.T, list []cases.TimelineEntry, kind string) cases.TimelineEntry {
	t.Helper()
	for _, e := range list {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %s in %v", kind, entryKeys(list))
	return cases.TimelineEntry{}
}

func timelineJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
