package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/webhooks"
	"giftdesk/models/modelstest"
)

// TestAdminManagesWebhooks: an endpoint is added from the console with its secret shown once
// (no-store, never on a later page), a private URL comes back next to its field, the delivery log
// lists deliveries with a redeliver button that queues one again, and disabling asks first.
func TestAdminManagesWebhooks(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		a := newAdminDesk(t, db)
		page := a.get("/admin/webhooks")
		if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `href="/admin/webhooks" aria-current="page"`) {
			t.Fatalf("webhooks page: %d %s", page.Code, page.Body)
		}
		bad := a.post("/admin/webhooks", url.Values{"url": {"http://10.0.0.7/hook"}, "events": {"case.created"}})
		if bad.Code != http.StatusUnprocessableEntity || !strings.Contains(bad.Body.String(), `id="f-url-error"`) ||
			!strings.Contains(bad.Body.String(), `value="http://10.0.0.7/hook"`) {
			t.Fatalf("private URL: %d %s", bad.Code, bad.Body)
		}
		made := a.post("/admin/webhooks", url.Values{"url": {"https://93.184.216.34/hook"}, "events": {"case.created", "case.updated"}})
		if made.Code != http.StatusOK || made.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("create: %d %v", made.Code, made.Header())
		}
		secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(made.Body.String())
		if secret == "" {
			t.Fatalf("no secret on the answer: %s", made.Body)
		}
		var id int64
		modelstest.Scan(t, db, &id, `SELECT MAX(id) FROM webhook_endpoints`)
		list := a.get("/admin/webhooks")
		if !strings.Contains(list.Body.String(), "https://93.184.216.34/hook") || strings.Contains(list.Body.String(), secret[6:]) {
			t.Fatalf("list: %s", list.Body)
		}

		agent := a.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesWrite)
		a.newCase(agent, "hook-1")
		if err := webhooks.New(webhooks.Config{Desk: a.desk}).NewDispatcher(webhooks.DispatcherConfig{}).FanOut(context.Background()); err != nil {
			t.Fatal(err)
		}
		var delivery int64
		modelstest.Scan(t, db, &delivery, `SELECT MIN(id) FROM webhook_deliveries WHERE endpoint_id = ?`, id)
		log := a.get(fmt.Sprintf("/admin/webhooks/%d", id))
		if log.Code != http.StatusOK || !strings.Contains(log.Body.String(), "case.created") || strings.Contains(log.Body.String(), secret[6:]) ||
			!strings.Contains(log.Body.String(), fmt.Sprintf(`action="/admin/webhooks/%d/deliveries/%d/redeliver"`, id, delivery)) {
			t.Fatalf("log: %d %s", log.Code, log.Body)
		}
		modelstest.Exec(t, db, `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL WHERE id = ?`, delivery)
		re := a.post(fmt.Sprintf("/admin/webhooks/%d/deliveries/%d/redeliver", id, delivery), url.Values{})
		if re.Code != http.StatusSeeOther || !strings.Contains(re.Header().Get("Location"), "done=redelivered") {
			t.Fatalf("redeliver: %d %v", re.Code, re.Header())
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE id = ? AND status = 'pending'`, delivery); n != 1 {
			t.Error("the redelivery was not queued")
		}

		ask := a.post(fmt.Sprintf("/admin/webhooks/%d/disable", id), url.Values{})
		if ask.Code != http.StatusOK || !strings.Contains(ask.Body.String(), `name="confirm"`) {
			t.Fatalf("disable without confirmation: %d %s", ask.Code, ask.Body)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM webhook_endpoints WHERE active`); n != 1 {
			t.Fatal("disabled before the confirmation")
		}
		done := a.post(fmt.Sprintf("/admin/webhooks/%d/disable", id), url.Values{"confirm": {"yes"}})
		if done.Code != http.StatusSeeOther {
			t.Fatalf("disable: %d %s", done.Code, done.Body)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM webhook_endpoints WHERE active`); n != 0 {
			t.Fatal("not disabled")
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?`, id); n == 0 {
			t.Error("the delivery log went with the endpoint")
		}
	})
}

// seedWebhook registers an endpoint for the console's sample pages, before the events it is to
// log.
func seedWebhook(t *testing.T, h *harness) int64 {
	t.Helper()
	admin := h.token("hooks-admin@example.com", cases.RoleAdmin, cases.ScopeAdmin)
	w := h.do(request{method: http.MethodPost, path: "/api/v1/webhooks", token: admin,
		body: strings.NewReader(`{"url":"https://93.184.216.34/giftdesk/hooks"}`)})
	var ep struct{ ID string }
	mustUnmarshal(t, w.Body.Bytes(), &ep)
	id, err := strconv.ParseInt(ep.ID, 10, 64)
	if err != nil || w.Code != http.StatusCreated {
		t.Fatalf("webhook: %d %s", w.Code, w.Body)
	}
	return id
}

// answerEvery answers each message with the next status of codes, the last one from then on,
// without any network.
type answerEvery struct {
	mu    sync.Mutex
	codes []int
}

func (a *answerEvery) Send(context.Context, string, map[string]string, []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	code := a.codes[0]
	if len(a.codes) > 1 {
		a.codes = a.codes[1:]
	}
	return code, nil
}

// deliverOnce makes one dispatch pass against a receiver that fails the first request, so that
// the log shows a delivered, a pending and a retried delivery.
func deliverOnce(t *testing.T, h *harness) {
	t.Helper()
	d := webhooks.New(webhooks.Config{Desk: h.desk}).NewDispatcher(webhooks.DispatcherConfig{
		Sender: &answerEvery{codes: []int{http.StatusServiceUnavailable, http.StatusNoContent}}})
	if err := d.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.Wait()
}
