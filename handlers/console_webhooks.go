package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
	"giftdesk/cases/webhooks"
)

// The webhooks' console pages (issue 23): endpoints, their delivery logs, redelivery.
const (
	pageAdminWebhooks = "admin_webhooks.html"
	pageAdminWebhook  = "admin_webhook.html"
)

// webhooksPage is /admin/webhooks: the endpoints, a form to add one, and what the last action did.
type webhooksPage struct {
	Chrome    chrome
	Endpoints []webhooks.EndpointView
	Next      string
	Events    []string
	Chosen    map[string]bool
	Notice    string
	Refused   string
	New       pageForm
	Private   bool
}

// webhookPage is /admin/webhooks/{id}: one endpoint and its delivery log.
type webhookPage struct {
	Chrome  chrome
	Page    webhooks.DeliveryPage
	Notice  string
	Refused string
}

var webhookNotices = map[string]string{
	"disabled":    "The endpoint is disabled: it receives nothing more. Its delivery log stays.",
	"redelivered": "The delivery is queued: it is sent again within seconds, under the same webhook-id.",
}

// adminWebhooks serves GET /admin/webhooks.
func (s *Server) adminWebhooks(c *gin.Context) {
	chosen := map[string]bool{}
	for _, e := range webhooks.Events {
		chosen[e] = true
	}
	s.renderWebhooks(c, http.StatusOK, webhooksPage{New: pageForm{Prefix: "hook"}, Chosen: chosen, Notice: webhookNotices[c.Query("done")]})
}

