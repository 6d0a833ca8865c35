package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// cardJSON is the card answer of GET, PATCH and lookup.
type cardJSON struct {
	ID           string   `json:"id"`
	Last4        string   `json:"last4"`
	Frozen       bool     `json:"frozen"`
	FrozenBy     *string  `json:"frozen_by"`
	FrozenAt     *string  `json:"frozen_at"`
	FrozenReason *string  `json:"frozen_reason"`
	Cases        []string `json:"cases"`
}

func decodeCard(t *testing.T, w *httptest.ResponseRecorder) cardJSON {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("card answer %d: %s", w.Code, w.Body)
	}
	var c cardJSON
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCardLookupByClaimCode: POST /api/v1/cards/lookup finds a card by the code a customer reads
// out, however they read it, answers it masked with its cases, and never logs the code.
func TestCardLookupByClaimCode(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		writer := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		reader := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		first, second := h.newCase(writer, "1001"), h.newCase(writer, "1002") // the same card on two cases
		lookup := func(body string, header map[string]string) *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPost, path: "/api/v1/cards/lookup", token: reader, body: strings.NewReader(body), header: header})
		}
		var byID cardJSON
		for _, spelled := range []string{"AB12-CDEF34-GH56", "ab12 cdef34 gh56", `AB12\u00a0CDEF34\u2013GH56\u200b`, "ＡＢ１２ＣＤＥＦ３４ＧＨ５６"} {
			got := decodeCard(t, lookup(`{"claim_code": "`+spelled+`"}`, nil))
			if got.Last4 != "GH56" || !slices.Equal(got.Cases, []string{first, second}) {
				t.Fatalf("lookup of %q: %+v", spelled, got)
			}
			if byID.ID == "" {
				byID = decodeCard(t, h.do(request{method: http.MethodGet, path: "/api/v1/cards/" + got.ID, token: reader}))
			}
			if got.ID != byID.ID {
				t.Fatalf("lookup found card %s, the case names %s", got.ID, byID.ID)
			}
		}
		w := lookup(`{"claim_code": "AB12-CDEF34-GH56"}`, nil)
		var asLookup, asGet map[string]any
		get := h.do(request{method: http.MethodGet, path: "/api/v1/cards/" + byID.ID, token: reader})
		if err := json.Unmarshal(w.Body.Bytes(), &asLookup); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(get.Body.Bytes(), &asGet); err != nil {
			t.Fatal(err)
		}
		if len(asLookup) != len(asGet) || w.Body.String() != get.Body.String() {
			t.Fatalf("lookup answers\n%s\nGET answers\n%s", w.Body, get.Body)
		}
		if strings.Contains(w.Body.String(), "CDEF34") {
			t.Fatal("the lookup answer holds the claim code")
		}
		if p := expectProblem(t, lookup(`{"claim_code": "ZZZZ-YYYY-XXXX-9999"}`, nil), http.StatusNotFound, cases.CodeNotFound); strings.Contains(p.Detail, "ZZZZ") {
			t.Fatalf("404 detail repeats the code: %q", p.Detail)
		}
		for _, bad := range []struct{ body, code string }{
			{`{"claim_code": "6046 1234 1234 1234"}`, cases.CodeSerialNotClaimCode},
			{`{"claim_code": "AB12.CDEF34.GH56"}`, cases.CodeInvalidClaimCode},
			{`{"claim_code": "SHORT1"}`, cases.CodeInvalidClaimCode},
			{`{"claim_code": ""}`, cases.CodeValidationFailed},
			{`{}`, cases.CodeValidationFailed},
		} {
			p := expectProblem(t, lookup(bad.body, nil), http.StatusUnprocessableEntity, bad.code)
			if len(p.Errors) != 1 || p.Errors[0].Field != "claim_code" {
				t.Errorf("%s: errors %+v, want one naming claim_code", bad.body, p.Errors)
			}
		}
		expectProblem(t, lookup(`{"claim_code": 12}`, nil), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectProblem(t, lookup(`"AB12-CDEF34-GH56"`, nil), http.StatusBadRequest, cases.CodeMalformedJSON)
		// A lookup changes nothing: an Idempotency-Key is not a reason to keep its body or answer.
		decodeCard(t, lookup(`{"claim_code": "AB12-CDEF34-GH56"}`, map[string]string{"Idempotency-Key": "lookup-1"}))
		var kept int64
		if err := db.Raw(`SELECT count(*) FROM idempotency_keys`).Scan(&kept).Error; err != nil {
			t.Fatal(err)
		}
		if kept != 0 {
			t.Fatalf("%d idempotency rows after a lookup", kept)
		}
		noRead := h.token("writer-only@example.com", cases.RoleAgent, cases.ScopeCasesWrite)
		expectProblem(t, h.do(request{method: http.MethodPost, path: "/api/v1/cards/lookup", token: noRead,
			body: strings.NewReader(`{"claim_code": "AB12-CDEF34-GH56"}`)}), http.StatusForbidden, cases.CodeScopeRequired)
		logs := strings.ToUpper(h.logs.String())
		for _, part := range []string{"AB12-CDEF34", "AB12CDEF34", "CDEF34", "ZZZZ-YYYY", "ZZZZYYYY", "AB12.CDEF34", "604612341234"} {
			if strings.Contains(logs, part) {
				t.Fatalf("the server log holds part of a claim code (%s)", part)
			}
		}
		if !strings.Contains(h.logs.String(), `"route":"/api/v1/cards/lookup"`) {
			t.Fatal("the access log has no lookup: the check above proves nothing")
		}
	})
}

