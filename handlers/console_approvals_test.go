package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/demo"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// approvalDesk is a desk with an agent and three supervisors, each with a console session; the
// agent and the first supervisor also hold API tokens to request corrections.
type approvalDesk struct {
	*harness
	agentTok, supTok             string
	agent, sup1, sup2, sup3, adm string
}

func newApprovalDesk(t *testing.T, db *gorm.DB) approvalDesk {
	t.Helper()
	h := newHarness(t, db)
	return approvalDesk{harness: h,
		agentTok: h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite),
		supTok:   h.token("sup1@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite),
		agent:    h.session("agent@example.com", cases.RoleAgent),
		sup1:     h.session("sup1@example.com", cases.RoleSupervisor),
		sup2:     h.session("sup2@example.com", cases.RoleSupervisor),
		sup3:     h.session("sup3@example.com", cases.RoleSupervisor),
		adm:      h.session("admin@example.com", cases.RoleAdmin)}
}

// caseWith opens a wrong_account case (caseBody) whose card and marketplace are changed as
// given: each pair replaces its first occurrence in the body.
func (d approvalDesk) caseWith(external string, replace ...string) (ref, cardID string) {
	d.t.Helper()
	body := strings.Replace(caseBody, `"81234"`, `"`+external+`"`, 1)
	for i := 0; i+1 < len(replace); i += 2 {
		body = strings.ReplaceAll(body, replace[i], replace[i+1])
	}
	w := d.do(request{method: http.MethodPost, path: "/api/v1/cases", token: d.agentTok, body: strings.NewReader(body)})
	var v struct {
		Ref   string
		Cards []struct{ ID string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.Ref == "" || len(v.Cards) != 1 {
		d.t.Fatalf("case: %d %s", w.Code, w.Body)
	}
	return v.Ref, v.Cards[0].ID
}

// transfer requests a transfer from the customer to the intended account with token.
func (d approvalDesk) transfer(token, ref, cardID string, amount int64, currency string) int64 {
	d.t.Helper()
	from, to := "A1B2C3D4", "Z9Y8X7W6"
	if currency == "JPY" {
		from, to = "JPA1B2C3", "JPZ9Y8X7"
	}
	w := d.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: token, body: strings.NewReader(fmt.Sprintf(
		`{"kind":"transfer","amount_minor":%d,"currency":"%s","from_account":"%s","to_account":"%s","card_id":"%s","reason":"redeemed on the wrong account"}`,
		amount, currency, from, to, cardID))})
	var v struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusCreated {
		d.t.Fatalf("request: %d %s", w.Code, w.Body)
	}
	var id int64
	if _, err := fmt.Sscan(v.ID, &id); err != nil {
		d.t.Fatal(err)
	}
	return id
}

func (d approvalDesk) get(cookie, path string) *httptest.ResponseRecorder {
	d.t.Helper()
	return d.do(request{method: http.MethodGet, path: path, cookie: cookie})
}

func (d approvalDesk) post(cookie, path string, values map[string]string) *httptest.ResponseRecorder {
	d.t.Helper()
	return d.do(request{method: http.MethodPost, path: path, cookie: cookie, header: sameOrigin, body: form(values)})
}

func (d approvalDesk) status(id int64) string {
	d.t.Helper()
	c, err := models.CorrectionByID(context.Background(), d.db, id)
	if err != nil {
		d.t.Fatal(err)
	}
	return c.Status
}

func (d approvalDesk) postings() int64 {
	d.t.Helper()
	var n int64
	if err := d.db.Model(&models.Posting{}).Count(&n).Error; err != nil {
		d.t.Fatal(err)
	}
	return n
}

// expectPage checks an HTML answer's status and that it holds each want.
func expectPage(t *testing.T, w *httptest.ResponseRecorder, status int, wants ...string) string {
	t.Helper()
	body := w.Body.String()
	if w.Code != status || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("answer %d %q, want %d html; %.800s", w.Code, w.Header().Get("Content-Type"), status, body)
	}
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, code := range []string{cases.CodeFourEyes, cases.CodeRoleRequired, cases.CodeAlreadyDecided, cases.CodeAlreadyApproved,
		cases.CodeExceedsFaceValue, cases.CodeEvidenceRequired, cases.CodeValidationFailed} {
		if strings.Contains(body, code) {
			t.Errorf("the page shows the rule code %q", code)
		}
	}
	noClaimCode(t, body)
	return body
}

