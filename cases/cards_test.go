package cases_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func TestAddCardAndCardEndpoints(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		// A case whose texts mention a code before its card is on the case.
		in := wrongAccountCase(testCode, "")
		in.Summary = "customer also has LKJH-GFDS-POIU"
		in.Tags = []string{"lkjh gfds poiu"}
		in.External = &cases.ExternalInput{System: "jira", ID: "code LKJHGFDSPOIU", URL: "https://jira.example/lkjh-gfds-poiu"}
		first := create(t, desk, p, in)
		if !strings.Contains(first.Summary, "LKJH-GFDS-POIU") {
			t.Fatal("precondition: the second code is not yet a card of the case")
		}
		other := wrongAccountCase("ZXCV-BNMA-SDFG", "")
		other.Cards[0].Serial = ""
		second := create(t, desk, p, other)
		added := cases.CardInput{ClaimCode: "lkjh-gfds-poiu", FaceValueMinor: i64(2500), Currency: "USD", Marketplace: "US"}
		v, _, err := desk.AddCard(ctx, p, a, first.Ref, added)
		if err != nil {
			t.Fatal(err)
		}
		if v.External == nil || strings.Contains(strings.ToUpper(v.External.ID+*v.External.URL), "LKJH") {
			t.Fatalf("external reference kept the new card's code: %+v", v.External)
		}
		if len(v.Cards) != 2 || strings.Contains(strings.ToUpper(v.Summary), "LKJH") || v.Summary != "customer also has [claim code ••••POIU]" || v.Tags[0] != "[claim code ••••POIU]" {
			t.Fatalf("after adding the card: cards %d, summary %q, tags %v", len(v.Cards), v.Summary, v.Tags)
		}
		// The same card on the second case: one record, both cases flagged.
		v2, _, err := desk.AddCard(ctx, p, a, second.Ref, added)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(v2.Flags, cases.FlagPossibleDuplicate) || !slices.Contains(v2.Duplicates, first.Ref) {
			t.Fatalf("second case: flags %v duplicates %v", v2.Flags, v2.Duplicates)
		}
		cardID := modelstest.Count(t, db, `SELECT id FROM gift_cards WHERE claim_code_last4 = 'POIU'`)
		detail, err := desk.GetCard(ctx, p, cardID)
		if err != nil || !slices.Equal(detail.Cases, []string{first.Ref, second.Ref}) || *detail.Last4 != "POIU" {
			t.Fatalf("card detail %+v %v", detail, err)
		}
		if _, _, err := desk.AddCard(ctx, p, a, first.Ref, cases.CardInput{ClaimCode: "lkjh-gfds-poiu", FaceValueMinor: i64(9999), Currency: "USD", Marketplace: "US"}); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("contradicting face value: %v", err)
		}
		// Patch: freeze, status, redemption facts; the face value never below what is applied.
		freeze := true
		got, err := desk.UpdateCard(ctx, p, a, cardID, cases.CardPatch{Frozen: &freeze, FrozenReason: "reported stolen", Status: "redeemed",
			RedeemedTo: cases.Nullable{Set: true, Value: "A1B2C3D4"}, RedeemedAt: cases.Nullable{Set: true, Value: "2026-11-21T09:00:00Z"}})
		if err != nil || !got.Frozen || got.Status != "redeemed" || got.RedeemedTo == nil || *got.RedeemedTo != "A1B2C3D4" {
			t.Fatalf("patch card: %+v %v", got, err)
		}
		now := models.Now()
		if err := db.Exec(`INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, card_id, reason, requested_by_id, required_approvals, created_at, updated_at)
			SELECT c.id, 'credit', 'applied', 2000, 'USD', g.id, a.id, ?, 'test', ?, 1, ?, ? FROM cases c, customer_accounts g, customer_accounts a
			WHERE c.ref = ? AND g.account_id = 'system:goodwill' AND a.account_id = 'A1B2C3D4'`, cardID, p.UserID, now, now, first.Ref).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := desk.UpdateCard(ctx, p, a, cardID, cases.CardPatch{FaceValueMinor: i64(1999)}); codeOf(err) != cases.CodeExceedsFaceValue {
			t.Fatalf("face value below applied: %v", err)
		}
		if got, err := desk.UpdateCard(ctx, p, a, cardID, cases.CardPatch{FaceValueMinor: i64(2000)}); err != nil || got.FaceValueMinor != 2000 {
			t.Fatalf("face value at applied: %+v %v", got.FaceValueMinor, err)
		}
		for _, bad := range []cases.CardPatch{{Status: "lost"}, {RedeemedTo: cases.Nullable{Set: true, Value: "system:goodwill"}},
			{RedeemedAt: cases.Nullable{Set: true, Value: "2099-01-01T00:00:00Z"}}, {FaceValueMinor: i64(0)}} {
			if _, err := desk.UpdateCard(ctx, p, a, cardID, bad); codeOf(err) != cases.CodeValidationFailed {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if _, err := desk.GetCard(ctx, p, 999999); codeOf(err) != cases.CodeNotFound {
			t.Fatalf("unknown card: %v", err)
		}
		audited := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action IN ('card.updated', 'card.frozen', 'case.card_added')`)
		if audited != 4 {
			t.Fatalf("%d card audit events, want 4", audited)
		}
		if got := mustGetCase(t, desk, p, first.Ref); got.Corrections.Applied != 1 {
			t.Fatalf("corrections summary %+v", got.Corrections)
		}
	})
}
