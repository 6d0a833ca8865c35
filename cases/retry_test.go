package cases_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestAddEvidenceRunsAgainCleanly forces the first attempt of an upload's transaction to lose a
// serialization race (40001) after its evidence row is written: the desk runs the transaction
// again, and the second attempt writes exactly what one attempt would, not an old id, not its
// flags twice.
func TestAddEvidenceRunsAgainCleanly(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		first := create(t, desk, p, wrongAccountCase(testCode, ""))
		in := wrongAccountCase("KKKK-LLLL-MMMM", "")
		in.Cards[0].Serial = ""
		second := create(t, desk, p, in)
		if _, err := desk.AddEvidence(ctx, p, a, first.Ref, cases.EvidenceFields{Kind: "card_photo"}, pngFile(t, "one")); err != nil {
			t.Fatal(err)
		}

		type attempt struct {
			id    int64
			flags []string
		}
		var mu sync.Mutex
		var attempts []attempt
		armed := true
		if err := db.Callback().Create().Before("gorm:create").Register("test:see_evidence", func(tx *gorm.DB) {
			if e, ok := tx.Statement.Dest.(*models.Evidence); ok {
				mu.Lock()
				attempts = append(attempts, attempt{id: e.ID, flags: slices.Clone([]string(e.Flags))})
				mu.Unlock()
			}
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Callback().Create().After("gorm:create").Register("test:lose_race_once", func(tx *gorm.DB) {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := tx.Statement.Dest.(*models.Evidence); ok && armed {
				armed = false
				_ = tx.AddError(&pgconn.PgError{Code: "40001", Message: "could not serialize access (injected)"})
			}
		}); err != nil {
			t.Fatal(err)
		}
		attempts = nil
		view, err := desk.AddEvidence(ctx, p, a, second.Ref, cases.EvidenceFields{Kind: "card_photo", CardLast4: "ZZZZ",
			StoreName: "Main St, card " + "kkkk llll mmmm"}, pngFile(t, "one"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{cases.FlagCardLast4Unmatched, cases.FlagPossibleDuplicate}
		if len(attempts) != 2 {
			t.Fatalf("%d attempts, want 2: the transaction was not run again", len(attempts))
		}
		for i, at := range attempts {
			if at.id != 0 || !slices.Equal(at.flags, want) {
				t.Fatalf("attempt %d inserted id %d with flags %v, want a fresh row with %v", i+1, at.id, at.flags, want)
			}
		}
		var rows []models.Evidence
		if err := db.Where("case_id = (SELECT id FROM cases WHERE ref = ?)", second.Ref).Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].ID != view.ID || !slices.Equal([]string(rows[0].Flags), want) || !slices.Equal(view.Flags, want) {
			t.Fatalf("rows %+v, view id %d flags %v", rows, view.ID, view.Flags)
		}
		if rows[0].StoreName == nil || *rows[0].StoreName != "Main St, card [claim code ••••MMMM]" {
			t.Fatalf("store name %v", rows[0].StoreName)
		}
		var events, outbox int64
		if err := db.Model(&models.AuditEvent{}).Where("action = 'evidence.added' AND entity_id = ?", second.Ref).Count(&events).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Model(&models.OutboxEvent{}).Where("event_type = 'evidence.added'").Count(&outbox).Error; err != nil {
			t.Fatal(err)
		}
		if events != 1 || outbox != 2 {
			t.Fatalf("%d evidence.added audit events for the case, %d outbox rows in all; want 1 and 2", events, outbox)
		}
		flagged(t, db, desk, p, second.Ref, []string{first.Ref}, 2, 1)
		flagged(t, db, desk, p, first.Ref, []string{second.Ref}, 2, 1)
	})
}
