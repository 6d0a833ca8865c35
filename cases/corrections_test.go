package cases_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func otherAgent(t *testing.T, db *gorm.DB, email string) cases.Principal {
	t.Helper()
	now := models.Now()
	u := models.User{Email: email, Name: "Other", Role: "agent", PasswordHash: "x", Active: true, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateUser(context.Background(), db, &u); err != nil {
		t.Fatal(err)
	}
	return cases.Principal{UserID: u.ID, Email: u.Email, Role: cases.RoleAgent}
}

func TestCorrectionRequests(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		card := strconv.FormatInt(v.Cards[0].ID, 10)
		req := func(in cases.NewCorrection) (cases.CorrectionView, error) {
			return desk.RequestCorrection(ctx, p, a, v.Ref, in)
		}
		transfer := func(amount int64) cases.NewCorrection {
			return cases.NewCorrection{Kind: "transfer", AmountMinor: &amount, Currency: "USD", FromAccount: "A1B2C3D4", ToAccount: "Z9Y8X7W6", CardID: card, Reason: "redeemed on the wrong account"}
		}
		first, err := req(transfer(3000))
		if err != nil || first.Status != "pending" || first.RequiredApprovals != 1 || first.FromAccount != "A1B2C3D4" || first.Case != v.Ref {
			t.Fatalf("transfer: %+v %v", first, err)
		}
		if got := mustGetCase(t, desk, p, v.Ref); got.Status != "pending_approval" {
			t.Fatalf("case status %s after a request", got.Status)
		}
		// R7: pending requests count, so two cannot together promise more than the card holds.
		if _, err := req(transfer(2001)); codeOf(err) != cases.CodeExceedsFaceValue {
			t.Fatalf("over the face value with a pending request: %v", err)
		}
		for _, bad := range []struct {
			in   cases.NewCorrection
			code string
		}{
			{func() cases.NewCorrection { c := transfer(100); c.Currency = "EUR"; return c }(), cases.CodeMarketplaceMismatch},
			{func() cases.NewCorrection {
				c := transfer(100)
				c.FromAccount, c.ToAccount = "Z9Y8X7W6", "A1B2C3D4"
				return c
			}(), cases.CodeEvidenceRequired},
			{func() cases.NewCorrection { c := transfer(100); c.FromAccount = "system:goodwill"; return c }(), cases.CodeValidationFailed},
			{func() cases.NewCorrection { c := transfer(100); c.CardID = ""; return c }(), cases.CodeValidationFailed},
			{func() cases.NewCorrection { c := transfer(100); c.CardID = "999999"; return c }(), cases.CodeValidationFailed},
			{func() cases.NewCorrection { c := transfer(0); return c }(), cases.CodeValidationFailed},
			{func() cases.NewCorrection { c := transfer(100); c.Reason = ""; return c }(), cases.CodeValidationFailed},
			{cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(first.ID, 10), Reason: "not applied"}, cases.CodeValidationFailed},
		} {
			if _, err := req(bad.in); codeOf(err) != bad.code {
				t.Errorf("%+v: %v, want %s", bad.in, err, bad.code)
			}
		}
		// Cancel: the requester only; the case goes back to investigating.
		other := otherAgent(t, db, "other@example.com")
		if _, err := desk.CancelCorrection(ctx, other, cases.ActorFor(other, "", "", ""), first.ID); codeOf(err) != cases.CodeRequesterOnly || !errors.Is(err, cases.ErrForbidden) {
			t.Fatalf("cancel by another: %v", err)
		}
		cancelled, err := desk.CancelCorrection(ctx, p, a, first.ID)
		if err != nil || cancelled.Status != "cancelled" {
			t.Fatalf("cancel: %+v %v", cancelled, err)
		}
		if _, err := desk.CancelCorrection(ctx, p, a, first.ID); codeOf(err) != cases.CodeAlreadyDecided {
			t.Fatalf("second cancel: %v", err)
		}
		if got := mustGetCase(t, desk, p, v.Ref); got.Status != "investigating" {
			t.Fatalf("case status %s after the last pending request went", got.Status)
		}
		// A frozen card takes no correction but a credit on a scam_victim case.
		freeze := true
		if _, err := desk.UpdateCard(ctx, p, a, v.Cards[0].ID, cases.CardPatch{Frozen: &freeze, FrozenReason: "scam report"}); err != nil {
			t.Fatal(err)
		}
		if _, err := req(transfer(100)); codeOf(err) != cases.CodeCardFrozen {
			t.Fatalf("frozen card: %v", err)
		}
		thaw, sup := false, supervisor(t, db, "thaw@example.com")
		if _, err := desk.UpdateCard(ctx, sup, cases.ActorFor(sup, "", "", ""), v.Cards[0].ID, cases.CardPatch{Frozen: &thaw, FrozenReason: "customer proved ownership"}); err != nil {
			t.Fatal(err)
		}
		// Reversal of an applied correction: once.
		now := models.Now()
		if err := db.Exec(`INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, card_id, reason, requested_by_id, required_approvals, created_at, updated_at)
			SELECT c.id, 'credit', 'applied', 700, 'USD', g.id, a.id, ?, 'applied before', ?, 1, ?, ? FROM cases c, customer_accounts g, customer_accounts a
			WHERE c.ref = ? AND g.account_id = 'system:goodwill' AND a.account_id = 'A1B2C3D4'`, v.Cards[0].ID, other.UserID, now, now, v.Ref).Error; err != nil {
			t.Fatal(err)
		}
		applied := modelstest.Count(t, db, `SELECT max(id) FROM corrections`)
		rev, err := req(cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(applied, 10), Reason: "credited twice"})
		if err != nil || rev.AmountMinor != 700 || rev.FromAccount != "A1B2C3D4" || rev.ToAccount != "system:goodwill" || rev.CardID == nil {
			t.Fatalf("reversal: %+v %v", rev, err)
		}
		if _, err := req(cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(applied, 10), Reason: "again"}); codeOf(err) != cases.CodeAlreadyReversed {
			t.Fatalf("second reversal: %v", err)
		}
		page, err := desk.ListCorrections(ctx, p, "pending", v.Ref, "", "")
		if err != nil || len(page.Data) != 1 || page.Data[0].ID != rev.ID {
			t.Fatalf("approval queue: %+v %v", page.Data, err)
		}
		if got, err := desk.GetCorrection(ctx, p, applied); err != nil || got.ReversedBy == nil {
			t.Fatalf("original after its reversal request: %+v %v", got.ReversedBy, err)
		}
	})
}

