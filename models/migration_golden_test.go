package models

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the migrations' golden SQL in testdata/")

// goldenFingerprint stands for the master key's fingerprint, the one input of a migration besides
// the dialect.
const goldenFingerprint = "golden-fingerprint"

// TestMigrationsRenderTheirGoldenSQL pins the SQL each migration runs on each database. A
// released migration has run somewhere as it was: when this fails after editing a shared helper
// (Dialect.ddl, onlyChars, appendOnlyDDL, sqlList, redacted…), give the old migration its own copy
// of the helper as it was, rather than rewriting the golden file. A new migration gets its file
// with `go test ./models/ -run TestMigrationsRenderTheirGoldenSQL -update`.
func TestMigrationsRenderTheirGoldenSQL(t *testing.T) {
	want := map[string]bool{}
	for _, m := range migrations {
		for _, d := range []Dialect{Postgres, SQLite} {
			name := m.id + "." + string(d) + ".golden"
			want[name] = true
			got := renderMigration(m, d)
			path := filepath.Join("testdata", name)
			if *updateGolden {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("migration %s on %s: %v (a new migration? run with -update)", m.id, d, err)
				continue
			}
			if string(golden) != got {
				t.Errorf("migration %s renders other SQL on %s than it did when released (%s):\n%s", m.id, d, path, firstDifference(string(golden), got))
			}
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("%s belongs to no migration: a released migration is never removed", f)
		}
	}
}

// renderMigration is the SQL migration m runs on dialect d, one statement after the other.
func renderMigration(m migration, d Dialect) string {
	var b strings.Builder
	for i, stmt := range m.statements(d, goldenFingerprint) {
		fmt.Fprintf(&b, "-- %s on %s, statement %d\n%s;\n\n", m.id, d, i+1, stmt)
	}
	return b.String()
}

// firstDifference shows the first line where two renderings part.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d\n  released: %s\n  now:      %s", i+1, wl, gl)
		}
	}
	return "(identical)"
}
