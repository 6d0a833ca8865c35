package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"giftdesk/cases"
	"giftdesk/models"
)

// DefaultSchedule is the Standard Webhooks retry schedule of SPEC 4.3: the waits after the first
// attempt, the second, and so on; a delivery failing after the last is failed.
var DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

const (
	// DeliveryTimeout bounds one attempt, from dialling to the end of the answer.
	DeliveryTimeout = 15 * time.Second
	// statusGone is the answer that disables an endpoint: the receiver says it is gone for good.
	statusGone = 410
	// defaultLease is how long a claimed delivery is this dispatcher's alone; renewed before each
	// attempt, longer than DeliveryTimeout, so a dispatcher that dies delays a delivery by at most
	// this much.
	defaultLease = time.Minute
	// maxErrorText bounds the error kept for an attempt (the column holds 1000 bytes).
	maxErrorText = 500
	// claimBatch is how many deliveries one pass claims at most.
	claimBatch = 64
	// fanoutBatch is how many outbox events one transaction turns into deliveries.
	fanoutBatch = 1000
)

// system is the actor of the dispatcher's own changes (an endpoint disabled after 410 Gone).
var system = cases.Actor{Kind: "system"}

// DispatcherConfig builds a Dispatcher.
type DispatcherConfig struct {
	// Schedule is the waits between attempts; nil is DefaultSchedule. Tests shorten it.
	Schedule []time.Duration
	// Poll is the time between passes; 0 is one second.
	Poll time.Duration
	// Lease is how long a claim holds; 0 is a minute.
	Lease  time.Duration
	Logger *slog.Logger
	// Sender posts the messages (required): handlers.NewWebhookSender, whose connections refuse
	// private addresses unless the service allows them.
	Sender Sender
}

// Sender posts one message to url with header and body, and returns the receiver's HTTP status,
// or an error when there was no answer. It follows no redirect. The HTTP client lives in handlers:
// cases knows nothing of HTTP.
type Sender interface {
	Send(ctx context.Context, url string, header map[string]string, body []byte) (status int, err error)
}

// Dispatcher delivers the outbox's events. Any number may run against one PostgreSQL database
// (each claims different deliveries); on SQLite one runs. A slow or dead receiver holds up only
// its own endpoint: each endpoint's deliveries are sent by their own worker, one at a time, and a
// pass claims nothing for an endpoint whose worker is still busy.
type Dispatcher struct {
	svc      *Service
	schedule []time.Duration
	poll     time.Duration
	lease    time.Duration
	log      *slog.Logger
	sender   Sender
	owner    string

	mu      sync.Mutex
	busy    map[int64]bool
	workers sync.WaitGroup
	// unrecorded says an attempt failed to renew or record its lease, which it may still hold.
	unrecorded atomic.Bool
}

// NewDispatcher returns a dispatcher of s's endpoints.
func (s *Service) NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	d := &Dispatcher{svc: s, schedule: cfg.Schedule, poll: cfg.Poll, lease: cfg.Lease, log: cfg.Logger,
		sender: cfg.Sender, busy: map[int64]bool{}}
	if d.schedule == nil {
		d.schedule = DefaultSchedule
	}
	if d.poll <= 0 {
		d.poll = time.Second
	}
	if d.lease <= 0 {
		d.lease = defaultLease
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	d.owner = hex.EncodeToString(id[:])
	return d
}

// Run passes every Poll until ctx ends, then waits for the attempts in flight and gives back the
// deliveries it claimed but did not send.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.poll)
	defer t.Stop()
	for {
		if err := d.Pass(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("webhook dispatch pass failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			d.workers.Wait()
			d.release(context.WithoutCancel(ctx))
			return
		case <-t.C:
		}
	}
}

// releaseTimeout bounds giving the claims back at stop: a server stopping while the database is
// down must still exit; its claims then wait for their leases to run out.
const releaseTimeout = 5 * time.Second

