package models

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Helpers only the tests of package models_test need: they reach unexported queries, or name
// a refusal no code path of the desk can meet.

// CaseListSQL renders the list query of f with its arguments inlined, for EXPLAIN in tests.
func CaseListSQL(db *gorm.DB, f CaseFilter) string {
	return db.ToSQL(func(tx *gorm.DB) *gorm.DB { return caseListQuery(tx, f).Find(&[]Case{}) })
}

// CaseCountSQL renders the statement of CountCases for filters.
func CaseCountSQL(db *gorm.DB, filters []CaseFilter, upTo int64) string {
	return db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var sink []map[string]any
		return caseCountQuery(tx, filters, upTo).Scan(&sink)
	})
}

// CaseListStatement renders the list query of f with PostgreSQL placeholders and its arguments,
// for tests that PREPARE it as the driver does.
func CaseListStatement(db *gorm.DB, f CaseFilter) (string, []any) {
	stmt := caseListQuery(db.Session(&gorm.Session{DryRun: true}), f).Find(&[]Case{}).Statement
	return stmt.SQL.String(), stmt.Vars
}

// IsAppendOnlyViolation reports the refusal of R9's triggers.
func IsAppendOnlyViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23001" {
		return true
	}
	return sqliteCode(err, "is append-only (R9)")
}

// MigrateBefore applies the migrations that precede id, as a desk built before it has them, so
// that a test can write rows the old way and then run the rest.
func MigrateBefore(ctx context.Context, db *gorm.DB, fingerprint, id string) error {
	all := migrations
	defer func() { migrations = all }()
	for i, m := range all {
		if m.id == id {
			migrations = all[:i]
			return Migrate(ctx, db, fingerprint)
		}
	}
	return errors.New("no migration " + id)
}
