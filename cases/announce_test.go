package cases_test

import (
	"context"
	"encoding/json"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestEveryVersionMoveIsAnnounced: every write that moves a case's version sends case.updated with
// the case as it is then, also when the change is made elsewhere (its card, its account), by the
// system (pending_approval) or on the side (the first response), so that a ticketing system
// mirroring cases through webhooks never holds a stale version (SPEC 4.3).
func TestEveryVersionMoveIsAnnounced(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		announcedVersion := func(step string) {
			t.Helper()
			var payloads []string
			modelstest.Scan(t, db, &payloads, `SELECT CAST(payload AS TEXT) FROM outbox WHERE event_type = 'case.updated' ORDER BY id`)
			last := int64(0)
			for _, p := range payloads {
				var c cases.CaseView
				if err := json.Unmarshal([]byte(p), &c); err != nil {
					t.Fatal(err)
				}
				if c.Ref == v.Ref {
					last = c.Version
				}
			}
			var version int64
			modelstest.Scan(t, db, &version, `SELECT version FROM cases WHERE ref = ?`, v.Ref)
			if last != version {
				t.Errorf("after %s the case is at version %d, its last case.updated announced %d", step, version, last)
			}
		}
		yes := true
		patchCard(t, desk, agent, v.Cards[0].ID, cases.CardPatch{Frozen: &yes, FrozenReason: "reported stolen"})
		announcedVersion("freezing its card")
		no := false
		sup := supervisor(t, db, "sup@example.com")
		patchCard(t, desk, sup, v.Cards[0].ID, cases.CardPatch{Frozen: &no, FrozenReason: "owner proved it"})
		requestTransfer(t, desk, agent, v, 1000)
		announcedVersion("a correction request (pending_approval)")
		for i := 0; i < 2; i++ {
			if _, err := desk.AddCommunication(ctx, agent, cases.ActorFor(agent, "", "", ""), v.Ref, cases.NewCommunication{
				Channel: "email", Direction: "outbound", Body: "We are looking into it."}); err != nil {
				t.Fatal(err)
			}
			announcedVersion("an outbound reply")
		}
		again := wrongAccountCase("ZZ99-YYXX88-WW77", "")
		again.Customer.Email = "new-address@example.com"
		again.Cards[0].Serial = "6046999999999999"
		create(t, desk, agent, again)
		announcedVersion("the customer's email changing on another case")
	})
}
