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
