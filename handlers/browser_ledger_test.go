package handlers

import (
	"context"
	"net/http/httptest"
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

// TestBrowserLedgerAndAudit walks issue 22's ledger and audit pages at 1280×800: an agent opens
// an account from its case and pages to older postings and back; an admin filters the audit
// trail, verifies the chain and reads the verdict; each in the light and the dark theme.
func TestBrowserLedgerAndAudit(t *testing.T) {
	p := newPage(t)
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	f := seedLedger(t, h, 3)
	if _, err := h.desk.SealPass(context.Background()); err != nil {
		t.Fatal(err)
	}
	agent, admin := h.session("agent@example.com", cases.RoleAgent), h.session("admin@example.com", cases.RoleAdmin)
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	signIn := func(cookie string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			if _, err := cdp.Call(ctx, target, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, target, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: cookie, URL: ts.URL + "/"})
			return err
		})
	}
	view := func(scheme string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			if _, err := cdp.Call(ctx, target, emulation.SetDeviceMetricsOverride,
				emulation.SetDeviceMetricsOverrideParams{Width: 1280, Height: 800, DeviceScaleFactor: 1}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		})
	}
	for _, scheme := range []string{"light", "dark"} {
		p.do(view(scheme), signIn(agent), chromedp.Navigate(ts.URL+"/cases/"+f.ref), chromedp.WaitVisible(css("#audit")))
		p.screenshot("ledger-case-" + scheme)
		if trail := p.text("#audit"); !strings.Contains(trail, "correction.applied") || !strings.Contains(trail, "agent@example.com") {
			t.Fatalf("the case's audit trail: %q", trail)
		}
		p.do(leaveBy(`#summary a[href="/accounts/A1B2C3D4"]`), chromedp.WaitVisible(css("#postings")))
		if h1 := p.text("h1"); !strings.Contains(h1, "A1B2C3D4") || !strings.Contains(p.text(".balances"), "-6.00 USD") {
			t.Fatalf("account page: %q", h1)
		}
		p.screenshot("ledger-account-" + scheme)
		p.do(chromedp.Navigate(ts.URL+"/accounts/A1B2C3D4?limit=2"), chromedp.WaitVisible(css("#postings")),
			leaveBy(`a[rel="next"]`), chromedp.WaitVisible(css(`a[rel="prev"]`)))
		if rows := p.text("table.postings tbody"); !strings.Contains(rows, "-1.00 USD") || strings.Contains(rows, "-3.00 USD") {
			t.Fatalf("the older page: %q", rows)
		}
		p.do(leaveBy(`a[rel="prev"]`), chromedp.WaitVisible(css("table.postings")))
		if rows := p.text("table.postings tbody"); !strings.Contains(rows, "-3.00 USD") {
			t.Fatalf("back to the newer page: %q", rows)
		}

		p.do(signIn(admin), chromedp.Navigate(ts.URL+"/audit"), chromedp.WaitVisible(css("#chain")))
		p.do(chromedp.SendKeys(css("#f-action"), "correction.applied"), leaveBy(`form[action="/audit"] button[type=submit]`),
			chromedp.WaitVisible(css("#events")))
		if got := p.text("#events tbody"); strings.Count(got, "correction.applied") != 3 || strings.Contains(got, "case.created") {
			t.Fatalf("filtered events: %q", got)
		}
		p.screenshot("audit-filtered-" + scheme)
		p.do(chromedp.SendKeys(css("#f-from"), "29/11/2026"), leaveBy(`form[action="/audit"] button[type=submit]`),
			chromedp.WaitVisible(css("#f-from-error")))
		p.screenshot("audit-bad-day-" + scheme)
		p.do(leaveBy(`#chain button[type=submit]`), chromedp.WaitVisible(css("#verdict")))
		if verdict := p.text("#verdict"); !strings.Contains(verdict, "The chain is intact.") {
			t.Fatalf("verdict: %q", verdict)
		}
		p.screenshot("audit-verdict-" + scheme)
	}
}
