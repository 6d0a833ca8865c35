package cases_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func supervisor(t *testing.T, db *gorm.DB, email string) cases.Principal {
	t.Helper()
	now := models.Now()
	u := models.User{Email: email, Name: "Sup", Role: "supervisor", PasswordHash: "x", Active: true, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateUser(context.Background(), db, &u); err != nil {
		t.Fatal(err)
	}
	return cases.Principal{UserID: u.ID, Email: u.Email, Role: cases.RoleSupervisor}
}

func requestTransfer(t *testing.T, desk *cases.Desk, p cases.Principal, v cases.CaseView, amount int64) cases.CorrectionView {
	t.Helper()
	c, err := desk.RequestCorrection(context.Background(), p, cases.ActorFor(p, "", "", ""), v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount,
		Currency: "USD", FromAccount: "A1B2C3D4", ToAccount: "Z9Y8X7W6", CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "wrong account"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ledgerBalanced checks that postings sum to zero per correction and currency, and that every
// applied or reversed correction has exactly its two postings.
func ledgerBalanced(t *testing.T, db *gorm.DB) {
	t.Helper()
	bad := modelstest.Count(t, db, `SELECT count(*) FROM (SELECT correction_id FROM postings GROUP BY correction_id, currency HAVING SUM(amount_minor) <> 0 OR count(*) <> 2) x`)
	missing := modelstest.Count(t, db, `SELECT count(*) FROM corrections c WHERE c.status IN ('applied', 'reversed') AND (SELECT count(*) FROM postings p WHERE p.correction_id = c.id) <> 2`)
	stray := modelstest.Count(t, db, `SELECT count(*) FROM postings p JOIN corrections c ON c.id = p.correction_id WHERE c.status NOT IN ('applied', 'reversed')`)
	if bad != 0 || missing != 0 || stray != 0 {
		t.Fatalf("ledger: %d unbalanced corrections, %d applied without two postings, %d postings of unapplied corrections", bad, missing, stray)
	}
}

func TestApproveDenyAndApply(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup, sup2 := supervisor(t, db, "sup@example.com"), supervisor(t, db, "sup2@example.com")
		act := func(p cases.Principal) cases.Actor { return cases.ActorFor(p, "", "", "") }
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		c := requestTransfer(t, desk, agent, v, 3000)
		// R5: the requester never decides; an agent's token with the scope lacks the role.
		if _, err := desk.ApproveCorrection(ctx, agent, act(agent), c.ID, ""); codeOf(err) != cases.CodeRoleRequired {
			t.Fatalf("agent approving: %v", err)
		}
		supAsRequester := requestTransfer(t, desk, sup, v, 1000)
		if _, err := desk.ApproveCorrection(ctx, sup, act(sup), supAsRequester.ID, ""); codeOf(err) != cases.CodeFourEyes {
			t.Fatalf("requester approving: %v", err)
		}
		if _, err := desk.DenyCorrection(ctx, sup2, act(sup2), supAsRequester.ID, ""); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("denial without a reason: %v", err)
		}
		denied, err := desk.DenyCorrection(ctx, sup2, act(sup2), supAsRequester.ID, "not needed")
		if err != nil || denied.Status != "denied" || *denied.DenialReason != "not needed" {
			t.Fatalf("deny: %+v %v", denied, err)
		}
		applied, err := desk.ApproveCorrection(ctx, sup, act(sup), c.ID, "checked the redemption")
		if err != nil || applied.Status != "applied" || len(applied.Approvals) != 1 || applied.DecidedAt == nil {
			t.Fatalf("approve: %+v %v", applied, err)
		}
		if _, err := desk.ApproveCorrection(ctx, sup2, act(sup2), c.ID, ""); codeOf(err) != cases.CodeAlreadyDecided {
			t.Fatalf("approving an applied correction: %v", err)
		}
		from := mustAccount(t, desk, agent, "A1B2C3D4", "", "")
		to := mustAccount(t, desk, agent, "Z9Y8X7W6", "", "")
		if from.Balances["USD"] != -3000 || to.Balances["USD"] != 3000 || len(to.Postings) != 1 {
			t.Fatalf("balances: from %v to %v", from.Balances, to.Balances)
		}
		if got := mustGetCase(t, desk, agent, v.Ref); got.Status != "investigating" || got.Corrections.Applied != 1 {
			t.Fatalf("case after the last decision: %s %+v", got.Status, got.Corrections)
		}
		// The reversal undoes it with opposite postings and marks the original reversed.
		rev, err := desk.RequestCorrection(ctx, agent, act(agent), v.Ref, cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(c.ID, 10), Reason: "customer found it"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := desk.ApproveCorrection(ctx, sup, act(sup), rev.ID, ""); err != nil {
			t.Fatal(err)
		}
		orig := mustGetCorrection(t, desk, agent, c.ID)
		from = mustAccount(t, desk, agent, "A1B2C3D4", "", "")
		if orig.Status != "reversed" || orig.ReversedBy == nil || from.Balances["USD"] != 0 {
			t.Fatalf("after the reversal: %s %v balance %d", orig.Status, orig.ReversedBy, from.Balances["USD"])
		}
		if _, err := desk.Account(ctx, agent, "NOBODY", "", ""); codeOf(err) != cases.CodeNotFound {
			t.Fatalf("unknown account: %v", err)
		}
		if g, err := desk.Account(ctx, agent, "system:goodwill", "", ""); err != nil || len(g.Balances) != 0 {
			t.Fatalf("system account: %+v %v", g, err)
		}
		events := modelstest.Count(t, db, `SELECT count(*) FROM outbox WHERE event_type IN ('correction.applied', 'correction.reversed', 'correction.denied')`)
		if events != 3 {
			t.Fatalf("%d decision outbox rows, want 3", events)
		}
		ledgerBalanced(t, db)
	})
}

func TestDualApproval(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup, sup2 := supervisor(t, db, "sup@example.com"), supervisor(t, db, "sup2@example.com")
		in := wrongAccountCase(testCode, "")
		in.Cards[0].FaceValueMinor = i64(80000)
		v := create(t, desk, agent, in)
		c := requestTransfer(t, desk, agent, v, 60000) // at or above USD 50000: two supervisors
		if c.RequiredApprovals != 2 {
			t.Fatalf("required approvals %d", c.RequiredApprovals)
		}
		got, err := desk.ApproveCorrection(ctx, sup, cases.ActorFor(sup, "", "", ""), c.ID, "")
		if err != nil || got.Status != "pending" || len(got.Approvals) != 1 {
			t.Fatalf("first approval: %+v %v", got, err)
		}
		// The same supervisor again counts once, and is told so (409 already_approved) with
		// nothing written: a no-op is not an action, so no approval row and no audit event.
		written := func() (approvals, events int64) {
			t.Helper()
			if err := db.Raw(`SELECT count(*) FROM correction_approvals WHERE correction_id = ?`, c.ID).Scan(&approvals).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Raw(`SELECT count(*) FROM audit_events WHERE action = 'correction.approved'`).Scan(&events).Error; err != nil {
				t.Fatal(err)
			}
			return approvals, events
		}
		approvalsBefore, eventsBefore := written()
		_, err = desk.ApproveCorrection(ctx, sup, cases.ActorFor(sup, "", "", ""), c.ID, "again")
		var re *cases.RuleError
		if codeOf(err) != cases.CodeAlreadyApproved || !errors.Is(err, cases.ErrConflict) || !errors.As(err, &re) ||
			!strings.Contains(re.Message, "another supervisor") {
			t.Fatalf("repeat approval by the same supervisor: %v", err)
		}
		if a, e := written(); a != approvalsBefore || e != eventsBefore {
			t.Fatalf("a repeat approval wrote %d approvals and %d audit events", a-approvalsBefore, e-eventsBefore)
		}
		if got := mustGetCorrection(t, desk, agent, c.ID); got.Status != "pending" || len(got.Approvals) != 1 {
			t.Fatalf("after the repeat: %+v", got)
		}
		got, err = desk.ApproveCorrection(ctx, sup2, cases.ActorFor(sup2, "", "", ""), c.ID, "second pair of eyes")
		if err != nil || got.Status != "applied" || len(got.Approvals) != 2 {
			t.Fatalf("second supervisor: %+v %v", got, err)
		}
		ledgerBalanced(t, db)
	})
}

