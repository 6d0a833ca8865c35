package templates

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
)

// Assets names each static file by its content: /static/giftdesk.3f2a9c1b0d.css. A browser may
// keep such a URL for a year, since a new content is a new URL; the page always names the current
// one through the template function asset.
type Assets struct {
	url  map[string]string // "giftdesk.css" → "/static/giftdesk.3f2a9c1b0d.css"
	file map[string]string // "giftdesk.3f2a9c1b0d.css" → "giftdesk.css"
}

// LoadAssets hashes every static file once, at start.
func LoadAssets() (*Assets, error) { return loadAssets(Static()) }

func loadAssets(fsys fs.FS) (*Assets, error) {
	a := &Assets{url: map[string]string{}, file: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		a.url[name], a.file[hashed] = "/static/"+hashed, name
		return nil
	})
	return a, err
}

// URL is the content-named URL of a static file; a name that is not embedded is a programming
// error the page test finds, so it panics.
func (a *Assets) URL(name string) string {
	u, ok := a.url[name]
	if !ok {
		panic("templates: no static file " + name)
	}
	return u
}

// Resolve maps a requested static path (without /static/) to its file: by content name (hashed
// true: cache it for good), or by plain name (hashed false: revalidate).
func (a *Assets) Resolve(requested string) (name string, hashed bool, ok bool) {
	if f, found := a.file[requested]; found {
		return f, true, true
	}
	if _, found := a.url[requested]; found {
		return requested, false, true
	}
	return "", false, false
}