func approveLink(id int64) string { return fmt.Sprintf(`href="/approvals/%d/confirm`, id) }
func denyForm(id int64) string    { return fmt.Sprintf(`action="/approvals/%d/deny"`, id) }

// TestApprovalQueue: everyone signed in reads the queue, oldest first, with what R5, R6 and R7
// weigh; agents get no decision buttons and a 403 on every action; the requester gets none on
// their own request.
func TestApprovalQueue(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newApprovalDesk(t, db)
		ref, card := d.caseWith("q1")
		first := d.transfer(d.agentTok, ref, card, 2000, "USD")
		jpRef, jpCard := d.caseWith("q2", `"US"`, `"JP"`, `"USD"`, `"JPY"`, "AB12-CDEF34-GH56", "JP12-CDEF34-GH77", "6046123412341234", "6046123412349999",
			`"face_value_minor": 5000`, `"face_value_minor": 9000`, "A1B2C3D4", "JPA1B2C3", "Z9Y8X7W6", "JPZ9Y8X7")
		yen := d.transfer(d.agentTok, jpRef, jpCard, 3000, "JPY")
		own := d.transfer(d.supTok, ref, card, 1000, "USD")

		// Keyset pages, oldest first.
		one := expectPage(t, d.get(d.agent, "/approvals?limit=1"), http.StatusOK, fmt.Sprintf("approval-%d-title", first), `rel="next"`)
		next := regexp.MustCompile(`href="(/approvals\?cursor=[^"]+)" rel="next"`).FindStringSubmatch(one)
		if next == nil || strings.Contains(one, fmt.Sprintf("approval-%d-title", yen)) {
			t.Fatalf("the first page of one: %s", one)
		}
		expectPage(t, d.get(d.agent, strings.ReplaceAll(next[1], "&amp;", "&")), http.StatusOK, fmt.Sprintf("approval-%d-title", yen), "Oldest first")
		body := expectPage(t, d.get(d.agent, "/approvals"), http.StatusOK,
			`href="/cases/`+ref+`"`, "wrong account", "20.00 USD", `href="/accounts/A1B2C3D4"`, `href="/accounts/Z9Y8X7W6"`,
			"••••GH56", `face value <span class="amount">50.00 USD</span>`, `applied across its cases: <span class="amount">0.00 USD</span>`,
			`pending, this one included: <span class="amount">30.00 USD</span>`,
			"The card was redeemed to A1B2C3D4, the from account.", "agent@example.com", "0 of 1", "3000 JPY", `face value <span class="amount">9000 JPY</span>`,
			"A supervisor or an admin decides")
		if strings.Contains(body, "3000.00") || strings.Contains(body, "30.00 JPY") {
			t.Error("a JPY amount is shown with decimals")
		}
		if i, j, k := strings.Index(body, fmt.Sprintf("approval-%d-title", first)), strings.Index(body, fmt.Sprintf("approval-%d-title", yen)),
			strings.Index(body, fmt.Sprintf("approval-%d-title", own)); i < 0 || !(i < j && j < k) {
			t.Errorf("the queue is not oldest first: %d %d %d", i, j, k)
		}
		for _, id := range []int64{first, yen, own} {
			if strings.Contains(body, approveLink(id)) || strings.Contains(body, denyForm(id)) {
				t.Errorf("the agent is offered a decision on #%d", id)
			}
		}

		// Agents: 403 from the server on every action, and nothing changes.
		for _, w := range []*httptest.ResponseRecorder{
			d.get(d.agent, fmt.Sprintf("/approvals/%d/confirm", first)),
			d.post(d.agent, fmt.Sprintf("/approvals/%d/approve", first), map[string]string{"note": "ok"}),
			d.post(d.agent, fmt.Sprintf("/approvals/%d/deny", first), map[string]string{"reason": "no"}),
		} {
			expectPage(t, w, http.StatusForbidden, "Not allowed")
		}
		if d.status(first) != models.CorrectionPending {
			t.Fatalf("an agent's action changed the correction: %s", d.status(first))
		}

		// The requester sees no decision on their own request; the server refuses it anyway.
		body = expectPage(t, d.get(d.sup1, "/approvals"), http.StatusOK, "You requested this correction")
		if strings.Contains(body, approveLink(own)) || strings.Contains(body, denyForm(own)) {
			t.Error("the requester is offered a decision on their own request")
		}
		if !strings.Contains(body, approveLink(first)) || !strings.Contains(body, denyForm(first)) {
			t.Error("a supervisor is not offered a decision on another's request")
		}
		expectPage(t, d.post(d.sup1, fmt.Sprintf("/approvals/%d/approve", own), nil), http.StatusForbidden,
			"the requester of a correction cannot decide it")
		expectPage(t, d.post(d.sup1, fmt.Sprintf("/approvals/%d/deny", own), map[string]string{"reason": "mine"}), http.StatusForbidden,
			"the requester of a correction cannot decide it")
		expectPage(t, d.get(d.sup1, fmt.Sprintf("/approvals/%d/confirm", own)), http.StatusOK, "You requested this correction")
		if d.status(own) != models.CorrectionPending || d.postings() != 0 {
			t.Fatal("the requester's decision went through")
		}
	})
}

