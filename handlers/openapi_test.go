package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// contract is the OpenAPI document compiled once per test process; the validator's caches are
// not documented as safe for concurrent use, so calls take turns.
var contract struct {
	once sync.Once
	mu   sync.Mutex
	v    validator.Validator
	err  error
}

func apiContract() (validator.Validator, error) {
	contract.once.Do(func() {
		doc, err := libopenapi.NewDocument(openAPIDocument)
		if err != nil {
			contract.err = fmt.Errorf("openapi.json: %w", err)
			return
		}
		v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
		if len(errs) > 0 {
			contract.err = fmt.Errorf("openapi.json: %v", errs)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			contract.err = fmt.Errorf("openapi.json is not a valid OpenAPI document: %s", describe(verrs))
			return
		}
		contract.v = v
	})
	return contract.v, contract.err
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  - %s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			at := f.FieldPath
			if at == "" {
				at = "$"
			}
			fmt.Fprintf(&b, "\n      at %s: %s", at, f.Reason)
		}
	}
	return b.String()
}

// rewindable returns a request body's bytes when the harness can send them and show them to the
// validator too: bodies of a known length. A streaming body (a slow or endless reader) is sent as
// it is, and only the answer is checked.
func rewindable(body io.Reader) ([]byte, bool) {
	switch b := body.(type) {
	case *bytes.Reader, *strings.Reader:
		data, err := io.ReadAll(b)
		if err != nil {
			return nil, false
		}
		return data, true
	case *bytes.Buffer:
		return b.Bytes(), true
	}
	return nil, false
}

// checkContract validates one API exchange of a handler test against the OpenAPI document: the
// answer always (its status must be documented for the route, its body and headers must match),
// the request whenever the server accepted it (a document stricter than the server would refuse
// what works). A request the document refuses may well be refused by the server too: tests send
// malformed requests on purpose. It reports with Errorf, which any goroutine may call.
func checkContract(t testing.TB, sent *http.Request, body []byte, haveBody bool, w *httptest.ResponseRecorder) {
	t.Helper()
	v, err := apiContract()
	if err != nil {
		t.Error(err)
		return
	}
	route := sent.Method + " " + sent.URL.Path
	req := func() *http.Request {
		r := httptest.NewRequest(sent.Method, sent.URL.String(), bytes.NewReader(body))
		r.Header = sent.Header.Clone()
		if len(body) > 0 && r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/json")
		}
		return r
	}
	resp := &http.Response{StatusCode: w.Code, Header: w.Header().Clone(), Body: io.NopCloser(bytes.NewReader(w.Body.Bytes()))}
	contract.mu.Lock()
	defer contract.mu.Unlock()
	ok, errs := v.ValidateHttpResponse(req(), resp)
	if !ok {
		if unrouted(errs) && (w.Code == http.StatusNotFound || w.Code == http.StatusMethodNotAllowed) {
			return
		}
		t.Errorf("OpenAPI contract: the answer to %s (status %d) does not match openapi.json:%s\nbody: %.500s",
			route, w.Code, describe(errs), w.Body)
		return
	}
	if !haveBody || w.Code >= 400 {
		return
	}
	if ok, errs := v.ValidateHttpRequest(req()); !ok {
		t.Errorf("OpenAPI contract: the server accepted %s (status %d) but openapi.json refuses the request:%s\nbody: %.500s",
			route, w.Code, describe(errs), body)
	}
}

// unrouted says the validator found no documented operation for the request.
func unrouted(errs []*verrors.ValidationError) bool {
	for _, e := range errs {
		if e.ValidationType != helpers.PathValidation {
			return false
		}
	}
	return len(errs) > 0
}

