package cases_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// codeProblemCase is a case of a customer of marketplace m about one card of marketplace cm.
func codeProblemCase(account, m, code, cm string) cases.NewCase {
	cur := string(cases.Marketplace(cm).Currency())
	return cases.NewCase{Type: "code_problem", Summary: "card refused at redemption",
		Customer: cases.AccountInput{AccountID: account, Marketplace: m},
		Cards:    []cases.CardInput{{ClaimCode: code, FaceValueMinor: i64(5000), Currency: cur, Marketplace: cm}}}
}

// TestRegionalLockIsFlagged: R4's regional lock, a card of another marketplace than the customer's,
// is accepted and flagged cross_marketplace, whether the card comes with the case or later.
func TestRegionalLockIsFlagged(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		locked := create(t, desk, p, codeProblemCase("UKCUST1", "UK", "QWER-TYUI-PASD", "US"))
		if !slices.Contains(locked.Flags, cases.FlagCrossMarketplace) {
			t.Fatalf("a US card on a UK customer's case: flags %v", locked.Flags)
		}
		home := create(t, desk, p, codeProblemCase("UKCUST2", "UK", "ZXCV-BNMQ-WERT", "UK"))
		if slices.Contains(home.Flags, cases.FlagCrossMarketplace) {
			t.Fatalf("a UK card on a UK customer's case: flags %v", home.Flags)
		}
		// Added later: the case gains the flag once, however many foreign cards it gets.
		for i, code := range []string{"LKJH-GFDS-POIU", "MNBV-CXZA-SDFG"} {
			v, _, err := desk.AddCard(ctx, p, a, home.Ref, cases.CardInput{ClaimCode: code, FaceValueMinor: i64(2500), Currency: "USD", Marketplace: "US"})
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(strings.Join(v.Flags, ","), cases.FlagCrossMarketplace); n != 1 {
				t.Fatalf("after foreign card %d: flags %v", i+1, v.Flags)
			}
		}
		// A card of the customer's own marketplace added to a case without cards flags nothing.
		plain := create(t, desk, p, cases.NewCase{Type: "other", Summary: "question",
			Customer: cases.AccountInput{AccountID: "UKCUST3", Marketplace: "UK"}})
		v, _, err := desk.AddCard(ctx, p, a, plain.Ref, cases.CardInput{ClaimCode: "POIU-YTRE-WQAS", FaceValueMinor: i64(1000), Currency: "GBP", Marketplace: "UK"})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(v.Flags, cases.FlagCrossMarketplace) {
			t.Fatalf("a UK card on a UK customer's case: flags %v", v.Flags)
		}
		got, err := desk.GetCase(ctx, p, locked.Ref)
		if err != nil || !slices.Contains(got.Flags, cases.FlagCrossMarketplace) {
			t.Fatalf("stored flags %v %v", got.Flags, err)
		}
	})
}

// TestMarketplaceMismatchNamesBothSides: R4's refusals name both marketplaces and both currencies,
// never a marketplace against a currency.
func TestMarketplaceMismatchNamesBothSides(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		locked := create(t, desk, p, codeProblemCase("UKCUST1", "UK", "QWER-TYUI-PASD", "US"))
		card := strconv.FormatInt(locked.Cards[0].ID, 10)
		amount := int64(100)
		wrongAcct := wrongAccountCase(testCode, "")
		wrongAcct.IntendedAccount.AccountID, wrongAcct.IntendedAccount.Marketplace = "UKHOME1", "UK"
		cross := create(t, desk, p, wrongAcct)
		euro := wrongAccountCase("EURO-CODE-1234", "")
		euro.Customer = cases.AccountInput{AccountID: "DECUST1", Marketplace: "DE"}
		euro.IntendedAccount = &cases.AccountInput{AccountID: "FRCUST1", Marketplace: "FR"}
		euro.Cards[0].Serial, euro.Cards[0].Currency, euro.Cards[0].Marketplace, euro.Cards[0].RedeemedTo = "", "EUR", "DE", "DECUST1"
		eu := create(t, desk, p, euro)
		// The regional lock between two euro marketplaces: the currency matches, the marketplaces
		// do not, and balances never cross marketplaces (R4: only money is refused).
		euroLocked := create(t, desk, p, codeProblemCase("DECUST2", "DE", "ZXCV-BNMQ-WERT", "FR"))
		for _, tt := range []struct {
			name string
			ref  string
			in   cases.NewCorrection
			want []string
		}{
			{"credit in the card's currency to a UK account", locked.Ref,
				cases.NewCorrection{Kind: "credit", AmountMinor: &amount, Currency: "USD", CardID: card, Reason: "r"},
				[]string{"UKCUST1", "marketplace UK", "GBP", "USD", "US"}},
			{"credit in the account's currency naming a US card", locked.Ref,
				cases.NewCorrection{Kind: "credit", AmountMinor: &amount, Currency: "GBP", CardID: card, Reason: "r"},
				[]string{"marketplace US", "USD", "GBP", "UK"}},
			{"transfer from a US to a UK account", cross.Ref,
				cases.NewCorrection{Kind: "transfer", AmountMinor: &amount, Currency: "USD", FromAccount: "A1B2C3D4", ToAccount: "UKHOME1",
					CardID: strconv.FormatInt(cross.Cards[0].ID, 10), Reason: "r"},
				[]string{"A1B2C3D4", "UKHOME1", "marketplace US", "marketplace UK", "USD", "GBP"}},
			{"transfer between two euro marketplaces", eu.Ref,
				cases.NewCorrection{Kind: "transfer", AmountMinor: &amount, Currency: "EUR", FromAccount: "DECUST1", ToAccount: "FRCUST1",
					CardID: strconv.FormatInt(eu.Cards[0].ID, 10), Reason: "r"},
				[]string{"DECUST1", "FRCUST1", "marketplace DE", "marketplace FR", "EUR"}},
			{"credit in euros naming a French card to a German account", euroLocked.Ref,
				cases.NewCorrection{Kind: "credit", AmountMinor: &amount, Currency: "EUR", CardID: strconv.FormatInt(euroLocked.Cards[0].ID, 10), Reason: "r"},
				[]string{"DECUST2", "marketplace DE", "marketplace FR"}},
		} {
			_, err := desk.RequestCorrection(ctx, p, a, tt.ref, tt.in)
			if codeOf(err) != cases.CodeMarketplaceMismatch {
				t.Errorf("%s: %v, want %s", tt.name, err, cases.CodeMarketplaceMismatch)
				continue
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %q does not name %q", tt.name, err, w)
				}
			}
		}
	})
}
