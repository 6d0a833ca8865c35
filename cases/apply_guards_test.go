package cases_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// The guards below are checked when a correction is requested and again, under lock, when it is
// applied (R7). Each test changes the facts between the request and the approval, so that only
// the re-check at application stands between the request and the money.

// refusedAtApply checks that approving id fails with code and moves nothing: the correction stays
// pending, without postings, and the ledger stays balanced.
func refusedAtApply(t *testing.T, db *gorm.DB, desk *cases.Desk, sup cases.Principal, id int64, code string) {
	t.Helper()
	_, err := desk.ApproveCorrection(context.Background(), sup, cases.ActorFor(sup, "", "", ""), id, "")
	if codeOf(err) != code {
		t.Fatalf("approving correction %d: %v, want %s", id, err, code)
	}
	if n := modelstest.Count(t, db, `SELECT count(*) FROM postings WHERE correction_id = ?`, id); n != 0 {
		t.Fatalf("a refused approval wrote %d postings", n)
	}
	var status string
	modelstest.Scan(t, db, &status, `SELECT status FROM corrections WHERE id = ?`, id)
	if status != "pending" {
		t.Fatalf("a refused approval left the correction %s", status)
	}
	ledgerBalanced(t, db)
}

func mustApprove(t *testing.T, desk *cases.Desk, sup cases.Principal, id int64) cases.CorrectionView {
	t.Helper()
	got, err := desk.ApproveCorrection(context.Background(), sup, cases.ActorFor(sup, "", "", ""), id, "")
	if err != nil || got.Status != "applied" {
		t.Fatalf("approve %d: status %q, %v", id, got.Status, err)
	}
	return got
}

func patchCard(t *testing.T, desk *cases.Desk, p cases.Principal, id int64, patch cases.CardPatch) {
	t.Helper()
	if _, err := desk.UpdateCard(context.Background(), p, cases.ActorFor(p, "", "", ""), id, patch); err != nil {
		t.Fatalf("patch card %d: %v", id, err)
	}
}

// TestApplyRechecksFaceValue (R7): two pending requests of 3,000 and 2,000 on a 5,000 card, the
// face value then corrected down to 3,000 (allowed: nothing is applied yet). The first applies;
// the second would take 5,000 from a 3,000 card and is refused when approved.
func TestApplyRechecksFaceValue(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		first := requestTransfer(t, desk, agent, v, 3000)
		second := requestTransfer(t, desk, agent, v, 2000)
		patchCard(t, desk, agent, v.Cards[0].ID, cases.CardPatch{FaceValueMinor: i64(3000)})
		mustApprove(t, desk, sup, first.ID)
		refusedAtApply(t, db, desk, sup, second.ID, cases.CodeExceedsFaceValue)
		if from, err := desk.Account(ctx, agent, "A1B2C3D4", "", ""); err != nil || from.Balances["USD"] != -3000 {
			t.Fatalf("from account after the refusal: %+v %v", from.Balances, err)
		}
	})
}

// TestApplyRechecksFrozenCard: a card frozen after the request takes no money at approval, be it
// a transfer or a reversal; a credit on a scam_victim case is the one correction that still
// applies to a frozen card.
func TestApplyRechecksFrozenCard(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		yes, no := true, false
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		card := v.Cards[0].ID
		applied := requestTransfer(t, desk, agent, v, 1000)
		mustApprove(t, desk, sup, applied.ID)

		pending := requestTransfer(t, desk, agent, v, 2000)
		reversal, err := desk.RequestCorrection(ctx, agent, cases.ActorFor(agent, "", "", ""), v.Ref,
			cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(applied.ID, 10), Reason: "customer found it"})
		if err != nil {
			t.Fatal(err)
		}
		patchCard(t, desk, agent, card, cases.CardPatch{Frozen: &yes, FrozenReason: "reported stolen"})
		refusedAtApply(t, db, desk, sup, pending.ID, cases.CodeCardFrozen)
		refusedAtApply(t, db, desk, sup, reversal.ID, cases.CodeCardFrozen)
		// Unfrozen, both apply: the refusals were the freeze, nothing else.
		patchCard(t, desk, sup, card, cases.CardPatch{Frozen: &no, FrozenReason: "customer proved ownership"})
		mustApprove(t, desk, sup, pending.ID)
		mustApprove(t, desk, sup, reversal.ID)

		scam := cases.NewCase{Type: "scam_victim", Summary: "codes read to a caller", Customer: cases.AccountInput{AccountID: "S1", Marketplace: "US"},
			Cards: []cases.CardInput{{Serial: "987654321", FaceValueMinor: i64(5000), Currency: "USD", Marketplace: "US", Status: "redeemed"}}}
		sv := create(t, desk, agent, scam)
		amount := int64(5000)
		credit, err := desk.RequestCorrection(ctx, agent, cases.ActorFor(agent, "", "", ""), sv.Ref, cases.NewCorrection{Kind: "credit",
			AmountMinor: &amount, Currency: "USD", CardID: strconv.FormatInt(sv.Cards[0].ID, 10), Reason: "goodwill for the scam"})
		if err != nil {
			t.Fatal(err)
		}
		patchCard(t, desk, agent, sv.Cards[0].ID, cases.CardPatch{Frozen: &yes, FrozenReason: "codes given to a scammer"})
		mustApprove(t, desk, sup, credit.ID)
		ledgerBalanced(t, db)
	})
}

