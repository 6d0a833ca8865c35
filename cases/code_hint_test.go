package cases_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestHintClaimCode: what the agent is told about a claim code as it leaves the field, before the
// case is saved (issue 21 item 4): a serial typed instead of the code, confusable characters, the
// masked form it will be stored as, the cases the card is already on; never the code itself.
func TestHintClaimCode(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))

		known, err := desk.HintClaimCode(ctx, p, a, " ab12 cdef34-gh56 ")
		if err != nil {
			t.Fatal(err)
		}
		if known.Refusal != "" || known.Masked != "••••GH56" || len(known.Cases) != 1 || known.Cases[0].Ref != v.Ref ||
			known.Cases[0].Status != "new" || len(known.Notes) != 1 || known.Notes[0] != "contains I/1, B/8 and S/5: letters and digits easy to confuse, read it back to the customer" {
			t.Fatalf("a known code: %+v", known)
		}
		fresh, err := desk.HintClaimCode(ctx, p, a, "QWXZ-RTYU-PKLM")
		if err != nil || fresh.Refusal != "" || fresh.Masked != "••••PKLM" || len(fresh.Cases) != 0 || len(fresh.Notes) != 0 {
			t.Fatalf("a new code without confusable characters: %+v %v", fresh, err)
		}
		serial, err := desk.HintClaimCode(ctx, p, a, "6046 1234 1234 1234")
		if err != nil || serial.Code != cases.CodeSerialNotClaimCode || !strings.Contains(serial.Refusal, "12 or more digits") ||
			!strings.Contains(serial.Refusal, "serial number printed under the barcode") || serial.Masked != "" {
			t.Fatalf("a serial: %+v %v", serial, err)
		}
		invalid, err := desk.HintClaimCode(ctx, p, a, "AB12-CD")
		if err != nil || invalid.Code != cases.CodeInvalidClaimCode || invalid.Refusal == "" || invalid.Masked != "" {
			t.Fatalf("a short code: %+v %v", invalid, err)
		}
		if empty, err := desk.HintClaimCode(ctx, p, a, "  "); err != nil || !empty.Empty() {
			t.Fatalf("no code: %+v %v", empty, err)
		}
		for _, h := range []cases.CodeHint{known, fresh, serial, invalid} {
			if s := fmt.Sprintf("%+v", h); strings.Contains(s, "CDEF34") || strings.Contains(s, "RTYU") || strings.Contains(s, "604612341234") {
				t.Fatalf("a hint repeats the code: %s", s)
			}
		}
		// The two well-formed look-ups are audited as LookupCard's are: by card id, or by last
		// four when no card has the code; a refused code looks nothing up.
		var events []struct{ Action, AfterState string }
		if err := db.Raw(`SELECT action, after_state FROM audit_events WHERE action LIKE 'card.look%' ORDER BY id`).Scan(&events).Error; err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].Action != "card.looked_up" || !strings.Contains(events[0].AfterState, v.Ref) ||
			events[1].Action != "card.lookup_missed" || strings.Contains(events[0].AfterState+events[1].AfterState, "CDEF34") ||
			strings.Contains(events[1].AfterState, "RTYU") {
			t.Fatalf("audit events: %+v", events)
		}
		if _, err := desk.HintClaimCode(ctx, cases.Principal{UserID: p.UserID, Role: cases.RoleAgent, TokenID: 1, Scopes: []cases.Scope{cases.ScopeExport}}, a, testCode); codeOf(err) != cases.CodeScopeRequired {
			t.Fatalf("a token without cases:read: %v", err)
		}
	})
}

// TestCreateCaseInWorkSurvivesALostRace: a case created inside a unit of work (the console creates
// a scam case and freezes its cards in one) that loses a creation race to a concurrent request is
// run again whole, from a fresh transaction, and finds the winner's row. Retrying inside the
// joined transaction fails on PostgreSQL, where the unique violation has aborted it.
func TestCreateCaseInWorkSurvivesALostRace(t *testing.T) {
	db := modelstest.Open(t, models.Postgres) // SQLite's one writer cannot lose this race
	desk := newDesk(db)
	p := agentPrincipal(t, db)
	a := cases.ActorFor(p, "", "", "")
	raced := false
	// The concurrent winner: just before this creation inserts the card, another connection
	// inserts and commits the same one. (An account is no longer a race to lose: its upsert
	// finds a row committed meanwhile, see TestConcurrentCreationsMakeOneAccount.)
	code, err := cases.ParseClaimCode(testCode)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Callback().Create().Before("gorm:create").Register("test:race", func(tx *gorm.DB) {
		if raced || tx.Statement.Table != "gift_cards" {
			return
		}
		raced = true
		now := models.Now()
		last4 := code.Last4()
		winner := models.GiftCard{ClaimCodeHMAC: casestest.Keys.ClaimCode.Sum(code), ClaimCodeLast4: &last4, Marketplace: "US", Currency: "USD",
			FaceValueMinor: 5000, Status: "unknown", ClaimCodeHints: models.StringList{}, CreatedAt: now, UpdatedAt: now}
		if err := models.InsertCard(context.Background(), db, &winner); err != nil {
			t.Errorf("the winner's insert: %v", err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	var ref string
	err = desk.Do(context.Background(), a, func(w *cases.Work) error {
		v, _, err := desk.CreateCase(w.Context(), p, a, wrongAccountCase(testCode, ""))
		ref = v.Ref
		return err
	})
	if err != nil || !raced || ref == "" {
		t.Fatalf("raced %v, ref %q: %v", raced, ref, err)
	}
	if n := modelstest.Count(t, db, `SELECT count(*) FROM cases`); n != 1 {
		t.Fatalf("%d cases", n)
	}
}

// TestParseMajorUnits reads an amount typed in major units into minor units, by the currency's
// decimals, refusing what it cannot read exactly.
func TestParseMajorUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cur  cases.Currency
		want int64
		ok   bool
	}{
		{"50", "USD", 5000, true}, {"50.00", "USD", 5000, true}, {"50.5", "USD", 5050, true}, {" 0.07 ", "EUR", 7, true},
		{"12,34", "EUR", 1234, true}, {"5000", "JPY", 5000, true}, {"100000000", "USD", 10000000000, true},
		{"", "USD", 0, false}, {"50.001", "USD", 0, false}, {"50.5", "JPY", 0, false}, {"1,000.00", "USD", 0, false},
		{"-5", "USD", 0, false}, {"5e3", "USD", 0, false}, {"abc", "USD", 0, false}, {".5", "USD", 0, false},
		{"99999999999999999999", "USD", 0, false}, {"50", "XXX", 0, false}, {"١٢", "USD", 0, false},
	} {
		got, err := cases.ParseMajorUnits(tc.in, tc.cur)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseMajorUnits(%q, %s) = %d, %v", tc.in, tc.cur, got, err)
		}
	}
}
