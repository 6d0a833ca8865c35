package handlers

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestConsoleAmendKeepsTheEntrysTime: the amend form shows "when it happened" to the minute; sent
// back as shown, the amendment keeps the entry's exact time (it was moved back up to 59 seconds,
// before its own original in the timeline); a time the agent changed is taken as typed.
func TestConsoleAmendKeepsTheEntrysTime(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		cc := newConsoleCase(t, newHarness(t, db))
		base := "/cases/" + cc.ref
		expectRedirect(t, cc.post(cc.agent, base+"/communications", map[string]string{"channel": "phone", "direction": "inbound",
			"reference": "CALL-1", "body": "called about it"}), cc.ref, "comm", "timeline")
		comms, err := cc.desk.ListCommunications(context.Background(), cases.Principal{Role: cases.RoleAdmin}, cc.ref, "", "")
		if err != nil || len(comms.Data) != 1 {
			t.Fatalf("communications: %+v %v", comms.Data, err)
		}
		call := comms.Data[0]
		form := cc.do(request{method: http.MethodGet, path: base + "?amend=" + strconv.FormatInt(call.ID, 10), cookie: cc.agent}).Body.String()
		shown := regexp.MustCompile(`name="occurred_at" type="datetime-local" value="([^"]*)"`).FindStringSubmatch(form)
		exact := regexp.MustCompile(`name="occurred_exact" value="([^"]*)"`).FindStringSubmatch(form)
		if shown == nil || exact == nil {
			t.Fatal("the amend form lacks the entry's time")
		}
		amend := func(occurredAt string) cases.CommunicationView {
			t.Helper()
			expectRedirect(t, cc.post(cc.agent, base+"/communications", map[string]string{"channel": "phone", "direction": "inbound",
				"supersedes": strconv.FormatInt(call.ID, 10), "occurred_at": occurredAt, "occurred_exact": exact[1], "reference": "CALL-2",
				"body": "called about it"}), cc.ref, "comm", "timeline")
			comms, err := cc.desk.ListCommunications(context.Background(), cases.Principal{Role: cases.RoleAdmin}, cc.ref, "", "")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range comms.Data {
				if c.ID > call.ID && c.SupersededBy == nil {
					call = c
					return c
				}
			}
			t.Fatalf("no amendment: %+v", comms.Data)
			return cases.CommunicationView{}
		}
		before := call.OccurredAt
		if got := amend(shown[1]); !got.OccurredAt.Equal(before) {
			t.Fatalf("the amendment happened at %s, the entry at %s", got.OccurredAt, before)
		}
		if got := amend("2026-11-20T09:30"); !got.OccurredAt.Equal(time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)) {
			t.Fatalf("the changed time was not taken: %s", got.OccurredAt)
		}
	})
}
