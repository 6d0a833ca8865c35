package cases_test

import (
	"context"
	"strconv"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestReceiptMustCoverTheCredit: R6 compares the largest verified receipt in the credit's
// currency with the credit, at request and in the queue alike.
func TestReceiptMustCoverTheCredit(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, cases.NewCase{Type: "unactivated_card", Summary: "not activated", Customer: cases.AccountInput{AccountID: "U1", Marketplace: "US"},
			Cards: []cases.CardInput{{Serial: "123456789", FaceValueMinor: i64(9000), Currency: "USD", Marketplace: "US", Status: "not_activated"}}})
		other := otherAgent(t, db, "verifier@example.com")
		now := models.Now()
		for i, r := range []struct {
			amount   int64
			currency string
		}{{2000, "USD"}, {1000, "USD"}, {90000, "EUR"}} {
			sha := "ab" + strconv.Itoa(i) + "00000000000000000000000000000000000000000000000000000000000ab"
			if err := db.Exec(`INSERT INTO evidence_files (sha256, size, content_type, created_at) VALUES (?, 10, 'image/png', ?)`, sha[:64], now).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Exec(`INSERT INTO evidence (case_id, file_id, kind, uploaded_by_id, uploaded_at, purchased_at, amount_minor, currency, verification, verified_by_id, verified_at)
				SELECT c.id, f.id, 'receipt', ?, ?, '2026-11-01', ?, ?, 'verified', ?, ? FROM cases c, evidence_files f WHERE c.ref = ? AND f.sha256 = ?`,
				p.UserID, now, r.amount, r.currency, other.UserID, now, v.Ref, sha[:64]).Error; err != nil {
				t.Fatal(err)
			}
		}
		credit := func(amount int64) (cases.CorrectionView, error) {
			return desk.RequestCorrection(ctx, p, a, v.Ref, cases.NewCorrection{Kind: "credit", AmountMinor: &amount, Currency: "USD",
				CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "never activated"})
		}
		if _, err := credit(2001); codeOf(err) != cases.CodeEvidenceRequired {
			t.Fatalf("a credit above the largest verified receipt: %v", err)
		}
		if _, err := credit(2000); err != nil {
			t.Fatalf("a credit the receipt covers: %v", err)
		}
		page, err := desk.PendingApprovals(ctx, p, "", "")
		if err != nil || len(page.Data) != 1 {
			t.Fatalf("queue: %+v %v", page, err)
		}
		got := page.Data[0]
		want := "Largest verified receipt 20.00 USD covers the credit of 20.00 USD."
		if !got.Evidence.Applies || !got.Evidence.Met || got.Evidence.Detail != want || got.CaseType != "unactivated_card" ||
			got.Card == nil || got.Card.Face != 9000 || got.Card.Pending != 2000 || got.Card.Applied != 0 || got.Rights.Approve {
			t.Fatalf("queue row %+v %+v", got, got.Card)
		}
	})
}