func (s *Server) renderWebhooks(c *gin.Context, status int, v webhooksPage) {
	page, err := s.webhooks.List(c.Request.Context(), principal(c), c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	v.Chrome, v.Endpoints, v.Next, v.Events, v.Private = chromeFor(c, "webhooks"), page.Data, page.NextCursor, webhooks.Events, s.webhooks.AllowPrivate()
	s.render(c, status, pageAdminWebhooks, v)
}

// adminCreateWebhook serves POST /admin/webhooks: the new secret is the answer, once.
func (s *Server) adminCreateWebhook(c *gin.Context) {
	in := webhooks.NewEndpoint{URL: c.PostForm("url"), Events: c.PostFormArray("events")}
	chosen := map[string]bool{}
	for _, e := range in.Events {
		chosen[e] = true
	}
	if len(in.Events) == 0 {
		s.renderWebhooks(c, http.StatusUnprocessableEntity, webhooksPage{Chosen: chosen, New: pageForm{Prefix: "hook",
			Errors: formErrors{Fields: []fieldProblem{{Field: "events", Message: "choose at least one event"}}}, Values: postedValues(c, "url")}})
		return
	}
	ep, err := s.webhooks.Create(c.Request.Context(), principal(c), actor(c), in)
	if err != nil {
		errs, ok := formErrorsOf(err)
		if !ok {
			s.failPage(c, err)
			return
		}
		s.renderWebhooks(c, http.StatusUnprocessableEntity, webhooksPage{Chosen: chosen,
			New: pageForm{Prefix: "hook", Errors: errs, Values: postedValues(c, "url")}})
		return
	}
	s.renderSecret(c, secretPage{Title: "Webhook endpoint created", Label: "Signing secret of " + ep.URL, Secret: ep.Secret,
		Facts: [][2]string{{"URL", ep.URL}, {"Events", strings.Join(ep.Events, ", ")}},
		Advice: "Copy it into the receiver now: it is shown only this once. The receiver checks each request's webhook-signature " +
			"with it (Standard Webhooks; see the README).",
		Back: "Back to webhooks", BackTo: "/admin/webhooks"})
}

// adminWebhook reads the :id of an endpoint route, for an admin.
func (s *Server) adminWebhook(c *gin.Context) (webhooks.EndpointView, bool) {
	return pageByID(s, c, s.webhooks.Get)
}

// adminDisableWebhook serves POST /admin/webhooks/{id}/disable, after a confirmation.
func (s *Server) adminDisableWebhook(c *gin.Context) {
	ep, found := s.adminWebhook(c)
	if !found {
		return
	}
	if !confirmed(c) {
		s.confirm(c, confirmPage{Title: "Disable webhook endpoint", Question: "Disable the endpoint " + ep.URL + "?",
			Consequences: []string{"It receives no event from now on, and deliveries still waiting for it are not sent.",
				"It cannot be enabled again: register it anew to receive events again. Its delivery log stays."},
			Action: c.Request.URL.Path, Button: "Disable endpoint", Cancel: "/admin/webhooks"})
		return
	}
	if _, err := s.webhooks.Disable(c.Request.Context(), principal(c), actor(c), ep.ID); err != nil {
		s.failPage(c, err)
		return
	}
	redirectSeeOther(c, "/admin/webhooks?done=disabled")
}

// adminRotateWebhook serves POST /admin/webhooks/{id}/rotate, after a confirmation: the new
// secret is the answer, once.
func (s *Server) adminRotateWebhook(c *gin.Context) {
	ep, found := s.adminWebhook(c)
	if !found {
		return
	}
	if !confirmed(c) {
		s.confirm(c, confirmPage{Title: "Rotate signing secret", Question: "Give " + ep.URL + " a new signing secret?",
			Consequences: []string{"The new secret is shown once, on the next page.",
				fmt.Sprintf("For %d hours every request carries two signatures, one with each secret, so the receiver can switch without losing events; then only the new one.", int(webhooks.RotationOverlap.Hours()))},
			Action: c.Request.URL.Path, Button: "Rotate secret", Cancel: fmt.Sprintf("/admin/webhooks/%d", ep.ID)})
		return
	}
	rotated, err := s.webhooks.RotateSecret(c.Request.Context(), principal(c), actor(c), ep.ID, "")
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.renderSecret(c, secretPage{Title: "Signing secret rotated", Label: "New signing secret of " + rotated.URL, Secret: rotated.Secret,
		Facts:  [][2]string{{"URL", rotated.URL}, {"Old secret signs until", rotated.PreviousSecretUntil.In(chromeOf(c).Zone).Format("Mon 2 Jan 2006 15:04 MST")}},
		Advice: "Copy it into the receiver now: it is shown only this once.",
		Back:   "Back to webhooks", BackTo: "/admin/webhooks"})
}

// adminWebhookLog serves GET /admin/webhooks/{id}: the endpoint's delivery log, newest first.
func (s *Server) adminWebhookLog(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	page, err := s.webhooks.Deliveries(c.Request.Context(), principal(c), id, c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.render(c, http.StatusOK, pageAdminWebhook, webhookPage{Chrome: chromeFor(c, "webhooks"), Page: page, Notice: webhookNotices[c.Query("done")]})
}

// adminRedeliverWebhook serves POST /admin/webhooks/{id}/deliveries/{delivery}/redeliver.
func (s *Server) adminRedeliverWebhook(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	delivery, err := strconv.ParseInt(c.Param("delivery"), 10, 64)
	if err != nil || delivery <= 0 {
		s.failPage(c, cases.NotFound("delivery"))
		return
	}
	_, err = s.webhooks.Redeliver(c.Request.Context(), principal(c), actor(c), id, delivery)
	if err == nil {
		redirectSeeOther(c, fmt.Sprintf("/admin/webhooks/%d?done=redelivered#delivery-%d", id, delivery))
		return
	}
	msg, ok := refusalOf(err)
	if !ok {
		s.failPage(c, err)
		return
	}
	page, perr := s.webhooks.Deliveries(c.Request.Context(), principal(c), id, "", "")
	if perr != nil {
		s.failPage(c, perr)
		return
	}
	s.render(c, http.StatusUnprocessableEntity, pageAdminWebhook, webhookPage{Chrome: chromeFor(c, "webhooks"), Page: page,
		Refused: "The delivery was not queued again: " + msg + "."})
}