// TestApprovalConfirmAndApply: approving goes through a confirmation step that restates the
// amount, the accounts and the card, and lands on the queue with the outcome and the balances.
func TestApprovalConfirmAndApply(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newApprovalDesk(t, db)
		ref, card := d.caseWith("a1")
		id := d.transfer(d.agentTok, ref, card, 5000, "USD")
		confirm := fmt.Sprintf("/approvals/%d/confirm", id)
		body := expectPage(t, d.get(d.sup2, confirm), http.StatusOK, "Approving moves", "50.00 USD", "from account <strong>A1B2C3D4</strong>",
			"to account <strong>Z9Y8X7W6</strong>", "taken from card <strong>••••GH56</strong>", "Balances in USD",
			fmt.Sprintf(`action="/approvals/%d/approve"`, id), `name="note"`, "Approve 50.00 USD from A1B2C3D4 to Z9Y8X7W6")
		if strings.Contains(body, approveLink(id)) {
			t.Error("the confirmation step links to itself")
		}
		// With JavaScript the same step is swapped into the queue in place of the row's panel.
		inline := d.do(request{method: http.MethodGet, path: confirm + "?inline=1", cookie: d.sup2, header: map[string]string{"HX-Request": "true"}})
		fragment := expectPage(t, inline, http.StatusOK, fmt.Sprintf(`<div class="decision confirming" id="decision-%d"`, id), "Approving moves",
			"from account <strong>A1B2C3D4</strong>", "taken from card <strong>••••GH56</strong>", fmt.Sprintf(`action="/approvals/%d/approve"`, id))
		if strings.Contains(fragment, "<!doctype html>") {
			t.Error("the inline confirmation is a whole page")
		}
		if !strings.Contains(d.get(d.sup2, "/approvals").Body.String(), fmt.Sprintf(`hx-get="/approvals/%d/confirm?inline=1" hx-target="#decision-%d"`, id, id)) {
			t.Error("the queue's Approve link does not swap the confirmation in")
		}
		expectPage(t, d.do(request{method: http.MethodGet, path: confirm + "?inline=1", cookie: d.agent, header: map[string]string{"HX-Request": "true"}}),
			http.StatusForbidden)
		if d.status(id) != models.CorrectionPending {
			t.Fatal("showing the confirmation step changed the correction")
		}
		w := d.post(d.sup2, fmt.Sprintf("/approvals/%d/approve", id), map[string]string{"note": "checked the redemption"})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != fmt.Sprintf("/approvals?decided=%d", id) {
			t.Fatalf("approve: %d to %q: %.500s", w.Code, w.Header().Get("Location"), w.Body)
		}
		expectPage(t, d.get(d.sup2, w.Header().Get("Location")), http.StatusOK, fmt.Sprintf("Correction #%d is applied", id),
			">-50.00 USD<", ">50.00 USD<", "No correction is waiting")
		if d.status(id) != models.CorrectionApplied || d.postings() != 2 {
			t.Fatalf("status %s, %d postings", d.status(id), d.postings())
		}
		// A second supervisor who decides after the first: told so, nothing applied twice.
		expectPage(t, d.post(d.sup3, fmt.Sprintf("/approvals/%d/approve", id), nil), http.StatusUnprocessableEntity,
			"Someone decided first.", fmt.Sprintf("Correction #%d is no longer pending: it is applied", id))
		expectPage(t, d.post(d.sup3, fmt.Sprintf("/approvals/%d/deny", id), map[string]string{"reason": "too late"}), http.StatusUnprocessableEntity,
			"no longer pending: it is applied")
		expectPage(t, d.get(d.sup3, confirm), http.StatusOK, "no longer pending: it is applied")
		late := expectPage(t, d.do(request{method: http.MethodGet, path: confirm + "?inline=1", cookie: d.sup3, header: map[string]string{"HX-Request": "true"}}),
			http.StatusOK, "no longer pending: it is applied", "Reload the queue")
		if strings.Contains(late, "<form") {
			t.Error("the inline confirmation of a decided correction offers a form")
		}
		if d.postings() != 2 || d.status(id) != models.CorrectionApplied {
			t.Fatal("a late decision changed an applied correction")
		}
	})
}

