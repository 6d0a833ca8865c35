package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
	"giftdesk/cases/webhooks"
)

// listWebhooks serves GET /api/v1/webhooks: every endpoint, never a secret.
func (s *Server) listWebhooks(c *gin.Context) {
	list, err := s.webhooks.List(c.Request.Context(), principal(c), c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list)
}

// createWebhook serves POST /api/v1/webhooks. The answer holds the secret, this once.
func (s *Server) createWebhook(c *gin.Context) {
	var in webhooks.NewEndpoint
	if err := s.bindJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	replyWithSecret(s, c, http.StatusCreated, func(ctx context.Context) (webhooks.CreatedEndpoint, error) {
		return s.webhooks.Create(ctx, principal(c), actor(c), in)
	})
}

// rotateWebhookSecret serves POST /api/v1/webhooks/{id}/rotate-secret. The answer holds the new
// secret, this once; the old one keeps signing next to it for 24 hours.
func (s *Server) rotateWebhookSecret(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var in rotateSecretBody
	if err := s.bindOptionalJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	replyWithSecret(s, c, http.StatusOK, func(ctx context.Context) (webhooks.CreatedEndpoint, error) {
		return s.webhooks.RotateSecret(ctx, principal(c), actor(c), id, in.Secret)
	})
}

// rotateSecretBody is the body of a secret rotation: the new secret, drawn when omitted.
type rotateSecretBody struct {
	Secret string `json:"secret"`
}

// replyWithSecret is reply for an answer holding a secret: the client gets it once, while the
// answer kept for a repeated Idempotency-Key leaves it out, so that no secret is stored in clear
// and a replay cannot show it again.
func replyWithSecret(s *Server, c *gin.Context, status int, run func(ctx context.Context) (webhooks.CreatedEndpoint, error)) {
	withSecret := func(v webhooks.CreatedEndpoint) (cases.StoredAnswer, error) { return jsonAnswer(status, nil, v) }
	withoutSecret := func(v webhooks.CreatedEndpoint) (cases.StoredAnswer, error) {
		v.Secret = ""
		return jsonAnswer(status, nil, v)
	}
	replyKeeping(s, c, withSecret, withoutSecret, run)
}

// disableWebhook serves DELETE /api/v1/webhooks/{id}: the endpoint stops receiving; it and its
// delivery log stay.
func (s *Server) disableWebhook(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.webhooks.Disable(c.Request.Context(), principal(c), actor(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// webhookDeliveries serves GET /api/v1/webhooks/{id}/deliveries: the delivery log, newest first.
func (s *Server) webhookDeliveries(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	page, err := s.webhooks.Deliveries(c.Request.Context(), principal(c), id, c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// redeliverWebhook serves POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver.
func (s *Server) redeliverWebhook(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	delivery, err := strconv.ParseInt(c.Param("delivery"), 10, 64)
	if err != nil || delivery <= 0 {
		s.fail(c, cases.NotFound("delivery"))
		return
	}
	var in struct{}
	if err := s.bindOptionalJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	reply(s, c, func(v webhooks.Redelivered) (cases.StoredAnswer, error) {
		return jsonAnswer(http.StatusAccepted, nil, v)
	},
		func(ctx context.Context) (webhooks.Redelivered, error) {
			return s.webhooks.Redeliver(ctx, principal(c), actor(c), id, delivery)
		})
}
