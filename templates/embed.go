// Package templates holds the console's html/template pages and static assets, embedded in the
// binary so that giftdesk runs from one file with no CDN.
package templates

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
)

//go:embed layout.html pages/*.html
var pages embed.FS

//go:embed static
var static embed.FS

// Static returns the static assets (stylesheet, vendored scripts) rooted at their folder.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the folder is embedded above; its absence is a build error, not a runtime one
	}
	return sub
}

// Set is every page parsed once at start, each with the layout.
type Set map[string]*template.Template

// Parse parses the layout with each page. A page that fails to parse fails the start.
func Parse() (Set, error) {
	names, err := fs.Glob(pages, "pages/*.html")
	if err != nil {
		return nil, err
	}
	set := Set{}
	for _, name := range names {
		t, err := template.New("layout.html").ParseFS(pages, "layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		set[path.Base(name)] = t
	}
	return set, nil
}

// Page returns a parsed page by file name, e.g. "notfound.html"; a missing page is a programming
// error that tests catch.
func (s Set) Page(name string) *template.Template {
	t, ok := s[name]
	if !ok {
		panic("templates: no page " + name)
	}
	return t
}
