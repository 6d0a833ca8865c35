package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestFanoutCursorMigrationRewindsToTheOldestUnfannedEvent: a desk upgraded while an event
// written before marked ones was still unmarked (0012's window would have found it, or missed it)
// gets its later marks removed, so the cursor starts before that event and it is fanned out.
func TestFanoutCursorMigrationRewindsToTheOldestUnfannedEvent(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		var ids []int64
		for i := 0; i < 3; i++ {
			e := models.OutboxEvent{EventType: "case.created", Payload: models.JSONDoc(`{}`), CreatedAt: now}
			if err := models.InsertOutbox(ctx, db, &e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		for _, id := range []int64{ids[0], ids[2]} {
			modelstest.Exec(t, db, `INSERT INTO webhook_fanouts (outbox_id, outbox_created_at, fanned_at) VALUES (?, ?, ?)`, id, now, now)
		}
		if models.DialectOf(db) == models.Postgres {
			modelstest.Exec(t, db, `UPDATE webhook_fanouts f SET outbox_xact_id = o.xact_id FROM outbox o WHERE o.id = f.outbox_id`)
		}
		ran := 0
		for _, stmt := range models.WebhookFanoutCursorMigration(models.DialectOf(db), "") {
			if strings.HasPrefix(stmt, "DELETE") {
				modelstest.Exec(t, db, stmt)
				ran++
			}
		}
		if ran != 1 {
			t.Fatalf("the migration has %d DELETE statements, want 1", ran)
		}
		var marked []int64
		modelstest.Scan(t, db, &marked, `SELECT outbox_id FROM webhook_fanouts ORDER BY outbox_id`)
		if len(marked) != 1 || marked[0] != ids[0] {
			t.Errorf("marks left %v, want only %d: the mark after the unfanned event must go", marked, ids[0])
		}
		// Other tests' transactions in the cluster may hold the horizon back for a moment.
		var pending []models.PendingFanout
		for deadline := time.Now().Add(20 * time.Second); len(pending) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var err error
			if pending, err = models.UnfannedOutbox(ctx, db, 10); err != nil {
				t.Fatal(err)
			}
		}
		if len(pending) != 2 || pending[0].ID != ids[1] || pending[1].ID != ids[2] {
			t.Errorf("unfanned %+v, want events %d and %d", pending, ids[1], ids[2])
		}
	})
}
