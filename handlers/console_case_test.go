package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
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
			"A redeemed balance cannot be", "Use template: Wrong account: transfer requested", `name="version" value="1"`,
			"case opened", "evidence added", "show newest first"} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		noClaimCode(t, body)
	})
}

// TestCasePageForms: each form of the case page changes the case through the API's use case and
// answers 303 back to its section; a refusal re-renders the page with the message beside the
// field, the input kept, and neither a rule code nor a claim code.
func TestCasePageForms(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cc := newConsoleCase(t, h)
		base := "/cases/" + cc.ref
		version := func() string { return strconv.FormatInt(cc.view().Version, 10) }

		// Workflow and assignment.
		expectRefused(t, cc.post(cc.agent, base+"/update", map[string]string{"version": version(), "status": "resolved"}),
			http.StatusUnprocessableEntity, "resolving a case needs a resolution")
		expectRedirect(t, cc.post(cc.agent, base+"/update", map[string]string{"version": version(), "status": "investigating"}), cc.ref, "updated", "summary")
		expectRedirect(t, cc.post(cc.agent, base+"/update", map[string]string{"version": version(), "assignee": "agent@example.com",
			"priority": "high", "tags": "phone, vip"}), cc.ref, "updated", "summary")
		if v := cc.view(); v.Status != "investigating" || v.Assignee == nil || *v.Assignee != "agent@example.com" || v.Priority != "high" ||
			strings.Join(v.Tags, ",") != "phone,vip" {
			t.Fatalf("after the updates: %+v", v)
		}
		expectRefused(t, cc.post(cc.agent, base+"/update", map[string]string{"version": version(), "tags": strings.Repeat("x", 60)}),
			http.StatusUnprocessableEntity, strings.Repeat("x", 60), `aria-invalid="true"`)

		// Cards: a refused card keeps its input but never its claim code.
		w := cc.post(cc.agent, base+"/cards", map[string]string{"claim_code": "ZZ99-YYXX88-WW77", "face_value": "abc", "currency": "USD", "marketplace": "US", "serial": "7777"})
		expectRefused(t, w, http.StatusUnprocessableEntity, "must be an amount such as 50.00", `value="7777"`, "re-enter it")
		if strings.Contains(w.Body.String(), "ZZ99") {
			t.Fatal("the refused card form wrote the claim code back")
		}
		expectRedirect(t, cc.post(cc.agent, base+"/cards", map[string]string{"claim_code": "ZZ99-YYXX88-WW77", "face_value": "25.00", "currency": "USD",
			"marketplace": "US", "status": "active"}), cc.ref, "card", "cards")
		v := cc.view()
		if len(v.Cards) != 2 || v.Cards[1].FaceValueMinor != 2500 {
			t.Fatalf("cards: %+v", v.Cards)
		}
		card := strconv.FormatInt(v.Cards[1].ID, 10)
		expectRefused(t, cc.post(cc.agent, base+"/cards/"+card+"/freeze", map[string]string{"frozen": "true"}), http.StatusUnprocessableEntity, "to freeze a card, say why")
		expectRedirect(t, cc.post(cc.agent, base+"/cards/"+card+"/freeze", map[string]string{"frozen": "true", "frozen_reason": "codes sent to a scammer"}), cc.ref, "frozen", "cards")
		if !cc.view().Cards[1].Frozen {
			t.Fatal("the card is not frozen")
		}
		// Unfreezing is a supervisor's: not offered to an agent, and refused when forced.
		page := cc.page(cc.agent).Body.String()
		if strings.Contains(page, "Unfreeze the card") {
			t.Fatal("an agent is offered to unfreeze")
		}
		expectRefused(t, cc.post(cc.agent, base+"/cards/"+card+"/freeze", map[string]string{"frozen": "false", "frozen_reason": "safe"}),
			http.StatusForbidden, "unfreezing a card needs a supervisor")
		sup := h.session("sup@example.com", cases.RoleSupervisor)
		if !strings.Contains(cc.page(sup).Body.String(), "Unfreeze the card") {
			t.Fatal("a supervisor is not offered to unfreeze")
		}
		expectRedirect(t, cc.post(sup, base+"/cards/"+card+"/freeze", map[string]string{"frozen": "false", "frozen_reason": "customer has the card back"}), cc.ref, "unfrozen", "cards")

		// Communications and their amendment.
		expectRefused(t, cc.post(cc.agent, base+"/communications", map[string]string{"channel": "phone", "direction": "internal", "body": "kept text"}),
			http.StatusUnprocessableEntity, "an internal_note is internal", "kept text")
		expectRedirect(t, cc.post(cc.agent, base+"/communications", map[string]string{"channel": "phone", "direction": "inbound",
			"occurred_at": "2026-11-20T09:30", "representative_name": "Sam", "reference": "CALL-9", "duration_seconds": "300", "body": "called about it"}),
			cc.ref, "comm", "timeline")
		comms, err := h.desk.ListCommunications(context.Background(), cases.Principal{Role: cases.RoleAdmin}, cc.ref, "", "")
		if err != nil || len(comms.Data) != 1 || comms.Data[0].RepresentativeName != "Sam" || *comms.Data[0].DurationSeconds != 300 {
			t.Fatalf("communications: %+v %v", comms.Data, err)
		}
		first := strconv.FormatInt(comms.Data[0].ID, 10)
		if amend := h.do(request{method: http.MethodGet, path: base + "?amend=" + first, cookie: cc.agent}).Body.String(); !strings.Contains(amend, "Amend entry "+first) ||
			!strings.Contains(amend, `value="CALL-9"`) {
			t.Fatal("the amend link does not fill the form")
		}
		expectRedirect(t, cc.post(cc.agent, base+"/communications", map[string]string{"channel": "phone", "direction": "inbound", "supersedes": first,
			"representative_name": "Samantha", "body": "called about it"}), cc.ref, "comm", "timeline")
		if comms, err = h.desk.ListCommunications(context.Background(), cases.Principal{Role: cases.RoleAdmin}, cc.ref, "", ""); err != nil ||
			len(comms.Data) != 2 || comms.Data[0].SupersededBy == nil {
			t.Fatalf("amendment: %+v %v", comms.Data, err)
		}

		// Evidence: uploaded through the console's form, verified by a second agent only.
		body, ct := multipartBody(t, map[string]string{"kind": "receipt", "amount": "50.00", "currency": "USD", "purchased_at": "2026-11-19",
			"store_name": "Store 12", "card_last4": "GH56"}, "receipt.png", pngBytes)
		expectRedirect(t, h.do(request{method: http.MethodPost, path: base + "/evidence", cookie: cc.agent, body: body,
			header: map[string]string{"Content-Type": ct, "Sec-Fetch-Site": "same-origin"}}), cc.ref, "evidence", "evidence")
		body, ct = multipartBody(t, map[string]string{"kind": "receipt", "amount": "12.345", "currency": "USD", "store_name": "Kept store"}, "r.png", append(pngBytes, 'z'))
		expectRefused(t, h.do(request{method: http.MethodPost, path: base + "/evidence", cookie: cc.agent, body: body,
			header: map[string]string{"Content-Type": ct, "Sec-Fetch-Site": "same-origin"}}), http.StatusUnprocessableEntity, "at most 2 decimals", `value="Kept store"`)
		// A receipt refused for its missing date keeps the amount typed, names the field as its
		// label does, and asks for the file again (walk review of issue 21).
		body, ct = multipartBody(t, map[string]string{"kind": "receipt", "amount": "25.00", "currency": "USD"}, "r2.png", append(pngBytes, 'y'))
		expectRefused(t, h.do(request{method: http.MethodPost, path: base + "/evidence", cookie: cc.agent, body: body,
			header: map[string]string{"Content-Type": ct, "Sec-Fetch-Site": "same-origin"}}), http.StatusUnprocessableEntity,
			`value="25.00"`, ">Purchased on</a>", "choose the file again")
		ev, err := h.desk.ListEvidence(context.Background(), cases.Principal{Role: cases.RoleAdmin}, cc.ref, "", "")
		if err != nil || len(ev.Data) != 1 || *ev.Data[0].AmountMinor != 5000 {
			t.Fatalf("evidence: %+v %v", ev.Data, err)
		}
		evID := strconv.FormatInt(ev.Data[0].ID, 10)
		if strings.Contains(cc.page(cc.agent).Body.String(), "/evidence/"+evID+"/verify") {
			t.Fatal("the uploader is offered to verify their own upload")
		}
		expectRefused(t, cc.post(cc.agent, base+"/evidence/"+evID+"/verify", map[string]string{"verdict": "verified", "note": "mine"}),
			http.StatusForbidden, "cannot verify")
		second := h.session("agent2@example.com", cases.RoleAgent)
		if !strings.Contains(cc.page(second).Body.String(), "/evidence/"+evID+"/verify") {
			t.Fatal("a second agent is not offered to verify")
		}
		expectRefused(t, cc.post(second, base+"/evidence/"+evID+"/verify", map[string]string{"verdict": "verified"}), http.StatusUnprocessableEntity, "note")
		expectRedirect(t, cc.post(second, base+"/evidence/"+evID+"/verify", map[string]string{"verdict": "verified", "note": "matches the till roll"}), cc.ref, "verified", "evidence")

		// Corrections: the preview says what R6 and R7 will decide; a refusal keeps the input.
		cardOne := strconv.FormatInt(v.Cards[0].ID, 10)
		pv := h.do(request{method: http.MethodGet, path: base + "/corrections/preview?kind=transfer&amount=60.00&currency=USD&card_id=" + cardOne +
			"&from_account=A1B2C3D4&to_account=Z9Y8X7W6", cookie: cc.agent}).Body.String()
		if !strings.Contains(pv, "50.00 of 50.00 USD left on this card") || !strings.Contains(pv, "It would be refused now") {
			t.Fatalf("preview: %s", pv)
		}
		expectRefused(t, cc.post(cc.agent, base+"/corrections", map[string]string{"kind": "transfer", "amount": "60.00", "currency": "USD", "card_id": cardOne,
			"from_account": "A1B2C3D4", "to_account": "Z9Y8X7W6", "reason": "kept reason"}), http.StatusUnprocessableEntity, "face value", "kept reason")
		expectRedirect(t, cc.post(cc.agent, base+"/corrections", map[string]string{"kind": "transfer", "amount": "38.00", "currency": "USD", "card_id": cardOne,
			"from_account": "A1B2C3D4", "to_account": "Z9Y8X7W6", "reason": "wrong account"}), cc.ref, "correction", "corrections")
		if s := cc.view().Status; s != "pending_approval" {
			t.Fatalf("status after the request: %s", s)
		}
		if pv := h.do(request{method: http.MethodGet, path: base + "/corrections/preview?kind=transfer", cookie: cc.agent}).Body.String(); !strings.Contains(pv, "12.00 of 50.00 USD left on this card") {
			t.Fatalf("preview after the request: %s", pv)
		}
		list, err := h.desk.ListCorrections(context.Background(), cases.Principal{Role: cases.RoleAdmin}, "pending", cc.ref, "", "")
		if err != nil || len(list.Data) != 1 {
			t.Fatalf("corrections: %+v %v", list.Data, err)
		}
		corr := strconv.FormatInt(list.Data[0].ID, 10)
		if strings.Contains(cc.page(second).Body.String(), "/corrections/"+corr+"/cancel") {
			t.Fatal("another agent is offered to cancel the request")
		}
		expectRefused(t, cc.post(second, base+"/corrections/"+corr+"/cancel", nil), http.StatusForbidden)
		expectRedirect(t, cc.post(cc.agent, base+"/corrections/"+corr+"/cancel", nil), cc.ref, "cancelled", "corrections")
		if s := cc.view().Status; s != "investigating" {
			t.Fatalf("status after the cancel: %s", s)
		}
		noClaimCode(t, cc.page(cc.agent).Body.String())
	})
}

