package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/export"
	"giftdesk/models/modelstest"
)

func zipReader(raw []byte) (*zip.Reader, error) {
	return zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
}

// TestXLSXOpensWithTypedCells: the spreadsheet opens back with excelize, its header row is frozen,
// times are dates, amounts are numbers in the currency's units (USD with two decimals, JPY with
// none), several cards' face values are a text, and text cells are neutralised as in the CSV.
func TestXLSXOpensWithTypedCells(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		if err := db.Exec(`UPDATE cases SET created_at = ? WHERE ref = ?`, time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC), f.refs["serial"]).Error; err != nil {
			t.Fatal(err)
		}
		raw := f.run(export.XLSX, export.Filter{})
		book, err := excelize.OpenReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = book.Close() }()
		rows, err := book.GetRows("Cases")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 4 || strings.Join(rows[0], ",") != "ref,type,status,resolution,priority,created_at,updated_at,customer_account,marketplace,card_last4,face_value,currency,corrected,assignee,external_system,external_id" {
			t.Fatalf("rows %q", rows)
		}
		panes, err := book.GetPanes("Cases")
		if err != nil {
			t.Fatal(err)
		}
		if !panes.Freeze || panes.YSplit != 1 || panes.XSplit != 0 {
			t.Errorf("panes %+v: want the header row frozen", panes)
		}
		line := map[string]int{}
		for i, r := range rows[1:] {
			line[r[0]] = i + 2
		}
		cell := func(ref string, col int) string {
			name, err := excelize.CoordinatesToCellName(col, line[ref])
			if err != nil {
				t.Fatal(err)
			}
			return name
		}
		typeOf := func(ref string, col int) excelize.CellType {
			ct, err := book.GetCellType("Cases", cell(ref, col))
			if err != nil {
				t.Fatal(err)
			}
			return ct
		}
		raw0 := func(ref string, col int) string {
			v, err := book.GetCellValue("Cases", cell(ref, col), excelize.Options{RawCellValue: true})
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		shown := func(ref string, col int) string {
			v, err := book.GetCellValue("Cases", cell(ref, col))
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		// created_at (6) is a date serial number shown with the date format.
		if typeOf(f.refs["serial"], 6) != excelize.CellTypeUnset && typeOf(f.refs["serial"], 6) != excelize.CellTypeNumber {
			t.Errorf("created_at is of type %v, want a number", typeOf(f.refs["serial"], 6))
		}
		if got := raw0(f.refs["serial"], 6); !strings.HasPrefix(got, "46082.52083") {
			t.Errorf("created_at raw %q, want the serial of 2026-03-01 12:30", got)
		}
		if got := shown(f.refs["serial"], 6); got != "2026-03-01 12:30:00" {
			t.Errorf("created_at shown %q", got)
		}
		// face_value (11): 2599 EUR minor units are 25.99; corrected (13): 3000 USD are 30.00.
		if got := raw0(f.refs["serial"], 11); got != "25.99" {
			t.Errorf("face value raw %q, want 25.99", got)
		}
		if got := shown(f.refs["serial"], 11); got != "25.99" {
			t.Errorf("face value shown %q", got)
		}
		if got := raw0(f.refs["transfer"], 13); got != "30" {
			t.Errorf("corrected raw %q, want 30", got)
		}
		if got := shown(f.refs["transfer"], 13); got != "30.00" {
			t.Errorf("corrected shown %q, want 30.00", got)
		}
		if got := shown(f.refs["promo"], 13); got != "0" {
			t.Errorf("JPY corrected shown %q, want 0 without decimals", got)
		}
		if got := shown(f.refs["transfer"], 11); got != "50.00 USD;25.00 USD;10.00 USD" {
			t.Errorf("two cards' face values %q", got)
		}
		if got := shown(f.refs["promo"], 8); got != "'-JP77" {
			t.Errorf("account %q, want neutralised", got)
		}
		if typeOf(f.refs["transfer"], 1) == excelize.CellTypeNumber {
			t.Errorf("ref is a number")
		}
	})
}

