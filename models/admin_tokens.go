package models

import (
	"context"

	"gorm.io/gorm"
)

// TokenRow is a token as the admin console lists it: with its owner's email, name and role.
type TokenRow struct {
	TokenListing
	UserName string
	UserRole string
}

func tokenRows(ctx context.Context, db *gorm.DB) *gorm.DB {
	return db.WithContext(ctx).Table("api_tokens AS t").
		Select("t.id, u.email AS user_email, u.name AS user_name, u.role AS user_role, t.name, t.prefix, t.scopes, " +
			"t.created_at, t.last_used_at, t.expires_at, t.revoked_at").
		Joins("JOIN users u ON u.id = t.user_id")
}

// TokenPage returns up to limit tokens of every user, newest first, older than beforeID when it
// is not 0, owners joined in the same statement.
func TokenPage(ctx context.Context, db *gorm.DB, beforeID int64, limit int) ([]TokenRow, error) {
	q := tokenRows(ctx, db)
	if beforeID > 0 {
		q = q.Where("t.id < ?", beforeID)
	}
	var out []TokenRow
	err := q.Order("t.id DESC").Limit(limit).Scan(&out).Error
	return out, err
}

// TokenRowByID finds one token with its owner.
func TokenRowByID(ctx context.Context, db *gorm.DB, id int64) (TokenRow, error) {
	var out []TokenRow
	if err := tokenRows(ctx, db).Where("t.id = ?", id).Limit(1).Scan(&out).Error; err != nil {
		return TokenRow{}, err
	}
	if len(out) == 0 {
		return TokenRow{}, ErrNotFound
	}
	return out[0], nil
}

// LockActiveUsersOfRole returns the ids of the active users of role, their rows locked until the
// transaction ends (see ForUpdate).
func LockActiveUsersOfRole(ctx context.Context, tx *gorm.DB, role string) ([]int64, error) {
	var ids []int64
	err := ForUpdate(tx.WithContext(ctx).Model(&User{})).Where("role = ? AND active = ?", role, true).Order("id").Pluck("id", &ids).Error
	return ids, err
}
