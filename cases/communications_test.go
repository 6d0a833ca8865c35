package cases_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

func TestCommunications(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock()
		desk := deskWithClock(db, c)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		other := wrongAccountCase("OKMN-IJBU-HVGY", "")
		other.Cards[0].Serial = ""
		w := create(t, desk, p, other)
		add := func(ref string, in cases.NewCommunication) (cases.CommunicationView, error) {
			return desk.AddCommunication(ctx, p, a, ref, in)
		}
		at := func(d time.Duration) string { return c.Now().Add(d).Format(time.RFC3339) }
		call, err := add(v.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: at(-2 * time.Hour),
			CounterpartName: "Pat Doe", RepresentativeName: "Rep 42", Reference: "CALL-1", DurationSeconds: i64(300),
			Body: "Customer read the code AB12 CDEF34 GH56 aloud"})
		if err != nil || call.Author != "agent@example.com" || !call.RecordedAt.Equal(c.Now()) || call.Body != "Customer read the code [claim code ••••GH56] aloud" {
			t.Fatalf("call: %+v %v", call, err)
		}
		note, err := add(v.Ref, cases.NewCommunication{Channel: "internal_note", Direction: "internal", OccurredAt: at(-3 * time.Hour), Body: "checked the ledger"})
		if err != nil {
			t.Fatal(err)
		}
		mail, err := add(v.Ref, cases.NewCommunication{Channel: "email", Direction: "outbound", Body: "We are on it", OccurredAt: at(4 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		after := mustGetCase(t, desk, p, v.Ref)
		if after.Version != v.Version+1 {
			t.Fatalf("the first outbound reply must record the first response (version %d → %d)", v.Version, after.Version)
		}
		for _, bad := range []struct {
			in    cases.NewCommunication
			field string
		}{
			{cases.NewCommunication{Channel: "phone", Direction: "internal", Body: "x"}, "direction"},
			{cases.NewCommunication{Channel: "internal_note", Direction: "inbound", Body: "x"}, "direction"},
			{cases.NewCommunication{Channel: "fax", Direction: "inbound", Body: "x"}, "channel"},
			{cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "x", OccurredAt: at(6 * time.Minute)}, "occurred_at"},
			{cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "x", OccurredAt: "yesterday"}, "occurred_at"},
			{cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "x", DurationSeconds: i64(-1)}, "duration_seconds"},
			{cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: strings.Repeat("x", 20001)}, "body"},
			{cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "nul\x00byte"}, "body"},
			{cases.NewCommunication{Channel: "phone", Direction: "inbound"}, "body"},
			{cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "x", Supersedes: "abc"}, "supersedes"},
		} {
			_, err := add(v.Ref, bad.in)
			var re *cases.RuleError
			if !errorsAs(err, &re) || re.Code != cases.CodeValidationFailed || re.Field != bad.field {
				t.Errorf("%+v: %v, want validation_failed on %s", bad.in, err, bad.field)
			}
		}
		// Amendments: the superseded entry stays and says by which; a chain is fine; superseding
		// an entry twice, or an entry of another case, is refused.
		fix, err := add(v.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: at(-2 * time.Hour),
			Body: "correction: the call lasted 10 minutes", DurationSeconds: i64(600), Supersedes: idStr(call.ID)})
		if err != nil || fix.Supersedes == nil || *fix.Supersedes != idStr(call.ID) {
			t.Fatalf("amendment: %+v %v", fix, err)
		}
		if _, err := add(v.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "again", Supersedes: idStr(call.ID)}); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("superseding twice: %v", err)
		}
		if _, err := add(v.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "amend the amendment", Supersedes: idStr(fix.ID)}); err != nil {
			t.Fatalf("amendment of an amendment: %v", err)
		}
		if _, err := add(w.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "wrong case", Supersedes: idStr(note.ID)}); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("superseding across cases: %v", err)
		}
		// Listed oldest occurred_at first, in pages, superseded entries marked.
		var got []cases.CommunicationView
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			page, err := desk.ListCommunications(ctx, p, v.Ref, "2", cursor)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page.Data...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(got) != 5 || got[0].ID != note.ID || got[len(got)-1].ID != mail.ID {
			t.Fatalf("order: %v", ids(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].OccurredAt.Before(got[i-1].OccurredAt) {
				t.Fatalf("not oldest first: %v", ids(got))
			}
		}
		for _, e := range got {
			if e.ID == call.ID && (e.SupersededBy == nil || *e.SupersededBy != idStr(fix.ID)) {
				t.Fatalf("the superseded call does not say by which: %+v", e.SupersededBy)
			}
		}
		var audited, outbox int64
		modelstest.Scan(t, db, &audited, `SELECT count(*) FROM audit_events WHERE action = 'communication.created'`)
		modelstest.Scan(t, db, &outbox, `SELECT count(*) FROM outbox WHERE event_type = 'communication.created'`)
		if audited != 5 || outbox != 5 {
			t.Fatalf("%d audit events and %d outbox rows for 5 entries", audited, outbox)
		}
		if _, err := desk.ListCommunications(ctx, p, v.Ref, "", "bogus"); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("bad cursor: %v", err)
		}
		if strings.Contains(strings.ToUpper(dumpDatabase(t, db)), "AB12CDEF34") {
			t.Fatal("a communication stored the claim code")
		}
		// A closed case takes no new entry.
		cur := mustGetCase(t, desk, p, w.Ref)
		for _, body := range []string{`{"status":"resolved","resolution":"no_action"}`, `{"status":"closed"}`} {
			if cur, err = desk.UpdateCase(ctx, p, a, w.Ref, cur.ETag(), patchJSON(t, body)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := add(w.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound", Body: "too late"}); codeOf(err) != cases.CodeInvalidTransition {
			t.Fatalf("entry on a closed case: %v", err)
		}
	})
}

