package models_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestBalanceCheckpointMigrationOnADeskWithPostings: a desk that has postings before migration
// 0015 keeps its balances through the migration (its postings carry xact_id 0, the mark starts at
// (0, 0), so a balance is the plain sum until the first pass), and the first pass folds them.
func TestBalanceCheckpointMigrationOnADeskWithPostings(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db, err := models.Open(ctx, models.Options{URL: modelstest.EmptyURL(t, d)})
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			if err := models.MigrateBefore(ctx, db, modelstest.Fingerprint, "0015_balance_checkpoints"); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			user := models.User{Email: "agent@example.com", Name: "Agent", Role: "agent", PasswordHash: "x", Active: true, CreatedAt: now, UpdatedAt: now}
			if err := models.CreateUser(ctx, db, &user); err != nil {
				t.Fatal(err)
			}
			us := "US"
			customer := models.CustomerAccount{AccountID: "PAT1", Marketplace: &us, CreatedAt: now, UpdatedAt: now}
			if err := models.InsertAccount(ctx, db, &customer); err != nil {
				t.Fatal(err)
			}
			goodwill, err := models.AccountByAccountID(ctx, db, "system:goodwill")
			if err != nil {
				t.Fatal(err)
			}
			c := models.Case{Ref: "GD-000001", Type: "promo_credit", Status: "investigating", Priority: "normal",
				CustomerAccountID: customer.ID, Summary: "promo", CreatedAt: now, UpdatedAt: now}
			if err := models.InsertCase(ctx, db, &c); err != nil {
				t.Fatal(err)
			}
			credit := func(amount int64) {
				t.Helper()
				k := models.Correction{CaseID: c.ID, Kind: "credit", Status: "applied", AmountMinor: amount, Currency: "USD",
					FromAccountID: goodwill.ID, ToAccountID: customer.ID, Reason: "promo", RequestedByID: user.ID,
					RequiredApprovals: 1, CreatedAt: now, UpdatedAt: now}
				if err := models.InsertCorrection(ctx, db, &k); err != nil {
					t.Fatal(err)
				}
				if err := models.InsertPostings(ctx, db, []models.Posting{
					{CorrectionID: k.ID, AccountID: goodwill.ID, AmountMinor: -amount, Currency: "USD", CreatedAt: now},
					{CorrectionID: k.ID, AccountID: customer.ID, AmountMinor: amount, Currency: "USD", CreatedAt: now}}); err != nil {
					t.Fatal(err)
				}
			}
			credit(500)
			credit(250)
			if err := models.Migrate(ctx, db, modelstest.Fingerprint); err != nil {
				t.Fatal(err)
			}
			if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM postings WHERE xact_id <> 0`); n != 0 {
				t.Fatalf("%d postings written before the migration carry a transaction id", n)
			}
			want := func(step string, gw, cust int64) {
				t.Helper()
				for id, w := range map[int64]int64{goodwill.ID: gw, customer.ID: cust} {
					got, err := models.Balances(ctx, db, id)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != 1 || got["USD"] != w {
						t.Fatalf("%s: account %d has %v, want USD %d", step, id, got, w)
					}
				}
			}
			want("migrated, before any pass", -750, 750)
			credit(100)
			if d == models.Postgres {
				if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM postings WHERE xact_id = 0`); n != 4 {
					t.Fatalf("%d postings with xact_id 0, want the 4 older ones: a new posting carries its transaction", n)
				}
			}
			want("a posting after the migration", -850, 850)
			folded := 0
			for deadline := time.Now().Add(20 * time.Second); folded < 6; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the first passes folded %d of 6 postings", folded)
				}
				if err := db.Transaction(func(tx *gorm.DB) error {
					ok, err := models.TryBalanceLock(ctx, tx)
					if err != nil || !ok {
						t.Fatalf("lock: %v %v", ok, err)
					}
					low, err := models.PostingLowWater(ctx, tx)
					if err != nil {
						return err
					}
					mark, err := models.BalanceMarkOf(ctx, tx)
					if err != nil {
						return err
					}
					_, n, err := models.FoldPostings(ctx, tx, mark, low, 100, now)
					folded += n
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			want("folded", -850, 850)
			if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM balance_checkpoints`); n != 2 {
				t.Fatalf("%d checkpoints, want one per account", n)
			}
		})
	}
}