// TestConcurrentApprovalsApplyOnce: fifty supervisors approving one correction at once apply it
// once; two racing on a dual approval apply it once (R7, R8).
func TestConcurrentApprovalsApplyOnce(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		var sups []cases.Principal
		for i := 0; i < 50; i++ {
			sups = append(sups, supervisor(t, db, fmt.Sprintf("sup%d@example.com", i)))
		}
		in := wrongAccountCase(testCode, "")
		in.Cards[0].FaceValueMinor = i64(90000)
		v := create(t, desk, agent, in)
		for _, amount := range []int64{3000, 60000} { // single, then dual approval
			c := requestTransfer(t, desk, agent, v, amount)
			var wg sync.WaitGroup
			for _, s := range sups {
				wg.Add(1)
				go func(s cases.Principal) {
					defer wg.Done()
					_, err := desk.ApproveCorrection(ctx, s, cases.ActorFor(s, "", "", ""), c.ID, "")
					if err != nil && codeOf(err) != cases.CodeAlreadyDecided {
						t.Errorf("approve: %v", err)
					}
				}(s)
			}
			wg.Wait()
			got := mustGetCorrection(t, desk, agent, c.ID)
			postings := modelstest.Count(t, db, `SELECT count(*) FROM postings WHERE correction_id = ?`, c.ID)
			if got.Status != "applied" || postings != 2 {
				t.Fatalf("%d-minor correction after 50 concurrent approvals: %s with %d postings", amount, got.Status, postings)
			}
		}
		ledgerBalanced(t, db)
	})
}

