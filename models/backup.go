package models

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// BackupSQLite writes a consistent copy of a SQLite database to path with VACUUM INTO. It reads
// in one transaction, so a serving desk's writers go on beside it (WAL) and the copy is the
// database as of one instant. SQLite refuses a path that holds a non-empty file.
func BackupSQLite(ctx context.Context, db *gorm.DB, path string) error {
	if DialectOf(db) != SQLite {
		return errors.New("VACUUM INTO backs up SQLite only")
	}
	return db.WithContext(ctx).Exec(`VACUUM INTO ?`, path).Error
}

// MasterKeyFingerprint returns the fingerprint of the master key the database was first migrated
// with: it names the key without revealing it, so that an operator can match a backup with its key.
func MasterKeyFingerprint(ctx context.Context, db *gorm.DB) (string, error) {
	ok, err := TableExists(ctx, db, "instance_settings")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errNotMigrated
	}
	var stored []string
	if err := db.WithContext(ctx).Raw(`SELECT value FROM instance_settings WHERE name = 'master_key_fingerprint'`).
		Scan(&stored).Error; err != nil {
		return "", err
	}
	if len(stored) == 0 {
		return "", errNotMigrated
	}
	return stored[0], nil
}
