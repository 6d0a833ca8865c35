package handlers

import (
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
)

// compressible are the answers worth compressing: pages, JSON, CSV and JSON Lines exports, the
// stylesheet and scripts, plain text. Anything else passes as it is: bundles (.zip), spreadsheets
// (.xlsx), evidence files (JPEG, PNG, WebP, PDF) are compressed already, and profiles come out of
// pprof gzipped.
var compressible = []string{"text/html", "application/json", "application/problem+json", "text/csv", "application/jsonl",
	"text/css", "text/javascript", "text/plain"}

// newCompressor gzips compressible answers for clients that accept it, with
// github.com/klauspost/compress/gzhttp: it decides by Content-Type and size (answers under 1 KiB
// are not worth it), leaves an answer alone that already names its Content-Encoding (promhttp
// compresses /metrics itself), drops Content-Length and Accept-Ranges when it compresses, adds
// Vary: Accept-Encoding to every answer, streams through Flush (exports stay streamed), and holds
// at most 1 KiB before it decides. zstd is left off: gzip is what every client here speaks.
// Level 1 (BestSpeed): the default level took 12 % of serve's CPU on a page of 50 cases at 1M
// (giftdesk-bench's list, pprof), for answers that shrink 10-15× at any level.
func newCompressor() (func(http.Handler) http.HandlerFunc, error) {
	return gzhttp.NewWrapper(gzhttp.ContentTypes(compressible), gzhttp.EnableZstd(false), gzhttp.MinSize(gzhttp.DefaultMinSize),
		gzhttp.CompressionLevel(gzip.BestSpeed))
}

// serveCompressed serves r through the compressor. Beneath it, a strong ETag on a compressed
// answer is made weak (W/"7"), since a strong validator names exact bytes and the compressed bytes
// differ; the case's If-Match accepts either form (R12), and a static file's If-None-Match
// compares weakly. And when a handler panics with http.ErrAbortHandler (an export failing after
// its first bytes), nothing more reaches the client: the compressor's closing frame would
// otherwise make the cut-off file decompress as if it were whole.
func (s *Server) serveCompressed(w http.ResponseWriter, r *http.Request) {
	out := &beneathCompression{ResponseWriter: w}
	s.compress(http.HandlerFunc(func(cw http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				out.cut = true
				panic(v)
			}
		}()
		s.engine.ServeHTTP(cw, r)
	})).ServeHTTP(out, r)
}

// beneathCompression is the response writer the compressor writes to (see serveCompressed).
type beneathCompression struct {
	http.ResponseWriter
	wroteHeader bool
	cut         bool
}

func (b *beneathCompression) WriteHeader(code int) {
	if !b.wroteHeader && code >= 200 {
		b.wroteHeader = true
		h := b.Header()
		if etag := h.Get("ETag"); h.Get("Content-Encoding") != "" && etag != "" && !strings.HasPrefix(etag, "W/") {
			h.Set("ETag", "W/"+etag)
		}
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *beneathCompression) Write(p []byte) (int, error) {
	if b.cut {
		return 0, http.ErrAbortHandler
	}
	if !b.wroteHeader {
		b.WriteHeader(http.StatusOK)
	}
	return b.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (b *beneathCompression) Flush() {
	if f, ok := b.ResponseWriter.(http.Flusher); ok && !b.cut {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (upload read deadlines).
func (b *beneathCompression) Unwrap() http.ResponseWriter { return b.ResponseWriter }
