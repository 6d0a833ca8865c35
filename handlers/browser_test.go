package handlers

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// browser starts headless Chromium for one test, or skips (fails when
// GIFTDESK_TEST_REQUIRE_BROWSER=1, as in CI) when the machine has none.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		msg := "browser tests SKIPPED: no chromium on PATH (apt-get install chromium)"
		if os.Getenv("GIFTDESK_TEST_REQUIRE_BROWSER") == "1" {
			t.Fatal("GIFTDESK_TEST_REQUIRE_BROWSER=1 but " + msg)
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Headless,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1200, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// page drives one tab: each helper fails the test on error, so the flow reads as steps.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newPage(t *testing.T) *page {
	dir := os.Getenv("GIFTDESK_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	return &page{t: t, ctx: browser(t), dir: dir}
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (p *page) value(a chromedp.Action[string]) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, a)
	if err != nil {
		p.t.Fatalf("browser: %v", err)
	}
	return s
}

// leaveBy clicks what sends the page away (a submit button, a link) and waits for the next page:
// the old one is marked first, so that no later wait can be met by what the old page showed.
func leaveBy(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Evaluate[chromedp.Void](`document.body.dataset.left = "1"`),
		chromedp.Click(chromedp.CSS(sel)), chromedp.WaitReady(chromedp.CSS("body:not([data-left])")))
}

// screenshot saves the page to $GIFTDESK_SCREENSHOTS (or the test's temporary folder).
func (p *page) screenshot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestBrowserFirstSignIn drives the console as the first admin would: sign in with the printed
// password, be held on the password page, choose one, reach home and the users page, sign out.
func TestBrowserFirstSignIn(t *testing.T) {
	p := newPage(t)
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	pw, _, err := h.desk.EnsureBootstrapAdmin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	p.do(chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(css("#email")))
	if title := p.value(chromedp.Title()); title != "Sign in · giftdesk" {
		t.Fatalf("title %q", title)
	}
	p.screenshot("login")
	p.do(chromedp.SendKeys(css("#email"), cases.BootstrapAdminEmail), chromedp.SendKeys(css("#password"), "not the password"),
		chromedp.Click(css("main button[type=submit]")), chromedp.WaitVisible(css(".alert")))
	if alert := p.text(".alert"); !strings.Contains(alert, "incorrect") {
		t.Fatalf("alert %q", alert)
	}
	p.screenshot("login-error")
	p.do(chromedp.SetValue(css("#password"), pw), chromedp.Click(css("main button[type=submit]")), chromedp.WaitVisible(css("#new_password")))
	if heading := p.text("h1"); heading != "Choose your password" {
		t.Fatalf("heading %q", heading)
	}
	p.screenshot("choose-password")
	p.do(chromedp.SendKeys(css("#current_password"), pw), chromedp.SendKeys(css("#new_password"), "my own admin passphrase"),
		chromedp.SendKeys(css("#confirm_password"), "my own admin passphrase"), chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css(".notice")))
	if body := p.text("main"); !strings.Contains(body, "Queues") || !strings.Contains(body, "password is changed") {
		t.Fatalf("home page text: %q", body)
	}
	p.screenshot("home")
	p.do(leaveBy(`a[href="/admin/users"]`), chromedp.WaitVisible(css("table")))
	if users := p.text("table"); !strings.Contains(users, cases.BootstrapAdminEmail) {
		t.Fatalf("users table %q", users)
	}
	p.screenshot("users")
	if strings.Contains(h.logs.String(), `"status":404`) || strings.Contains(h.logs.String(), `"status":500`) {
		t.Fatalf("the browser met a 404 or 500: %s", h.logs.String())
	}
	p.do(chromedp.Click(css("header button.link")), chromedp.WaitVisible(css("#email")),
		chromedp.Navigate(ts.URL+"/admin/users"), chromedp.WaitVisible(css("#email")))
	if after := p.value(chromedp.Location()); !strings.Contains(after, "/login?next=%2Fadmin%2Fusers") {
		t.Fatalf("after sign-out %q", after)
	}
}