// TestXLSXLeavesNoTemporaryFile: the rows the StreamWriter spilled to Config.TmpDir are gone when
// the export ends, whether it completed or not.
func TestXLSXLeavesNoTemporaryFile(t *testing.T) {
	db := modelstest.Open(t, "sqlite")
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	dir := t.TempDir()
	ex := export.New(desk, export.Config{TmpDir: dir})
	plan, err := export.Check(nil, export.Request{Format: export.XLSX})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := ex.Run(context.Background(), cases.CLIActor, plan, &buf); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("left in TmpDir: %v", left)
	}
}

type auditRow struct {
	ActorType, ActorLabel string
	ActorTokenID          *int64
	EntityType, EntityID  string
	AfterState            string
}

func exportEvents(t *testing.T, db *gorm.DB) []auditRow {
	t.Helper()
	var out []auditRow
	if err := db.Raw(`SELECT actor_type, actor_label, actor_token_id, entity_type, entity_id, after_state FROM audit_events
		WHERE action = 'cases.exported' ORDER BY id`).Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

type audited struct {
	Format  string         `json:"format"`
	Filters export.Filter  `json:"filters"`
	Rows    int64          `json:"rows"`
	Outcome string         `json:"outcome"`
	Extra   map[string]any `json:"-"`
}

func decode(t *testing.T, s string) audited {
	t.Helper()
	var a audited
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEveryExportIsAudited: who (user or token), format, filters and the rows written, once the
// stream ended.
func TestEveryExportIsAudited(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		f.run(export.CSV, export.Filter{Type: "promo_credit", From: "2020-01-01"})
		_, view, err := f.desk.CreateToken(context.Background(), cases.CLIActor, cases.NewToken{Email: "sup@example.com", Name: "finance", Scopes: []cases.Scope{cases.ScopeExport}})
		if err != nil {
			t.Fatal(err)
		}
		tok := f.sup
		tok.TokenID, tok.Scopes = view.ID, []cases.Scope{cases.ScopeExport}
		plan, err := export.Check(&tok, export.Request{Format: export.JSONL})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		res, err := f.ex.Run(context.Background(), cases.ActorFor(tok, "", "", ""), plan, &buf)
		if err != nil || res.Rows != 3 || !res.Complete {
			t.Fatalf("run: %+v %v", res, err)
		}
		events := exportEvents(t, db)
		if len(events) != 2 {
			t.Fatalf("%d events", len(events))
		}
		first, second := decode(t, events[0].AfterState), decode(t, events[1].AfterState)
		if events[0].ActorType != "user" || events[0].ActorLabel != "sup@example.com" ||
			first.Format != "csv" || first.Rows != 1 || first.Outcome != "completed" ||
			first.Filters != (export.Filter{Type: "promo_credit", From: "2020-01-01"}) {
			t.Errorf("first event %+v %+v", events[0], first)
		}
		if events[1].ActorType != "token" || events[1].ActorTokenID == nil || *events[1].ActorTokenID != view.ID ||
			second.Format != "jsonl" || second.Rows != 3 || second.Outcome != "completed" {
			t.Errorf("second event %+v %+v", events[1], second)
		}
	})
}

// cancelAfterFirstWrite cancels its context at the first bytes the exporter pushes: a client
// that went away after the first batch.
type cancelAfterFirstWrite struct {
	cancel context.CancelFunc
	writes atomic.Int64
	buf    bytes.Buffer
}

func (c *cancelAfterFirstWrite) Write(p []byte) (int, error) {
	c.writes.Add(1)
	c.cancel()
	return c.buf.Write(p)
}

