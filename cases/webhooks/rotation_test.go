package webhooks_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/webhooks"
	"giftdesk/handlers"
	"giftdesk/models/modelstest"
)

// TestASecondRotationKeepsEverySecretItsOverlapPromised: rotating again within 24 hours does not
// stop the first secret early (a client that lost the first rotation's answer can only rotate
// again); every secret within its overlap signs; past a bound, a rotation is refused with the
// time it may be made; a disabled endpoint cannot be rotated.
func TestASecondRotationKeepsEverySecretItsOverlapPromised(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, true)
		rcv := newReceiver(t, func(int) int { return http.StatusOK })
		ep, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
		if err != nil {
			t.Fatal(err)
		}
		secrets := []string{ep.Secret}
		for i := 0; i < 2; i++ {
			r, err := f.svc.RotateSecret(ctx, f.admin, f.actor(f.admin), ep.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, r.Secret)
		}
		f.createCase(t, "ABCD-EFGH-JKLM-NPQR", "T-1")
		run(t, f.svc.NewDispatcher(webhooks.DispatcherConfig{Sender: handlers.NewWebhookSender(f.svc.AllowPrivate()), Schedule: fastSchedule, Poll: 10 * time.Millisecond}))
		eventually(t, "the delivery", func() bool { return len(rcv.requests()) == 1 })
		req := rcv.requests()[0]
		h := req.header
		if n := len(strings.Fields(h.Get("webhook-signature"))); n != 3 {
			t.Errorf("%d signatures, want 3 (the secret and the two still in their overlap)", n)
		}
		for i, s := range secrets {
			key, err := webhooks.ParseSecret(s)
			if err != nil {
				t.Fatal(err)
			}
			if !webhooks.Verify(key, h.Get("webhook-id"), h.Get("webhook-timestamp"), req.body, h.Get("webhook-signature")) {
				t.Errorf("secret %d does not verify the delivery", i)
			}
		}
		// Two more: the third retired secret would exceed the bound.
		if _, err := f.svc.RotateSecret(ctx, f.admin, f.actor(f.admin), ep.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.RotateSecret(ctx, f.admin, f.actor(f.admin), ep.ID, "")
		if re := ruleOf(err); re == nil || len(re.Fields) != 1 || re.Fields[0].Field != "secret" || !strings.Contains(re.Fields[0].Message, "rotate again after") {
			t.Errorf("a fifth secret within the overlap: %v, want validation_failed on secret saying when", err)
		}
		if _, err := f.svc.Disable(ctx, f.admin, f.actor(f.admin), ep.ID); err != nil {
			t.Fatal(err)
		}
		other, err := f.svc.Create(ctx, f.admin, f.actor(f.admin), webhooks.NewEndpoint{URL: rcv.URL + "/2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Disable(ctx, f.admin, f.actor(f.admin), other.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RotateSecret(ctx, f.admin, f.actor(f.admin), other.ID, ""); ruleOf(err) == nil {
			t.Errorf("rotating a disabled endpoint: %v, want refused", err)
		}
	})
}

// ruleOf returns err's rule error, or nil.
func ruleOf(err error) *cases.RuleError {
	var re *cases.RuleError
	if asRule(err, &re) {
		return re
	}
	return nil
}