// TestCasePageStaleVersion: a change made on a stale page is refused, says what changed, and
// changes nothing.
func TestCasePageStaleVersion(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cc := newConsoleCase(t, h)
		opened := cc.view()
		// Someone else moves the case meanwhile.
		other := h.session("agent2@example.com", cases.RoleAgent)
		expectRedirect(t, cc.post(other, "/cases/"+cc.ref+"/update", map[string]string{"version": "1", "status": "waiting_on_customer",
			"assignee": "agent2@example.com"}), cc.ref, "updated", "summary")
		before := cc.view()
		w := cc.post(cc.agent, "/cases/"+cc.ref+"/update", map[string]string{"version": strconv.FormatInt(opened.Version, 10), "status": "investigating",
			"priority": "urgent", "seen_status": opened.Status, "seen_priority": opened.Priority, "seen_assignee": "", "seen_tags": "phone"})
		expectRefused(t, w, http.StatusConflict, "This case changed since you opened it", "status is now waiting_on_customer (was new)",
			"assignee is now agent2@example.com (was none)")
		after := cc.view()
		if after.Version != before.Version || after.Status != "waiting_on_customer" || after.Priority != "normal" {
			t.Fatalf("a stale form changed the case: %+v", after)
		}
		// The poll says so too.
		if poll := h.do(request{method: http.MethodGet, path: "/cases/" + cc.ref + "/version?v=1", cookie: cc.agent}).Body.String(); !strings.Contains(poll, "Someone changed this case") {
			t.Fatalf("poll: %q", poll)
		}
		if poll := h.do(request{method: http.MethodGet, path: "/cases/" + cc.ref + "/version?v=" + strconv.FormatInt(after.Version, 10), cookie: cc.agent}).Body.String(); strings.TrimSpace(poll) != "" {
			t.Fatalf("poll at the current version: %q", poll)
		}
	})
}