// TestCancelledContextStopsTheExport: a client that disconnects after the first batch stops the
// walk before the next statement; the export is audited as aborted with the rows it wrote.
func TestCancelledContextStopsTheExport(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		for i := range 7 {
			if _, _, err := f.desk.CreateCase(context.Background(), f.agent, f.actor(f.agent), cases.NewCase{Type: "other", Summary: fmt.Sprint("filler ", i),
				Customer: cases.AccountInput{AccountID: fmt.Sprint("F", i), Marketplace: "UK"}}); err != nil {
				t.Fatal(err)
			}
		}
		ex := export.New(f.desk, export.Config{BatchSize: 2, TmpDir: t.TempDir()})
		for _, format := range []export.Format{export.CSV, export.JSONL} {
			ctx, cancel := context.WithCancel(context.Background())
			w := &cancelAfterFirstWrite{cancel: cancel}
			plan, err := export.Check(&f.sup, export.Request{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			res, err := ex.Run(ctx, f.actor(f.sup), plan, w)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v, want canceled", format, err)
			}
			if res.Rows != 2 || res.Complete {
				t.Errorf("%s: %+v, want 2 rows of 10, incomplete", format, res)
			}
			events := exportEvents(t, db)
			last := decode(t, events[len(events)-1].AfterState)
			if last.Outcome != "aborted" || last.Rows != 2 || last.Format != string(format) {
				t.Errorf("%s audited as %+v", format, last)
			}
		}
	})
}

// TestStatementsPerBatchDoNotGrowWithRows: a batch is a fixed handful of statements, whatever
// the cases hold (cards, communications, corrections): never one per row.
func TestStatementsPerBatchDoNotGrowWithRows(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		var n atomic.Int64
		count := func(*gorm.DB) { n.Add(1) }
		if err := db.Callback().Query().Before("gorm:query").Register("test:count", count); err != nil {
			t.Fatal(err)
		}
		if err := db.Callback().Row().Before("gorm:row").Register("test:count", count); err != nil {
			t.Fatal(err)
		}
		statements := func(format export.Format) int64 {
			n.Store(0)
			f.run(format, export.Filter{})
			return n.Load()
		}
		before := map[export.Format]int64{}
		for _, format := range export.Formats {
			before[format] = statements(format)
		}
		for i := range 5 {
			v, _, err := f.desk.CreateCase(context.Background(), f.agent, f.actor(f.agent), cases.NewCase{Type: "code_problem", Summary: fmt.Sprint("more ", i),
				Customer: cases.AccountInput{AccountID: fmt.Sprint("M", i), Marketplace: "US"},
				Cards:    []cases.CardInput{{Serial: fmt.Sprint("777700000000", i), FaceValueMinor: i64(1000), Currency: "USD", Marketplace: "US"}},
				External: &cases.ExternalInput{System: "jira", ID: fmt.Sprint("J-", i)}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.desk.AddCommunication(context.Background(), f.agent, f.actor(f.agent), v.Ref, cases.NewCommunication{Channel: "email", Direction: "outbound",
				OccurredAt: "2026-11-21T09:00:00Z", Body: "hello"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, format := range export.Formats {
			if got := statements(format); got != before[format] {
				t.Errorf("%s: %d statements for 8 cases, %d for 3", format, got, before[format])
			}
		}
		if before[export.CSV] > 8 {
			t.Errorf("CSV: %d statements for one batch", before[export.CSV])
		}
	})
}

// resetWriter fails every write as a client that reset its connection does.
type resetWriter struct{}

func (resetWriter) Write([]byte) (int, error) {
	return 0, &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
}

// TestAFailedWriteIsNotTheDatabase: an export whose reader went away stops with ErrWrite, never
// as the database being unavailable (which would log an error and answer 503 material).
func TestAFailedWriteIsNotTheDatabase(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ex := export.New(f.desk, export.Config{BatchSize: 1, TmpDir: t.TempDir()})
		for _, format := range []export.Format{export.CSV, export.JSONL} {
			plan, err := export.Check(&f.sup, export.Request{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ex.Run(context.Background(), f.actor(f.sup), plan, resetWriter{})
			if !errors.Is(err, export.ErrWrite) || errors.Is(err, cases.ErrUnavailable) {
				t.Errorf("%s to a reset connection: %v, want ErrWrite and not unavailable", format, err)
			}
		}
	})
}
