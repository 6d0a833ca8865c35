package handlers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// exportCodes are the claim codes the export tests create cases with (caseBody's and another).
var exportCodes = []string{"AB12-CDEF34-GH56", "ZX98-VBNM76-KJ54"}

func noExportedCode(t *testing.T, what string, body []byte) {
	t.Helper()
	for _, code := range exportCodes {
		for _, form := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""), strings.ToLower(strings.ReplaceAll(code, "-", ""))} {
			if bytes.Contains(body, []byte(form)) {
				t.Errorf("%s holds claim code %s", what, form)
			}
		}
	}
}

func exportEventCount(t *testing.T, db *gorm.DB, actorType string) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(`SELECT count(*) FROM audit_events WHERE action = 'cases.exported' AND actor_type = ?`, actorType).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestExportAPI: the three formats stream as attachments with the filters applied and no claim
// code; bad filters are a 422 naming each parameter; the scope and the supervisor role are both
// needed; every export is audited.
func TestExportAPI(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeExport)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeExport)
		supNoExport := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead)
		first := h.newCase(agent, "x1")
		body := strings.NewReader(`{"type": "promo_credit", "summary": "Code zx98 vbnm76 kj54, said twice", "customer": {"account_id": "-CMD", "marketplace": "JP"},
			"cards": [{"claim_code": "ZX98-VBNM76-KJ54", "face_value_minor": 3000, "currency": "JPY", "marketplace": "JP"}]}`)
		if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: agent, body: body}); w.Code != http.StatusCreated {
			t.Fatalf("case: %d %s", w.Code, w.Body)
		}

		get := func(path, token string) *bytesResponse {
			w := h.do(request{method: http.MethodGet, path: path, token: token})
			return &bytesResponse{code: w.Code, header: w.Header(), body: w.Body.Bytes()}
		}
		w := get("/api/v1/export/cases.csv", sup)
		if w.code != http.StatusOK || w.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(w.header.Get("Content-Disposition"), "attachment; filename=giftdesk-cases-") ||
			!strings.HasSuffix(w.header.Get("Content-Disposition"), ".csv") {
			t.Fatalf("csv: %d %v %s", w.code, w.header, w.body)
		}
		records, err := csv.NewReader(bytes.NewReader(w.body)).ReadAll()
		if err != nil || len(records) != 3 || strings.Join(records[0], ",") != "ref,type,status,resolution,priority,created_at,updated_at,customer_account,marketplace,card_last4,face_value_minor,currency,corrected_minor,assignee,external_system,external_id" {
			t.Fatalf("csv records %q: %v", records, err)
		}
		if records[1][0] != first || records[2][7] != "'-CMD" || records[2][9] != "KJ54" || records[2][11] != "JPY" {
			t.Errorf("csv rows %q", records[1:])
		}
		noExportedCode(t, "csv", w.body)

		w = get("/api/v1/export/cases.jsonl?type=promo_credit&status=new&from=2000-01-01&to=2999-12-31", sup)
		if w.code != http.StatusOK || !strings.HasPrefix(w.header.Get("Content-Type"), "application/jsonl") {
			t.Fatalf("jsonl: %d %v %s", w.code, w.header, w.body)
		}
		sc := bufio.NewScanner(bytes.NewReader(w.body))
		lines := 0
		for sc.Scan() {
			lines++
			var rec struct {
				Ref            string            `json:"ref"`
				Type           string            `json:"type"`
				Communications []json.RawMessage `json:"communications"`
				Corrections    []json.RawMessage `json:"corrections"`
			}
			mustUnmarshal(t, sc.Bytes(), &rec)
			if rec.Type != "promo_credit" || rec.Communications == nil || rec.Corrections == nil {
				t.Errorf("jsonl line %s", sc.Bytes())
			}
		}
		if lines != 1 {
			t.Errorf("jsonl: %d lines, want the one promo_credit case", lines)
		}
		noExportedCode(t, "jsonl", w.body)

		w = get("/api/v1/export/cases.xlsx?type=wrong_account", sup)
		if w.code != http.StatusOK || w.header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("xlsx: %d %v", w.code, w.header)
		}
		book, err := excelize.OpenReader(bytes.NewReader(w.body))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := book.GetRows("Cases")
		if err != nil || len(rows) != 2 || rows[1][0] != first {
			t.Errorf("xlsx rows %q: %v", rows, err)
		}
		if err := book.Close(); err != nil {
			t.Fatal(err)
		}

		p := expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/export/cases.csv?status=open&type=fraud&from=2026-02-30&to=soon", token: sup}),
			http.StatusUnprocessableEntity, "validation_failed")
		var fields []string
		for _, f := range p.Errors {
			fields = append(fields, f.Field)
		}
		if strings.Join(fields, ",") != "status,type,from,to" {
			t.Errorf("422 names %v", fields)
		}
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/export/cases.csv", token: supNoExport}), http.StatusForbidden, "scope_required")
		noScope := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/export/cases.jsonl", token: noScope}), http.StatusForbidden, "scope_required")
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/export/cases.xlsx"}), http.StatusUnauthorized, "unauthenticated")
		if n := exportEventCount(t, db, "token"); n != 3 {
			t.Errorf("%d export events, want 3 (refusals are not exports)", n)
		}
		// The scope is the API's grant, whatever the user's role (cases.RequireExport).
		if w := h.do(request{method: http.MethodGet, path: "/api/v1/export/cases.csv", token: agent}); w.Code != http.StatusOK {
			t.Errorf("an agent's token with the export scope: %d %s", w.Code, w.Body)
		}
	})
}

