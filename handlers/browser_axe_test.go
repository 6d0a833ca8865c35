package handlers

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// axeSource is axe-core 4.14.1 (MPL-2.0) as its npm package ships it, injected from this file:
// never fetched from the network.
//
//go:embed testdata/axe-core-4.14.1/axe.min.js
var axeSource string

type axeResult struct {
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	} `json:"violations"`
}

// TestEveryConsolePageIsAccessible signs in and runs axe-core (WCAG 2 A and AA) on every console
// page the route table serves, in the light and the dark theme, and fails on any serious or
// critical violation (issue 21). A page whose route takes a parameter needs a sample value below:
// a new kind fails the test until it has one. With GIFTDESK_SCREENSHOTS=DIR every page is saved.
func TestEveryConsolePageIsAccessible(t *testing.T) {
	p := newPage(t)
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	sample := seedConsoleCase(t, h)
	cookie := h.session("admin@example.com", cases.RoleAdmin)
	ts := httptest.NewServer(h.srv)
	defer ts.Close()

	var paths []string
	for _, rt := range h.srv.routes() {
		if rt.method != http.MethodGet || strings.HasPrefix(rt.path, "/api/") || rt.path == "/login" {
			continue
		}
		path, ok := sample.path(rt.path)
		if !ok {
			t.Errorf("no sample value for the parameters of %s: add one to consoleSample.path", rt.path)
			continue
		}
		// Only whole pages: fragments (htmx answers) and files are checked as part of their page.
		w := h.do(request{method: http.MethodGet, path: path, cookie: cookie})
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.HasPrefix(w.Body.String(), "<!doctype html>") {
			continue
		}
		if w.Code != http.StatusOK {
			t.Errorf("GET %s as an admin: %d", path, w.Code)
			continue
		}
		paths = append(paths, path)
	}
	if len(paths) < 4 {
		t.Fatalf("only %d console pages found: %v", len(paths), paths)
	}
	setScheme := func(scheme string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		})
	}
	check := func(name, url string) {
		t.Helper()
		p.do(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("main")))
		if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
			t.Fatalf("injecting axe: %v", err)
		}
		res, err := chromedp.Run(p.ctx, chromedp.Evaluate[axeResult](
			`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe on %s: %v", url, err)
		}
		for _, v := range res.Violations {
			msg := fmt.Sprintf("%s: %s (%s) %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
		p.screenshot(name)
	}
	// Pages that differ by role: the agent's queue and case without decisions, a supervisor's
	// decision outcome.
	agent := h.session("agent-axe@example.com", cases.RoleAgent)
	supervisor := h.session("supervisor-axe@example.com", cases.RoleSupervisor)
	byRole := []struct{ name, cookie, path string }{
		{"agent-approvals", agent, "/approvals"},
		{"agent-case", agent, "/cases/" + sample.ref},
		{"supervisor-approvals-outcome", supervisor, fmt.Sprintf("/approvals?decided=%d", sample.fix)},
		{"supervisor-case", supervisor, "/cases/" + sample.ref},
	}
	for _, v := range byRole {
		if w := h.do(request{method: http.MethodGet, path: v.path, cookie: v.cookie}); w.Code != http.StatusOK {
			t.Fatalf("GET %s as %s: %d", v.path, v.name, w.Code)
		}
	}
	signIn := func(cookie string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: cookie, URL: ts.URL + "/"})
			return err
		})
	}
	for _, scheme := range []string{"light", "dark"} {
		p.do(setScheme(scheme), chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}))
		check("login-"+scheme, ts.URL+"/login")
		p.do(signIn(cookie))
		for _, path := range paths {
			name := strings.Trim(strings.ReplaceAll(path, "/", "-"), "-")
			if name == "" {
				name = "home"
			}
			check(name+"-"+scheme, ts.URL+path)
		}
		for _, v := range byRole {
			p.do(signIn(v.cookie))
			check(v.name+"-"+scheme, ts.URL+v.path)
		}
	}
}

// consoleSample is a case with a card, evidence and a correction, for pages that name one.
type consoleSample struct {
	ref, account            string
	cardID, evidenceID, fix int64
	webhook                 int64
}

// path fills a route's parameters with the sample's values.
func (s consoleSample) path(route string) (string, bool) {
	r := strings.NewReplacer(":ref", s.ref, ":account", s.account)
	path := r.Replace(route)
	switch {
	case strings.Contains(path, "/evidence/:id"):
		path = strings.Replace(path, ":id", strconv.FormatInt(s.evidenceID, 10), 1)
	case strings.Contains(path, "/cards/:id"):
		path = strings.Replace(path, ":id", strconv.FormatInt(s.cardID, 10), 1)
	case strings.Contains(path, "/corrections/:id"):
		path = strings.Replace(path, ":id", strconv.FormatInt(s.fix, 10), 1)
	case strings.Contains(path, "/accounts/:id"):
		path = strings.Replace(path, ":id", s.account, 1)
	case strings.HasPrefix(path, "/approvals/:id"):
		path = strings.Replace(path, ":id", strconv.FormatInt(s.fix, 10), 1)
	case strings.HasPrefix(path, "/admin/webhooks/:id"):
		path = strings.Replace(path, ":id", strconv.FormatInt(s.webhook, 10), 1)
	case strings.HasSuffix(path, "/*profile"):
		path = strings.TrimSuffix(path, "*profile") // the profiles' index
	case path == "/cases/export":
		path += "?format=csv" // a download, as the list's form asks for it
	}
	return path, !strings.Contains(path, ":") && !strings.Contains(path, "*")
}

// seedConsoleCase makes a wrong_account case with a card, a call, a receipt and a pending transfer.
func seedConsoleCase(t *testing.T, h *harness) consoleSample {
	t.Helper()
	agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
	webhook := seedWebhook(t, h)
	ref := h.newCase(agent, "console")
	var kase cases.CaseView
	mustUnmarshal(t, h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref, token: agent}).Body.Bytes(), &kase)
	post := func(path, body string) {
		t.Helper()
		if w := h.do(request{method: http.MethodPost, path: path, token: agent, body: strings.NewReader(body)}); w.Code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
		}
	}
	post("/api/v1/cases/"+ref+"/communications", `{"channel":"phone","direction":"inbound","counterpart_name":"Pat Doe","representative_name":"Maria","reference":"CALL-1","body":"card went to the work account"}`)
	up := h.upload(agent, ref, receipt, "receipt.png", pngBytes)
	var ev cases.EvidenceView
	mustUnmarshal(t, up.Body.Bytes(), &ev)
	var fix cases.CorrectionView
	w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/corrections", token: agent, body: strings.NewReader(
		`{"kind":"transfer","amount_minor":1000,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"` +
			strconv.FormatInt(kase.Cards[0].ID, 10) + `","reason":"landed on the work account"}`)})
	mustUnmarshal(t, w.Body.Bytes(), &fix)
	deliverOnce(t, h)
	return consoleSample{ref: ref, account: "A1B2C3D4", cardID: kase.Cards[0].ID, evidenceID: ev.ID, fix: fix.ID, webhook: webhook}
}
