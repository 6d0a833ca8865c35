package handlers

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/bundle"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// bundleEntries opens a bundle answer's ZIP.
func bundleEntries(t *testing.T, body []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

// TestCaseBundleAPI: GET /api/v1/cases/{ref}/bundle.zip for a supervisor's export token: the
// archive's parts, case.json as GET /api/v1/cases/{ref} answers, no claim code in any part, the
// evidence under safe names, the refusals (scope, role, unknown case) as problems, the audit event.
func TestCaseBundleAPI(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		ref := h.newCase(agent, "b1")
		second := `{"claim_code": "kq7r wxyz m9tp2", "face_value_minor": 2500, "currency": "USD", "marketplace": "US"}`
		if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/cards", token: agent, body: strings.NewReader(second)}); w.Code != http.StatusCreated {
			t.Fatalf("card: %d %s", w.Code, w.Body)
		}
		comm := `{"channel": "phone", "direction": "inbound", "counterpart_name": "Zoë Łukasiewicz-Ørsted", "body": "She read KQ7R-WXYZ-M9TP2 and ab12cdef34gh56"}`
		if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/communications", token: agent, body: strings.NewReader(comm)}); w.Code != http.StatusCreated {
			t.Fatalf("communication: %d %s", w.Code, w.Body)
		}
		for _, name := range []string{"../../etc/passwd.png", "..\\..\\boot.png", strings.Repeat("long-name-", 40) + ".png", "Ğülşen.png"} {
			if w := h.upload(agent, ref, map[string]string{"kind": "card_photo", "note": "code AB12-CDEF34-GH56"}, name, pngBytes); w.Code != http.StatusCreated {
				t.Fatalf("upload %q: %d %s", name, w.Code, w.Body)
			}
		}

		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeExport)
		w := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/bundle.zip", token: sup})
		if w.Code != http.StatusOK {
			t.Fatalf("bundle: %d %s", w.Code, w.Body)
		}
		if ct, cd := w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"); ct != "application/zip" || cd != `attachment; filename="`+ref+`.zip"` {
			t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
		}
		entries := bundleEntries(t, w.Body.Bytes())
		for _, name := range []string{bundle.ManifestName, bundle.CaseName, bundle.TimelineName, bundle.SummaryName} {
			if len(entries[name]) == 0 {
				t.Errorf("no %s", name)
			}
		}
		if !bytes.HasPrefix(entries[bundle.SummaryName], []byte("%PDF-")) {
			t.Errorf("summary.pdf is no PDF")
		}
		evidence := 0
		for name := range entries {
			if strings.HasPrefix(name, "evidence/") {
				evidence++
				if strings.Contains(name, "..") || strings.ContainsAny(strings.TrimPrefix(name, "evidence/"), "/\\\x00") || len(name) > 120 {
					t.Errorf("unsafe entry name %q", name)
				}
			}
		}
		if evidence != 4 {
			t.Errorf("%d evidence files in the bundle, want 4", evidence)
		}

		// case.json is what GET /api/v1/cases/{ref} answers.
		reader := h.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		got := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: reader})
		var fromAPI, fromBundle any
		mustUnmarshal(t, got.Body.Bytes(), &fromAPI)
		mustUnmarshal(t, entries[bundle.CaseName], &fromBundle)
		if !reflect.DeepEqual(fromAPI, fromBundle) {
			t.Errorf("case.json differs from the API's case:\n%s\n%s", entries[bundle.CaseName], got.Body)
		}

		for _, code := range []string{"AB12-CDEF34-GH56", "KQ7R-WXYZ-M9TP2"} {
			for _, form := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""), strings.ToLower(strings.ReplaceAll(code, "-", ""))} {
				if bytes.Contains(w.Body.Bytes(), []byte(form)) {
					t.Errorf("the claim code %q is in the archive's bytes", form)
				}
				for name, data := range entries {
					if strings.Contains(name, form) || bytes.Contains(data, []byte(form)) {
						t.Errorf("the claim code %q is in %s", form, name)
					}
				}
			}
		}

		// Refusals are problems, before any byte of an archive.
		noExport := h.token("sup2@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/bundle.zip", token: noExport}), http.StatusForbidden, cases.CodeScopeRequired)
		agentExport := h.token("agent-export@example.com", cases.RoleAgent, cases.ScopeExport, cases.ScopeCasesRead)
		// The scope is the grant through the API, whatever the user's role (cases.RequireExport).
		if w := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/bundle.zip", token: agentExport}); w.Code != http.StatusOK {
			t.Errorf("an agent's token with the export scope: %d %s", w.Code, w.Body)
		}
		expectProblem(t, h.do(request{method: http.MethodGet, path: "/api/v1/cases/GD-999999/bundle.zip", token: sup}), http.StatusNotFound, cases.CodeNotFound)

		events, err := models.ListAuditEvents(context.Background(), db, models.AuditFilter{EntityType: "case", EntityID: ref, Action: bundle.AuditAction, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[1].ActorLabel != "sup@example.com" || events[1].ActorTokenID == nil ||
			events[0].ActorLabel != "agent-export@example.com" {
			t.Fatalf("export events %+v", events)
		}
		var after struct {
			Files     []string `json:"files"`
			FileCount int      `json:"file_count"`
		}
		if err := json.Unmarshal(events[0].AfterState, &after); err != nil {
			t.Fatal(err)
		}
		if after.FileCount != len(entries) || len(after.Files) != len(entries) {
			t.Errorf("audited %d files %v, the bundle has %d", after.FileCount, after.Files, len(entries))
		}
	})
}

// TestCaseBundleConsole: supervisors and admins see "Download bundle" on the case page and get
// the archive; agents see no button and get a 403 page (the bundle holds customer evidence).
func TestCaseBundleConsole(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agentToken := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		ref := h.newCase(agentToken, "b2")
		agent := h.session("agent@example.com", cases.RoleAgent)
		sup := h.session("sup@example.com", cases.RoleSupervisor)
		admin := h.session("admin@example.com", cases.RoleAdmin)
		href := `href="/cases/` + ref + `/bundle.zip"`

		if w := h.do(request{method: http.MethodGet, path: "/cases/" + ref, cookie: agent}); w.Code != http.StatusOK || strings.Contains(w.Body.String(), href) {
			t.Errorf("an agent's case page: %d, shows the bundle button: %v", w.Code, strings.Contains(w.Body.String(), href))
		}
		if w := h.do(request{method: http.MethodGet, path: "/cases/" + ref + "/bundle.zip", cookie: agent}); w.Code != http.StatusForbidden ||
			!strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Errorf("an agent's download: %d %q, want a 403 page", w.Code, w.Header().Get("Content-Type"))
		}
		for _, cookie := range []string{sup, admin} {
			page := h.do(request{method: http.MethodGet, path: "/cases/" + ref, cookie: cookie})
			if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), href) || !strings.Contains(page.Body.String(), "Download bundle") {
				t.Errorf("a supervisor's case page: %d, no bundle button", page.Code)
			}
			w := h.do(request{method: http.MethodGet, path: "/cases/" + ref + "/bundle.zip", cookie: cookie})
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/zip" {
				t.Fatalf("download: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			if _, ok := bundleEntries(t, w.Body.Bytes())[bundle.SummaryName]; !ok {
				t.Errorf("the console's bundle has no summary")
			}
		}
		if w := h.do(request{method: http.MethodGet, path: "/cases/GD-999999/bundle.zip", cookie: sup}); w.Code != http.StatusNotFound {
			t.Errorf("an unknown case's bundle: %d", w.Code)
		}
	})
}