func TestCreditNeedsAVerifiedReceiptAndDualApprovalThreshold(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		in := cases.NewCase{Type: "unactivated_card", Summary: "not activated", Customer: cases.AccountInput{AccountID: "U1", Marketplace: "US"},
			Cards: []cases.CardInput{{Serial: "123456789", FaceValueMinor: i64(60000), Currency: "USD", Marketplace: "US", Status: "not_activated"}}}
		v := create(t, desk, p, in)
		amount := int64(60000)
		credit := cases.NewCorrection{Kind: "credit", AmountMinor: &amount, Currency: "USD", CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "never activated"}
		if _, err := desk.RequestCorrection(ctx, p, a, v.Ref, credit); codeOf(err) != cases.CodeEvidenceRequired {
			t.Fatalf("credit without a receipt: %v", err)
		}
		other := otherAgent(t, db, "verifier@example.com")
		now := models.Now()
		if err := db.Exec(`INSERT INTO evidence_files (sha256, size, content_type, created_at) VALUES (?, 10, 'image/png', ?)`, "ab000000000000000000000000000000000000000000000000000000000000ab", now).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(`INSERT INTO evidence (case_id, file_id, kind, uploaded_by_id, uploaded_at, purchased_at, amount_minor, currency, verification, verified_by_id, verified_at)
			SELECT c.id, f.id, 'receipt', ?, ?, '2026-11-01', 60000, 'USD', 'verified', ?, ? FROM cases c, evidence_files f WHERE c.ref = ?`, p.UserID, now, other.UserID, now, v.Ref).Error; err != nil {
			t.Fatal(err)
		}
		got, err := desk.RequestCorrection(ctx, p, a, v.Ref, credit)
		if err != nil || got.FromAccount != "system:activation_liability" || got.ToAccount != "U1" || got.RequiredApprovals != 2 {
			t.Fatalf("credit: %+v %v", got, err)
		}
	})
}

// TestConcurrentRequestsNeverPromiseMoreThanTheCard: fifty requests of 1,000 at once on a card of
// 5,000, spread over five cases that share the card (so that only the card's lock can order them):
// at most five are accepted (R7).
func TestConcurrentRequestsNeverPromiseMoreThanTheCard(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		var refs []string
		var v cases.CaseView
		for i := 0; i < 5; i++ {
			v = create(t, desk, p, wrongAccountCase(testCode, ""))
			refs = append(refs, v.Ref)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, refused := 0, 0
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func(ref string) {
				defer wg.Done()
				amount := int64(1000)
				_, err := desk.RequestCorrection(ctx, p, cases.ActorFor(p, "", "", ""), ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount,
					Currency: "USD", FromAccount: "A1B2C3D4", ToAccount: "Z9Y8X7W6", CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "r"})
				mu.Lock()
				defer mu.Unlock()
				switch codeOf(err) {
				case "":
					if err != nil {
						t.Errorf("request: %v", err)
					}
					accepted++
				case cases.CodeExceedsFaceValue:
					refused++
				default:
					t.Errorf("request: %v", err)
				}
			}(refs[i%len(refs)])
		}
		wg.Wait()
		promised := modelstest.Count(t, db, `SELECT COALESCE(SUM(amount_minor), 0) FROM corrections WHERE status = 'pending'`)
		if accepted != 5 || refused != 45 || promised != 5000 {
			t.Fatalf("%d accepted, %d refused, %d promised on a card of 5000", accepted, refused, promised)
		}
	})
}
