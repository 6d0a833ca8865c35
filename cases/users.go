package cases

import (
	"context"
	"errors"
	"maps"
	"strings"

	"gorm.io/gorm"

	"giftdesk/models"
)

// BootstrapAdminEmail is the admin created on first start when the desk has no user.
const BootstrapAdminEmail = "admin@localhost"

// ErrEmailTaken refuses a second user with an email already in use, in any letter case.
var ErrEmailTaken = Invalid("email", "a user with this email already exists")

// NewUser is the input of AddUser.
type NewUser struct {
	Email    string `json:"email" validate:"required,text,max=254,mailbox"`
	Name     string `json:"name" validate:"required,text,max=200"`
	Role     Role   `json:"role" validate:"required"`
	Password string `json:"-"`
}

// UserView is a user as the desk shows it: never the password hash.
type UserView struct {
	ID     int64  `json:"id,string"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	Active bool   `json:"active"`
}

func userView(u models.User) UserView {
	return UserView{ID: u.ID, Email: u.Email, Name: u.Name, Role: Role(u.Role), Active: u.Active}
}

// NormalizeEmail returns the form emails are stored and compared in: trimmed, lower-cased.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// AddUser creates a user with an argon2id password hash. The email is unique in any letter case.
func (d *Desk) AddUser(ctx context.Context, a Actor, in NewUser) (UserView, error) {
	return d.addUser(ctx, a, in, false)
}

func (d *Desk) addUser(ctx context.Context, a Actor, in NewUser, mustChange bool) (UserView, error) {
	if err := a.mayAdminister(); err != nil {
		return UserView{}, err
	}
	in.Email = NormalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	if err := checkStruct(in); err != nil {
		return UserView{}, err
	}
	if !in.Role.Valid() {
		return UserView{}, Invalid("role", "must be one of agent, supervisor, admin")
	}
	if err := CheckPasswordPolicy(in.Password); err != nil {
		return UserView{}, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return UserView{}, err
	}
	var u models.User
	err = d.inTx(ctx, func(tx *gorm.DB) error {
		// Built at each attempt: a failed one's id must not be inserted again.
		now := d.now()
		u = models.User{Email: in.Email, Name: in.Name, Role: string(in.Role), PasswordHash: hash,
			Active: true, MustChangePassword: mustChange, CreatedAt: now, UpdatedAt: now}
		if err := models.CreateUser(ctx, tx, &u); err != nil {
			if models.IsUniqueViolation(err) {
				return ErrEmailTaken
			}
			return err
		}
		return d.audit(ctx, tx, a, "user.created", "user", u.ID, nil, userView(u))
	})
	if err != nil {
		return UserView{}, err
	}
	return userView(u), nil
}

// EnsureBootstrapAdmin creates admin@localhost with a random password when the desk has no user
// at all, and returns that password (to be shown once). created is false when users exist, also
// when another server created the admin a moment earlier.
func (d *Desk) EnsureBootstrapAdmin(ctx context.Context) (password string, created bool, err error) {
	n, err := models.CountUsers(ctx, d.db)
	if err != nil || n > 0 {
		return "", false, storeErr(err)
	}
	password = randomPassword()
	_, err = d.addUser(ctx, Actor{Kind: "system"}, NewUser{Email: BootstrapAdminEmail, Name: "Administrator",
		Role: RoleAdmin, Password: password}, true)
	if err != nil {
		// Another server starting at the same moment may have created it first.
		if n, cerr := models.CountUsers(ctx, d.db); cerr == nil && n > 0 {
			return "", false, nil
		}
		return "", false, err
	}
	return password, true, nil
}

// userByEmail finds a user for an administrative command, as a validation error when unknown.
func userByEmail(ctx context.Context, tx *gorm.DB, email string) (models.User, error) {
	u, err := models.UserByEmail(ctx, tx, NormalizeEmail(email))
	if errors.Is(err, models.ErrNotFound) {
		return u, Invalid("email", "no user has this email")
	}
	return u, err
}

// updateUser applies changes to the user with email in one audited transaction. endSessions
// signs the user out everywhere.
func (d *Desk) updateUser(ctx context.Context, a Actor, email, action string, changes map[string]any, endSessions bool) (UserView, error) {
	if err := a.mayAdminister(); err != nil {
		return UserView{}, err
	}
	var after UserView
	err := d.inTx(ctx, func(tx *gorm.DB) error {
		u, err := userByEmail(ctx, tx, email)
		if err != nil {
			return err
		}
		before := userView(u)
		if err := keepsAnActiveAdmin(ctx, tx, u, changes); err != nil {
			return err
		}
		// A copy: this may run again, and the caller's map is not ours to write.
		changes := maps.Clone(changes)
		changes["updated_at"] = d.now()
		if err := models.UpdateUser(ctx, tx, u.ID, changes); err != nil {
			return err
		}
		if endSessions {
			if err := models.DeleteUserSessions(ctx, tx, u.ID, nil); err != nil {
				return err
			}
		}
		revoked := int64(0)
		if action == "user.deactivated" {
			// Reactivation must not bring old secrets back to life: a returning user gets new tokens.
			if revoked, err = models.RevokeUserTokens(ctx, tx, u.ID, d.now()); err != nil {
				return err
			}
		}
		if u, err = models.UserByID(ctx, tx, u.ID); err != nil {
			return err
		}
		after = userView(u)
		if revoked > 0 {
			return d.audit(ctx, tx, a, action, "user", u.ID, before, map[string]any{"user": after, "tokens_revoked": revoked})
		}
		return d.audit(ctx, tx, a, action, "user", u.ID, before, after)
	})
	return after, err
}

// DeactivateUser stops a user at once: their sessions end and their tokens are revoked.
func (d *Desk) DeactivateUser(ctx context.Context, a Actor, email string) (UserView, error) {
	return d.updateUser(ctx, a, email, "user.deactivated", map[string]any{"active": false}, true)
}

// ReactivateUser lets a deactivated user sign in again.
func (d *Desk) ReactivateUser(ctx context.Context, a Actor, email string) (UserView, error) {
	return d.updateUser(ctx, a, email, "user.reactivated", map[string]any{"active": true}, false)
}

// SetUserRole changes a user's role; it takes effect on their next request, tokens included.
func (d *Desk) SetUserRole(ctx context.Context, a Actor, email string, role Role) (UserView, error) {
	if !role.Valid() {
		return UserView{}, Invalid("role", "must be one of agent, supervisor, admin")
	}
	return d.updateUser(ctx, a, email, "user.role_changed", map[string]any{"role": string(role)}, false)
}

// ResetPassword sets a new password chosen by an administrator; the user must replace it at their
// next sign-in, and their sessions end.
func (d *Desk) ResetPassword(ctx context.Context, a Actor, email, password string) (UserView, error) {
	if err := CheckPasswordPolicy(password); err != nil {
		return UserView{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return UserView{}, err
	}
	return d.updateUser(ctx, a, email, "user.password_reset", map[string]any{"password_hash": hash, "must_change_password": true}, true)
}

// ListUsers returns every user, for administrators.
func (d *Desk) ListUsers(ctx context.Context, p Principal) ([]UserView, error) {
	if err := p.RequireRole(RoleAdmin); err != nil {
		return nil, err
	}
	users, err := models.ListUsers(ctx, d.db)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]UserView, len(users))
	for i, u := range users {
		out[i] = userView(u)
	}
	return out, nil
}

// PrincipalByEmail returns the principal of an active user, for commands that act as one (demo
// data); it carries every right of the user's role.
func (d *Desk) PrincipalByEmail(ctx context.Context, email string) (Principal, error) {
	u, err := models.UserByEmail(ctx, d.db, NormalizeEmail(email))
	if err != nil || !u.Active {
		return Principal{}, Invalid("email", "no active user has this email")
	}
	return Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Role: Role(u.Role), Preferences: preferencesOf(u)}, nil
}

// HasNoCases reports whether the desk holds no case yet.
func (d *Desk) HasNoCases(ctx context.Context) (bool, error) {
	page, err := models.ListCases(ctx, d.db, models.CaseFilter{Limit: 1})
	return len(page) == 0, storeErr(err)
}
