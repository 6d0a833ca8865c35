package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// CustomerAccount is a retailer account, or one of the system accounts (is_system, no marketplace).
type CustomerAccount struct {
	ID          int64
	AccountID   string
	IsSystem    bool
	Marketplace *string
	Email       *string
	Name        *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AccountByAccountID finds an account by the retailer's id.
func AccountByAccountID(ctx context.Context, db *gorm.DB, accountID string) (CustomerAccount, error) {
	var a CustomerAccount
	err := db.WithContext(ctx).Where("account_id = ?", accountID).Take(&a).Error
	return a, notFound(err)
}

// InsertAccount writes a new customer account.
func InsertAccount(ctx context.Context, db *gorm.DB, a *CustomerAccount) error {
	return db.WithContext(ctx).Create(a).Error
}

// UpdateAccountContact writes a newer email and name.
func UpdateAccountContact(ctx context.Context, db *gorm.DB, id int64, email, name *string, now time.Time) error {
	return db.WithContext(ctx).Model(&CustomerAccount{}).Where("id = ?", id).
		Updates(map[string]any{"email": email, "name": name, "updated_at": now}).Error
}

// AccountByID finds an account by its row id.
func AccountByID(ctx context.Context, db *gorm.DB, id int64) (CustomerAccount, error) {
	var a CustomerAccount
	err := db.WithContext(ctx).Where("id = ?", id).Take(&a).Error
	return a, notFound(err)
}

// AccountsByID returns the accounts with the given ids, by id.
func AccountsByID(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]CustomerAccount, error) {
	var list []CustomerAccount
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&list).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]CustomerAccount, len(list))
	for _, a := range list {
		out[a.ID] = a
	}
	return out, nil
}