type bytesResponse struct {
	code   int
	header http.Header
	body   []byte
}

// TestConsoleExport: supervisors see "Export these" carrying the list's status and type, and
// nothing is offered while a filter the export cannot apply is set; agents neither see it nor
// reach the route.
func TestConsoleExport(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agentToken := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		ref := h.newCase(agentToken, "c1")
		agent := h.session("agent@example.com", cases.RoleAgent)
		sup := h.session("sup@example.com", cases.RoleSupervisor)

		page := func(cookie, path string) string {
			w := h.do(request{method: http.MethodGet, path: path, cookie: cookie})
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d", path, w.Code)
			}
			return w.Body.String()
		}
		if body := page(agent, "/cases"); strings.Contains(body, "Export these") || strings.Contains(body, "/cases/export") {
			t.Errorf("an agent is offered an export")
		}
		if w := h.do(request{method: http.MethodGet, path: "/cases/export?format=csv", cookie: agent}); w.Code != http.StatusForbidden {
			t.Errorf("agent export: %d", w.Code)
		}
		body := page(sup, "/cases?status=new&type=wrong_account")
		for _, want := range []string{"Export these", `action="/cases/export"`, `name="status" value="new"`, `name="type" value="wrong_account"`,
			`<label for="export-format">`, `value="xlsx"`, `value="jsonl"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the supervisor's list lacks %s", want)
			}
		}
		body = page(sup, "/cases?status=new&priority=high&marketplace=US")
		if strings.Contains(body, `action="/cases/export"`) || !strings.Contains(body, "Clear the priority, marketplace filter") {
			t.Errorf("an export is offered for filters it ignores")
		}
		w := h.do(request{method: http.MethodGet, path: "/cases/export?format=csv&status=new&type=wrong_account", cookie: sup})
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment;") ||
			!strings.Contains(w.Body.String(), ref+",wrong_account,new,") {
			t.Fatalf("console export: %d %v %s", w.Code, w.Header(), w.Body)
		}
		noExportedCode(t, "console csv", w.Body.Bytes())
		if w := h.do(request{method: http.MethodGet, path: "/cases/export?format=pdf", cookie: sup}); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("bad format: %d", w.Code)
		}
		if n := exportEventCount(t, db, "user"); n != 1 {
			t.Errorf("%d console export events, want 1", n)
		}
	})
}

// TestExportFailingAfterTheFirstByteIsNoCompleteFile: when the database fails once rows have
// left, the connection is dropped before the end of the chunked body: the client sees a truncated
// transfer, never a shorter file that looks complete. The export is audited as aborted.
func TestExportFailingAfterTheFirstByteIsNoCompleteFile(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	h := newHarness(t, db)
	sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeExport)
	insertCases(t, db, 1001) // two batches
	var reads atomic.Int64
	if err := db.Callback().Row().Before("gorm:row").Register("test:fail_second_batch", func(tx *gorm.DB) {
		if tx.Statement.Table == "cases" && reads.Add(1) == 2 {
			_ = tx.AddError(errors.New("the database went away"))
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
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("status %d, read error %v after %d bytes: want a truncated transfer", resp.StatusCode, err, len(body))
	}
	if lines := bytes.Count(body, []byte("\r\n")); lines < 2 || lines > 1001 {
		t.Errorf("%d lines arrived", lines)
	}
	var after string
	if err := db.Raw(`SELECT after_state FROM audit_events WHERE action = 'cases.exported'`).Scan(&after).Error; err != nil {
		t.Fatal(err)
	}
	var audited struct {
		Outcome string `json:"outcome"`
		Rows    int64  `json:"rows"`
	}
	mustUnmarshal(t, []byte(after), &audited)
	if audited.Outcome != "aborted" || audited.Rows != 1000 {
		t.Errorf("audited as %s", after)
	}
}
