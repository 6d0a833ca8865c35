package cases_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestLookupCard finds a card by the HMAC of its code, in any spelling R1 normalises, and says
// not_found for a code no card has, without repeating it.
func TestLookupCard(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		got, err := desk.LookupCard(ctx, p, a, cases.CardLookup{ClaimCode: "ab12\u00a0cdef34\u2011gh56"})
		if err != nil || got.ID != v.Cards[0].ID || len(got.Cases) != 1 || got.Cases[0] != v.Ref {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		_, err = desk.LookupCard(ctx, p, a, cases.CardLookup{ClaimCode: "QQQQ-WWWW-EEEE"})
		if codeOf(err) != cases.CodeNotFound || strings.Contains(err.Error(), "QQQQ") {
			t.Fatalf("unknown code: %v", err)
		}
		if _, err := desk.LookupCard(ctx, p, a, cases.CardLookup{ClaimCode: "604612341234"}); codeOf(err) != cases.CodeSerialNotClaimCode {
			t.Fatalf("serial: %v", err)
		}
		// Both well-formed look-ups are audited, by card id and last four, never by code.
		var events []struct{ Action, EntityID, AfterState string }
		if err := db.Raw(`SELECT action, entity_id, after_state FROM audit_events WHERE action LIKE 'card.look%' ORDER BY id`).Scan(&events).Error; err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].Action != "card.looked_up" || events[0].EntityID != strconv.FormatInt(v.Cards[0].ID, 10) ||
			events[1].Action != "card.lookup_missed" || !strings.Contains(events[1].AfterState, "EEEE") ||
			strings.Contains(events[0].AfterState+events[1].AfterState, "CDEF34") || strings.Contains(events[1].AfterState, "WWWW") {
			t.Fatalf("audit events: %+v", events)
		}
	})
}

// A look-up request printed any way a careless log line might print it shows only the last four.
func TestCardLookupNeverPrintsTheCode(t *testing.T) {
	in := cases.CardLookup{ClaimCode: "QW12-ER34-TY56-UI78"}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("lookup", "in", in)
	for _, s := range []string{fmt.Sprint(in), fmt.Sprintf("%+v", in), fmt.Sprintf("%#v", in), b.String()} {
		if strings.Contains(s, "ER34") || !strings.Contains(s, "UI78") {
			t.Errorf("printed as %q", s)
		}
	}
}
