package handlers

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// jsonRoute is one API route that takes a JSON body, with a body it accepts that names every
// string field its body type has.
type jsonRoute struct {
	name, method, path string
	token              string
	ifMatch            bool         // PATCH of a case: send the case's current ETag
	body               string       // accepted as it is
	bodyType           reflect.Type // what the handler decodes the body into
}

// jsonFixture is a case with a card, a communication entry, an evidence upload and three pending
// corrections, and the routes that take JSON pointed at them.
type jsonFixture struct {
	h                   *harness
	agent, second, sup  string
	ref                 string
	routes              []jsonRoute
	cardID, evidenceID  string
	approveID, cancelID string
}

func newJSONFixture(t *testing.T, db *gorm.DB) *jsonFixture {
	h := newHarness(t, db)
	f := &jsonFixture{h: h,
		agent:  h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite),
		second: h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite),
		sup:    h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCorrectionsDecide),
	}
	f.ref = h.newCase(f.agent, "json-fixture")
	var kase struct {
		Cards []struct{ ID string } `json:"cards"`
	}
	get := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + f.ref, token: f.agent})
	if err := json.Unmarshal(get.Body.Bytes(), &kase); err != nil || len(kase.Cards) != 1 {
		t.Fatalf("case: %v %s", err, get.Body)
	}
	f.cardID = kase.Cards[0].ID
	entry := f.post(t, f.agent, "/api/v1/cases/"+f.ref+"/communications", `{"channel":"phone","direction":"inbound","body":"first call"}`)
	up := h.upload(f.agent, f.ref, receipt, "r.png", pngBytes)
	if up.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", up.Code, up.Body)
	}
	var ev struct{ ID string }
	if err := json.Unmarshal(up.Body.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	f.evidenceID = ev.ID
	correction := `{"kind":"transfer","amount_minor":1000,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"` +
		f.cardID + `","reason":"landed on the work account","reverses":""}`
	f.approveID = f.post(t, f.agent, "/api/v1/cases/"+f.ref+"/corrections", correction)
	denyID := f.post(t, f.agent, "/api/v1/cases/"+f.ref+"/corrections", correction)
	f.cancelID = f.post(t, f.agent, "/api/v1/cases/"+f.ref+"/corrections", correction)

	f.routes = []jsonRoute{
		{name: "create case", method: http.MethodPost, path: "/api/v1/cases", token: f.agent, bodyType: reflect.TypeFor[cases.NewCase](),
			body: `{"type": "wrong_account", "priority": "normal", "summary": "Redeemed on work account", "description": "free text",
 "customer": {"account_id": "A1B2C3D4", "marketplace": "US", "email": "pat@example.com", "name": "Pat Doe"},
 "intended_account": {"account_id": "Z9Y8X7W6", "marketplace": "US", "email": "pat.home@example.com", "name": "Pat at home"},
 "cards": [{"claim_code": "QW12-ERTY34-UI56", "serial": "6046999912341234", "face_value_minor": 5000, "currency": "USD", "marketplace": "US",
            "status": "redeemed", "redeemed_to": "A1B2C3D4", "redeemed_at": "2026-11-20T10:00:00Z"}],
 "external": {"system": "zendesk", "id": "json-2", "url": "https://example.zendesk.com/agent/tickets/2"}, "tags": ["phone"]}`},
		{name: "add card", method: http.MethodPost, path: "/api/v1/cases/" + f.ref + "/cards", token: f.agent, bodyType: reflect.TypeFor[cases.CardInput](),
			body: `{"claim_code": "ZX12-CVBN34-MK56", "serial": "6046888812341234", "face_value_minor": 2500, "currency": "USD", "marketplace": "US",
 "status": "redeemed", "redeemed_to": "A1B2C3D4", "redeemed_at": "2026-11-20T10:00:00Z"}`},
		{name: "update case", method: http.MethodPatch, path: "/api/v1/cases/" + f.ref, token: f.agent, ifMatch: true, bodyType: reflect.TypeFor[cases.CasePatch](),
			body: `{"status": "", "resolution": "", "assignee": "agent@example.com", "priority": "high", "tags": ["phone", "urgent"]}`},
		{name: "look a card up", method: http.MethodPost, path: "/api/v1/cards/lookup", token: f.agent, bodyType: reflect.TypeFor[cases.CardLookup](),
			body: `{"claim_code": "AB12-CDEF34-GH56"}`},
		{name: "add communication", method: http.MethodPost, path: "/api/v1/cases/" + f.ref + "/communications", token: f.agent,
			bodyType: reflect.TypeFor[cases.NewCommunication](),
			body: `{"channel": "phone", "direction": "inbound", "occurred_at": "2026-11-20T10:00:00Z", "counterpart_name": "Pat Doe",
 "representative_name": "Maria", "reference": "CALL-1", "duration_seconds": 300, "body": "the customer called back", "supersedes": "` + entry + `"}`},
		{name: "request correction", method: http.MethodPost, path: "/api/v1/cases/" + f.ref + "/corrections", token: f.agent,
			bodyType: reflect.TypeFor[cases.NewCorrection](), body: correction},
		{name: "verify evidence", method: http.MethodPost, path: "/api/v1/evidence/" + f.evidenceID + "/verify", token: f.second,
			bodyType: reflect.TypeFor[cases.VerdictInput](), body: `{"verdict": "verified", "note": "matches the card"}`},
		{name: "deny correction", method: http.MethodPost, path: "/api/v1/corrections/" + denyID + "/deny", token: f.sup,
			bodyType: reflect.TypeFor[cases.DenialInput](), body: `{"reason": "no proof"}`},
		{name: "approve correction", method: http.MethodPost, path: "/api/v1/corrections/" + f.approveID + "/approve", token: f.sup,
			bodyType: reflect.TypeFor[cases.ApprovalInput](), body: `{"note": "checked"}`},
		{name: "cancel correction", method: http.MethodPost, path: "/api/v1/corrections/" + f.cancelID + "/cancel", token: f.agent,
			bodyType: reflect.TypeFor[struct{}](), body: `{}`},
		// Last: it freezes the card, which the correction routes above need unfrozen.
		{name: "update card", method: http.MethodPatch, path: "/api/v1/cards/" + f.cardID, token: f.agent, bodyType: reflect.TypeFor[cases.CardPatch](),
			body: `{"frozen": true, "frozen_reason": "reported stolen", "status": "redeemed", "redeemed_to": "A1B2C3D4", "redeemed_at": "2026-11-20T10:00:00Z", "face_value_minor": 5000}`},
	}
	return f
}

