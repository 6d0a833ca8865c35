package templates

import (
	"strings"
	"testing"
	"testing/fstest"
)

var testPages = fstest.MapFS{
	"layout.html":     {Data: []byte(`<main>{{block "content" .}}{{end}}</main>`)},
	"pages/home.html": {Data: []byte(`{{define "content"}}home{{end}}`)},
	"pages/user.html": {Data: []byte(`{{define "content"}}{{.Name}}{{end}}`)},
}

func TestParseNamedPages(t *testing.T) {
	set, err := parse(testPages, nil, []string{"home.html", "user.html"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := set.Page("user.html").Execute(&b, struct{ Name string }{"Ada"}); err != nil || b.String() != "<main>Ada</main>" {
		t.Fatalf("user.html rendered %q, %v", b.String(), err)
	}
}

// TestParseRefusesAMissingPage: a page the server renders but the binary lacks stops the start,
// not the first request for it.
func TestParseRefusesAMissingPage(t *testing.T) {
	_, err := parse(testPages, nil, []string{"home.html", "user.html", "users.html"})
	if err == nil || !strings.Contains(err.Error(), "users.html") {
		t.Fatalf("missing page: err = %v", err)
	}
}

// TestParseRefusesAnUndeclaredPage: a page nobody renders is dead code, and most often a typo in
// the name of one that is rendered.
func TestParseRefusesAnUndeclaredPage(t *testing.T) {
	_, err := parse(testPages, nil, []string{"home.html"})
	if err == nil || !strings.Contains(err.Error(), "user.html") {
		t.Fatalf("undeclared page: err = %v", err)
	}
}

func TestParseRefusesABrokenPage(t *testing.T) {
	broken := fstest.MapFS{"layout.html": testPages["layout.html"], "pages/home.html": {Data: []byte(`{{define "content"}}{{.Name}`)}}
	if _, err := parse(broken, nil, []string{"home.html"}); err == nil || !strings.Contains(err.Error(), "home.html") {
		t.Fatalf("broken page: err = %v", err)
	}
}
