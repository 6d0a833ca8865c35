package handlers

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// raw serves a request straight, without the contract check of h.do (which reads JSON, not gzip).
func (h *harness) raw(method, path, token, cookie string, header map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, req)
	return w
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var acceptGzip = map[string]string{"Accept-Encoding": "gzip"}

// TestAnswersAreGzippedWhenAsked: pages, JSON and CSV are gzipped for a client that accepts it,
// and decompress to the very bytes a client that does not gets; zip bundles and spreadsheets are
// never compressed again; every answer says it varies with Accept-Encoding.
func TestAnswersAreGzippedWhenAsked(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		admin := h.token("admin@example.com", cases.RoleAdmin, cases.Scopes...)
		var ref string
		for _, ext := range []string{"gz-1", "gz-2", "gz-3", "gz-4", "gz-5", "gz-6", "gz-7", "gz-8"} {
			ref = h.newCase(admin, ext)
		}
		cookie := h.session("admin-page@example.com", cases.RoleAdmin)
		for _, c := range []struct{ path, contentType string }{
			{"/cases", "text/html"},
			{"/api/v1/cases/" + ref, "application/json"},
			{"/api/v1/cases?limit=8", "application/json"},
			{"/api/v1/export/cases.csv", "text/csv"},
			{"/api/v1/export/cases.jsonl", "application/jsonl"},
		} {
			tok, ck := admin, ""
			if !strings.HasPrefix(c.path, "/api/") {
				tok, ck = "", cookie
			}
			plain := h.raw(http.MethodGet, c.path, tok, ck, nil)
			zipped := h.raw(http.MethodGet, c.path, tok, ck, acceptGzip)
			if plain.Code != http.StatusOK || zipped.Code != http.StatusOK || !strings.HasPrefix(zipped.Header().Get("Content-Type"), c.contentType) {
				t.Fatalf("%s: %d / %d %q", c.path, plain.Code, zipped.Code, zipped.Header().Get("Content-Type"))
			}
			if plain.Header().Get("Content-Encoding") != "" {
				t.Errorf("%s compressed for a client that did not ask", c.path)
			}
			if zipped.Header().Get("Content-Encoding") != "gzip" {
				t.Errorf("%s (%d bytes) not gzipped when asked", c.path, plain.Body.Len())
				continue
			}
			for _, w := range []*httptest.ResponseRecorder{plain, zipped} {
				if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Accept-Encoding") {
					t.Errorf("%s: Vary %q", c.path, w.Header().Values("Vary"))
				}
			}
			if zipped.Header().Get("Content-Length") != "" {
				t.Errorf("%s: Content-Length %s on a compressed answer", c.path, zipped.Header().Get("Content-Length"))
			}
			if got := gunzip(t, zipped.Body.Bytes()); !bytes.Equal(got, plain.Body.Bytes()) && !strings.HasPrefix(c.path, "/cases") {
				t.Errorf("%s: decompressed %d bytes differ from the %d plain ones", c.path, len(got), plain.Body.Len())
			} else if strings.HasPrefix(c.path, "/cases") && !bytes.Equal(stripNonces(got), stripNonces(plain.Body.Bytes())) {
				t.Errorf("%s: the decompressed page differs from the plain one", c.path)
			}
		}
		// The case's ETag on a compressed answer is weak (other bytes), and If-Match takes it (R12).
		zipped := h.raw(http.MethodGet, "/api/v1/cases/"+ref, admin, "", acceptGzip)
		plain := h.raw(http.MethodGet, "/api/v1/cases/"+ref, admin, "", nil)
		if zipped.Header().Get("ETag") != "W/"+plain.Header().Get("ETag") || strings.HasPrefix(plain.Header().Get("ETag"), "W/") {
			t.Fatalf("ETag compressed %q, plain %q", zipped.Header().Get("ETag"), plain.Header().Get("ETag"))
		}
		w := h.do(request{method: http.MethodPatch, path: "/api/v1/cases/" + ref, token: admin, body: strings.NewReader(`{"priority": "high"}`),
			header: map[string]string{"If-Match": zipped.Header().Get("ETag")}})
		if w.Code != http.StatusOK {
			t.Errorf("PATCH with the compressed answer's ETag: %d %s", w.Code, w.Body)
		}
		// Compressed formats pass as they are.
		for _, path := range []string{"/api/v1/cases/" + ref + "/bundle.zip", "/api/v1/export/cases.xlsx"} {
			w := h.raw(http.MethodGet, path, admin, "", acceptGzip)
			if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "" {
				t.Errorf("%s: %d, Content-Encoding %q", path, w.Code, w.Header().Get("Content-Encoding"))
			}
		}
	})
}

// stripNonces blanks what differs between two renderings of one page (its form tokens, if any).
func stripNonces(b []byte) []byte {
	return regexp.MustCompile(`value="[A-Za-z0-9_-]{20,}"`).ReplaceAll(b, []byte(`value=""`))
}

// flushRecorder notes how many bytes had reached the client at each flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	atFlush []int
}