// TestFreezeOverHTTP: PATCH /api/v1/cards/{id} freezes with a reason, shows who froze the card,
// when and why, and unfreezes only for a supervisor with a reason.
func TestFreezeOverHTTP(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		h.newCase(agent, "2001")
		found := decodeCard(t, h.do(request{method: http.MethodPost, path: "/api/v1/cards/lookup", token: agent,
			body: strings.NewReader(`{"claim_code": "AB12-CDEF34-GH56"}`)}))
		patch := func(token, body string) *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPatch, path: "/api/v1/cards/" + found.ID, token: token, body: strings.NewReader(body)})
		}
		p := expectProblem(t, patch(agent, `{"frozen": true}`), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		if len(p.Errors) != 1 || p.Errors[0].Field != "frozen_reason" {
			t.Fatalf("freezing without a reason: %+v", p)
		}
		frozen := decodeCard(t, patch(agent, `{"frozen": true, "frozen_reason": "scam report: codes read to a caller"}`))
		if !frozen.Frozen || frozen.FrozenBy == nil || *frozen.FrozenBy != "agent@example.com" || frozen.FrozenAt == nil ||
			frozen.FrozenReason == nil || *frozen.FrozenReason != "scam report: codes read to a caller" {
			t.Fatalf("frozen card: %+v", frozen)
		}
		expectProblem(t, patch(agent, `{"frozen": false, "frozen_reason": "customer proved ownership"}`), http.StatusForbidden, cases.CodeRoleRequired)
		expectProblem(t, patch(sup, `{"frozen": false}`), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		thawed := decodeCard(t, patch(sup, `{"frozen": false, "frozen_reason": "customer proved ownership"}`))
		if thawed.Frozen || thawed.FrozenBy != nil || thawed.FrozenAt != nil || thawed.FrozenReason != nil {
			t.Fatalf("unfrozen card: %+v", thawed)
		}
	})
}

// TestReaddingACardAnswers200: adding a card creates a link (201); adding it again creates
// nothing, and says so with 200 (review of issue 19).
func TestReaddingACardAnswers200(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		tok := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		ref := h.newCase(tok, "readd")
		card := `{"serial":"5555000011112222","face_value_minor":2500,"currency":"USD","marketplace":"US"}`
		for i, want := range []int{http.StatusCreated, http.StatusOK} {
			w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/cards", token: tok, body: strings.NewReader(card)})
			if w.Code != want || w.Header().Get("ETag") == "" {
				t.Fatalf("adding the card, time %d: %d %s", i+1, w.Code, w.Body)
			}
		}
	})
}
