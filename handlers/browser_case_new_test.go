package handlers

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// colorScheme makes the page render in the light or dark theme.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// TestBrowserNewCase drives /cases/new as an agent on the phone would (issue 21 item 4): choose
// the type, type a serial into the claim-code field and see the hint as the field is left (htmx
// under the strict CSP), then the code of a card already on a case and see its ref; a refused
// submit comes back with the code field empty. Screenshots at 1280×800 light and dark, and at 200 %.
func TestBrowserNewCase(t *testing.T) {
	p := newPage(t)
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	h.session("agent@example.com", cases.RoleAgent)
	agent := cases.Principal{UserID: 1, Email: "agent@example.com", Role: cases.RoleAgent}
	face := int64(5000)
	known, _, err := h.desk.CreateCase(context.Background(), agent, cases.ActorFor(agent, "", "", ""), cases.NewCase{
		Type: "code_problem", Summary: "Scratched code", Customer: cases.AccountInput{AccountID: "OTHER-1", Marketplace: "US"},
		Cards: []cases.CardInput{{ClaimCode: newCaseCode, FaceValueMinor: &face, Currency: "USD", Marketplace: "US"}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	code := "#f-cards-0-claim_code"

	p.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.URL+"/cases/new"), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), "agent@example.com"), chromedp.SendKeys(css("#password"), "correct horse battery"),
		chromedp.Click(css("main button[type=submit]")), chromedp.WaitVisible(css("#type-wrong_account")))
	p.screenshot("case-new-types")
	p.do(chromedp.Click(css("#type-wrong_account")), chromedp.Click(css("main button[type=submit]")), chromedp.WaitVisible(css(code)))
	if heading := p.text("h1"); !strings.Contains(heading, "Redeemed on the wrong account") {
		t.Fatalf("heading %q", heading)
	}
	p.do(chromedp.SendKeys(css(code), "6046 1234 1234 1234"), chromedp.Focus(css("#f-cards-0-serial")),
		chromedp.WaitVisible(css(code+"-hint .hint")))
	if hint := p.text(code + "-hint"); !strings.Contains(hint, "12 or more digits") {
		t.Fatalf("the serial's hint: %q", hint)
	}
	p.screenshot("case-new-serial-hint")
	p.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("`+code+`").value = ""`), chromedp.SendKeys(css(code), newCaseCode),
		chromedp.Focus(css("#f-cards-0-serial")), chromedp.WaitVisible(css(code+`-hint a[href="/cases/`+known.Ref+`"]`)))
	if hint := p.text(code + "-hint"); !strings.Contains(hint, "••••GH56") || !strings.Contains(hint, known.Ref) || holdsCode(hint) {
		t.Fatalf("the known code's hint: %q", hint)
	}
	p.screenshot("case-new-known-code")
	// Submitted without a summary: refused, the input kept but not the code.
	p.do(chromedp.SendKeys(css("#f-customer-account_id"), "A1B2C3D4"), chromedp.SetValue(css("#f-customer-marketplace"), "US"),
		chromedp.SendKeys(css("#f-intended_account-account_id"), "Z9Y8X7W6"), chromedp.SetValue(css("#f-intended_account-marketplace"), "US"),
		chromedp.SendKeys(css("#f-cards-0-face_value"), "50"), chromedp.Click(css("main form[method=post] button[type=submit]")),
		chromedp.WaitVisible(css("#error-summary")))
	source := p.value(chromedp.OuterHTML(css("html")))
	if holdsCode(source) || !strings.Contains(source, "Re-enter the claim code") || p.value(chromedp.Value(css(code))) != "" ||
		p.value(chromedp.Value(css("#f-customer-account_id"))) != "A1B2C3D4" {
		t.Fatal("the refused form holds the code, or lost the input")
	}
	p.screenshot("case-new-refused")
	p.do(colorScheme("dark"))
	p.screenshot("case-new-refused-dark")
	p.do(chromedp.EmulateViewport(640, 400, chromedp.EmulateScale(2)))
	p.screenshot("case-new-refused-200")
	p.do(colorScheme("light"), chromedp.EmulateViewport(1280, 800),
		// Set, not typed: the page moves the focus to its error summary once its script has run,
		// which may be after typing began.
		chromedp.SetValue(css("#f-summary"), "Redeemed on the work account"), chromedp.SetValue(css(code), newCaseCode),
		leaveBy("main form[method=post] button[type=submit]"), chromedp.WaitVisible(css("h1")))
	if loc := p.value(chromedp.Location()); strings.HasSuffix(loc, "/cases/new") {
		t.Fatalf("refused again: %s", p.value(chromedp.OuterHTML(css("#error-summary"))))
	} else if !regexp.MustCompile(`/cases/GD-[0-9]{6,}$`).MatchString(loc) || strings.HasSuffix(loc, known.Ref) {
		t.Fatalf("after creating: %q", loc)
	}
	p.do(chromedp.Navigate(ts.URL+"/cases/new?type=scam_victim"), chromedp.WaitVisible(css("input[name=freeze]")))
	if on, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.querySelector("input[name=freeze]").checked`)); err != nil || !on {
		t.Fatalf("freeze the cards is not on by default: %v", err)
	}
	p.screenshot("case-new-scam")
	if holdsCode(h.logs.String()) || strings.Contains(h.logs.String(), `"status":500`) {
		t.Fatalf("the logs hold a claim code or a 500: %s", h.logs.String())
	}
}
