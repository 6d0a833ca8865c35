package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// ErrWrongMasterKey means the database was first migrated under another master key: claim-code
// look-ups would silently stop matching, so nothing may run.
var ErrWrongMasterKey = errors.New("the master key does not match the one this database was created with " +
	"(set GIFTDESK_SECRET_KEY or GIFTDESK_DATA_DIR to the original key)")

// MigrationIDs lists every migration in order.
func MigrationIDs() []string {
	ids := make([]string, 0, len(migrations))
	for _, m := range migrations {
		ids = append(ids, m.id)
	}
	return ids
}

// migration is one versioned step. Each declares the SQL it needs as it was written then, so old
// migrations never depend on today's Go structs.
type migration struct {
	id string
	// statements returns the DDL for dialect d; fingerprint is the master key's fingerprint.
	statements func(d Dialect, fingerprint string) []string
}

// migrations is the ordered list. Append only: a released migration is never edited.
var migrations = []migration{
	{id: "0001_foundation", statements: foundation},
	{id: "0002_identity", statements: identity},
	{id: "0003_idempotency", statements: idempotency},
	{id: "0004_search", statements: search},
	{id: "0005_card_freeze", statements: cardFreeze},
	{id: "0006_idempotency_answers_only", statements: idempotencyAnswersOnly},
	{id: "0007_user_preferences", statements: userPreferences},
	{id: "0008_open_case_dues", statements: openCaseDues},
	{id: "0009_evidence_to_verify", statements: evidenceToVerify},
	{id: "0010_report_ranges", statements: reportRanges},
	{id: "0011_case_changes", statements: caseChanges},
	{id: "0012_webhook_dispatch", statements: webhookDispatch},
	{id: "0013_webhook_fanout_cursor", statements: webhookFanoutCursor},
	{id: "0014_search_by_shape", statements: searchByShape},
	{id: "0015_balance_checkpoints", statements: balanceCheckpoints},
	{id: "0016_queues_at_scale", statements: queuesAtScale},
}

// Migrate applies pending migrations in one transaction, after checking that the database
// belongs to fingerprint's master key. A second run is a no-op. It is safe to call from several
// servers at once.
func Migrate(ctx context.Context, db *gorm.DB, fingerprint string) error {
	if fingerprint == "" {
		return errors.New("migrate: empty master key fingerprint")
	}
	return WithMigrationLock(ctx, db, func(conn *gorm.DB) error {
		if err := CheckMasterKey(ctx, conn, fingerprint); err != nil && !errors.Is(err, errNotMigrated) {
			return err
		}
		// DDL runs without gorm's prepared-statement cache: each statement runs once.
		plain := conn.Session(&gorm.Session{PrepareStmt: false, NewDB: true, Context: ctx})
		d := DialectOf(conn)
		list := make([]*gormigrate.Migration, 0, len(migrations))
		for _, m := range migrations {
			m := m
			list = append(list, &gormigrate.Migration{ID: m.id, Migrate: func(tx *gorm.DB) error {
				for _, stmt := range m.statements(d, fingerprint) {
					if err := tx.Exec(stmt).Error; err != nil {
						return fmt.Errorf("migration %s: %w (in: %s)", m.id, err, firstLine(stmt))
					}
				}
				return nil
			}})
		}
		g := gormigrate.New(plain, &gormigrate.Options{
			TableName:                 "schema_migrations",
			IDColumnName:              "id",
			IDColumnSize:              255,
			UseTransaction:            true,
			ValidateUnknownMigrations: true,
		}, list)
		if err := g.Migrate(); err != nil {
			if errors.Is(err, gormigrate.ErrUnknownPastMigration) {
				return errors.New("the database has migrations this build does not know: it was migrated by a newer giftdesk")
			}
			return err
		}
		return CheckMasterKey(ctx, conn, fingerprint)
	})
}

var errNotMigrated = errors.New("database not migrated yet")

// CheckMasterKey compares fingerprint with the one stored at the first migration.
func CheckMasterKey(ctx context.Context, db *gorm.DB, fingerprint string) error {
	stored, err := MasterKeyFingerprint(ctx, db)
	if err != nil {
		return err
	}
	if stored != fingerprint {
		return ErrWrongMasterKey
	}
	return nil
}

// Pending returns the ids of migrations not yet applied.
func Pending(ctx context.Context, db *gorm.DB) ([]string, error) {
	ok, err := TableExists(ctx, db, "schema_migrations")
	if err != nil {
		return nil, err
	}
	if !ok {
		return MigrationIDs(), nil
	}
	var done []string
	if err := db.WithContext(ctx).Raw(`SELECT id FROM schema_migrations`).Scan(&done).Error; err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, id := range done {
		have[id] = true
	}
	var pending []string
	for _, id := range MigrationIDs() {
		if !have[id] {
			pending = append(pending, id)
		}
	}
	return pending, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// sqlList renders values as a SQL IN list: 'a', 'b'.
func sqlList(values ...string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(quoted, ", ")
}

// SchemaHash identifies the schema the migrations build for dialect d, so that a test template
// database is rebuilt whenever a migration's text changes.
func SchemaHash(d Dialect, fingerprint string) string {
	h := sha256.New()
	for _, m := range migrations {
		h.Write([]byte(m.id))
		for _, s := range m.statements(d, fingerprint) {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
