package webhooks_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"giftdesk/cases/webhooks"
	"giftdesk/handlers"
	"giftdesk/models/modelstest"
)

// TestRetriesFollowTheScheduleThenFail: a receiver that always fails gets the first attempt and
// one retry per step of the schedule, each logged, and then the delivery is failed.
func TestRetriesFollowTheScheduleThenFail(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		rcv := newReceiver(t, func(int) int { return http.StatusBadGateway })
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 10 * time.Millisecond}))
		eventually(t, "the delivery failed", func() bool {
			page, err := f.svc.Deliveries(ctx, f.admin, ep.ID, "", "")
			return err == nil && len(page.Data) == 1 && page.Data[0].Status == "failed"
		})
		page := f.deliveries(t, ep.ID)
		want := len(webhooks.DefaultSchedule) + 1
		if n := len(page.Data[0].Attempts); n != want || len(rcv.requests()) != want {
			t.Errorf("%d attempts logged, %d received, want %d", n, len(rcv.requests()), want)
		}
		for i, a := range page.Data[0].Attempts {
			if a.Attempt != i+1 || a.StatusCode == nil || *a.StatusCode != http.StatusBadGateway || !strings.Contains(a.Error, "502") {
				t.Errorf("attempt %d logged as %+v", i+1, a)
			}
		}
	})
}

// TestRedirectsAreNotFollowed: a 3xx is the receiver's answer, a failure, and its Location is
// never requested (it could point anywhere, a private address included).
func TestRedirectsAreNotFollowed(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		target := newReceiver(t, func(int) int { return http.StatusOK })
		rcv := newReceiverServing(t, nil, http.RedirectHandler(target.URL+"/elsewhere", http.StatusTemporaryRedirect))
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: []time.Duration{time.Hour}, Poll: 10 * time.Millisecond}))
		eventually(t, "the first attempt", func() bool {
			page, err := f.svc.Deliveries(ctx, f.admin, ep.ID, "", "")
			return err == nil && len(page.Data) == 1 && len(page.Data[0].Attempts) == 1
		})
		page := f.deliveries(t, ep.ID)
		if d := page.Data[0]; d.Status != "pending" || d.Attempts[0].StatusCode == nil || *d.Attempts[0].StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("delivery %+v, want pending after a 307", d)
		}
		if n := len(target.requests()); n != 0 {
			t.Errorf("the redirect was followed: %d requests at its target", n)
		}
	})
}

func TestErrorTextIsBoundedValidUTF8(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	got := webhooks.ErrorText(errors.New(long))
	if len(got) > 500 || !utf8.ValidString(got) || got == "" {
		t.Errorf("error text of %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if webhooks.ErrorText(nil) != "" {
		t.Error("no error should log nothing")
	}
}