// documentedOperations lists "METHOD /path/{param}" of every operation of the document.
func documentedOperations(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	mustUnmarshal(t, openAPIDocument, &doc)
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			default:
				t.Errorf("openapi.json: %s has %q, which is not an operation", path, method)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// openAPIPath turns a gin route pattern into the document's template: :ref → {ref}.
func openAPIPath(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestOpenAPIDocumentsEveryAPIRoute: every API route of the table is in openapi.json with its
// method and the scope it demands, and every documented operation is routed. A route added without
// its documentation fails here.
func TestOpenAPIDocumentsEveryAPIRoute(t *testing.T) {
	if _, err := apiContract(); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Scope    *string               `json:"x-required-scope"`
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	mustUnmarshal(t, openAPIDocument, &doc)
	s := &Server{}
	var routed []string
	for _, rt := range s.routes() {
		if !strings.HasPrefix(rt.path, "/api/") {
			continue
		}
		path := openAPIPath(rt.path)
		routed = append(routed, rt.method+" "+path)
		op, ok := doc.Paths[path][strings.ToLower(rt.method)]
		if !ok {
			t.Errorf("%s %s is routed but not documented in handlers/openapi/openapi.json", rt.method, path)
			continue
		}
		want := string(rt.access.scope)
		switch {
		case rt.access.public && (op.Scope != nil || op.Security == nil || len(op.Security) != 0):
			t.Errorf("%s %s is public: document it with \"x-required-scope\": null and \"security\": []", rt.method, path)
		case !rt.access.public && (op.Scope == nil || *op.Scope != want):
			got := "nothing"
			if op.Scope != nil {
				got = *op.Scope
			}
			t.Errorf("%s %s needs the scope %s: its x-required-scope says %s", rt.method, path, want, got)
		case !rt.access.public && (len(op.Security) != 1 || !slices.Equal(op.Security[0]["bearer"], []string{want})):
			t.Errorf("%s %s needs the scope %s: its security says %v", rt.method, path, want, op.Security)
		}
	}
	slices.Sort(routed)
	for _, op := range documentedOperations(t) {
		if _, found := slices.BinarySearch(routed, op); !found {
			t.Errorf("openapi.json documents %s, which no route serves", op)
		}
	}
}

// TestOpenAPIDocumentIsServedWithoutToken: GET /api/v1/openapi.json is public (SPEC 4.2, R13) and
// serves the embedded document as it is.
func TestOpenAPIDocumentIsServedWithoutToken(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, models.SQLite))
	w := h.do(request{method: http.MethodGet, path: "/api/v1/openapi.json"})
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if !bytes.Equal(w.Body.Bytes(), openAPIDocument) {
		t.Fatal("the served document is not the embedded one")
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	mustUnmarshal(t, w.Body.Bytes(), &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
}

// TestContractCheckCatchesADrift: the harness's check fails a test whose answer breaks the
// document; without it the other tests would prove nothing.
func TestContractCheckCatchesADrift(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, models.SQLite))
	agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead)
	w := h.do(request{method: http.MethodGet, path: "/api/v1/cases", token: agent})
	for name, mutate := range map[string]func(*httptest.ResponseRecorder){
		"undocumented field": func(r *httptest.ResponseRecorder) {
			r.Body = bytes.NewBufferString(`{"data":[],"total":3}`)
		},
		"undocumented status": func(r *httptest.ResponseRecorder) { r.Code = http.StatusAccepted },
		"undocumented problem code": func(r *httptest.ResponseRecorder) {
			r.Code = http.StatusForbidden
			r.Header().Set("Content-Type", "application/problem+json")
			r.Body = bytes.NewBufferString(`{"type":"urn:giftdesk:problem:four_eyes","title":"Forbidden","status":403,"code":"four_eyes"}`)
		},
	} {
		bad := httptest.NewRecorder()
		for k, vs := range w.Header() {
			bad.Header()[k] = vs
		}
		bad.Code, bad.Body = w.Code, bytes.NewBuffer(w.Body.Bytes())
		mutate(bad)
		sent := httptest.NewRequest(http.MethodGet, "/api/v1/cases", nil)
		sent.Header.Set("Authorization", "Bearer "+agent)
		rec := &recordingTB{TB: t}
		checkContract(rec, sent, nil, true, bad)
		if !rec.failed || !strings.Contains(rec.msg, "GET /api/v1/cases") {
			t.Errorf("%s: the contract check let it pass (%q)", name, rec.msg)
		}
	}
	// An accepted request the document refuses is a drift too.
	sent := httptest.NewRequest(http.MethodPost, "/api/v1/cards/lookup", nil)
	sent.Header.Set("Authorization", "Bearer "+agent)
	ok := httptest.NewRecorder()
	ok.Header().Set("Content-Type", "application/json")
	ok.Code, ok.Body = http.StatusOK, bytes.NewBufferString(`{}`)
	rec := &recordingTB{TB: t}
	checkContract(rec, sent, []byte(`{"claim_code":"x","extra":1}`), true, ok)
	if !rec.failed {
		t.Error("a request with an undocumented field passed the contract check")
	}
}

// recordingTB records a failure instead of failing the test.
type recordingTB struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recordingTB) Error(args ...any) { r.failed, r.msg = true, fmt.Sprint(args...) }