// TestApprovalDual: a correction at the threshold needs two supervisors; the first is told it
// needs another and is not offered a second approval; the server refuses one anyway.
func TestApprovalDual(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newApprovalDesk(t, db)
		ref, card := d.caseWith("d1", `"face_value_minor": 5000`, `"face_value_minor": 60000`)
		id := d.transfer(d.agentTok, ref, card, 50000, "USD")
		expectPage(t, d.get(d.sup1, fmt.Sprintf("/approvals/%d/confirm", id)), http.StatusOK, "needs 2 approvals by different supervisors")
		w := d.post(d.sup1, fmt.Sprintf("/approvals/%d/approve", id), map[string]string{})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("first approval: %d %.500s", w.Code, w.Body)
		}
		expectPage(t, d.get(d.sup1, w.Header().Get("Location")), http.StatusOK, "1 of 2 approvals", "sup1@example.com")
		// The same address read by someone who did not approve says where it stands, not "your approval".
		if body := expectPage(t, d.get(d.sup2, w.Header().Get("Location")), http.StatusOK, "is still pending: 1 of 2 approvals"); strings.Contains(body, "Your approval") {
			t.Error("the outcome thanks a supervisor who did not approve for their approval")
		}
		body := expectPage(t, d.get(d.sup1, "/approvals"), http.StatusOK, "1 of 2", "You approved it")
		if strings.Contains(body, approveLink(id)) {
			t.Error("the first supervisor is offered a second approval")
		}
		expectPage(t, d.post(d.sup1, fmt.Sprintf("/approvals/%d/approve", id), nil), http.StatusConflict, "you have already approved this correction")
		if d.status(id) != models.CorrectionPending || d.postings() != 0 {
			t.Fatal("one supervisor applied a dual-approval correction")
		}
		if body := expectPage(t, d.get(d.sup2, "/approvals"), http.StatusOK, "1 of 2"); !strings.Contains(body, approveLink(id)) {
			t.Error("the second supervisor is not offered the approval")
		}
		expectPage(t, d.get(d.sup2, fmt.Sprintf("/approvals/%d/confirm", id)), http.StatusOK, "1 of 2 approvals so far: yours applies it")
		if w := d.post(d.sup2, fmt.Sprintf("/approvals/%d/approve", id), nil); w.Code != http.StatusSeeOther {
			t.Fatalf("second approval: %d %.500s", w.Code, w.Body)
		}
		if d.status(id) != models.CorrectionApplied || d.postings() != 2 {
			t.Fatalf("after two approvals: %s, %d postings", d.status(id), d.postings())
		}
	})
}

