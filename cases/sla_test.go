package cases_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestSLAFirstResponse: the case JSON shows when the first response was given; only an outbound
// communication gives it (an inbound call or a status change does not answer the customer); once
// given, the first-response target no longer counts as breached, while the resolution target
// still does (issue 19).
func TestSLAFirstResponse(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock()
		desk := deskWithClock(db, c)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, "")) // normal: 8 h to respond, 72 h to resolve
		get := func() cases.CaseView {
			t.Helper()
			got, err := desk.GetCase(ctx, p, v.Ref)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := get(); got.SLA.FirstResponseAt != nil || got.SLA.Breached {
			t.Fatalf("new case: %+v", got.SLA)
		}
		c.Advance(9 * time.Hour)
		if got := get(); got.SLA.FirstResponseAt != nil || !got.SLA.Breached {
			t.Fatalf("9 h without a response: %+v", got.SLA)
		}
		at := func(d time.Duration) string { return c.Now().Add(d).Format(time.RFC3339) }
		if _, err := desk.AddCommunication(ctx, p, a, v.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound",
			OccurredAt: at(-time.Minute), Body: "customer called again"}); err != nil {
			t.Fatal(err)
		}
		got := get()
		if _, err := desk.UpdateCase(ctx, p, a, v.Ref, got.ETag(), patchJSON(t, `{"status":"investigating"}`)); err != nil {
			t.Fatal(err)
		}
		if got := get(); got.SLA.FirstResponseAt != nil || !got.SLA.Breached {
			t.Fatalf("after an inbound call and a status change, no response was given: %+v", got.SLA)
		}
		if _, err := desk.AddCommunication(ctx, p, a, v.Ref, cases.NewCommunication{Channel: "email", Direction: "outbound",
			OccurredAt: at(-10 * time.Minute), Body: "we are on it"}); err != nil {
			t.Fatal(err)
		}
		got = get()
		if got.SLA.FirstResponseAt == nil || !got.SLA.FirstResponseAt.Equal(c.Now().Add(-10*time.Minute)) || got.SLA.Breached {
			t.Fatalf("after the first outbound reply: %+v", got.SLA)
		}
		// A later reply does not move it.
		if _, err := desk.AddCommunication(ctx, p, a, v.Ref, cases.NewCommunication{Channel: "chat", Direction: "outbound",
			OccurredAt: at(0), Body: "still on it"}); err != nil {
			t.Fatal(err)
		}
		if again := get(); !again.SLA.FirstResponseAt.Equal(*got.SLA.FirstResponseAt) {
			t.Fatalf("a second reply moved the first response: %+v", again.SLA)
		}
		c.Advance(64 * time.Hour) // past the resolution target
		if got := get(); !got.SLA.Breached {
			t.Fatalf("past the resolution target: %+v", got.SLA)
		}
	})
}
