package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// caseClaimCodes are the claim codes of the fixture cases, in the forms a page could leak them.
var caseClaimCodes = []string{"AB12-CDEF34-GH56", "AB12CDEF34GH56", "ab12cdef34gh56", "AB12 CDEF34 GH56"}

// consoleCase is a case opened through the API by agent@example.com, worked in the console.
type consoleCase struct {
	*harness
	ref, apiToken string
	agent         string // session of agent@example.com
}

func newConsoleCase(t *testing.T, h *harness) consoleCase {
	t.Helper()
	tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
	return consoleCase{harness: h, ref: h.newCase(tok, "console-"+t.Name()), apiToken: tok, agent: h.session("agent@example.com", cases.RoleAgent)}
}

func (cc consoleCase) page(cookie string) *httptest.ResponseRecorder {
	cc.t.Helper()
	return cc.do(request{method: http.MethodGet, path: "/cases/" + cc.ref, cookie: cookie})
}

func (cc consoleCase) post(cookie, path string, values map[string]string) *httptest.ResponseRecorder {
	cc.t.Helper()
	return cc.do(request{method: http.MethodPost, path: path, cookie: cookie, header: sameOrigin, body: form(values)})
}

func (cc consoleCase) view() cases.CaseView {
	cc.t.Helper()
	v, err := cc.desk.GetCase(context.Background(), cases.Principal{Role: cases.RoleAdmin}, cc.ref)
	if err != nil {
		cc.t.Fatal(err)
	}
	return v
}

// noClaimCode fails when a page holds a claim code of the fixture in any form.
func noClaimCode(t *testing.T, body string) {
	t.Helper()
	for _, code := range caseClaimCodes {
		if strings.Contains(body, code) {
			t.Fatalf("the page holds a claim code (%s…)", code[:4])
		}
	}
}

// expectRedirect checks a PRG answer: 303 to the case page's section.
func expectRedirect(t *testing.T, w *httptest.ResponseRecorder, ref, done, anchor string) {
	t.Helper()
	want := "/cases/" + ref + "?done=" + done + "#" + anchor
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
		t.Fatalf("answer %d to %q, want 303 to %q; body %.600s", w.Code, w.Header().Get("Location"), want, w.Body)
	}
}

// expectRefused checks a refusal re-rendered inline: the status, the message, the kept input.
func expectRefused(t *testing.T, w *httptest.ResponseRecorder, status int, wants ...string) {
	t.Helper()
	body := w.Body.String()
	if w.Code != status || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("answer %d %q, want %d html; %.600s", w.Code, w.Header().Get("Content-Type"), status, body)
	}
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("the refused page lacks %q", want)
		}
	}
	for _, code := range []string{cases.CodeValidationFailed, cases.CodeExceedsFaceValue, cases.CodeEvidenceRequired, cases.CodeStaleVersion,
		cases.CodeFourEyes, cases.CodeRoleRequired, cases.CodeInvalidTransition, cases.CodeCardFrozen} {
		if strings.Contains(body, code) {
			t.Errorf("the refused page shows the rule code %q", code)
		}
	}
	noClaimCode(t, body)
}

// TestCasePageRenders: the page shows every section of a worked case, and never a claim code.
func TestCasePageRenders(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cc := newConsoleCase(t, h)
		if w := h.upload(cc.apiToken, cc.ref, receipt, "receipt.png", pngBytes); w.Code != http.StatusCreated {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
		if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + cc.ref + "/communications", token: cc.apiToken,
			body: strings.NewReader(`{"channel":"phone","direction":"inbound","body":"customer read AB12-CDEF34-GH56 out","representative_name":"Sam"}`)}); w.Code != http.StatusCreated {
			t.Fatalf("communication: %d %s", w.Code, w.Body)
		}
		w := cc.page(cc.agent)
		if w.Code != http.StatusOK {
			t.Fatalf("page: %d %s", w.Code, w.Body)
		}
		body := w.Body.String()
		for _, want := range []string{`id="summary"`, `id="cards"`, `id="evidence"`, `id="corrections"`, `id="timeline"`, `id="checklist"`,
			`id="guidance"`, `id="related"`, cc.ref, "wrong_account", "••••GH56", "6046123412341234", "50.00 USD", "Investigate", "Wait on customer",
			"Resolve", "Assign to me", "Freeze the card", "Upload", "Request the correction", "50.00 of 50.00 USD left on this card",
			"needs its card recorded as redeemed to the from account", `hx-trigger="every 20s"`, "[claim code ••••GH56]", "Sam",
			"A redeemed balance cannot be", "Use template: Wrong account: transfer requested", `name="version" value="1"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		noClaimCode(t, body)
	})
}

var _ = json.Marshal
var _ = models.Postgres