// TestApprovalDeny: a denial needs a reason, asked for next to its field; from the case page it
// returns there; a rule refusal at approval is said in words, never a 500.
func TestApprovalDeny(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newApprovalDesk(t, db)
		ref, card := d.caseWith("n1")
		id := d.transfer(d.agentTok, ref, card, 1500, "USD")
		field := fmt.Sprintf("deny-%d-reason", id)
		body := expectPage(t, d.post(d.sup2, fmt.Sprintf("/approvals/%d/deny", id), map[string]string{"reason": "  "}), http.StatusUnprocessableEntity,
			fmt.Sprintf("Deny correction #%d?", id), "a denial needs a reason")
		if strings.Contains(body, fmt.Sprintf(`action="/approvals/%d/approve"`, id)) {
			t.Error("the refused denial offers the approval in its place")
		}
		errRe := regexp.MustCompile(`<textarea id="f-` + field + `" name="reason"[^>]*aria-invalid="true" aria-describedby="f-` + field + `-error"[^>]*>\s*</textarea>\s*<p class="field-error" id="f-` + field + `-error">[^<]+</p>`)
		if !errRe.MatchString(body) {
			t.Errorf("no inline error next to the reason: %s", body)
		}
		if d.status(id) != models.CorrectionPending {
			t.Fatal("a denial without a reason went through")
		}

		// The case page carries the same panel; deciding there returns there.
		casePage := expectPage(t, d.get(d.sup2, "/cases/"+ref), http.StatusOK, approveLink(id)+"?back=case", denyForm(id))
		if !strings.Contains(casePage, `name="back" value="case"`) {
			t.Error("the case page's deny form does not return to the case")
		}
		if page := d.get(d.agent, "/cases/"+ref).Body.String(); strings.Contains(page, approveLink(id)) || strings.Contains(page, denyForm(id)) {
			t.Error("the case page offers an agent a decision")
		}
		w := d.post(d.sup2, fmt.Sprintf("/approvals/%d/deny", id), map[string]string{"reason": "the card was redeemed elsewhere", "back": "case"})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/cases/"+ref+"?done=decided#corrections" {
			t.Fatalf("deny: %d to %q", w.Code, w.Header().Get("Location"))
		}
		expectPage(t, d.get(d.sup2, strings.TrimSuffix(w.Header().Get("Location"), "#corrections")), http.StatusOK, "Your decision on the correction is recorded", "the card was redeemed elsewhere")
		if d.status(id) != models.CorrectionDenied {
			t.Fatalf("status %s after the denial", d.status(id))
		}

		// R6 checked again at approval: the card's redemption changed after the request.
		id2 := d.transfer(d.agentTok, ref, card, 1500, "USD")
		if w := d.do(request{method: http.MethodPatch, path: "/api/v1/cards/" + card, token: d.agentTok,
			body: strings.NewReader(`{"redeemed_to":"Z9Y8X7W6"}`)}); w.Code != http.StatusOK {
			t.Fatalf("card: %d %s", w.Code, w.Body)
		}
		expectPage(t, d.get(d.sup2, "/approvals"), http.StatusOK, "missing", "The card was redeemed to Z9Y8X7W6, not to the from account A1B2C3D4.")
		expectPage(t, d.post(d.sup2, fmt.Sprintf("/approvals/%d/approve", id2), map[string]string{"note": "ok"}), http.StatusUnprocessableEntity,
			"This was not done:", "a transfer needs its card recorded as redeemed to the from_account", `>ok</textarea>`)
		if d.status(id2) != models.CorrectionPending || d.postings() != 0 {
			t.Fatal("a refused approval changed something")
		}

		// R7 checked again at approval: the card's face value was lowered after the request.
		ref3, card3 := d.caseWith("n3", "AB12-CDEF34-GH56", "FV12-CDEF34-GH33", "6046123412341234", "6046123412343333")
		id3 := d.transfer(d.agentTok, ref3, card3, 4000, "USD")
		if w := d.do(request{method: http.MethodPatch, path: "/api/v1/cards/" + card3, token: d.agentTok,
			body: strings.NewReader(`{"face_value_minor":3000}`)}); w.Code != http.StatusOK {
			t.Fatalf("card: %d %s", w.Code, w.Body)
		}
		expectPage(t, d.post(d.sup2, fmt.Sprintf("/approvals/%d/approve", id3), nil), http.StatusUnprocessableEntity,
			"This was not done:", "applying it would take 40.00 USD from a card of 30.00 USD")
		if d.status(id3) != models.CorrectionPending || d.postings() != 0 {
			t.Fatal("an approval over the face value changed something")
		}
	})
}

