package cases_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestFreezingIsARiskDecision (SPEC §2): freezing needs a reason; unfreezing needs a supervisor and
// a reason; both are audited, and the card shows who froze it, when and why.
func TestFreezingIsARiskDecision(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		id := v.Cards[0].ID
		patch := func(p cases.Principal, frozen *bool, reason string) (cases.CardDetail, error) {
			return desk.UpdateCard(ctx, p, cases.ActorFor(p, "192.0.2.7", "test", ""), id, cases.CardPatch{Frozen: frozen, FrozenReason: reason})
		}
		yes, no := true, false
		fieldOf := func(err error) string {
			var re *cases.RuleError
			if errors.As(err, &re) && len(re.Fields) > 0 {
				return re.Fields[0].Field
			}
			if re != nil {
				return re.Field
			}
			return ""
		}
		if _, err := patch(agent, &yes, "  "); codeOf(err) != cases.CodeValidationFailed || fieldOf(err) != "frozen_reason" {
			t.Fatalf("freezing without a reason: %v", err)
		}
		if _, err := patch(agent, nil, "reported stolen"); codeOf(err) != cases.CodeValidationFailed || fieldOf(err) != "frozen_reason" {
			t.Fatalf("a reason without frozen: %v", err)
		}
		before := time.Now().Add(-time.Minute)
		got, err := patch(agent, &yes, "customer gave ab12 cdef34 gh56 to a caller posing as the tax office")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Frozen || got.FrozenBy == nil || *got.FrozenBy != "agent@example.com" || got.FrozenAt == nil || got.FrozenAt.Before(before) ||
			got.FrozenReason == nil || *got.FrozenReason != "customer gave [claim code ••••GH56] to a caller posing as the tax office" {
			t.Fatalf("frozen card: %+v", got)
		}
		c, err := desk.GetCase(ctx, agent, v.Ref)
		if err != nil || c.Cards[0].FrozenBy == nil || *c.Cards[0].FrozenBy != "agent@example.com" || c.Cards[0].FrozenReason == nil {
			t.Fatalf("the case shows the card as %+v (%v)", c.Cards, err)
		}
		// Freezing a frozen card again is no action: the first decision stays. A new reason for it
		// is refused rather than dropped.
		if again, err := patch(sup, &yes, ""); err != nil || *again.FrozenBy != "agent@example.com" {
			t.Fatalf("freezing again: %+v %v", again, err)
		}
		if _, err := patch(sup, &yes, "another reason"); codeOf(err) != cases.CodeValidationFailed || fieldOf(err) != "frozen_reason" {
			t.Fatalf("a new reason for a frozen card: %v", err)
		}
		// Unfreezing: a supervisor, with a reason.
		if _, err := patch(agent, &no, "customer proved ownership"); codeOf(err) != cases.CodeRoleRequired || !errors.Is(err, cases.ErrForbidden) {
			t.Fatalf("an agent unfreezing: %v", err)
		}
		if _, err := patch(sup, &no, ""); codeOf(err) != cases.CodeValidationFailed || fieldOf(err) != "frozen_reason" {
			t.Fatalf("unfreezing without a reason: %v", err)
		}
		thawed, err := patch(sup, &no, "customer proved ownership with the receipt")
		if err != nil {
			t.Fatal(err)
		}
		if thawed.Frozen || thawed.FrozenBy != nil || thawed.FrozenAt != nil || thawed.FrozenReason != nil {
			t.Fatalf("unfrozen card: %+v", thawed)
		}
		// Both decisions are in the audit trail, with their authors and reasons.
		var events []struct {
			Action     string
			ActorLabel string
			AfterState string
		}
		if err := db.Raw(`SELECT action, actor_label, after_state FROM audit_events WHERE entity_type = 'card' ORDER BY id`).Scan(&events).Error; err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].Action != "card.frozen" || events[0].ActorLabel != "agent@example.com" ||
			!strings.Contains(events[0].AfterState, "posing as the tax office") ||
			events[1].Action != "card.unfrozen" || events[1].ActorLabel != "sup@example.com" ||
			!strings.Contains(events[1].AfterState, "customer proved ownership with the receipt") {
			t.Fatalf("audit events %+v", events)
		}
		if strings.Contains(strings.ToUpper(events[0].AfterState), "CDEF34") {
			t.Fatal("the audit trail holds the claim code")
		}
		// Unfreezing a card that is not frozen is no action either, and needs no supervisor.
		if _, err := patch(agent, &no, ""); err != nil {
			t.Fatalf("unfreezing an unfrozen card: %v", err)
		}
		if _, err := patch(sup, &no, "just in case"); codeOf(err) != cases.CodeValidationFailed || fieldOf(err) != "frozen_reason" {
			t.Fatalf("a reason to unfreeze a card that is not frozen: %v", err)
		}
	})
}
