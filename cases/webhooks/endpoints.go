package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
)

// Events are the event types of SPEC 4.3, the ones an endpoint may subscribe to.
var Events = []string{"case.created", "case.updated", "communication.created", "evidence.added",
	"correction.requested", "correction.applied", "correction.denied", "correction.reversed"}

// RotationOverlap is how long a rotated secret keeps signing next to the new one.
const RotationOverlap = 24 * time.Hour

// Config builds a Service.
type Config struct {
	Desk *cases.Desk
	// AllowPrivate is GIFTDESK_WEBHOOK_ALLOW_PRIVATE=1: endpoints may be on loopback, private or
	// link-local addresses (a receiver on the same machine or network, and the tests).
	AllowPrivate bool
	// Resolver resolves endpoint hosts when they are registered; nil is net.DefaultResolver.
	Resolver Resolver
}

// Service manages endpoints and their deliveries. Every change goes through Desk.Do, audited.
type Service struct {
	desk         *cases.Desk
	allowPrivate bool
	resolver     Resolver
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{desk: cfg.Desk, allowPrivate: cfg.AllowPrivate, resolver: cfg.Resolver}
	if s.resolver == nil {
		s.resolver = net.DefaultResolver
	}
	return s
}

// AllowPrivate reports whether endpoints may be on private addresses.
func (s *Service) AllowPrivate() bool { return s.allowPrivate }

// allowed is the one access rule of webhooks: administrators only, through the console or a
// token with the admin scope (which the API checks before).
func allowed(p cases.Principal) error { return p.RequireRole(cases.RoleAdmin) }

// NewEndpoint is the input of Create. An empty Secret is drawn by the desk; no Events means all.
type NewEndpoint struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
}

// BodyProblems lists what is wrong in the body itself, without resolving the URL's host: with
// the problems decoding found (unknown fields, wrong types), one 422 names them all (SPEC 4.2).
// Create runs the same checks and resolves the host.
func (in *NewEndpoint) BodyProblems() []cases.FieldError {
	var fields []cases.FieldError
	if u := strings.TrimSpace(in.URL); u == "" {
		fields = append(fields, cases.FieldError{Field: "url", Message: "is required"})
	} else if _, err := CheckURLShape(u); err != nil {
		fields = append(fields, cases.FieldError{Field: "url", Message: err.Error()})
	}
	var re *cases.RuleError
	if _, err := checkEvents(in.Events); errors.As(err, &re) {
		fields = append(fields, re.Fields...)
	}
	if secret := strings.TrimSpace(in.Secret); secret != "" {
		if _, err := ParseSecret(secret); err != nil {
			fields = append(fields, cases.FieldError{Field: "secret", Message: err.Error()})
		}
	}
	return fields
}

