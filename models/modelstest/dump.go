package modelstest

import (
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/models"
)

// Dump returns every row of every table as text, for tests that prove a secret (a claim code)
// was stored nowhere.
func Dump(t testing.TB, db *gorm.DB) string {
	t.Helper()
	var tables []string
	if models.DialectOf(db) == models.Postgres {
		Scan(t, db, &tables, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	} else {
		Scan(t, db, &tables, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Raw(`SELECT * FROM "` + table + `"`).Rows()
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&b, "%s\t", v)
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if len(tables) == 0 {
		t.Fatal("no table to dump")
	}
	return b.String()
}