// TestEvidencePreview: images are shown inline under a sandbox CSP and nosniff; a PDF never is.
func TestEvidencePreview(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cc := newConsoleCase(t, h)
		ids := map[string]string{}
		for name, content := range map[string][]byte{"png": pngBytes, "pdf": []byte("%PDF-1.4\n" + strings.Repeat("x", 100))} {
			w := h.upload(cc.apiToken, cc.ref, map[string]string{"kind": "other"}, "f."+name, content)
			var ev cases.EvidenceView
			mustUnmarshal(t, w.Body.Bytes(), &ev)
			ids[name] = strconv.FormatInt(ev.ID, 10)
		}
		img := h.do(request{method: http.MethodGet, path: "/evidence/" + ids["png"] + "/preview", cookie: cc.agent})
		if img.Code != http.StatusOK || img.Header().Get("Content-Type") != "image/png" || !strings.HasPrefix(img.Header().Get("Content-Security-Policy"), "sandbox") ||
			img.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(img.Header().Get("Content-Disposition"), "inline") {
			t.Fatalf("image preview: %d %v", img.Code, img.Header())
		}
		pdf := h.do(request{method: http.MethodGet, path: "/evidence/" + ids["pdf"] + "/preview", cookie: cc.agent})
		if pdf.Code != http.StatusUnsupportedMediaType || strings.Contains(pdf.Header().Get("Content-Type"), "pdf") ||
			!strings.HasPrefix(pdf.Header().Get("Content-Security-Policy"), "sandbox") || strings.Contains(pdf.Body.String(), "%PDF") {
			t.Fatalf("pdf preview: %d %v", pdf.Code, pdf.Header())
		}
		dl := h.do(request{method: http.MethodGet, path: "/evidence/" + ids["pdf"] + "/download", cookie: cc.agent})
		if dl.Code != http.StatusOK || !strings.HasPrefix(dl.Header().Get("Content-Disposition"), "attachment") || dl.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("download: %d %v", dl.Code, dl.Header())
		}
		if page := cc.page(cc.agent).Body.String(); strings.Contains(page, `src="/evidence/`+ids["pdf"]+`/preview"`) || !strings.Contains(page, `src="/evidence/`+ids["png"]+`/preview"`) {
			t.Fatal("the page previews the wrong files")
		}
	})
}

