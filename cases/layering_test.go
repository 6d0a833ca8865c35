package cases_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCasesWriteNoQueries: queries live in models, one function each, so that a rule's SQL is
// never written twice (STYLE 8). cases calls them; it builds no query of its own.
func TestCasesWriteNoQueries(t *testing.T) {
	builder := regexp.MustCompile(`\.(Raw|Where|Table|Model|Exec|Pluck|Joins)\(`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if builder.MatchString(line) {
				t.Errorf("%s:%d builds a query; call a models function: %s", name, i+1, strings.TrimSpace(line))
			}
		}
	}
}
