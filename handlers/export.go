package handlers

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"giftdesk/cases/export"
)

// exportFilter reads the export's filters from the query string: the same names as the CLI's
// flags (SPEC 4.1), and the /cases list's status and type.
func exportFilter(v url.Values) export.Filter {
	return export.Filter{Status: v.Get("status"), Type: v.Get("type"), From: v.Get("from"), To: v.Get("to")}
}

// apiExport serves GET /api/v1/export/cases.{csv,jsonl,xlsx}: the cases matching the filters,
// streamed as they are read.
func (s *Server) apiExport(format export.Format) gin.HandlerFunc {
	return func(c *gin.Context) {
		s.streamExport(c, export.Request{Format: format, Filter: exportFilter(c.Request.URL.Query())}, s.fail)
	}
}

// consoleExport serves GET /cases/export: the "Export these" control of the /cases list, for
// supervisors and admins.
func (s *Server) consoleExport(c *gin.Context) {
	v := c.Request.URL.Query()
	s.streamExport(c, export.Request{Format: export.Format(v.Get("format")), Filter: exportFilter(v)}, s.failPage)
}

// streamExport checks the request, then streams it. A refusal or a failure before the first byte
// is an ordinary error answer (refuse). Once bytes have left, the status line is sent and a
// failure can only be told by not finishing the file: the handler panics with
// http.ErrAbortHandler, so that net/http drops the connection without the final empty chunk of a
// chunked response, and the client sees a truncated transfer, never a short file that looks
// complete. Either way the export is audited with what it wrote (see export.Exporter.Run).
func (s *Server) streamExport(c *gin.Context, req export.Request, refuse func(*gin.Context, error)) {
	p := principal(c)
	plan, err := export.Check(&p, req)
	if err != nil {
		refuse(c, err)
		return
	}
	out := &download{c: c, format: plan.Format(), filename: plan.Format().Filename(s.desk.Now())}
	ex := export.New(s.desk, export.Config{TmpDir: s.tempDir})
	res, err := ex.Run(c.Request.Context(), actor(c), plan, out)
	if err == nil {
		if !out.started {
			out.start() // an XLSX of no case still has bytes; an empty write is still an answer
		}
		return
	}
	if !out.started {
		refuse(c, err)
		return
	}
	level := slog.LevelError
	if errors.Is(err, export.ErrWrite) || (errors.Is(err, c.Request.Context().Err()) && c.Request.Context().Err() != nil) {
		level = slog.LevelInfo // the client went away
	}
	s.log.Log(c.Request.Context(), level, "export aborted after streaming began", slog.String("request_id", requestID(c)),
		slog.String("format", string(plan.Format())), slog.Int64("rows", res.Rows), slog.String("error", err.Error()))
	panic(http.ErrAbortHandler)
}

// download is the response of an export: its headers go out with the first bytes, so that an
// export failing before any row can still answer with an error.
type download struct {
	c        *gin.Context
	format   export.Format
	filename string
	started  bool
}

func (d *download) start() {
	d.started = true
	h := d.c.Writer.Header()
	h.Set("Content-Type", d.format.ContentType())
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	d.c.Status(http.StatusOK)
	d.c.Writer.WriteHeaderNow()
}

// Write sends p, and the headers before the first bytes.
func (d *download) Write(p []byte) (int, error) {
	if !d.started {
		d.start()
	}
	return d.c.Writer.Write(p)
}

// Flush pushes what was written to the client (export.Flusher).
func (d *download) Flush() { d.c.Writer.Flush() }

// ExportIgnored names the /cases filters in use that an export cannot apply (it filters by
// status and type only). The list offers no export while one is set: an export of other cases
// than the list shows would be a surprise, and a bulk one.
func (f caseFilters) ExportIgnored() []string {
	var out []string
	for i, x := range []string{f.Priority, f.Marketplace, f.Flag, f.Assignee, f.Q, f.Card} {
		if x != "" {
			out = append(out, []string{"priority", "marketplace", "flag", "assignee", "text", "card"}[i])
		}
	}
	return out
}