// TestCasePageReplyTemplates: "Use template" fills the communication form as an outbound email,
// without JavaScript (?reply=) and as an htmx fragment; no template holds a claim code.
func TestCasePageReplyTemplates(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cc := newConsoleCase(t, h)
		for _, path := range []string{"/cases/" + cc.ref + "?reply=wrong_account.transfer-requested", "/cases/" + cc.ref + "/reply?reply=wrong_account.transfer-requested"} {
			body := h.do(request{method: http.MethodGet, path: path, cookie: cc.agent}).Body.String()
			if !strings.Contains(body, "Hello Pat Doe,") || !strings.Contains(body, "Your case reference is "+cc.ref) ||
				!strings.Contains(body, `<option selected>outbound</option>`) || !strings.Contains(body, `<option selected>email</option>`) {
				t.Fatalf("%s does not fill the form: %.2000s", path, body)
			}
		}
	})
	replies, err := loadReplies()
	if err != nil || len(replies) < 8 {
		t.Fatalf("replies: %d %v", len(replies), err)
	}
	for _, r := range replies {
		if r.Type != "any" && !cases.CaseType(r.Type).Valid() {
			t.Errorf("reply %s names no case type", r.Name)
		}
	}
	if !holdsCodeLikeWord("please use AB12-CDEF34-GH56 now") || holdsCodeLikeWord("1-Click and representatives, e-books") {
		t.Fatal("holdsCodeLikeWord misjudges")
	}
}

// TestCasePageStatements: the case page runs the same number of statements whatever its entries.
func TestCasePageStatements(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		cc := newConsoleCase(t, h)
		second := h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		measure := func() int64 {
			_, n, _ := h.statementsOf(counter, request{method: http.MethodGet, path: "/cases/" + cc.ref, cookie: cc.agent})
			return n
		}
		add := func(i int) {
			if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + cc.ref + "/communications", token: cc.apiToken,
				body: strings.NewReader(`{"channel":"phone","direction":"inbound","body":"call ` + strconv.Itoa(i) + `"}`)}); w.Code != http.StatusCreated {
				t.Fatalf("communication: %d %s", w.Code, w.Body)
			}
			if w := h.upload(second, cc.ref, map[string]string{"kind": "card_photo"}, "c.png", append(pngBytes, byte(i))); w.Code != http.StatusCreated {
				t.Fatalf("upload: %d %s", w.Code, w.Body)
			}
			h.newCase(cc.apiToken, "other-"+strconv.Itoa(i)) // the customer's other cases
		}
		add(0)
		few := measure()
		for i := 1; i < 6; i++ {
			add(i)
		}
		if many := measure(); many != few {
			t.Fatalf("the case page ran %d statements with 1 entry of each kind and %d with 6", few, many)
		}
	})
}