// EndpointView is an endpoint as the desk shows it: never its secret.
type EndpointView struct {
	ID         int64      `json:"id,string"`
	URL        string     `json:"url"`
	Events     []string   `json:"events"`
	Active     bool       `json:"active"`
	CreatedAt  time.Time  `json:"created_at"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	// PreviousSecretUntil is when a rotated secret stops signing, while it still does.
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
}

// CreatedEndpoint is the answer to a creation: the endpoint and its secret, shown this once.
type CreatedEndpoint struct {
	EndpointView
	Secret string `json:"secret,omitempty"`
}

func viewOf(e models.WebhookEndpoint, now time.Time) EndpointView {
	v := EndpointView{ID: e.ID, URL: e.URL, Events: []string(e.Events), Active: e.Active, CreatedAt: e.CreatedAt,
		DisabledAt: e.DisabledAt}
	if v.Events == nil {
		v.Events = []string{}
	}
	if e.PreviousSecretUntil != nil && e.PreviousSecretUntil.After(now) {
		v.PreviousSecretUntil = e.PreviousSecretUntil
	}
	return v
}

// checkEvents normalises an endpoint's event list: no list means every event.
func checkEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return slices.Clone(Events), nil
	}
	out := make([]string, 0, len(events))
	for i, e := range events {
		e = strings.TrimSpace(e)
		if !slices.Contains(Events, e) {
			// Named back only when it cannot be a claim code (R1), as an unknown field is.
			named := strconv.Quote(strings.ToValidUTF8(e, ""))
			if cases.MayHoldClaimCode(e) || len(e) > 64 {
				named = "[a value that may hold a claim code]"
			}
			return nil, cases.Invalid(fmt.Sprintf("events[%d]", i), "unknown event "+named+"; known: "+strings.Join(Events, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Create registers an endpoint. The URL is checked (CheckURL); the secret, drawn when in.Secret is
// empty, is returned once in the answer and stored only encrypted.
func (s *Service) Create(ctx context.Context, p cases.Principal, a cases.Actor, in NewEndpoint) (CreatedEndpoint, error) {
	if err := allowed(p); err != nil {
		return CreatedEndpoint{}, err
	}
	in.URL = strings.TrimSpace(in.URL)
	var fields []cases.FieldError
	if in.URL == "" {
		fields = append(fields, cases.FieldError{Field: "url", Message: "is required"})
	} else if err := CheckURL(ctx, s.resolver, in.URL, s.allowPrivate); err != nil {
		fields = append(fields, cases.FieldError{Field: "url", Message: err.Error()})
	}
	events, err := checkEvents(in.Events)
	if err != nil {
		var re *cases.RuleError
		if errors.As(err, &re) {
			fields = append(fields, re.Fields...)
		}
	}
	secret, key := strings.TrimSpace(in.Secret), []byte(nil)
	if secret == "" {
		if secret, key, err = NewSecret(); err != nil {
			return CreatedEndpoint{}, err
		}
	} else if key, err = ParseSecret(secret); err != nil {
		fields = append(fields, cases.FieldError{Field: "secret", Message: err.Error()})
	}
	if len(fields) > 0 {
		return CreatedEndpoint{}, cases.InvalidFields(fields)
	}
	sealed, err := s.desk.SealWebhookSecret(key)
	if err != nil {
		return CreatedEndpoint{}, err
	}
	var out CreatedEndpoint
	err = s.desk.DoAnswering(ctx, a, func() any { return out }, func(w *cases.Work) error {
		e := models.WebhookEndpoint{URL: in.URL, SecretCiphertext: sealed, Events: events, Active: true, CreatedAt: w.Now,
			RetiredSecrets: models.JSONDoc(`[]`)}
		if p.UserID != 0 {
			id := p.UserID
			e.CreatedByID = &id
		}
		if err := models.CreateWebhookEndpoint(ctx, w.Tx, &e); err != nil {
			return err
		}
		out = CreatedEndpoint{EndpointView: viewOf(e, w.Now), Secret: secret}
		return w.Audit("webhook.created", "webhook_endpoint", e.ID, nil, out.EndpointView)
	})
	if err != nil {
		return CreatedEndpoint{}, err
	}
	return out, nil
}

// List returns a page of endpoints, newest first, after cursor (the next_cursor of the page
// before; "" for the first), limitRaw at a time (1 to 100; "" is the API's default). One
// statement whatever the page.
func (s *Service) List(ctx context.Context, p cases.Principal, limitRaw, cursor string) (cases.Page[EndpointView], error) {
	if err := allowed(p); err != nil {
		return cases.Page[EndpointView]{}, err
	}
	limit, before, err := pageArgs(limitRaw, cursor)
	if err != nil {
		return cases.Page[EndpointView]{}, err
	}
	rows, err := models.WebhookEndpointPage(ctx, s.desk.ReadDB(ctx), before, limit+1)
	if err != nil {
		return cases.Page[EndpointView]{}, cases.StoreErr(err)
	}
	page := cases.Page[EndpointView]{Data: []EndpointView{}}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = cases.EncodeCursor(rows[len(rows)-1].ID)
	}
	now := s.desk.Now()
	for _, r := range rows {
		page.Data = append(page.Data, viewOf(r, now))
	}
	return page, nil
}

// pageArgs reads a list's limit (1 to 100, "" for the default) and cursor.
func pageArgs(limitRaw, cursor string) (int, int64, error) {
	var fields []cases.FieldError
	limit := cases.DefaultPageLimit
	if limitRaw != "" {
		n, err := strconv.Atoi(limitRaw)
		if err != nil || n < 1 || n > cases.MaxPageLimit {
			fields = append(fields, cases.FieldError{Field: "limit", Message: fmt.Sprintf("must be an integer from 1 to %d", cases.MaxPageLimit)})
		}
		limit = n
	}
	before, err := cases.DecodeCursor(cursor)
	if err != nil {
		fields = append(fields, cases.FieldError{Field: "cursor", Message: "is not a cursor this list returned"})
	}
	if len(fields) > 0 {
		return 0, 0, cases.InvalidFields(fields)
	}
	return limit, before, nil
}

// Get returns one endpoint.
func (s *Service) Get(ctx context.Context, p cases.Principal, id int64) (EndpointView, error) {
	if err := allowed(p); err != nil {
		return EndpointView{}, err
	}
	e, err := models.WebhookEndpointByID(ctx, s.desk.ReadDB(ctx), id, false)
	if errors.Is(err, models.ErrNotFound) {
		return EndpointView{}, cases.NotFound("webhook endpoint")
	}
	if err != nil {
		return EndpointView{}, cases.StoreErr(err)
	}
	return viewOf(e, s.desk.Now()), nil
}

// Disable stops deliveries to an endpoint; it and its delivery log stay. Disabling a disabled
// endpoint changes nothing.
func (s *Service) Disable(ctx context.Context, p cases.Principal, a cases.Actor, id int64) (EndpointView, error) {
	if err := allowed(p); err != nil {
		return EndpointView{}, err
	}
	var out EndpointView
	err := s.desk.DoAnswering(ctx, a, func() any { return out }, func(w *cases.Work) error {
		v, err := disable(w, id)
		out = v
		return err
	})
	return out, err
}

// disable is the one way an endpoint is disabled: by an administrator or by the dispatcher when
// the receiver answers 410 Gone.
func disable(w *cases.Work, id int64) (EndpointView, error) {
	ctx := w.Context()
	e, err := models.WebhookEndpointByID(ctx, w.Tx, id, true)
	if errors.Is(err, models.ErrNotFound) {
		return EndpointView{}, cases.NotFound("webhook endpoint")
	}
	if err != nil {
		return EndpointView{}, err
	}
	if !e.Active {
		return viewOf(e, w.Now), nil
	}
	before := viewOf(e, w.Now)
	e.Active, e.DisabledAt = false, &w.Now
	if err := models.SaveWebhookEndpoint(ctx, w.Tx, &e); err != nil {
		return EndpointView{}, err
	}
	if err := models.FailPendingDeliveries(ctx, w.Tx, e.ID, disabledReason, w.Now); err != nil {
		return EndpointView{}, err
	}
	after := viewOf(e, w.Now)
	return after, w.Audit("webhook.disabled", "webhook_endpoint", e.ID, before, after)
}

// disabledReason is the last error of the deliveries an endpoint's disabling ends.
const disabledReason = "the endpoint was disabled; no further attempt is made"

// RotateSecret gives an endpoint a new secret (drawn when secret is empty), returned once. For
// RotationOverlap the desk signs with both, so the receiver can switch without losing events.
func (s *Service) RotateSecret(ctx context.Context, p cases.Principal, a cases.Actor, id int64, secret string) (CreatedEndpoint, error) {
	if err := allowed(p); err != nil {
		return CreatedEndpoint{}, err
	}
	secret = strings.TrimSpace(secret)
	var key []byte
	var err error
	if secret == "" {
		secret, key, err = NewSecret()
	} else if key, err = ParseSecret(secret); err != nil {
		return CreatedEndpoint{}, cases.Invalid("secret", err.Error())
	}
	if err != nil {
		return CreatedEndpoint{}, err
	}
	sealed, err := s.desk.SealWebhookSecret(key)
	if err != nil {
		return CreatedEndpoint{}, err
	}
	var out CreatedEndpoint
	err = s.desk.DoAnswering(ctx, a, func() any { return out }, func(w *cases.Work) error {
		e, err := models.WebhookEndpointByID(ctx, w.Tx, id, true)
		if errors.Is(err, models.ErrNotFound) {
			return cases.NotFound("webhook endpoint")
		}
		if err != nil {
			return err
		}
		if !e.Active {
			return cases.Invalid("endpoint", "this endpoint is disabled; it signs nothing")
		}
		// The secret being replaced keeps signing for RotationOverlap; one a rotation earlier
		// within its overlap keeps its own end: the receiver may hold either.
		retired, err := retiredSecrets(e, w.Now)
		if err != nil {
			return err
		}
		if len(e.PreviousSecretCiphertext) > 0 && e.PreviousSecretUntil != nil && e.PreviousSecretUntil.After(w.Now) {
			retired = append(retired, retiredSecret{Ciphertext: e.PreviousSecretCiphertext, Until: *e.PreviousSecretUntil})
		}
		if len(retired) >= maxRetiredSecrets {
			return cases.Invalid("secret", fmt.Sprintf("rotated %d times within %s: the older secrets still sign until %s; rotate again after that",
				len(retired)+1, RotationOverlap, retired[0].Until.UTC().Format(time.RFC3339)))
		}
		if retired == nil {
			retired = []retiredSecret{}
		}
		if e.RetiredSecrets, err = json.Marshal(retired); err != nil {
			return err
		}
		until := w.Now.Add(RotationOverlap)
		e.PreviousSecretCiphertext, e.PreviousSecretUntil, e.SecretCiphertext = e.SecretCiphertext, &until, sealed
		if err := models.SaveWebhookEndpoint(ctx, w.Tx, &e); err != nil {
			return err
		}
		out = CreatedEndpoint{EndpointView: viewOf(e, w.Now), Secret: secret}
		return w.Audit("webhook.secret_rotated", "webhook_endpoint", e.ID, nil, out.EndpointView)
	})
	if err != nil {
		return CreatedEndpoint{}, err
	}
	return out, nil
}

// signingKeys returns the keys an endpoint signs with at now: its secret, and its previous one
// while a rotation overlaps.
func (s *Service) signingKeys(e models.WebhookEndpoint, now time.Time) ([][]byte, error) {
	key, err := s.desk.OpenWebhookSecret(e.SecretCiphertext)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{key}
	if len(e.PreviousSecretCiphertext) > 0 && e.PreviousSecretUntil != nil && e.PreviousSecretUntil.After(now) {
		prev, err := s.desk.OpenWebhookSecret(e.PreviousSecretCiphertext)
		if err != nil {
			return nil, err
		}
		keys = append(keys, prev)
	}
	retired, err := retiredSecrets(e, now)
	if err != nil {
		return nil, err
	}
	for _, r := range retired {
		old, err := s.desk.OpenWebhookSecret(r.Ciphertext)
		if err != nil {
			return nil, err
		}
		keys = append(keys, old)
	}
	return keys, nil
}

// retiredSecret is a secret two or more rotations old, still signing until Until.
type retiredSecret struct {
	Ciphertext []byte    `json:"ciphertext"`
	Until      time.Time `json:"until"`
}

// maxRetiredSecrets bounds the secrets a delivery is signed with besides the current and the
// previous one: a rotation that would retire more is refused until the oldest expires.
const maxRetiredSecrets = 3

// retiredSecrets returns e's retired secrets still signing at now, oldest first.
func retiredSecrets(e models.WebhookEndpoint, now time.Time) ([]retiredSecret, error) {
	var all []retiredSecret
	if len(e.RetiredSecrets) > 0 {
		if err := json.Unmarshal(e.RetiredSecrets, &all); err != nil {
			return nil, fmt.Errorf("webhook endpoint %d: retired secrets: %w", e.ID, err)
		}
	}
	live := all[:0]
	for _, r := range all {
		if r.Until.After(now) {
			live = append(live, r)
		}
	}
	return live, nil
}
