package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("receipt pixels "), 100)...)

// multipartBody builds an upload with fields and one file.
func multipartBody(t *testing.T, fields map[string]string, fileName string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if content != nil {
		fw, err := w.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(content); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, w.FormDataContentType()
}

func (h *harness) upload(token, ref string, fields map[string]string, fileName string, content []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	body, ct := multipartBody(h.t, fields, fileName, content)
	return h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/evidence", token: token, body: body,
		header: map[string]string{"Content-Type": ct}})
}

func (h *harness) newCase(token, external string) string {
	h.t.Helper()
	body := strings.Replace(caseBody, `"81234"`, `"`+external+`"`, 1)
	w := h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: token, body: strings.NewReader(body)})
	var v struct{ Ref string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.Ref == "" {
		h.t.Fatalf("case: %d %s", w.Code, w.Body)
	}
	return v.Ref
}

var receipt = map[string]string{"kind": "receipt", "store_name": "Store 12", "store_location": "Main St", "purchased_at": "2026-11-19",
	"amount_minor": "5000", "currency": "USD", "card_last4": "gh56", "pos_transaction_id": "POS-778899", "note": "code AB12 CDEF34 GH56 on the slip"}

func TestEvidence(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		second := h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		ref := h.newCase(agent, "e1")
		w := h.upload(agent, ref, receipt, "../../etc/receipt.png", pngBytes)
		if w.Code != http.StatusCreated {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
		var ev cases.EvidenceView
		mustUnmarshal(t, w.Body.Bytes(), &ev)
		if len(ev.SHA256) != 64 || strings.ToLower(ev.SHA256) != ev.SHA256 || ev.ContentType != "image/png" || ev.Size != int64(len(pngBytes)) ||
			ev.Verification != "unverified" || ev.FileName != "receipt.png" || ev.Note != "code [claim code ••••GH56] on the slip" || len(ev.Flags) != 0 {
			t.Fatalf("evidence %+v", ev)
		}
		// Forged types are refused whatever their name or declared type.
		for name, content := range map[string][]byte{
			"exe named .jpg":     append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 100)...),
			"html called a pdf":  []byte("<!doctype html><script>alert(1)</script>"),
			"text":               []byte("just text"),
			"jpeg marker only 2": {0xFF, 0xD8},
		} {
			if w := h.upload(agent, ref, map[string]string{"kind": "other"}, "x.pdf", content); w.Code != http.StatusUnsupportedMediaType {
				t.Errorf("%s: %d %s", name, w.Code, w.Body)
			} else {
				expectProblem(t, w, http.StatusUnsupportedMediaType, cases.CodeUnsupportedMediaType)
			}
		}
		// A PDF with HTML inside is stored as a PDF and only ever served as an attachment.
		poly := h.upload(agent, ref, map[string]string{"kind": "other"}, "poly.html", []byte("%PDF-1.4\n<html><script>alert(1)</script></html>"))
		var polyView cases.EvidenceView
		mustUnmarshal(t, poly.Body.Bytes(), &polyView)
		dl := h.do(request{method: http.MethodGet, path: "/api/v1/evidence/" + idText(polyView.ID) + "/file", token: agent})
		if dl.Code != http.StatusOK || dl.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(dl.Header().Get("Content-Disposition"), "attachment;") ||
			dl.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(dl.Header().Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("polyglot download: %d %v", dl.Code, dl.Header())
		}
		// Download and ranges.
		file := h.do(request{method: http.MethodGet, path: "/api/v1/evidence/" + idText(ev.ID) + "/file", token: agent})
		if file.Code != http.StatusOK || !bytes.Equal(file.Body.Bytes(), pngBytes) {
			t.Fatalf("download: %d, %d bytes", file.Code, file.Body.Len())
		}
		part := h.do(request{method: http.MethodGet, path: "/api/v1/evidence/" + idText(ev.ID) + "/file", token: agent, header: map[string]string{"Range": "bytes=8-15"}})
		if part.Code != http.StatusPartialContent || !bytes.Equal(part.Body.Bytes(), pngBytes[8:16]) {
			t.Fatalf("range: %d %q", part.Code, part.Body.Bytes())
		}
		// Receipt rules.
		for field, change := range map[string]map[string]string{
			"amount_minor": {"amount_minor": ""}, "purchased_at": {"purchased_at": "2099-01-01"}, "currency": {"currency": "XXX"},
			"kind": {"kind": "selfie"}, "card_last4": {"card_last4": "12345"},
		} {
			f := map[string]string{}
			for k, v := range receipt {
				f[k] = v
			}
			for k, v := range change {
				f[k] = v
			}
			p := expectProblem(t, h.upload(agent, ref, f, "r.png", pngBytes), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
			if len(p.Errors) == 0 || p.Errors[0].Field != field {
				t.Errorf("%s: %+v", field, p.Errors)
			}
		}
		unmatched := map[string]string{"kind": "card_photo", "card_last4": "ZZZZ"}
		if w := h.upload(agent, ref, unmatched, "c.png", append(pngBytes, 'x')); !strings.Contains(w.Body.String(), cases.FlagCardLast4Unmatched) {
			t.Fatalf("unmatched last 4: %s", w.Body)
		}
		// The same file and the same POS transaction on another case: both flagged, stored once.
		other := h.newCase(agent, "e2")
		dup := h.upload(agent, other, map[string]string{"kind": "other", "pos_transaction_id": "POS-778899"}, "copy.png", pngBytes)
		if dup.Code != http.StatusCreated || !strings.Contains(dup.Body.String(), cases.FlagPossibleDuplicate) || !strings.Contains(dup.Body.String(), ref) {
			t.Fatalf("duplicate evidence: %d %s", dup.Code, dup.Body)
		}
		files := modelstest.Count(t, db, `SELECT count(*) FROM evidence_files WHERE sha256 = ?`, ev.SHA256)
		if files != 1 {
			t.Fatalf("%d stored copies of one file", files)
		}
		firstCase := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: agent})
		if !strings.Contains(firstCase.Body.String(), cases.FlagPossibleDuplicate) || !strings.Contains(firstCase.Body.String(), other) {
			t.Fatalf("the first case is not flagged: %s", firstCase.Body)
		}
		// Verification: never by the uploader, once.
		verify := func(token, body string) *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPost, path: "/api/v1/evidence/" + idText(ev.ID) + "/verify", token: token, body: strings.NewReader(body)})
		}
		expectProblem(t, verify(agent, `{"verdict":"verified","note":"mine"}`), http.StatusForbidden, cases.CodeFourEyes)
		if w := verify(second, `{"verdict":"verified","note":"matches the card"}`); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"verification":"verified"`) {
			t.Fatalf("verify: %d %s", w.Code, w.Body)
		}
		expectProblem(t, verify(second, `{"verdict":"rejected","note":"changed my mind"}`), http.StatusUnprocessableEntity, cases.CodeAlreadyDecided)
		if strings.Contains(strings.ToUpper(h.logs.String()), "AB12CDEF34") || strings.Contains(h.logs.String(), `"status":500`) {
			t.Fatal("a claim code or a 500 in the log")
		}
	})
}

func TestEvidenceLimits(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		ref := h.newCase(agent, "l1")
		big := append(append([]byte{}, pngBytes...), bytes.Repeat([]byte{7}, 11<<20)...)
		// Declared: refused before a byte is read.
		w := h.upload(agent, ref, map[string]string{"kind": "other"}, "big.png", big)
		expectProblem(t, w, http.StatusRequestEntityTooLarge, cases.CodeTooLarge)
		// Not declared (chunked): stopped while streaming.
		body, ct := multipartBody(t, map[string]string{"kind": "other"}, "big.png", big)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/cases/"+ref+"/evidence", io.MultiReader(body))
		req.ContentLength = -1
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+agent)
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, req)
		expectProblem(t, rec, http.StatusRequestEntityTooLarge, cases.CodeTooLarge)
		// A truncated multipart body is a 400, not a 500.
		full, ct := multipartBody(t, map[string]string{"kind": "other"}, "t.png", pngBytes)
		cut := full.Bytes()[:full.Len()-40]
		w = h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/evidence", token: agent, body: bytes.NewReader(cut), header: map[string]string{"Content-Type": ct}})
		if w.Code != http.StatusBadRequest {
			t.Fatalf("truncated multipart: %d %s", w.Code, w.Body)
		}
		if w := h.upload(agent, ref, map[string]string{"kind": "other"}, "", nil); w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("no file: %d", w.Code)
		}
		stored := modelstest.Count(t, db, `SELECT count(*) FROM evidence`)
		if stored != 0 {
			t.Fatalf("%d evidence rows after refused uploads", stored)
		}
	})
}

func idText(id int64) string { return strconv.FormatInt(id, 10) }

// Findings of the hostile review of issue 15, each kept as a test.
func TestEvidenceReviewRegressions(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		second := h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		ref := h.newCase(agent, "r1")
		// Dates that Go parses but no column or JSON takes, and long fractions: 4xx or normalised.
		for _, date := range []string{"0000-01-01T00:00:00+01:00", "1899-12-31"} {
			if w := h.upload(agent, ref, map[string]string{"kind": "receipt", "amount_minor": "100", "currency": "USD", "purchased_at": date}, "r.png", pngBytes); w.Code != http.StatusUnprocessableEntity {
				t.Errorf("purchased_at %s: %d %s", date, w.Code, w.Body)
			}
		}
		long := h.upload(agent, ref, map[string]string{"kind": "receipt", "amount_minor": "100", "currency": "USD",
			"purchased_at": "2026-01-01T00:00:00." + strings.Repeat("0", 60) + "Z"}, "r.png", pngBytes)
		if long.Code != http.StatusCreated || !strings.Contains(long.Body.String(), `"purchased_at":"2026-01-01T00:00:00Z"`) {
			t.Fatalf("long fraction: %d %s", long.Code, long.Body)
		}
		comm := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/communications", token: agent,
			body: strings.NewReader(`{"channel":"phone","direction":"inbound","occurred_at":"0000-01-01T00:00:00+01:00","body":"x"}`)})
		expectProblem(t, comm, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		// A long file name ending in the case's code: redacted, then cut; never a 500.
		name := strings.Repeat("n", 240) + "AB12CDEF34GH56.png"
		if w := h.upload(agent, ref, map[string]string{"kind": "other"}, name, append(pngBytes, 1)); w.Code != http.StatusCreated || strings.Contains(w.Body.String(), "CDEF34") {
			t.Fatalf("long file name: %d %s", w.Code, w.Body)
		}
		// Unknown parts are refused, all of them named, as unknown JSON fields are: a misspelled
		// field must not drop what the agent recorded (issue 19). A name that cannot be a field,
		// or that may hold a claim code, is never echoed. Nothing is stored.
		odd := map[string]string{"kind": "other", strings.Repeat("z", 2000): "v", "store_nme": "Tesco", "note AB12CDEF34GH56": "x"}
		w := h.upload(agent, ref, odd, "o.png", append(pngBytes, 2))
		p := expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		if len(p.Errors) != 3 || !strings.Contains(w.Body.String(), "store_nme") || strings.Contains(w.Body.String(), "zzzz") || strings.Contains(w.Body.String(), "CDEF34") {
			t.Fatalf("unknown fields: %s", w.Body)
		}
		if n := modelstest.Count(t, h.db, `SELECT count(*) FROM evidence WHERE file_name = 'o.png'`); n != 0 {
			t.Fatalf("an upload with unknown fields was stored %d times", n)
		}
		many := map[string]string{"kind": "other"}
		for i := 0; i < 40; i++ {
			many["x"+idText(int64(i+1))] = "1"
		}
		if w := h.upload(agent, ref, many, "m.png", append(pngBytes, 3)); w.Code != http.StatusBadRequest {
			t.Fatalf("40 parts: %d", w.Code)
		}
		// A receipt in another currency than the case's.
		if w := h.upload(agent, ref, map[string]string{"kind": "receipt", "amount_minor": "100", "currency": "JPY", "purchased_at": "2026-11-01"}, "j.png", append(pngBytes, 4)); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), cases.CodeMarketplaceMismatch) {
			t.Fatalf("JPY receipt on a US case: %d %s", w.Code, w.Body)
		}
		// Many ranges get the whole file.
		var ev cases.EvidenceView
		mustUnmarshal(t, long.Body.Bytes(), &ev)
		ranges := h.do(request{method: http.MethodGet, path: "/api/v1/evidence/" + idText(ev.ID) + "/file", token: agent,
			header: map[string]string{"Range": "bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6"}})
		if ranges.Code != http.StatusOK || ranges.Body.Len() != len(pngBytes) {
			t.Fatalf("many ranges: %d, %d bytes", ranges.Code, ranges.Body.Len())
		}
		// A verdict needs a note.
		verify := h.do(request{method: http.MethodPost, path: "/api/v1/evidence/" + idText(ev.ID) + "/verify", token: second, body: strings.NewReader(`{"verdict":"verified"}`)})
		expectProblem(t, verify, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		// The earlier upload learns of a later duplicate.
		other := h.newCase(agent, "r2")
		h.upload(agent, other, map[string]string{"kind": "other"}, "copy.png", pngBytes)
		again := h.do(request{method: http.MethodPost, path: "/api/v1/evidence/" + idText(ev.ID) + "/verify", token: second,
			body: strings.NewReader(`{"verdict":"rejected","note":"duplicate of another case"}`)})
		if again.Code != http.StatusOK || !strings.Contains(again.Body.String(), cases.FlagPossibleDuplicate) {
			t.Fatalf("earlier evidence after a duplicate: %d %s", again.Code, again.Body)
		}
		if strings.Contains(h.logs.String(), `"status":500`) {
			t.Fatal("a 500 in the log")
		}
	})
}
