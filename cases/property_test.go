package cases_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestRandomCorrectionSequences runs random sequences of requests, approvals, denials, cancels
// and reversals, and checks the desk's money invariants after every step.
func TestRandomCorrectionSequences(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if testing.Short() {
		seeds = seeds[:2]
	}
	for _, seed := range seeds {
		t.Run("seed "+strconv.FormatUint(seed, 10), func(t *testing.T) {
			modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
				runSequence(t, db, seed, 60)
			})
		})
	}
}

func runSequence(t *testing.T, db *gorm.DB, seed uint64, steps int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed*7))
	desk := newDesk(db)
	agent := agentPrincipal(t, db)
	sups := []cases.Principal{supervisor(t, db, "s1@example.com"), supervisor(t, db, "s2@example.com")}
	first := create(t, desk, agent, wrongAccountCase(testCode, ""))
	otherIn := wrongAccountCase("QWER-TYUI-OPAS", "")
	otherIn.Cards[0].Serial = ""
	other := create(t, desk, agent, otherIn)
	views := []cases.CaseView{first, other}
	act := func(p cases.Principal) cases.Actor { return cases.ActorFor(p, "", "", "") }
	ids := func(status string) []int64 {
		var out []int64
		modelstest.Scan(t, db, &out, `SELECT id FROM corrections WHERE status = ? AND kind <> 'reversal' OR (status = ? AND ? = 'pending') ORDER BY id`, status, status, status)
		return out
	}
	pick := func(list []int64) (int64, bool) {
		if len(list) == 0 {
			return 0, false
		}
		return list[rng.IntN(len(list))], true
	}
	for step := 0; step < steps; step++ {
		var err error
		switch op := rng.IntN(5); op {
		case 0: // request
			v := views[rng.IntN(2)]
			amount := int64(100 + rng.IntN(30)*100)
			_, err = desk.RequestCorrection(ctx, agent, act(agent), v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount, Currency: "USD",
				FromAccount: "A1B2C3D4", ToAccount: "Z9Y8X7W6", CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "r"})
		case 1: // approve
			if id, ok := pick(ids("pending")); ok {
				s := sups[rng.IntN(2)]
				_, err = desk.ApproveCorrection(ctx, s, act(s), id, "")
			}
		case 2: // deny
			if id, ok := pick(ids("pending")); ok {
				_, err = desk.DenyCorrection(ctx, sups[0], act(sups[0]), id, "no")
			}
		case 3: // cancel
			if id, ok := pick(ids("pending")); ok {
				_, err = desk.CancelCorrection(ctx, agent, act(agent), id)
			}
		case 4: // reverse
			if id, ok := pick(ids("applied")); ok {
				var ref string
				modelstest.Scan(t, db, &ref, `SELECT c.ref FROM cases c JOIN corrections k ON k.case_id = c.id WHERE k.id = ?`, id)
				_, err = desk.RequestCorrection(ctx, agent, act(agent), ref, cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(id, 10), Reason: "undo"})
			}
		}
		// Refusals the rules call for are fine; anything else is a bug.
		switch codeOf(err) {
		case "", cases.CodeExceedsFaceValue, cases.CodeAlreadyReversed, cases.CodeAlreadyDecided:
			if err != nil && codeOf(err) == "" {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		default:
			t.Fatalf("seed %d step %d: %v", seed, step, err)
		}
		ledgerBalanced(t, db)
		over := modelstest.Count(t, db, `SELECT count(*) FROM gift_cards g WHERE g.face_value_minor < (SELECT COALESCE(SUM(amount_minor), 0) FROM corrections
			WHERE card_id = g.id AND kind IN ('transfer', 'credit') AND status = 'applied')`)
		orphanReversed := modelstest.Count(t, db, `SELECT count(*) FROM corrections o WHERE o.status = 'reversed' AND NOT EXISTS
			(SELECT 1 FROM corrections r WHERE r.reverses_id = o.id AND r.status = 'applied')`)
		wrongStatus := modelstest.Count(t, db, `SELECT count(*) FROM cases c WHERE (c.status = 'pending_approval') <> EXISTS
			(SELECT 1 FROM corrections k WHERE k.case_id = c.id AND k.status = 'pending')`)
		if over != 0 || orphanReversed != 0 || wrongStatus != 0 {
			t.Fatalf("seed %d step %d: %d cards over face value, %d reversed without an applied reversal, %d cases with the wrong status",
				seed, step, over, orphanReversed, wrongStatus)
		}
	}
	moved := modelstest.Count(t, db, `SELECT count(*) FROM corrections WHERE status IN ('applied', 'reversed')`)
	if moved == 0 {
		t.Fatalf("seed %d: no correction was ever applied; the sequence tested nothing", seed)
	}
}
