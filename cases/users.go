package cases

import (
	"context"
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
	Email    string `json:"email" validate:"required,max=254,mailbox"`
	Name     string `json:"name" validate:"required,max=200"`
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
	u := models.User{Email: in.Email, Name: in.Name, Role: string(in.Role), PasswordHash: hash,
		Active: true, MustChangePassword: mustChange}
	err = d.inTx(ctx, func(tx *gorm.DB) error {
		now := d.now()
		u.CreatedAt, u.UpdatedAt = now, now
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
