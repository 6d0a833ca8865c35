package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// APIToken is a bearer token of a user, stored as a keyed hash of its secret.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Prefix     string // the first characters of the token, shown to tell tokens apart
	SecretHash []byte
	Scopes     StringList
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// TableName names the table.
func (APIToken) TableName() string { return "api_tokens" }

// CreateToken inserts t.
func CreateToken(ctx context.Context, db *gorm.DB, t *APIToken) error {
	return db.WithContext(ctx).Create(t).Error
}

// TokenWithUser is a token joined with its owner, as authentication needs both.
type TokenWithUser struct {
	Token APIToken
	User  User
}

// tokenUserRow is a token and its owner read in one statement: authentication is on every API
// request, and a second round trip for the user would double its cost.
type tokenUserRow struct {
	ID                 int64      `gorm:"column:t_id"`
	Name               string     `gorm:"column:t_name"`
	Prefix             string     `gorm:"column:t_prefix"`
	Scopes             StringList `gorm:"column:t_scopes"`
	CreatedAt          time.Time  `gorm:"column:t_created_at"`
	LastUsedAt         *time.Time `gorm:"column:t_last_used_at"`
	ExpiresAt          *time.Time `gorm:"column:t_expires_at"`
	RevokedAt          *time.Time `gorm:"column:t_revoked_at"`
	UserID             int64      `gorm:"column:u_id"`
	Email              string     `gorm:"column:u_email"`
	UserName           string     `gorm:"column:u_name"`
	Role               string     `gorm:"column:u_role"`
	Active             bool       `gorm:"column:u_active"`
	MustChangePassword bool       `gorm:"column:u_must_change_password"`
	TimeZone           string     `gorm:"column:u_time_zone"`
	Shortcuts          bool       `gorm:"column:u_shortcuts"`
}

// TokenBySecretHash finds a token and its user by the hash of the presented secret, in one
// statement. The user's password hash is not read: a token never needs it.
func TokenBySecretHash(ctx context.Context, db *gorm.DB, hash []byte) (TokenWithUser, error) {
	var rows []tokenUserRow
	err := db.WithContext(ctx).Raw(`SELECT t.id AS t_id, t.name AS t_name, t.prefix AS t_prefix, t.scopes AS t_scopes,
		t.created_at AS t_created_at, t.last_used_at AS t_last_used_at, t.expires_at AS t_expires_at, t.revoked_at AS t_revoked_at,
		u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, u.active AS u_active,
		u.must_change_password AS u_must_change_password, u.time_zone AS u_time_zone, u.shortcuts AS u_shortcuts
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = ? LIMIT 1`, hash).Scan(&rows).Error
	if err != nil {
		return TokenWithUser{}, err
	}
	if len(rows) == 0 {
		return TokenWithUser{}, ErrNotFound
	}
	r := rows[0]
	return TokenWithUser{
		Token: APIToken{ID: r.ID, UserID: r.UserID, Name: r.Name, Prefix: r.Prefix, SecretHash: hash, Scopes: r.Scopes,
			CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt},
		User: User{ID: r.UserID, Email: r.Email, Name: r.UserName, Role: r.Role, Active: r.Active,
			MustChangePassword: r.MustChangePassword, TimeZone: r.TimeZone, Shortcuts: r.Shortcuts},
	}, nil
}

// TouchDue says whether a use of a token last used at lastUsed is to be recorded at now: at most
// once a minute, so that busy integrations do not turn every request into a write.
func TouchDue(lastUsed *time.Time, now time.Time) bool {
	return lastUsed == nil || !lastUsed.After(now.Add(-time.Minute))
}

// TouchToken records a use of the token, at most once a minute so that busy integrations do not
// turn every request into a write.
func TouchToken(ctx context.Context, db *gorm.DB, id int64, now time.Time) error {
	return db.WithContext(ctx).Model(&APIToken{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at <= ?)", id, now.Add(-time.Minute)).
		Update("last_used_at", now).Error
}

// TokenByID finds a token.
func TokenByID(ctx context.Context, db *gorm.DB, id int64) (APIToken, error) {
	var t APIToken
	err := db.WithContext(ctx).Where("id = ?", id).Take(&t).Error
	return t, notFound(err)
}

// RevokeToken marks a token revoked at now, once.
func RevokeToken(ctx context.Context, db *gorm.DB, id int64, now time.Time) error {
	return db.WithContext(ctx).Model(&APIToken{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error
}

// RevokeUserTokens revokes every live token of a user and says how many.
func RevokeUserTokens(ctx context.Context, db *gorm.DB, userID int64, now time.Time) (int64, error) {
	res := db.WithContext(ctx).Model(&APIToken{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now)
	return res.RowsAffected, res.Error
}

// TokenListing is a token as an operator lists it: never its secret's hash.
type TokenListing struct {
	ID         int64
	UserEmail  string
	Name       string
	Prefix     string
	Scopes     StringList
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// ListTokens returns every token, or a user's when userID is not nil, oldest first, with its
// owner's email, in one statement.
func ListTokens(ctx context.Context, db *gorm.DB, userID *int64) ([]TokenListing, error) {
	q := db.WithContext(ctx).Table("api_tokens AS t").
		Select("t.id, u.email AS user_email, t.name, t.prefix, t.scopes, t.created_at, t.last_used_at, t.expires_at, t.revoked_at").
		Joins("JOIN users u ON u.id = t.user_id")
	if userID != nil {
		q = q.Where("t.user_id = ?", *userID)
	}
	var out []TokenListing
	err := q.Order("t.id").Scan(&out).Error
	return out, err
}