func idStr(id int64) string { return itoa(id) }

func ids(list []cases.CommunicationView) []int64 {
	var out []int64
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

// TestCommunicationsReadRedactedOfCardsAddedLater: an entry is append-only, so a code typed before
// its card joined the case stays as typed in storage; every read redacts it (R1, R2).
func TestCommunicationsReadRedactedOfCardsAddedLater(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := deskWithClock(db, newClock())
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, cases.NewCase{Type: "other", Summary: "a card comes later",
			Customer: cases.AccountInput{AccountID: "LATER1", Marketplace: "US"}})
		if _, err := desk.AddCommunication(ctx, p, a, v.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound",
			Body: "the customer read ZX12 CVBN34 MK56 aloud"}); err != nil {
			t.Fatal(err)
		}
		spooled, err := cases.SpoolUpload(strings.NewReader("\x89PNG\r\n\x1a\nphoto of the card"), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer spooled.Close()
		if _, err := desk.AddEvidence(ctx, p, a, v.Ref, cases.EvidenceFields{Kind: "card_photo", FileName: "ZX12CVBN34MK56.png",
			Note: "code ZX12-CVBN34-MK56 scratched"}, spooled); err != nil {
			t.Fatal(err)
		}
		if _, _, err := desk.AddCard(ctx, p, a, v.Ref, cases.CardInput{ClaimCode: "ZX12-CVBN34-MK56", FaceValueMinor: i64(2500),
			Currency: "USD", Marketplace: "US"}); err != nil {
			t.Fatal(err)
		}
		evidence, err := desk.ListEvidence(ctx, p, v.Ref, "", "")
		if err != nil || len(evidence.Data) != 1 {
			t.Fatalf("evidence: %+v %v", evidence, err)
		}
		if e := evidence.Data[0]; strings.Contains(e.Note+e.FileName, "CVBN34") || !strings.Contains(e.Note, "••••MK56") {
			t.Fatalf("the evidence reads %q, %q", e.Note, e.FileName)
		}
		casePage, err := desk.GetCasePage(ctx, p, v.Ref, "", "")
		if err != nil || len(casePage.Communications) != 1 || len(casePage.Evidence) != 1 {
			t.Fatalf("case page: %v", err)
		}
		if strings.Contains(strings.ReplaceAll(casePage.Communications[0].Body, " ", "")+casePage.Evidence[0].Note, "CVBN34") {
			t.Fatalf("the case page reads %q and %q", casePage.Communications[0].Body, casePage.Evidence[0].Note)
		}
		page, err := desk.ListCommunications(ctx, p, v.Ref, "", "")
		if err != nil || len(page.Data) != 1 {
			t.Fatalf("list: %+v %v", page, err)
		}
		if body := page.Data[0].Body; strings.Contains(strings.ReplaceAll(body, " ", ""), "CVBN34") || !strings.Contains(body, "••••MK56") {
			t.Fatalf("the entry reads %q", body)
		}
	})
}