// TestRacingReversalsWinOnce: two reversals of one correction requested at once: one is
// accepted, the other is told already_reversed.
func TestRacingReversalsWinOnce(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		c := requestTransfer(t, desk, agent, v, 2000)
		if _, err := desk.ApproveCorrection(ctx, sup, cases.ActorFor(sup, "", "", ""), c.ID, ""); err != nil {
			t.Fatal(err)
		}
		results := make(chan error, 2)
		for i := 0; i < 2; i++ {
			go func() {
				_, err := desk.RequestCorrection(ctx, agent, cases.ActorFor(agent, "", "", ""), v.Ref,
					cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(c.ID, 10), Reason: "undo"})
				results <- err
			}()
		}
		won, lost := 0, 0
		for i := 0; i < 2; i++ {
			switch err := <-results; {
			case err == nil:
				won++
			case codeOf(err) == cases.CodeAlreadyReversed:
				lost++
			default:
				t.Fatalf("racing reversal: %v", err)
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("%d reversals accepted, %d refused", won, lost)
		}
	})
}

// TestOppositeOrderApprovalsNeverDeadlock: corrections on two cases' cards approved by two
// supervisors in opposite orders, many times over: every one applies, none waits forever.
func TestOppositeOrderApprovalsNeverDeadlock(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		s1, s2 := supervisor(t, db, "s1@example.com"), supervisor(t, db, "s2@example.com")
		first := create(t, desk, agent, wrongAccountCase(testCode, ""))
		secondIn := wrongAccountCase("QWER-TYUI-OPAS", "")
		secondIn.Cards[0].Serial = ""
		second := create(t, desk, agent, secondIn)
		for round := 0; round < 10; round++ {
			a := requestTransfer(t, desk, agent, first, 100)
			b := requestTransfer(t, desk, agent, second, 100)
			var wg sync.WaitGroup
			for _, plan := range []struct {
				p     cases.Principal
				order []int64
			}{{s1, []int64{a.ID, b.ID}}, {s2, []int64{b.ID, a.ID}}} {
				wg.Add(1)
				go func(p cases.Principal, order []int64) {
					defer wg.Done()
					for _, id := range order {
						if _, err := desk.ApproveCorrection(ctx, p, cases.ActorFor(p, "", "", ""), id, ""); err != nil && codeOf(err) != cases.CodeAlreadyDecided {
							t.Errorf("approve %d: %v", id, err)
						}
					}
				}(plan.p, plan.order)
			}
			wg.Wait()
		}
		pending := modelstest.Count(t, db, `SELECT count(*) FROM corrections WHERE status = 'pending'`)
		if pending != 0 {
			t.Fatalf("%d corrections still pending", pending)
		}
		ledgerBalanced(t, db)
	})
}
