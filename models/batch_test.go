package models_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestBatchLoadersAndCaseWalk: the keyset walk visits every matching case once, newest first, a
// batch at a time; the batch loaders answer many ids in one call.
func TestBatchLoadersAndCaseWalk(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		ids := []int64{f.kase}
		for i := 0; i < 6; i++ {
			n, err := models.NextCaseNumber(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			now := models.Now()
			c := models.Case{Ref: "GD-" + pad6(n), Type: "other", Status: "new", Priority: "normal", CustomerAccountID: f.account,
				Summary: "walk", CreatedAt: now, UpdatedAt: now}
			if i%2 == 1 {
				c.Status = "investigating"
			}
			if err := models.InsertCase(ctx, db, &c); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		if err := models.LinkCard(ctx, db, ids[1], f.card, models.Now()); err != nil {
			t.Fatal(err)
		}
		if err := models.LinkCard(ctx, db, ids[2], f.card, models.Now()); err != nil {
			t.Fatal(err)
		}
		var seen []int64
		batches := 0
		if err := models.EachCaseBatch(ctx, db, models.CaseFilter{Limit: 1, BeforeID: 99}, 3, func(b []models.Case) error {
			batches++
			for _, c := range b {
				seen = append(seen, c.ID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(ids) || batches != 3 {
			t.Fatalf("walked %v in %d batches, want all %d cases in 3", seen, batches, len(ids))
		}
		for i, id := range seen {
			if id != ids[len(ids)-1-i] {
				t.Fatalf("walk order %v, want newest first of %v", seen, ids)
			}
		}
		var filtered int
		if err := models.EachCaseBatch(ctx, db, models.CaseFilter{Status: "investigating"}, 2, func(b []models.Case) error {
			filtered += len(b)
			return nil
		}); err != nil || filtered != 3 {
			t.Fatalf("filtered walk: %d cases, %v", filtered, err)
		}
		stop := errors.New("stop")
		if err := models.EachCaseBatch(ctx, db, models.CaseFilter{}, 2, func([]models.Case) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("the walk's error: %v", err)
		}
		cards, err := models.CardsOfCases(ctx, db, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(cards) != 2 || len(cards[ids[1]]) != 1 || cards[ids[2]][0].ID != f.card || len(cards[ids[3]]) != 0 {
			t.Fatalf("cards of cases: %+v", cards)
		}
		refs, err := models.CaseRefsByID(ctx, db, ids[:2])
		if err != nil || len(refs) != 2 || refs[ids[0]] == "" {
			t.Fatalf("refs: %v %v", refs, err)
		}
	})
}
