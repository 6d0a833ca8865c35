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
	etag map[string]string // "giftdesk.css" → `"3f2a9c1b0d"`
}

// LoadAssets hashes every static file once, at start.
func LoadAssets() (*Assets, error) { return loadAssets(Static()) }

func loadAssets(fsys fs.FS) (*Assets, error) {
	a := &Assets{url: map[string]string{}, file: map[string]string{}, etag: map[string]string{}}
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
		a.url[name], a.file[hashed], a.etag[name] = "/static/"+hashed, name, `"`+hex.EncodeToString(sum[:5])+`"`
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

// Resolve maps a requested static path (without /static/) to its file: by its current content
// name (hashed true: cache it for good), or by plain name or a content name of an older or wrong
// content (hashed false: revalidate). A page of the previous release asking during a rolling
// deploy still gets a stylesheet, but never one cached for a year under a name it does not match.
func (a *Assets) Resolve(requested string) (name string, hashed bool, ok bool) {
	if f, found := a.file[requested]; found {
		return f, true, true
	}
	if _, found := a.url[requested]; found {
		return requested, false, true
	}
	if plain, found := withoutHash(requested); found {
		if _, found := a.url[plain]; found {
			return plain, false, true
		}
	}
	return "", false, false
}

// ETag is the entity tag of a static file's current content.
func (a *Assets) ETag(name string) string { return a.etag[name] }

// withoutHash turns "giftdesk.0123456789.css" into "giftdesk.css" when the segment before the
// extension has the shape of a content hash.
func withoutHash(name string) (string, bool) {
	ext := path.Ext(name)
	rest := strings.TrimSuffix(name, ext)
	i := strings.LastIndex(rest, ".")
	if i < 0 || len(rest)-i-1 != 10 {
		return "", false
	}
	if _, err := hex.DecodeString(rest[i+1:]); err != nil {
		return "", false
	}
	return rest[:i] + ext, true
}
