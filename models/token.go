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

// TokenBySecretHash finds a token and its user by the hash of the presented secret.
func TokenBySecretHash(ctx context.Context, db *gorm.DB, hash []byte) (TokenWithUser, error) {
	var out TokenWithUser
	if err := db.WithContext(ctx).Where("secret_hash = ?", hash).Take(&out.Token).Error; err != nil {
		return out, notFound(err)
	}
	u, err := UserByID(ctx, db, out.Token.UserID)
	out.User = u
	return out, err
}

// TouchToken records a use of the token, at most once a minute so that busy integrations do not
// turn every request into a write.
func TouchToken(ctx context.Context, db *gorm.DB, id int64, now time.Time) error {
	return db.WithContext(ctx).Model(&APIToken{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, now.Add(-time.Minute)).
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