// TestDemoCorrectionsAreDecidedFromTheQueue: every pending correction of `serve --demo` can be
// decided from /approvals by the demo's supervisors, each approving what the queue offers them,
// with no case page opened and no refusal.
func TestDemoCorrectionsAreDecidedFromTheQueue(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		created, err := demo.AddUsers(ctx, h.desk)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := demo.Load(ctx, h.desk, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		var sessions []string
		for _, u := range created {
			if u.Role != cases.RoleSupervisor {
				continue
			}
			s, err := h.desk.SignIn(ctx, cases.SignInInput{Email: u.Email, Password: u.Password, ClientIP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, s.Token)
		}
		offered := regexp.MustCompile(`href="/approvals/([0-9]+)/confirm"`)
		pending, decided := 0, 0
		for round := 0; round < 4; round++ {
			for _, s := range sessions {
				body := expectPage(t, h.do(request{method: http.MethodGet, path: "/approvals", cookie: s}), http.StatusOK)
				if round == 0 && pending == 0 {
					pending = strings.Count(body, `<article class="approval"`)
				}
				for _, m := range offered.FindAllStringSubmatch(body, -1) {
					expectPage(t, h.do(request{method: http.MethodGet, path: "/approvals/" + m[1] + "/confirm", cookie: s}), http.StatusOK, "Approve correction #"+m[1])
					w := h.do(request{method: http.MethodPost, path: "/approvals/" + m[1] + "/approve", cookie: s, header: sameOrigin, body: form(map[string]string{"note": "checked"})})
					if w.Code != http.StatusSeeOther {
						t.Fatalf("approving #%s: %d %.800s", m[1], w.Code, w.Body)
					}
					decided++
				}
			}
		}
		if pending == 0 || decided < pending {
			t.Fatalf("the demo had %d pending corrections; %d approvals went through", pending, decided)
		}
		t.Logf("the demo's %d pending corrections took %d approvals", pending, decided)
		left := expectPage(t, h.do(request{method: http.MethodGet, path: "/approvals", cookie: sessions[0]}), http.StatusOK)
		if !strings.Contains(left, "No correction is waiting") {
			t.Fatalf("corrections are left undecided: %s", left)
		}
	})
}

// TestApprovalQueueReversal: a reversal gives money back to its card; the queue and its
// confirmation do not describe it as taken from the card nor count it against the face value.
func TestApprovalQueueReversal(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newApprovalDesk(t, db)
		ref, card := d.caseWith("r1", `"face_value_minor": 5000`, `"face_value_minor": 5000`)
		id := d.transfer(d.agentTok, ref, card, 3000, "USD")
		if w := d.post(d.sup1, fmt.Sprintf("/approvals/%d/approve", id), nil); w.Code != http.StatusSeeOther {
			t.Fatalf("approval: %d %.500s", w.Code, w.Body)
		}
		w := d.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: d.agentTok,
			body: strings.NewReader(fmt.Sprintf(`{"kind":"reversal","reverses":"%d","reason":"sent to the wrong account again"}`, id))})
		if w.Code != http.StatusCreated {
			t.Fatalf("reversal request: %d %s", w.Code, w.Body)
		}
		var rev struct{ ID string }
		if err := json.Unmarshal(w.Body.Bytes(), &rev); err != nil {
			t.Fatal(err)
		}
		body := expectPage(t, d.get(d.sup2, "/approvals"), http.StatusOK, "a reversal gives back what its original took")
		if strings.Contains(body, "pending, this one included") {
			t.Error("the queue counts a reversal as pending against its card")
		}
		confirm := expectPage(t, d.get(d.sup2, "/approvals/"+rev.ID+"/confirm"), http.StatusOK, "giving back to card", "reversing correction #")
		if strings.Contains(confirm, "taken from card") {
			t.Error("the confirmation says a reversal takes money from its card")
		}
	})
}
