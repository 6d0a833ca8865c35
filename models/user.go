package models

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// User is a person who signs in: an agent, a supervisor or an admin.
type User struct {
	ID                 int64
	Email              string // lower-cased
	Name               string
	Role               string
	PasswordHash       string
	Active             bool
	MustChangePassword bool
	TimeZone           string `gorm:"default:UTC"`  // an IANA zone name the console shows times in
	Shortcuts          bool   `gorm:"default:true"` // keyboard shortcuts on in the console
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// ErrNotFound is returned by lookups that find nothing; never (nil, nil).
var ErrNotFound = errors.New("record not found")

// CreateUser inserts u. A taken email (in any letter case) is a unique violation.
func CreateUser(ctx context.Context, db *gorm.DB, u *User) error {
	return db.WithContext(ctx).Create(u).Error
}

// UserByEmail finds a user by lower-cased email. A string no email can be (a NUL byte, invalid
// UTF-8, which PostgreSQL refuses as an error) finds no one rather than failing the statement.
func UserByEmail(ctx context.Context, db *gorm.DB, email string) (User, error) {
	var u User
	if !utf8.ValidString(email) || strings.ContainsRune(email, 0) {
		return u, ErrNotFound
	}
	err := db.WithContext(ctx).Where("email = ?", email).Take(&u).Error
	return u, notFound(err)
}

// UserByID finds a user by id.
func UserByID(ctx context.Context, db *gorm.DB, id int64) (User, error) {
	var u User
	err := db.WithContext(ctx).Where("id = ?", id).Take(&u).Error
	return u, notFound(err)
}

// UserEmails returns the emails of the users with the given ids, by id, in one statement: the
// batch a list page loads instead of a query per row.
func UserEmails(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]string, error) {
	return columnByID(ctx, db, &User{}, "email", ids)
}

// CountUsers returns how many users exist.
func CountUsers(ctx context.Context, db *gorm.DB) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, err
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// UpdateUser writes the given columns of user id. A map, not a struct, so that false and empty
// values are written too.
func UpdateUser(ctx context.Context, db *gorm.DB, id int64, changes map[string]any) error {
	res := db.WithContext(ctx).Model(&User{}).Where("id = ?", id).Updates(changes)
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// ListUsers returns every user, by email.
func ListUsers(ctx context.Context, db *gorm.DB) ([]User, error) {
	var out []User
	err := db.WithContext(ctx).Order("email").Find(&out).Error
	return out, err
}