// release gives back the deliveries this dispatcher claimed and did not send (a stopping server's
// workers finish their attempt in flight and leave the rest), so that another server sends them
// at once instead of after the lease.
func (d *Dispatcher) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	n, err := models.ReleaseLeases(ctx, d.svc.desk.ReadDB(ctx), d.owner, nil)
	if err != nil {
		d.log.Warn("webhook claims not given back; other servers take them when their leases run out",
			slog.String("error", err.Error()))
		return
	}
	if n > 0 {
		d.log.Info("webhook claims given back at stop", slog.Int64("deliveries", n))
	}
}

// Wait waits for the attempts that passes started.
func (d *Dispatcher) Wait() { d.workers.Wait() }

// Pass turns new outbox events into deliveries, then claims the due deliveries of endpoints not
// busy here and starts sending them; it does not wait for the sending.
func (d *Dispatcher) Pass(ctx context.Context) error {
	if err := d.FanOut(ctx); err != nil {
		return err
	}
	return d.claimAndSend(ctx)
}

// FanOut creates a delivery of every outbox event not yet fanned out for each enabled endpoint
// subscribed to its type and registered by the time of the event.
func (d *Dispatcher) FanOut(ctx context.Context) error {
	db := d.svc.desk.ReadDB(ctx)
	for {
		events, err := models.UnfannedOutbox(ctx, db, fanoutBatch)
		if err != nil || len(events) == 0 {
			return cases.StoreErr(err)
		}
		endpoints, err := models.ActiveWebhookEndpoints(ctx, db)
		if err != nil {
			return cases.StoreErr(err)
		}
		batch := make([]models.Fanned, len(events))
		for i, e := range events {
			batch[i].Event = e
			for _, ep := range endpoints {
				if !ep.CreatedAt.After(e.CreatedAt) && slices.Contains(ep.Events, e.EventType) {
					batch[i].Endpoints = append(batch[i].Endpoints, ep.ID)
				}
			}
		}
		err = d.svc.desk.Do(ctx, system, func(w *cases.Work) error {
			return models.FanOut(ctx, w.Tx, batch, w.Now)
		})
		if err != nil || len(events) < fanoutBatch {
			return err
		}
	}
}

func (d *Dispatcher) claimAndSend(ctx context.Context) error {
	if d.sender == nil {
		return errors.New("webhooks: the dispatcher has no Sender")
	}
	d.mu.Lock()
	busy := make([]int64, 0, len(d.busy))
	for id := range d.busy {
		busy = append(busy, id)
	}
	d.mu.Unlock()
	// An attempt that could not renew or record its lease (the database went away meanwhile)
	// left it held: once its worker is done, take such leases back now rather than in a minute.
	// Workers start only below, in this goroutine, so none is starting meanwhile.
	if d.unrecorded.Swap(false) {
		if _, err := models.ReleaseLeases(ctx, d.svc.desk.ReadDB(ctx), d.owner, busy); err != nil {
			d.unrecorded.Store(true)
			return cases.StoreErr(err)
		}
	}
	var claimed []models.WebhookDelivery
	err := d.svc.desk.Do(ctx, system, func(w *cases.Work) error {
		var err error
		claimed, err = models.ClaimDeliveries(ctx, w.Tx, d.owner, w.Now, d.lease, busy, claimBatch)
		return err
	})
	if err != nil {
		return err
	}
	byEndpoint := map[int64][]models.WebhookDelivery{}
	var order []int64
	for _, c := range claimed {
		if _, seen := byEndpoint[c.EndpointID]; !seen {
			order = append(order, c.EndpointID)
		}
		byEndpoint[c.EndpointID] = append(byEndpoint[c.EndpointID], c)
	}
	for _, id := range order {
		d.mu.Lock()
		d.busy[id] = true
		d.mu.Unlock()
		d.workers.Add(1)
		go func(id int64, list []models.WebhookDelivery) {
			defer d.workers.Done()
			defer func() {
				d.mu.Lock()
				delete(d.busy, id)
				d.mu.Unlock()
			}()
			for _, del := range list {
				if ctx.Err() != nil {
					return
				}
				if err := d.attempt(ctx, del); err != nil {
					d.unrecorded.Store(true)
					if ctx.Err() == nil {
						d.log.Warn("webhook delivery attempt not recorded", slog.Int64("delivery", del.ID), slog.String("error", err.Error()))
					}
				}
			}
		}(id, byEndpoint[id])
	}
	return nil
}