func (f *flushRecorder) Flush() {
	f.atFlush = append(f.atFlush, f.Body.Len())
	f.ResponseRecorder.Flush()
}

// TestCompressedExportStillStreams: a gzipped CSV export of two batches reaches the client batch by
// batch (bytes are out before the export ends: the compressor does not hold the file), and the
// whole decompresses to the plain export.
func TestCompressedExportStillStreams(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeExport)
		insertCases(t, db, 1001) // two batches of the export
		req := httptest.NewRequest(http.MethodGet, "/api/v1/export/cases.csv", nil)
		req.Header.Set("Authorization", "Bearer "+sup)
		req.Header.Set("Accept-Encoding", "gzip")
		w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
		h.srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Encoding"))
		}
		total := w.Body.Len()
		early := 0
		for _, n := range w.atFlush {
			if n > 0 && n < total {
				early++
			}
		}
		if early == 0 {
			t.Errorf("flushes at %v of %d bytes: nothing reached the client before the end", w.atFlush, total)
		}
		plain := h.raw(http.MethodGet, "/api/v1/export/cases.csv", sup, "", nil)
		if got := gunzip(t, w.Body.Bytes()); !bytes.Equal(got, plain.Body.Bytes()) || bytes.Count(got, []byte("\r\n")) != 1002 {
			t.Errorf("decompressed %d bytes (%d lines), plain %d", len(got), bytes.Count(got, []byte("\r\n")), plain.Body.Len())
		}
	})
}

// TestCompressedExportCutShortIsNoWholeFile: the gzipped variant of
// TestExportFailingAfterTheFirstByteIsNoCompleteFile, read without the transport's decompression:
// the gzip stream itself ends unfinished, so not even a client that ignores the transfer's framing
// takes the cut-off file for a whole one.
func TestCompressedExportCutShortIsNoWholeFile(t *testing.T) {
	db := modelstest.Open(t, modelstest.Dialects[0])
	h := newHarness(t, db)
	sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeExport)
	insertCases(t, db, 1001)
	reads := 0
	if err := db.Callback().Row().Before("gorm:row").Register("test:fail_second_batch", func(tx *gorm.DB) {
		if tx.Statement.Table == "cases" {
			if reads++; reads == 2 {
				_ = tx.AddError(errors.New("the database went away"))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.srv)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/export/cases.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sup)
	req.Header.Set("Accept-Encoding", "gzip")
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("not gzipped: %v", resp.Header)
	}
	body, _ := io.ReadAll(resp.Body) // the transfer is cut: an error here is expected
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(zr); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("the gzip stream of a cut-off export decompressed with %v: want it unfinished", err)
	}
}

// TestStaticFilesByContent: pages name static files by their content's hash; that URL is cached
// for a year; the plain name, or a hash of another content (a page of the previous release), gets
// the current file but must be revalidated; an unknown file is a 404 nobody keeps; the content's
// ETag answers 304.
func TestStaticFilesByContent(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, modelstest.Dialects[1]))
	login := h.do(request{method: http.MethodGet, path: "/login"}).Body.String()
	hashed := regexp.MustCompile(`/static/giftdesk\.[0-9a-f]{10}\.css`).FindString(login)
	if hashed == "" || strings.Contains(login, `"/static/giftdesk.css"`) {
		t.Fatalf("the page does not name the stylesheet by content: %.400s", login)
	}
	fresh := h.raw(http.MethodGet, hashed, "", "", nil)
	if fresh.Code != http.StatusOK || fresh.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || fresh.Header().Get("ETag") == "" {
		t.Fatalf("%s: %d %q %q", hashed, fresh.Code, fresh.Header().Get("Cache-Control"), fresh.Header().Get("ETag"))
	}
	for _, path := range []string{"/static/giftdesk.css", "/static/giftdesk.0123456789.css"} {
		w := h.raw(http.MethodGet, path, "", "", nil)
		if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-cache" || !bytes.Equal(w.Body.Bytes(), fresh.Body.Bytes()) {
			t.Errorf("%s: %d %q", path, w.Code, w.Header().Get("Cache-Control"))
		}
	}
	if w := h.raw(http.MethodGet, "/static/giftdesk.0123456789.js.map", "", "", nil); w.Code != http.StatusNotFound || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("an unknown file: %d %q", w.Code, w.Header().Get("Cache-Control"))
	}
	again := h.raw(http.MethodGet, "/static/giftdesk.css", "", "", map[string]string{"If-None-Match": fresh.Header().Get("ETag")})
	if again.Code != http.StatusNotModified {
		t.Errorf("revalidation with the ETag: %d", again.Code)
	}
	zipped := h.raw(http.MethodGet, hashed, "", "", acceptGzip)
	if zipped.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, zipped.Body.Bytes()), fresh.Body.Bytes()) ||
		!strings.HasPrefix(zipped.Header().Get("ETag"), "W/") {
		t.Errorf("the stylesheet gzipped: %q, ETag %q", zipped.Header().Get("Content-Encoding"), zipped.Header().Get("ETag"))
	}
}
