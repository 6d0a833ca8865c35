package cases_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestUnitOfWork: code outside the Desk writes a change, its audit event and its outbox row in one
// unit of work; a use case called inside it joins its transaction, so an error anywhere undoes it
// all (issue 20).
func TestUnitOfWork(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := deskWithClock(db, newClock())
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		counts := func() (events, outbox, entries int64) {
			t.Helper()
			for q, n := range map[string]*int64{
				`SELECT count(*) FROM audit_events WHERE action = 'test.did'`:                                             &events,
				`SELECT count(*) FROM outbox WHERE event_type = 'case.updated' AND CAST(payload AS TEXT) LIKE '%"unit"%'`: &outbox,
				`SELECT count(*) FROM communications WHERE body = 'from a unit'`:                                          &entries,
			} {
				if err := db.Raw(q).Scan(n).Error; err != nil {
					t.Fatal(err)
				}
			}
			return
		}
		work := func(fail error) error {
			return desk.Do(ctx, a, func(w *cases.Work) error {
				if err := w.Audit("test.did", "case", v.Ref, nil, map[string]string{"what": "a test"}); err != nil {
					return err
				}
				if err := w.Announce("case.updated", map[string]string{"ref": v.Ref, "by": "unit"}); err != nil {
					return err
				}
				if _, err := desk.AddCommunication(w.Context(), p, a, v.Ref, cases.NewCommunication{Channel: "internal_note",
					Direction: "internal", Body: "from a unit"}); err != nil {
					return err
				}
				return fail
			})
		}
		boom := errors.New("boom")
		if err := work(boom); !errors.Is(err, boom) {
			t.Fatalf("a failing unit answered %v", err)
		}
		if e, o, c := counts(); e != 0 || o != 0 || c != 0 {
			t.Fatalf("a failed unit left %d events, %d outbox rows, %d entries", e, o, c)
		}
		if err := work(nil); err != nil {
			t.Fatal(err)
		}
		if e, o, c := counts(); e != 1 || o != 1 || c != 1 {
			t.Fatalf("a unit left %d events, %d outbox rows, %d entries; want one each", e, o, c)
		}
		// A unit inside a unit joins it.
		err := desk.Do(ctx, a, func(w *cases.Work) error {
			if err := desk.Do(w.Context(), a, func(inner *cases.Work) error {
				if inner.Tx != w.Tx {
					t.Error("the inner unit opened its own transaction")
				}
				return inner.Audit("test.did", "case", v.Ref, nil, nil)
			}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if e, _, _ := counts(); e != 1 {
			t.Fatalf("an inner unit committed on its own: %d events", e)
		}
	})
}