// Payload is the body of every webhook: the event's type, id and time, and the entity as the API
// shows it (never a claim code: the API never shows one, R1).
type Payload struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// attempt sends one delivery once and records the outcome, if this dispatcher still holds it.
func (d *Dispatcher) attempt(ctx context.Context, del models.WebhookDelivery) error {
	db := d.svc.desk.ReadDB(ctx)
	now := d.svc.desk.Now()
	held, err := models.RenewLease(ctx, db, del.ID, d.owner, now, d.lease)
	if err != nil || !held {
		return err
	}
	ep, err := models.WebhookEndpointByID(ctx, db, del.EndpointID, false)
	if err != nil {
		return err
	}
	if !ep.Active {
		return nil
	}
	ev, err := models.OutboxByID(ctx, db, del.OutboxID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(Payload{Type: ev.EventType, ID: EventID(ev.ID), Timestamp: ev.CreatedAt.UTC(), Data: json.RawMessage(ev.Payload)})
	if err != nil {
		return err
	}
	keys, err := d.svc.signingKeys(ep, now)
	if err != nil {
		return err
	}
	// A stopping server lets the attempt in flight finish (within DeliveryTimeout) and records it:
	// an attempt abandoned half-way would be made again unlogged, and a 2xx received would be
	// sent a second time.
	status, took, sendErr := d.send(context.WithoutCancel(ctx), ep.URL, EventID(ev.ID), now, body, keys)
	done := d.svc.desk.Now()
	del.Attempts++
	del.UpdatedAt, del.LastError, del.LastStatusCode = done, errorText(sendErr), nil
	if status != 0 {
		del.LastStatusCode = &status
	}
	gone := status == statusGone
	switch {
	case sendErr == nil && status >= 200 && status < 300:
		del.Status, del.NextAttemptAt = "delivered", nil
	case gone || del.Attempts > len(d.schedule):
		del.Status, del.NextAttemptAt = "failed", nil
	default:
		next := done.Add(d.schedule[del.Attempts-1])
		del.Status, del.NextAttemptAt = "pending", &next
	}
	if del.LastError == "" && del.Status != "delivered" {
		del.LastError = "the receiver answered " + strconv.Itoa(status)
	}
	a := models.WebhookAttempt{DeliveryID: del.ID, Attempt: del.Attempts, AttemptedAt: now, StatusCode: del.LastStatusCode,
		Error: del.LastError, DurationMS: took.Milliseconds()}
	if del.Status == "delivered" {
		a.Error = ""
	}
	// The attempt was made: record it even if the server is stopping meanwhile.
	rctx := context.WithoutCancel(ctx)
	return d.svc.desk.Do(rctx, system, func(w *cases.Work) error {
		recorded, err := models.RecordAttempt(rctx, w.Tx, d.owner, &del, &a)
		if err != nil || !recorded {
			return err
		}
		if gone {
			_, err = disable(w, ep.ID)
			return err
		}
		if del.Status != "pending" {
			return nil
		}
		// Disabled while the attempt was in flight: no retry is coming.
		current, err := models.WebhookEndpointByID(rctx, w.Tx, ep.ID, false)
		if err != nil || current.Active {
			return err
		}
		return models.FailPendingDeliveries(rctx, w.Tx, ep.ID, disabledReason, w.Now)
	})
}

// send posts body to url with the Standard Webhooks headers and returns the answer's status (0
// without one), how long it took, and the error that stopped it.
func (d *Dispatcher) send(ctx context.Context, url, id string, at time.Time, body []byte, keys [][]byte) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	header := map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "giftdesk-webhooks/1",
		"webhook-id":        id,
		"webhook-timestamp": strconv.FormatInt(at.Unix(), 10),
		"webhook-signature": SignatureHeader(keys, id, at, body),
	}
	start := time.Now()
	status, err := d.sender.Send(ctx, url, header, body)
	return status, time.Since(start), err
}

// errorText is err as the delivery log keeps it: at most maxErrorText bytes of valid UTF-8.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		s = "no answer within " + DeliveryTimeout.String() + ": " + s
	}
	if len(s) > maxErrorText {
		s = s[:maxErrorText]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return strings.ToValidUTF8(s, "")
}