// route returns the fixture's route of that name.
func (f *jsonFixture) route(t *testing.T, name string) jsonRoute {
	t.Helper()
	for _, r := range f.routes {
		if r.name == name {
			return r
		}
	}
	t.Fatalf("no route %q in the fixture", name)
	return jsonRoute{}
}

// post sends a body that must be accepted and returns the id of what it created.
func (f *jsonFixture) post(t *testing.T, token, path, body string) string {
	t.Helper()
	w := f.h.do(request{method: http.MethodPost, path: path, token: token, body: strings.NewReader(body)})
	var v struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); w.Code != http.StatusCreated || err != nil || v.ID == "" {
		t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
	}
	return v.ID
}

// send sends body on route r, with the case's current ETag when the route needs one.
func (f *jsonFixture) send(t *testing.T, r jsonRoute, body string) *httptest.ResponseRecorder {
	t.Helper()
	hdr := map[string]string{"Content-Type": "application/json"}
	if r.ifMatch {
		get := f.h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + f.ref, token: f.agent})
		if get.Code != http.StatusOK {
			t.Fatalf("get case: %d %s", get.Code, get.Body)
		}
		hdr["If-Match"] = get.Header().Get("ETag")
	}
	return f.h.do(request{method: r.method, path: r.path, token: r.token, body: strings.NewReader(body), header: hdr})
}

