package webhooks

import (
	"context"
	"errors"
	"strconv"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
)

// AttemptView is one try at sending a delivery.
type AttemptView struct {
	Attempt     int       `json:"attempt"`
	AttemptedAt time.Time `json:"attempted_at"`
	StatusCode  *int      `json:"status_code,omitempty"`
	DurationMS  int64     `json:"duration_ms"`
	Error       string    `json:"error,omitempty"`
}

// DeliveryView is one event sent (or to send) to one endpoint, with every attempt.
type DeliveryView struct {
	ID             int64         `json:"id,string"`
	EndpointID     int64         `json:"endpoint_id,string"`
	EventID        string        `json:"event_id"`
	EventType      string        `json:"event_type"`
	EventCreatedAt time.Time     `json:"event_created_at"`
	Status         string        `json:"status"`
	AttemptCount   int           `json:"attempt_count"`
	NextAttemptAt  *time.Time    `json:"next_attempt_at,omitempty"`
	LastStatusCode *int          `json:"last_status_code,omitempty"`
	LastError      string        `json:"last_error,omitempty"`
	Attempts       []AttemptView `json:"attempts"`
}

// DeliveryPage is a page of an endpoint's delivery log, newest first.
type DeliveryPage struct {
	Endpoint   EndpointView   `json:"endpoint"`
	Data       []DeliveryView `json:"data"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// EventID is the id of the message announcing outbox event id: the webhook-id header and the
// payload's id, the same at every attempt and redelivery so that receivers can drop repeats.
func EventID(outboxID int64) string { return "msg_" + strconv.FormatInt(outboxID, 10) }

// Deliveries returns a page of endpoint id's delivery log, newest first, after cursor (the
// next_cursor of the page before; "" for the first), limitRaw at a time (1 to 100). Three
// statements whatever the page: the endpoint, the deliveries with their events, their attempts.
func (s *Service) Deliveries(ctx context.Context, p cases.Principal, id int64, limitRaw, cursor string) (DeliveryPage, error) {
	if err := allowed(p); err != nil {
		return DeliveryPage{}, err
	}
	limit, before, err := pageArgs(limitRaw, cursor)
	if err != nil {
		return DeliveryPage{}, err
	}
	db := s.desk.ReadDB(ctx)
	e, err := models.WebhookEndpointByID(ctx, db, id, false)
	if errors.Is(err, models.ErrNotFound) {
		return DeliveryPage{}, cases.NotFound("webhook endpoint")
	}
	if err != nil {
		return DeliveryPage{}, cases.StoreErr(err)
	}
	rows, err := models.DeliveryPage(ctx, db, id, before, limit+1)
	if err != nil {
		return DeliveryPage{}, cases.StoreErr(err)
	}
	page := DeliveryPage{Endpoint: viewOf(e, s.desk.Now()), Data: []DeliveryView{}}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = cases.EncodeCursor(rows[len(rows)-1].ID)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	attempts, err := models.AttemptsOfDeliveries(ctx, db, ids)
	if err != nil {
		return DeliveryPage{}, cases.StoreErr(err)
	}
	for _, r := range rows {
		page.Data = append(page.Data, deliveryView(r, attempts[r.ID]))
	}
	return page, nil
}

func deliveryView(r models.DeliveryRow, attempts []models.WebhookAttempt) DeliveryView {
	v := DeliveryView{ID: r.ID, EndpointID: r.EndpointID, EventID: EventID(r.OutboxID), EventType: r.EventType,
		EventCreatedAt: r.EventCreatedAt, Status: r.Status, AttemptCount: r.Attempts, LastStatusCode: r.LastStatusCode,
		LastError: r.LastError, Attempts: make([]AttemptView, len(attempts))}
	if r.Status == "pending" {
		v.NextAttemptAt = r.NextAttemptAt
	}
	for i, a := range attempts {
		v.Attempts[i] = AttemptView{Attempt: a.Attempt, AttemptedAt: a.AttemptedAt, StatusCode: a.StatusCode,
			DurationMS: a.DurationMS, Error: a.Error}
	}
	return v
}

// Redelivered is the answer to a redelivery.
type Redelivered struct {
	DeliveryID    int64     `json:"delivery_id,string"`
	EventID       string    `json:"event_id"`
	Status        string    `json:"status"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
}

// Redeliver sends a delivery of endpoint id once more, as soon as the dispatcher can, whatever
// became of it (delivered, failed, still retrying). The message keeps its id, so a receiver that
// already has it can tell. A disabled endpoint receives nothing: 422.
func (s *Service) Redeliver(ctx context.Context, p cases.Principal, a cases.Actor, id, deliveryID int64) (Redelivered, error) {
	if err := allowed(p); err != nil {
		return Redelivered{}, err
	}
	var out Redelivered
	err := s.desk.DoAnswering(ctx, a, func() any { return out }, func(w *cases.Work) error {
		e, err := models.WebhookEndpointByID(ctx, w.Tx, id, false)
		if errors.Is(err, models.ErrNotFound) {
			return cases.NotFound("webhook endpoint")
		}
		if err != nil {
			return err
		}
		if !e.Active {
			return cases.Invalid("endpoint", "this endpoint is disabled; it receives nothing")
		}
		d, err := models.DeliveryByID(ctx, w.Tx, id, deliveryID, true)
		if errors.Is(err, models.ErrNotFound) {
			return cases.NotFound("delivery")
		}
		if err != nil {
			return err
		}
		if err := models.RequeueDelivery(ctx, w.Tx, d, w.Now); err != nil {
			return err
		}
		out = Redelivered{DeliveryID: d.ID, EventID: EventID(d.OutboxID), Status: "pending", NextAttemptAt: w.Now}
		return w.Audit("webhook.redelivered", "webhook_delivery", d.ID, map[string]any{"status": d.Status}, out)
	})
	return out, err
}
