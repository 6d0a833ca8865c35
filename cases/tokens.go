package cases

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// TokenPrefix starts every API token, so that a leaked one is recognisable (secret scanners, logs).
const TokenPrefix = "gdk_"

// tokenSecretBytes is the random part of a token: 256 bits, so a fast keyed hash is enough to
// store it (no bcrypt per request).
const tokenSecretBytes = 32

// NewToken is the input of CreateToken.
type NewToken struct {
	Email     string  `json:"email" validate:"required,text,max=254"`
	Name      string  `json:"name" validate:"required,text,max=100"`
	Scopes    []Scope `json:"scopes"`
	ExpiresAt *time.Time
}

// TokenView is a token as the desk shows it after creation: never its secret or hash.
type TokenView struct {
	ID        int64      `json:"id,string"`
	UserEmail string     `json:"user"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Scopes    []Scope    `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// LastUsedAt is advisory: written at most once a minute.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// checkToken lists every problem of a new token at once, so that a form shows them all.
func checkToken(in NewToken, now time.Time) error {
	var fields []FieldError
	if err := checkStruct(in); err != nil {
		var invalid *RuleError
		if !errors.As(err, &invalid) {
			return err
		}
		fields = append(fields, invalid.Fields...)
	}
	if len(in.Scopes) == 0 {
		fields = append(fields, FieldError{Field: "scopes", Message: "name at least one scope"})
	}
	for _, s := range in.Scopes {
		if !s.Valid() {
			fields = append(fields, FieldError{Field: "scopes", Message: "unknown scope " + string(s)})
			break
		}
	}
	switch {
	case in.ExpiresAt == nil:
	case !in.ExpiresAt.After(now):
		fields = append(fields, FieldError{Field: "expires_at", Message: "must be in the future"})
	case CheckTimeRange(*in.ExpiresAt) != nil:
		fields = append(fields, FieldError{Field: "expires_at", Message: CheckTimeRange(*in.ExpiresAt).Error()})
	}
	if len(fields) > 0 {
		return InvalidFields(fields)
	}
	return nil
}

// CreateToken creates an API token for the user with in.Email and returns the token in clear,
// once; only its keyed hash is stored. Scopes beyond the user's role are accepted: a token never
// acts beyond its user's current role, which R13 checks on every request.
func (d *Desk) CreateToken(ctx context.Context, a Actor, in NewToken) (string, TokenView, error) {
	if err := a.mayAdminister(); err != nil {
		return "", TokenView{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if err := checkToken(in, d.now()); err != nil {
		return "", TokenView{}, err
	}
	secret := make([]byte, tokenSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", TokenView{}, err
	}
	raw := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	scopes := make(models.StringList, len(in.Scopes))
	for i, s := range in.Scopes {
		scopes[i] = string(s)
	}
	var view TokenView
	err := d.inTx(ctx, func(tx *gorm.DB) error {
		// Built at each attempt: a failed one's id must not be inserted again.
		t := models.APIToken{Name: in.Name, Prefix: raw[:len(TokenPrefix)+6], SecretHash: d.tokenHash(raw),
			Scopes: scopes, ExpiresAt: in.ExpiresAt}
		u, err := models.UserByEmail(ctx, tx, NormalizeEmail(in.Email))
		if errors.Is(err, models.ErrNotFound) {
			return Invalid("email", "no user has this email")
		}
		if err != nil {
			return err
		}
		if !u.Active {
			return Invalid("email", "this user is deactivated")
		}
		t.UserID = u.ID
		t.CreatedAt = d.now()
		if err := models.CreateToken(ctx, tx, &t); err != nil {
			return err
		}
		view = TokenView{ID: t.ID, UserEmail: u.Email, Name: t.Name, Prefix: t.Prefix, Scopes: in.Scopes,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
		return d.audit(ctx, tx, a, "token.created", "api_token", t.ID, nil, view)
	})
	if err != nil {
		return "", TokenView{}, err
	}
	return raw, view, nil
}

func (d *Desk) tokenHash(raw string) []byte {
	m := hmac.New(sha256.New, d.keys.Token)
	m.Write([]byte(raw))
	return m.Sum(nil)
}

// errBadToken is the one answer to every token failure, so that a caller learns nothing about
// which tokens exist.
var errBadToken = &RuleError{Code: CodeUnauthenticated, Message: "missing, invalid, expired or revoked API token"}

// AuthenticateToken returns the principal a bearer token acts as. A revoked or expired token, or
// one whose user is deactivated, is refused at once.
func (d *Desk) AuthenticateToken(ctx context.Context, raw string) (Principal, error) {
	if !strings.HasPrefix(raw, TokenPrefix) || len(raw) > 200 {
		return Principal{}, errBadToken
	}
	tu, err := models.TokenBySecretHash(ctx, d.db, d.tokenHash(raw))
	if errors.Is(err, models.ErrNotFound) {
		return Principal{}, errBadToken
	}
	if err != nil {
		return Principal{}, storeErr(err)
	}
	now := d.now()
	t, u := tu.Token, tu.User
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) || !u.Active {
		return Principal{}, errBadToken
	}
	// Written when due only, so that a busy token costs no statement; a failed touch must not
	// fail the request: last_used_at is advisory.
	if models.TouchDue(t.LastUsedAt, now) {
		_ = models.TouchToken(ctx, d.db, t.ID, now)
	}
	scopes := make([]Scope, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = Scope(s)
	}
	return Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Role: Role(u.Role), Preferences: preferencesOf(u), TokenID: t.ID, Scopes: scopes}, nil
}

// ListTokens returns every API token, or those of the user with email when it is not empty,
// oldest first: ids, owners, names, scopes, last use, expiry and revocation, never a secret.
func (d *Desk) ListTokens(ctx context.Context, email string) ([]TokenView, error) {
	var userID *int64
	if strings.TrimSpace(email) != "" {
		u, err := models.UserByEmail(ctx, d.db, NormalizeEmail(email))
		if errors.Is(err, models.ErrNotFound) {
			return nil, Invalid("email", "no user has this email")
		}
		if err != nil {
			return nil, storeErr(err)
		}
		userID = &u.ID
	}
	rows, err := models.ListTokens(ctx, d.db, userID)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]TokenView, 0, len(rows))
	for _, t := range rows {
		scopes := make([]Scope, len(t.Scopes))
		for i, s := range t.Scopes {
			scopes[i] = Scope(s)
		}
		out = append(out, TokenView{ID: t.ID, UserEmail: t.UserEmail, Name: t.Name, Prefix: t.Prefix, Scopes: scopes,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt})
	}
	return out, nil
}

// RevokeToken stops a token at once and for good.
func (d *Desk) RevokeToken(ctx context.Context, a Actor, id int64) error {
	if err := a.mayAdminister(); err != nil {
		return err
	}
	return d.inTx(ctx, func(tx *gorm.DB) error {
		t, err := models.TokenByID(ctx, tx, id)
		if errors.Is(err, models.ErrNotFound) {
			return Invalid("id", "no token has this id")
		}
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return Invalid("id", "this token is already revoked")
		}
		if err := models.RevokeToken(ctx, tx, id, d.now()); err != nil {
			return err
		}
		return d.audit(ctx, tx, a, "token.revoked", "api_token", id, map[string]any{"name": t.Name, "prefix": t.Prefix},
			map[string]any{"name": t.Name, "prefix": t.Prefix, "revoked": true})
	})
}
