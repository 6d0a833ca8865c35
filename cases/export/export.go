// Package export streams cases out of the desk as CSV, JSON Lines or XLSX (SPEC 4.4), in keyset
// batches whose related rows are loaded in one statement per kind, so that memory stays flat
// whatever the number of cases. Every export is audited as cases.exported when its stream ends.
package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
)

// Format is an export's file format.
type Format string

// The formats of an export.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
	XLSX  Format = "xlsx"
)

// Formats lists the formats.
var Formats = []Format{CSV, JSONL, XLSX}

// ContentType is the media type of the format.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case JSONL:
		return "application/jsonl; charset=utf-8"
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/octet-stream"
}

// Filename is the file name an export of the format is offered under, stamped with its day.
func (f Format) Filename(now time.Time) string {
	return "giftdesk-cases-" + now.UTC().Format("20060102-150405") + "." + string(f)
}

// Filter is the export's filters as typed (SPEC 4.1): status, type, and a range of days of
// created_at (YYYY-MM-DD, UTC, both ends included). Empty fields do not filter.
type Filter struct {
	Status string `json:"status,omitempty"`
	Type   string `json:"type,omitempty"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
}

// Request is what an export is asked for.
type Request struct {
	Format Format
	Filter Filter
}

// Plan is a checked Request: the format, and the filter as the database reads it.
type Plan struct {
	req Request
	f   models.ExportFilter
}

// Format is the plan's format.
func (p Plan) Format() Format { return p.req.Format }

// dayLayout is the layout of --from and --to.
const dayLayout = "2006-01-02"

// Check validates req, every problem at once, and p's right to export. p is nil for the command
// line. Callers check before the first byte is written, so that a refusal is a clean error.
//
// Who may export is cases.RequireExport: the export scope through the API, a supervisor or an
// admin in the console.
func Check(p *cases.Principal, req Request) (Plan, error) {
	if p != nil {
		if err := p.RequireExport(); err != nil {
			return Plan{}, err
		}
	}
	var errs []cases.FieldError
	bad := func(field, msg string) { errs = append(errs, cases.FieldError{Field: field, Message: msg}) }
	switch req.Format {
	case CSV, JSONL, XLSX:
	default:
		bad("format", "must be csv, jsonl or xlsx")
	}
	f := req.Filter
	if f.Status != "" && !cases.Status(f.Status).Valid() {
		bad("status", "must be one of "+names(cases.Statuses))
	}
	if f.Type != "" && !cases.CaseType(f.Type).Valid() {
		bad("type", "must be one of "+names(cases.CaseTypes))
	}
	plan := Plan{req: req, f: models.ExportFilter{Status: f.Status, Type: f.Type}}
	day := func(field, s string) *time.Time {
		if s == "" {
			return nil
		}
		t, err := time.Parse(dayLayout, s)
		if err != nil {
			bad(field, "must be a day as YYYY-MM-DD")
			return nil
		}
		return &t
	}
	from, to := day("from", f.From), day("to", f.To)
	if from != nil && to != nil && to.Before(*from) {
		bad("to", "must not be before from")
	}
	plan.f.CreatedFrom = from
	if to != nil {
		next := to.AddDate(0, 0, 1)
		plan.f.CreatedBefore = &next
	}
	if len(errs) > 0 {
		return Plan{}, cases.InvalidFields(errs)
	}
	return plan, nil
}

func names[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Config configures an Exporter.
type Config struct {
	// TmpDir is where the XLSX writer spills rows beyond its 16 MiB buffer: the desk's data
	// folder, or os.TempDir() when empty. The files hold what the export holds (no claim code:
	// none is stored in clear) and are removed when the export ends.
	TmpDir string
	// BatchSize is how many cases each statement reads; 1000 when zero.
	BatchSize int
}

// Exporter streams cases out of a desk.
type Exporter struct {
	desk  *cases.Desk
	cfg   Config
	batch int
}

// New returns an Exporter of desk's cases.
func New(desk *cases.Desk, cfg Config) *Exporter {
	if cfg.TmpDir == "" {
		cfg.TmpDir = os.TempDir()
	}
	n := cfg.BatchSize
	if n <= 0 {
		n = 1000
	}
	return &Exporter{desk: desk, cfg: cfg, batch: n}
}

// Result is how an export ended.
type Result struct {
	Rows     int64 // cases written
	Complete bool  // every matching case was written
}

// Flusher is a writer that can push what it buffered to its client (an HTTP response): the
// exporter flushes after each batch, so that rows leave as they are read.
type Flusher interface{ Flush() }

// Run writes plan's cases to w, and audits the export as cases.exported when the stream ends:
// who (a's principal or the command line), format, filters, the rows written and whether it
// completed or was aborted (a cancelled ctx, a failed write or a database error). A cancelled
// ctx stops the statement in flight and the walk.
func (e *Exporter) Run(ctx context.Context, a cases.Actor, plan Plan, out io.Writer) (Result, error) {
	var res Result
	var err error
	w := &watchedWriter{w: out}
	switch plan.req.Format {
	case CSV:
		res, err = e.writeCSV(ctx, plan.f, w)
	case JSONL:
		res, err = e.writeJSONL(ctx, plan.f, w)
	case XLSX:
		res, err = e.writeXLSX(ctx, plan.f, w)
	default:
		return res, cases.Invalid("format", "must be csv, jsonl or xlsx")
	}
	if err == nil {
		res.Complete = true
	}
	if aerr := e.audit(ctx, a, plan, res); aerr != nil {
		return res, errors.Join(err, aerr)
	}
	if err != nil && w.err != nil {
		return res, errors.Join(ErrWrite, err) // the reader went away: not the database's doing
	}
	return res, cases.StoreErr(err)
}

// ErrWrite marks an export stopped because its output could not be written (a client that
// disconnected, a full disk), as opposed to the database failing.
var ErrWrite = errors.New("export: the output could not be written")

// watchedWriter remembers the first error of its writer, so that Run can tell a failed write
// from a failed read.
type watchedWriter struct {
	w   io.Writer
	err error
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Flush passes a flush on to the writer when it can (an HTTP answer streamed as it is written).
func (w *watchedWriter) Flush() {
	if f, ok := w.w.(Flusher); ok {
		f.Flush()
	}
}

// audit records the export once it ended, even when ctx was cancelled (a client that went away
// still took the rows it received).
func (e *Exporter) audit(ctx context.Context, a cases.Actor, plan Plan, res Result) error {
	outcome := "completed"
	if !res.Complete {
		outcome = "aborted"
	}
	after := map[string]any{"format": plan.req.Format, "filters": plan.req.Filter, "rows": res.Rows, "outcome": outcome}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return e.desk.Do(ctx, a, func(w *cases.Work) error {
		return w.Audit("cases.exported", "cases", string(plan.req.Format), nil, after)
	})
}

// expanders is how many batches are expanded (their related rows read and assembled) at once.
// Reading a page of ids is quick and sequential (keyset); expanding is most of the Go work (scans,
// redaction), so two run beside the writer and the database on this 2-core machine.
const expanders = 2

// pipeline walks f's cases in keyset pages of ids: page reads the next page on one goroutine,
// expanders turn pages into batches (everything their rows need) at the same time, and write
// writes the batches in order on the caller's goroutine, so that the database, the assembly and
// the encoder all work at once. At most expanders+2 batches are in memory, whatever the number of
// cases. page reports how many cases its page holds and the last one's id; a short page is the
// last. A cancelled ctx stops the statements in flight and the walk, and is checked before each
// batch is written; every goroutine has stopped when pipeline returns.
func pipeline[P, B any](ctx context.Context, f models.ExportFilter, size int,
	page func(ctx context.Context, f models.ExportFilter) (p P, n int, lastID int64, err error),
	expand func(ctx context.Context, p P) (B, error), write func(B) error) error {
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		batch B
		n     int
		err   error
	}
	type job struct {
		p    P
		n    int
		slot chan result
	}
	jobs := make(chan job)
	order := make(chan chan result, expanders)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the pages, in keyset order
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		f.Limit = size
		for ctx.Err() == nil {
			p, n, last, err := page(ctx, f)
			slot := make(chan result, 1)
			select {
			case order <- slot:
			case <-ctx.Done():
				return
			}
			if err != nil || n == 0 {
				slot <- result{n: n, err: err}
				return
			}
			select {
			case jobs <- job{p: p, n: n, slot: slot}:
			case <-ctx.Done():
				slot <- result{err: ctx.Err()}
				return
			}
			if n < size {
				return
			}
			f.AfterID = last
		}
	}()
	for range expanders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				b, err := expand(ctx, j.p)
				j.slot <- result{batch: b, n: j.n, err: err}
			}
		}()
	}
	// Whatever ends the walk, every goroutine has stopped before the export is audited.
	defer func() {
		cancel()
		for range order {
		}
		wg.Wait()
	}()
	for slot := range order {
		r := <-slot
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.err != nil {
			return fmt.Errorf("export: %w", r.err)
		}
		if r.n == 0 {
			return nil
		}
		if err := write(r.batch); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// bufferedOut buffers writes to w and pushes them to the client after each batch.
type bufferedOut struct {
	*bufio.Writer
	w io.Writer
}

func newOut(w io.Writer) bufferedOut {
	return bufferedOut{Writer: bufio.NewWriterSize(w, 64<<10), w: w}
}

// push flushes the buffer and, when w can, the client's connection.
func (o bufferedOut) push() error {
	if err := o.Flush(); err != nil {
		return err
	}
	if f, ok := o.w.(Flusher); ok {
		f.Flush()
	}
	return nil
}
