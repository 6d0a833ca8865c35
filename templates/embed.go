// Package templates holds the console's html/template pages and static assets, embedded in the
// binary so that giftdesk runs from one file with no CDN.
package templates

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
)

//go:embed layout.html pages/*.html partials/*.html
var pages embed.FS

//go:embed static
var static embed.FS

//go:embed replies/*.txt
var replies embed.FS

// Reply is a reply template a team keeps as a file under replies/: "<case type>.<name>.txt", or
// "any.<name>.txt" for every type. Its first line is its title, the rest its body, in which
// {customer_name}, {ref} and {agent_name} are filled in.
type Reply struct {
	Name, Type, Title, Body string
}

// Replies reads every reply template, sorted by file name. A file not named as above fails.
func Replies() ([]Reply, error) {
	files, err := fs.Glob(replies, "replies/*.txt")
	if err != nil {
		return nil, err
	}
	var out []Reply
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".txt")
		typ, _, ok := strings.Cut(name, ".")
		if !ok || typ == "" {
			return nil, fmt.Errorf("reply template %s: name it <case type>.<name>.txt or any.<name>.txt", f)
		}
		data, err := fs.ReadFile(replies, f)
		if err != nil {
			return nil, err
		}
		title, body, _ := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
		if strings.TrimSpace(title) == "" || strings.TrimSpace(body) == "" {
			return nil, fmt.Errorf("reply template %s: a title line, then the body", f)
		}
		out = append(out, Reply{Name: name, Type: typ, Title: strings.TrimSpace(title), Body: strings.TrimSpace(body) + "\n"})
	}
	return out, nil
}

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

// Parse parses the layout and the partials with each named page, e.g. "home.html": the pages the
// server renders. funcs are the functions pages may call. A page that is missing or fails to parse
// fails the start, and so does an embedded page that is not named, since nothing would ever
// render it.
func Parse(funcs template.FuncMap, names ...string) (Set, error) { return parse(pages, funcs, names) }

func parse(fsys fs.FS, funcs template.FuncMap, names []string) (Set, error) {
	files, err := fs.Glob(fsys, "pages/*.html")
	if err != nil {
		return nil, err
	}
	partials, err := fs.Glob(fsys, "partials/*.html")
	if err != nil {
		return nil, err
	}
	set := Set{}
	for _, name := range names {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, append([]string{"layout.html", "pages/" + name}, partials...)...)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		set[name] = t
	}
	for _, f := range files {
		if _, ok := set[path.Base(f)]; !ok {
			return nil, fmt.Errorf("template %s: no page of the server renders it", path.Base(f))
		}
	}
	return set, nil
}

// Page returns a parsed page by file name, e.g. "home.html"; asking for a page not given to Parse
// is a programming error.
func (s Set) Page(name string) *template.Template {
	t, ok := s[name]
	if !ok {
		panic("templates: no page " + name)
	}
	return t
}
