package models_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsPointOneWay: cmd → handlers → cases → models, and nothing back up (STYLE.md). cases
// knows nothing of HTTP; models, its test helpers included, knows nothing of cases; cases itself
// never imports its sub-packages, which import it.
func TestImportsPointOneWay(t *testing.T) {
	forbidden := func(pkg, imp string) string {
		switch {
		case strings.HasPrefix(pkg, "giftdesk/models") && (strings.HasPrefix(imp, "giftdesk/cases") ||
			strings.HasPrefix(imp, "giftdesk/handlers") || strings.HasPrefix(imp, "giftdesk/cmd")):
			return "models must not import the layers above it"
		case strings.HasPrefix(pkg, "giftdesk/cases") && (strings.HasPrefix(imp, "giftdesk/handlers") ||
			strings.HasPrefix(imp, "giftdesk/cmd") || imp == "net/http" || strings.HasPrefix(imp, "github.com/gin-gonic/")):
			return "cases knows nothing of HTTP"
		case pkg == "giftdesk/cases" && strings.HasPrefix(imp, "giftdesk/cases/"):
			return "cases never imports its sub-packages: they import it"
		case strings.HasPrefix(pkg, "giftdesk/handlers") && strings.HasPrefix(imp, "giftdesk/cmd"):
			return "handlers must not import cmd"
		}
		return ""
	}
	root := ".."
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := "giftdesk"
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		// An external test package (cases_test) stands above its package and may import more.
		if strings.HasSuffix(f.Name.Name, "_test") {
			return nil
		}
		checked++
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if why := forbidden(pkg, imp); why != "" {
				t.Errorf("%s imports %s: %s", path, imp, why)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked: is the walk rooted at the module?", checked)
	}
}
