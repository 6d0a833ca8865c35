package cases

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"giftdesk/models"
)

// ErrLastActiveAdmin refuses a change that would leave the desk without an active admin: nobody
// could then manage users or tokens without the command line.
var ErrLastActiveAdmin = &RuleError{Code: CodeValidationFailed,
	Message: "the desk must keep at least one active admin: make another user admin first"}

// keepsAnActiveAdmin refuses changes that take u out of the active admins when u is the last
// one. The active admins' rows stay locked until the transaction ends, so two admins demoting
// each other at the same moment cannot both pass (SQLite's immediate transaction serialises).
func keepsAnActiveAdmin(ctx context.Context, tx *gorm.DB, u models.User, changes map[string]any) error {
	if Role(u.Role) != RoleAdmin || !u.Active {
		return nil
	}
	active, _ := changes["active"].(bool)
	_, activeChanged := changes["active"]
	role, roleChanged := changes["role"].(string)
	if !(activeChanged && !active) && !(roleChanged && Role(role) != RoleAdmin) {
		return nil
	}
	ids, err := models.LockActiveUsersOfRole(ctx, tx, string(RoleAdmin))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id != u.ID {
			return nil
		}
	}
	return ErrLastActiveAdmin
}

// mayAdminister is the one check of every change to users and tokens: the command line and the
// desk itself (the bootstrap admin, the demo) may; a person only with the admin role, whatever
// route or form brought the request.
func (a Actor) mayAdminister() error {
	if a.Principal != nil {
		return a.Principal.RequireRole(RoleAdmin)
	}
	if a.Kind == CLIActor.Kind || a.Kind == "system" {
		return nil
	}
	return ErrForbidden
}

// AddUserWithOneTimePassword creates a user with a password the desk draws (128 bits, as the
// bootstrap admin's) and returns it, to be shown once: the user must replace it at first sign-in.
func (d *Desk) AddUserWithOneTimePassword(ctx context.Context, a Actor, in NewUser) (UserView, string, error) {
	in.Password = randomPassword()
	u, err := d.addUser(ctx, a, in, true)
	if err != nil {
		return UserView{}, "", err
	}
	return u, in.Password, nil
}

// ResetOneTimePassword is ResetPassword with a password the desk draws, returned to be shown
// once; the user's sessions end and they choose their own at next sign-in.
func (d *Desk) ResetOneTimePassword(ctx context.Context, a Actor, email string) (UserView, string, error) {
	pw := randomPassword()
	u, err := d.ResetPassword(ctx, a, email, pw)
	if err != nil {
		return UserView{}, "", err
	}
	return u, pw, nil
}

// UserForAdmin returns one user by id, for an administrator.
func (d *Desk) UserForAdmin(ctx context.Context, p Principal, id int64) (UserView, error) {
	if err := p.RequireRole(RoleAdmin); err != nil {
		return UserView{}, err
	}
	u, err := models.UserByID(ctx, d.db, id)
	if errors.Is(err, models.ErrNotFound) {
		return UserView{}, NotFound("user")
	}
	if err != nil {
		return UserView{}, storeErr(err)
	}
	return userView(u), nil
}

// AdminToken is a token as the admin console lists it: its owner's name and role too, and the
// scopes that role does not reach (a token never acts beyond its user's role, R13).
type AdminToken struct {
	TokenView
	OwnerName  string
	OwnerRole  Role
	BeyondRole []Scope
}

// TokenQuery pages the admin's token list, newest first; Cursor and Limit as in the API.
type TokenQuery struct {
	Cursor, Limit string
}

// ListTokenPage returns a page of every user's tokens, newest first, owners loaded in the same
// statement, for an administrator.
func (d *Desk) ListTokenPage(ctx context.Context, p Principal, q TokenQuery) (Page[AdminToken], error) {
	if err := p.RequireRole(RoleAdmin); err != nil {
		return Page[AdminToken]{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return Page[AdminToken]{}, err
	}
	before, err := DecodeCursor(q.Cursor)
	if err != nil {
		return Page[AdminToken]{}, err
	}
	rows, err := models.TokenPage(ctx, d.db, before, limit+1)
	if err != nil {
		return Page[AdminToken]{}, storeErr(err)
	}
	page := Page[AdminToken]{Data: make([]AdminToken, 0, len(rows))}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = EncodeCursor(rows[len(rows)-1].ID)
	}
	for _, t := range rows {
		page.Data = append(page.Data, adminToken(t))
	}
	return page, nil
}

// TokenForAdmin returns one token by id with its owner, for an administrator's confirmation.
func (d *Desk) TokenForAdmin(ctx context.Context, p Principal, id int64) (AdminToken, error) {
	if err := p.RequireRole(RoleAdmin); err != nil {
		return AdminToken{}, err
	}
	t, err := models.TokenRowByID(ctx, d.db, id)
	if errors.Is(err, models.ErrNotFound) {
		return AdminToken{}, NotFound("token")
	}
	if err != nil {
		return AdminToken{}, storeErr(err)
	}
	return adminToken(t), nil
}

func adminToken(t models.TokenRow) AdminToken {
	owner := Role(t.UserRole)
	v := AdminToken{TokenView: TokenView{ID: t.ID, UserEmail: t.UserEmail, Name: t.Name, Prefix: t.Prefix,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt},
		OwnerName: t.UserName, OwnerRole: owner}
	for _, s := range t.Scopes {
		v.Scopes = append(v.Scopes, Scope(s))
		if !owner.Includes(Scope(s).MinimumRole()) {
			v.BeyondRole = append(v.BeyondRole, Scope(s))
		}
	}
	return v
}