// stringPaths lists the JSON paths of every string field of a body type, slices at index 0.
func stringPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[cases.Nullable](), t.Kind() == reflect.String:
		return []string{prefix}
	case t.Kind() == reflect.Slice:
		return stringPaths(t.Elem(), prefix+"[0]")
	case t.Kind() == reflect.Struct:
		var out []string
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if prefix != "" {
				name = prefix + "." + name
			}
			out = append(out, stringPaths(t.Field(i).Type, name)...)
		}
		return out
	}
	return nil
}

// setPath returns body with the value at a JSON path (a.b[0].c) replaced by v; the body must
// have the path.
func setPath(t *testing.T, body, path string, v any) string {
	t.Helper()
	return putPath(t, body, path, v, false)
}

// addPath returns body with v put at a JSON path whose last member may be new.
func addPath(t *testing.T, body, path string, v any) string {
	t.Helper()
	return putPath(t, body, path, v, true)
}

func putPath(t *testing.T, body, path string, v any, create bool) string {
	t.Helper()
	var root any
	if err := json.Unmarshal([]byte(body), &root); err != nil {
		t.Fatalf("fixture body: %v", err)
	}
	node := root
	steps := strings.Split(strings.ReplaceAll(path, "[", ".["), ".")
	for i, step := range steps {
		last := i == len(steps)-1
		if strings.HasPrefix(step, "[") {
			n, err := strconv.Atoi(strings.Trim(step, "[]"))
			arr, ok := node.([]any)
			if err != nil || !ok || n >= len(arr) {
				t.Fatalf("fixture body has no %s", path)
			}
			if last {
				arr[n] = v
			} else {
				node = arr[n]
			}
			continue
		}
		obj, ok := node.(map[string]any)
		if _, has := obj[step]; !ok || (!has && !(create && last)) {
			t.Fatalf("fixture body has no %s", path)
		}
		if last {
			obj[step] = v
		} else {
			node = obj[step]
		}
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func fieldsOf(p Problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// TestEveryJSONStringRefusesNUL puts a NUL byte in every string field of every JSON route: the
// answer is a 422 naming the field, never a 500 from PostgreSQL (SQLSTATE 22021).
func TestEveryJSONStringRefusesNUL(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newJSONFixture(t, db)
		for _, r := range f.routes {
			paths := stringPaths(r.bodyType, "")
			if r.bodyType.NumField() > 0 && len(paths) == 0 {
				t.Fatalf("%s: no string field found in %v", r.name, r.bodyType)
			}
			for _, path := range paths {
				w := f.send(t, r, setPath(t, r.body, path, "A\u0000"))
				if w.Code != http.StatusUnprocessableEntity {
					t.Errorf("%s, NUL in %s: %d %s", r.name, path, w.Code, w.Body)
					continue
				}
				if p := problemOf(t, w); p.Code != cases.CodeValidationFailed || !slices.Contains(fieldsOf(p), path) {
					t.Errorf("%s, NUL in %s: %s %v", r.name, path, p.Code, p.Errors)
				}
			}
		}
		// The multipart fields of an evidence upload go through the same refusal.
		for name := range receipt {
			fields := map[string]string{}
			for k, v := range receipt {
				fields[k] = v
			}
			fields[name] = "A\u0000"
			p := expectProblem(t, f.h.upload(f.agent, f.ref, fields, "r.png", append(pngBytes, 'n')), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
			if !slices.Contains(fieldsOf(p), name) {
				t.Errorf("upload, NUL in %s: %v", name, p.Errors)
			}
		}
		// The bodies themselves are accepted: the fuzzing changed one field, nothing else.
		for _, r := range f.routes {
			if w := f.send(t, r, r.body); w.Code >= 300 {
				t.Errorf("%s: the fixture body is refused: %d %s", r.name, w.Code, w.Body)
			}
		}
		if strings.Contains(f.h.logs.String(), `"status":500`) {
			t.Fatal("a NUL byte produced a 500")
		}
	})
}

// TestUnknownFieldsAreRefused: a misspelled field never silently drops what the client meant to
// record (SPEC 4.2); every unknown field is named with its path, nested ones too.
func TestUnknownFieldsAreRefused(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newJSONFixture(t, db)
		for _, r := range f.routes {
			body := "{" + `"bogus_field": 1, ` + strings.TrimPrefix(strings.TrimSpace(r.body), "{")
			body = strings.Replace(body, ", }", "}", 1)
			p := expectProblem(t, f.send(t, r, body), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
			if !slices.Contains(fieldsOf(p), "bogus_field") {
				t.Errorf("%s: unknown field not named: %v", r.name, p.Errors)
			}
		}
		// The example: nothing is recorded.
		comms := "/api/v1/cases/" + f.ref + "/communications"
		p := expectProblem(t, f.h.do(request{method: http.MethodPost, path: comms, token: f.agent,
			body: strings.NewReader(`{"channel":"phone","direction":"inbound","body":"call","representative":"Maria"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		if fields := fieldsOf(p); !slices.Equal(fields, []string{"representative"}) {
			t.Fatalf("errors %v, want representative", p.Errors)
		}
		list := f.h.do(request{method: http.MethodGet, path: comms, token: f.agent})
		if strings.Contains(list.Body.String(), `"body":"call"`) {
			t.Fatal("the entry was recorded although its body was refused")
		}
		// Nested, with indexes, and every one at once.
		body := addPath(t, f.routes[0].body, "customer.foo", "x")
		body = addPath(t, body, "external.ticket", "x")
		var withCards map[string]any
		mustUnmarshal(t, []byte(body), &withCards)
		card := withCards["cards"].([]any)[0].(map[string]any)
		second := map[string]any{"serial": "6046777712341234", "face_value_minor": 100, "currency": "USD", "marketplace": "US", "bogus": true}
		withCards["cards"] = []any{card, second}
		raw, err := json.Marshal(withCards)
		if err != nil {
			t.Fatal(err)
		}
		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: f.agent, body: strings.NewReader(string(raw))}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		for _, want := range []string{"customer.foo", "external.ticket", "cards[1].bogus"} {
			if !slices.Contains(fieldsOf(p), want) {
				t.Errorf("%s not named: %v", want, p.Errors)
			}
		}
		// A field given twice is as ambiguous as an unknown one.
		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: comms, token: f.agent,
			body: strings.NewReader(`{"channel":"phone","direction":"inbound","body":"call","body":"other call"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		if !slices.Equal(fieldsOf(p), []string{"body"}) {
			t.Fatalf("duplicate key: %v", p.Errors)
		}
		// PATCH keeps telling null (clear) from absent (leave).
		card2 := "/api/v1/cards/" + f.cardID
		if w := f.h.do(request{method: http.MethodPatch, path: card2, token: f.agent, body: strings.NewReader(`{"redeemed_to": null, "redeemed_at": null}`)}); w.Code != http.StatusOK ||
			!strings.Contains(w.Body.String(), `"redeemed_to":null`) {
			t.Fatalf("null clears: %d %s", w.Code, w.Body)
		}
		// Cancel takes no fields: an empty body is fine, a reason is not silently dropped.
		cancel := "/api/v1/corrections/" + f.cancelID + "/cancel"
		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: cancel, token: f.agent, body: strings.NewReader(`{"reason":"duplicate"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		if !slices.Equal(fieldsOf(p), []string{"reason"}) {
			t.Fatalf("cancel with a reason: %v", p.Errors)
		}
		if w := f.h.do(request{method: http.MethodPost, path: cancel, token: f.agent}); w.Code != http.StatusOK {
			t.Fatalf("cancel without a body: %d %s", w.Code, w.Body)
		}
		// An unknown field that holds a claim code, alone, in a sentence or letters only, is named
		// without the code (R1).
		for _, key := range []string{"QW12ERTY34UI56", "note: QW12ERTY34UI56", "QWER-TYUI-OPAS"} {
			body, err := json.Marshal(map[string]any{"channel": "phone", "direction": "inbound", "body": "call", key: 1})
			if err != nil {
				t.Fatal(err)
			}
			p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: comms, token: f.agent, body: strings.NewReader(string(body))}),
				http.StatusUnprocessableEntity, cases.CodeValidationFailed)
			if len(p.Errors) != 1 || strings.Contains(p.Errors[0].Field+p.Detail, "ERTY") || strings.Contains(p.Errors[0].Field+p.Detail, "TYUI") {
				t.Fatalf("claim code as a key %q: %v", key, p.Errors)
			}
		}
	})
}

// TestValidationListsEveryProblem: a 422 names every problem of the body at once, each by its
// JSON path with indexes.
func TestValidationListsEveryProblem(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newJSONFixture(t, db)
		expectFields := func(name string, p Problem, want ...string) {
			t.Helper()
			got := fieldsOf(p)
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("%s: %s not named in %v", name, w, p.Errors)
				}
			}
			for _, e := range p.Errors {
				if strings.Contains(e.Message, "  ") || strings.TrimSpace(e.Message) != e.Message || e.Message == "" {
					t.Errorf("%s: message %q of %s", name, e.Message, e.Field)
				}
			}
		}
		corrections := "/api/v1/cases/" + f.ref + "/corrections"
		p := expectProblem(t, f.h.do(request{method: http.MethodPost, path: corrections, token: f.agent, body: strings.NewReader(`{"kind":"transfer"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("empty transfer", p, "amount_minor", "currency", "from_account", "card_id", "reason")

		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: corrections, token: f.agent,
			body: strings.NewReader(`{"kind":"transfer","amount_minor":10.50,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"` + f.cardID + `"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("decimal amount", p, "amount_minor", "reason")
		for _, e := range p.Errors {
			if e.Field == "amount_minor" && !strings.HasPrefix(e.Message, "must be a whole number of minor units") {
				t.Errorf("10.50 for amount_minor: %q", e.Message)
			}
		}
		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: corrections, token: f.agent,
			body: strings.NewReader(`{"kind":"reversal","reason":"undo"}`)}), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("reversal without reverses", p, "reverses")

		bad := `{"type": "", "summary": "", "customer": {"account_id": "A1", "marketplace": "XX", "nickname": "P"},
 "cards": [{"claim_code": "QW12-ERTY34-UI56", "face_value_minor": 10.50, "currency": "USD", "marketplace": "US"},
           {"serial": "123", "face_value_minor": "5000", "currency": "USD", "marketplace": "US", "redeemed_at": "yesterday"}],
 "tags": "phone", "priority": 3}`
		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: f.agent, body: strings.NewReader(bad)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("case", p, "type", "summary", "customer.marketplace", "customer.nickname", "cards[0].face_value_minor",
			"cards[1].face_value_minor", "cards[1].redeemed_at", "tags", "priority")
		for _, e := range p.Errors {
			if e.Field == "cards[0].face_value_minor" && !strings.HasPrefix(e.Message, "must be a whole number of minor units") {
				t.Errorf("10.50 for face_value_minor: %q", e.Message)
			}
			if strings.Count(fmt.Sprint(fieldsOf(p)), e.Field) > 1 && !strings.Contains(e.Field, "[") {
				t.Errorf("%s named twice: %v", e.Field, p.Errors)
			}
		}
		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + f.ref + "/cards", token: f.agent,
			body: strings.NewReader(`{"claim_code": "QW12-ERTY34-UI56", "currency": "EUR", "marketplace": "US"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("card", p, "face_value_minor", "currency")

		p = expectProblem(t, f.h.do(request{method: http.MethodPatch, path: "/api/v1/cards/" + f.cardID, token: f.agent,
			body: strings.NewReader(`{"status": "lost", "redeemed_at": "soon", "face_value_minor": -1, "frozen": "yes"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("card patch", p, "status", "redeemed_at", "face_value_minor", "frozen")

		p = expectProblem(t, f.send(t, f.routes[2], `{"status": "asleep", "priority": "whenever", "tags": [1]}`),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("case patch", p, "status", "priority", "tags[0]")

		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + f.ref + "/communications", token: f.agent,
			body: strings.NewReader(`{"channel": "fax", "direction": "sideways", "duration_seconds": 1.5, "occurred_at": "noon"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("communication", p, "channel", "direction", "duration_seconds", "occurred_at", "body")

		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: "/api/v1/evidence/" + f.evidenceID + "/verify", token: f.second,
			body: strings.NewReader(`{"verdict": "maybe"}`)}), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("verdict", p, "verdict", "note")

		// A case type that is missing leaves no hole in the message about cards.
		p = expectProblem(t, f.h.do(request{method: http.MethodPost, path: "/api/v1/cases", token: f.agent, body: strings.NewReader(`{"type": "x"}`)}),
			http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		expectFields("no type", p, "type", "summary", "customer.account_id", "customer.marketplace")
	})
}

// TestTimesOutsideTheRangeAreRefused: every time the desk accepts lies between 1970 and the end
// of year 9999 in UTC; 0001-01-01T00:00:00+01:00 is 1 BC in UTC and never stored.
func TestTimesOutsideTheRangeAreRefused(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newJSONFixture(t, db)
		for _, at := range []string{"0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z", "0000-01-01T00:00:00Z"} {
			for _, tt := range []struct {
				route string
				path  string
			}{{"create case", "cards[0].redeemed_at"}, {"add card", "redeemed_at"}, {"update card", "redeemed_at"}, {"add communication", "occurred_at"}} {
				r := f.route(t, tt.route)
				w := f.send(t, r, setPath(t, r.body, tt.path, at))
				if w.Code != http.StatusUnprocessableEntity {
					t.Errorf("%s %s=%s: %d %s", r.name, tt.path, at, w.Code, w.Body)
					continue
				}
				if p := problemOf(t, w); !slices.Contains(fieldsOf(p), tt.path) {
					t.Errorf("%s %s=%s: %v", r.name, tt.path, at, p.Errors)
				}
			}
			w := f.h.do(request{method: http.MethodGet, path: "/api/v1/cases?updated_since=" + strings.ReplaceAll(at, "+", "%2B"), token: f.agent})
			if p := expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed); !slices.Contains(fieldsOf(p), "updated_since") {
				t.Errorf("updated_since=%s: %v", at, p.Errors)
			}
		}
		for _, date := range []string{"1969-12-31", "0001-01-01T00:00:00+01:00"} {
			fields := map[string]string{}
			for k, v := range receipt {
				fields[k] = v
			}
			fields["purchased_at"] = date
			p := expectProblem(t, f.h.upload(f.agent, f.ref, fields, "r.png", append(pngBytes, 'y')), http.StatusUnprocessableEntity, cases.CodeValidationFailed)
			if !slices.Contains(fieldsOf(p), "purchased_at") {
				t.Errorf("purchased_at=%s: %v", date, p.Errors)
			}
		}
		// A list cursor carries a time: a forged one far outside the range is refused, not a 500.
		for _, raw := range []string{"-9000000000000000000.5", "253402300800000000.5"} {
			cursor := strings.TrimRight(base64URL(raw), "=")
			w := f.h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + f.ref + "/communications?cursor=" + cursor, token: f.agent})
			expectProblem(t, w, http.StatusUnprocessableEntity, cases.CodeValidationFailed)
		}
		// The card still holds its real redemption time.
		card := f.h.do(request{method: http.MethodGet, path: "/api/v1/cards/" + f.cardID, token: f.agent})
		if !strings.Contains(card.Body.String(), `"redeemed_at":"2026-11-20T10:00:00Z"`) {
			t.Fatalf("card: %s", card.Body)
		}
	})
}

func base64URL(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
