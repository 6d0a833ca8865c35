package modelstest

import (
	"testing"

	"gorm.io/gorm"
)

// Count runs a query that answers one number (a count, a sum, an id) and returns it. A failing
// query fails the test: an invariant read as 0 from a broken query would otherwise hold.
func Count(t testing.TB, db *gorm.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	Scan(t, db, &n, query, args...)
	return n
}

// Scan runs a query into dest, failing the test when the query fails.
func Scan(t testing.TB, db *gorm.DB, dest any, query string, args ...any) {
	t.Helper()
	if err := db.Raw(query, args...).Scan(dest).Error; err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
}

// Exec runs a statement and returns the rows it affected, failing the test when it fails.
func Exec(t testing.TB, db *gorm.DB, query string, args ...any) int64 {
	t.Helper()
	res := db.Exec(query, args...)
	if res.Error != nil {
		t.Fatalf("exec %q: %v", query, res.Error)
	}
	return res.RowsAffected
}