// TestApplyRechecksEvidence (R6): a wrong_account transfer is requested while its card is
// recorded as redeemed to the from account; the card's redemption is then corrected to another
// account (or cleared), and the approval finds no evidence for the transfer any more.
func TestApplyRechecksEvidence(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		card := v.Cards[0].ID
		c := requestTransfer(t, desk, agent, v, 1000)
		patchCard(t, desk, agent, card, cases.CardPatch{RedeemedTo: cases.Nullable{Set: true, Value: "Z9Y8X7W6"}})
		refusedAtApply(t, db, desk, sup, c.ID, cases.CodeEvidenceRequired)
		patchCard(t, desk, agent, card, cases.CardPatch{RedeemedTo: cases.Nullable{Set: true, Null: true}})
		refusedAtApply(t, db, desk, sup, c.ID, cases.CodeEvidenceRequired)
		patchCard(t, desk, agent, card, cases.CardPatch{RedeemedTo: cases.Nullable{Set: true, Value: "A1B2C3D4"}})
		mustApprove(t, desk, sup, c.ID)
	})
}

// TestApplyRechecksTheReversedOriginal (R7: a correction is reversed at most once): a reversal is
// applied only while its original is applied. The desk cannot reach two live reversals of one
// correction (a unique index and the request's lock stand before), so the original is moved
// behind the desk's back, as a second path that forgot those would, and the approval refuses.
func TestApplyRechecksTheReversedOriginal(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		orig := requestTransfer(t, desk, agent, v, 1000)
		mustApprove(t, desk, sup, orig.ID)
		rev, err := desk.RequestCorrection(ctx, agent, cases.ActorFor(agent, "", "", ""), v.Ref,
			cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(orig.ID, 10), Reason: "customer found it"})
		if err != nil {
			t.Fatal(err)
		}
		if n := modelstest.Exec(t, db, `UPDATE corrections SET status = 'reversed' WHERE id = ?`, orig.ID); n != 1 {
			t.Fatalf("%d originals moved", n)
		}
		refusedAtApply(t, db, desk, sup, rev.ID, cases.CodeAlreadyReversed)
	})
}

// bumpVersionOnUpdate makes the next UPDATE of corrections, inside whatever transaction runs it,
// first bump the version of correction id: a change that slipped past the row lock, which only
// the versioned update can still notice.
func bumpVersionOnUpdate(t *testing.T, db *gorm.DB, id int64) {
	t.Helper()
	armed := true
	name := fmt.Sprintf("test:bump_version:%p", &armed)
	err := db.Callback().Update().Before("gorm:update").Register(name, func(tx *gorm.DB) {
		if !armed || tx.Statement.Table != "corrections" {
			return
		}
		armed = false
		if err := tx.Session(&gorm.Session{NewDB: true}).Exec(`UPDATE corrections SET version = version + 1 WHERE id = ?`, id).Error; err != nil {
			tx.AddError(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Callback().Update().Remove(name); err != nil {
			t.Error(err)
		}
	})
}

// TestApplyRefusesAChangeThatSlippedPastTheLock: the status updates of an application are
// versioned, so that a correction (or a reversed original) changed meanwhile is never applied
// over: already_decided for the correction, already_reversed for the original, and nothing moves.
func TestApplyRefusesAChangeThatSlippedPastTheLock(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		c := requestTransfer(t, desk, agent, v, 1000)
		bumpVersionOnUpdate(t, db, c.ID)
		refusedAtApply(t, db, desk, sup, c.ID, cases.CodeAlreadyDecided)
		mustApprove(t, desk, sup, c.ID)

		rev, err := desk.RequestCorrection(ctx, agent, cases.ActorFor(agent, "", "", ""), v.Ref,
			cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(c.ID, 10), Reason: "customer found it"})
		if err != nil {
			t.Fatal(err)
		}
		bumpVersionOnUpdate(t, db, c.ID) // the original, bumped before the reversal's own update
		refusedAtApply(t, db, desk, sup, rev.ID, cases.CodeAlreadyReversed)
		if got := mustGetCorrection(t, desk, agent, c.ID); got.Status != "applied" {
			t.Fatalf("original after the refused reversal: %s", got.Status)
		}
	})
}
