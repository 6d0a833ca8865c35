package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestBrowserAdminRunsTheDesk is issue 22's admin flow through the pages only, at 1280×800: an
// admin adds a user and sees their one-time password once, creates a token for them with chosen
// scopes (shown once, with a copy button), revokes it through the confirmation step and sees it
// marked revoked; the token is then refused by the API. The pages only a POST answers (the
// secrets, the confirmations) are checked with axe and saved in both themes here, since the
// route walk of TestEveryConsolePageIsAccessible cannot reach them.
func TestBrowserAdminRunsTheDesk(t *testing.T) {
	p := newPage(t)
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	if _, err := h.desk.AddUser(context.Background(), cases.CLIActor, cases.NewUser{Email: "admin@example.com", Name: "Avery Quinn",
		Role: cases.RoleAdmin, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	h.token("admin@example.com", cases.RoleAdmin, cases.ScopeAdmin)
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log: %s", h.logs.String())
		}
	})
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	scheme := func(s string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: s}}})
			return err
		})
	}
	// check runs axe on the page as it is, in both themes, and saves each.
	check := func(name string) {
		t.Helper()
		if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
			t.Fatalf("injecting axe: %v", err)
		}
		for _, s := range []string{"light", "dark"} {
			p.do(scheme(s))
			res, err := chromedp.Run(p.ctx, chromedp.Evaluate[axeResult](
				`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("axe on %s: %v", name, err)
			}
			for _, v := range res.Violations {
				msg := fmt.Sprintf("%s-%s: %s (%s) %s at %v", name, s, v.ID, v.Impact, v.Help, v.Nodes)
				if v.Impact == "serious" || v.Impact == "critical" {
					t.Error(msg)
				} else {
					t.Log(msg)
				}
			}
			p.screenshot("admin-" + name + "-" + s)
		}
		p.do(scheme("light"))
	}
	expect := func(what, got string, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Fatalf("%s lacks %q: %q", what, want, got)
			}
		}
	}
	api := func(token string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/cases", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	copyButtonShown := func() {
		t.Helper()
		got := p.value(chromedp.Evaluate[string](`(function () {
			var b = document.querySelector('button[data-copy="secret"]');
			if (!b) return "missing";
			if (!navigator.clipboard) return "without the Clipboard API";
			return b.hidden ? "hidden" : "shown";
		})()`))
		if got != "shown" {
			t.Fatalf("the copy button is %s", got)
		}
	}

	p.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), "admin@example.com"), chromedp.SendKeys(css("#password"), "correct horse battery"),
		leaveBy("main button[type=submit]"), chromedp.WaitVisible(css("header nav")))
	expect("navigation", p.text("header nav"), "Users", "Tokens")

	// A new user: the one-time password is the answer to the form, once.
	p.do(leaveBy(`header nav a[href="/admin/users"]`), chromedp.WaitVisible(css("#f-email")),
		chromedp.SendKeys(css("#f-email"), "robin@example.com"), chromedp.SendKeys(css("#f-name"), "Robin Park"),
		chromedp.SetValue(css("#f-role"), "agent"), leaveBy(`form[action="/admin/users"] button[type=submit]`),
		chromedp.WaitVisible(css("#secret")))
	password := p.value(chromedp.Value(css("#secret")))
	if len(password) < cases.MinPasswordRunes {
		t.Fatalf("one-time password %q", password)
	}
	expect("the new user's page", p.text("main"), "Shown once", "Robin Park", "robin@example.com", "choose their own")
	copyButtonShown()
	check("user-created")
	p.do(leaveBy(`main a[href="/admin/users"]`), chromedp.WaitVisible(css("#users-title")))
	users := p.value(chromedp.Evaluate[string]("document.documentElement.outerHTML"))
	expect("the users page", users, "Robin Park")
	if strings.Contains(users, password) {
		t.Fatal("the users page shows the one-time password again")
	}
	p.screenshot("admin-users-after-create")
	// The same email again is refused next to its field, with the summary focused.
	p.do(chromedp.SendKeys(css("#f-email"), "ROBIN@example.com"), chromedp.SendKeys(css("#f-name"), "Robin Again"),
		leaveBy(`form[action="/admin/users"] button[type=submit]`), chromedp.WaitVisible(css("#f-email-error")))
	expect("the refused user", p.text("#f-email-error"), "already exists")
	if strings.Contains(p.value(chromedp.Evaluate[string]("document.documentElement.outerHTML")), password) {
		t.Fatal("the refused form shows the one-time password")
	}
	check("user-refused")

	// A token without a scope is refused next to the scopes.
	p.do(leaveBy(`header nav a[href="/admin/tokens"]`), chromedp.WaitVisible(css("#f-email")),
		chromedp.SendKeys(css("#f-name"), "zendesk"), chromedp.Click(css(`input[name=scopes][value="cases:read"]`)),
		leaveBy(`form[action="/admin/tokens"] button[type=submit]`), chromedp.WaitVisible(css("#error-summary")))
	expect("the refused token", p.text("#f-scopes-error"), "at least one scope")
	check("token-refused")
	// A token for Robin with two scopes: shown once, with a copy button.
	p.do(leaveBy(`header nav a[href="/admin/tokens"]`), chromedp.WaitVisible(css("#f-email")),
		chromedp.SetValue(css("#f-email"), "robin@example.com"), chromedp.SendKeys(css("#f-name"), "zendesk"),
		chromedp.Click(css(`input[name=scopes][value="cases:write"]`)), leaveBy(`form[action="/admin/tokens"] button[type=submit]`),
		chromedp.WaitVisible(css("#secret")))
	token := p.value(chromedp.Value(css("#secret")))
	if !strings.HasPrefix(token, cases.TokenPrefix) {
		t.Fatalf("token %q", token)
	}
	expect("the token page", p.text("main"), "Shown once", "cases:read, cases:write", "Robin Park")
	copyButtonShown()
	p.do(chromedp.Click(css(`button[data-copy="secret"]`)))
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`document.querySelector("[data-copy-status]").textContent !== ""`)); err != nil {
		t.Fatalf("the copy button said nothing: %v", err)
	}
	check("token-created")
	if code := api(token); code != http.StatusOK {
		t.Fatalf("the new token answered %d", code)
	}

	// Revoke it through the confirmation step.
	p.do(leaveBy(`main a[href="/admin/tokens"]`), chromedp.WaitVisible(css("#tokens-title")))
	list := p.text("main")
	expect("the token list", list, "zendesk", "Robin Park", "cases:write", "active")
	if strings.Contains(p.value(chromedp.Evaluate[string]("document.documentElement.outerHTML")), token) {
		t.Fatal("the token list shows the token")
	}
	p.screenshot("admin-tokens-list")
	var id int64
	modelstest.Scan(t, h.db, &id, `SELECT MAX(id) FROM api_tokens`)
	p.do(leaveBy(fmt.Sprintf(`#token-%d button[type=submit]`, id)), chromedp.WaitVisible(css("#confirm-title")))
	expect("the confirmation", p.text("main"), "Revoke the token zendesk", "Robin Park", "cannot be restored")
	check("token-revoke-confirm")
	if code := api(token); code != http.StatusOK {
		t.Fatalf("the token stopped before the confirmation: %d", code)
	}
	p.do(leaveBy(`main form button[type=submit]`), chromedp.WaitVisible(css("#tokens-title")))
	expect("the list after revoking", p.text("main"), "The token is revoked")
	expect("the revoked row", p.text(fmt.Sprintf("#token-%d", id)), "revoked")
	if p.value(chromedp.Evaluate[string](fmt.Sprintf(`String(document.querySelectorAll("#token-%d button").length)`, id))) != "0" {
		t.Error("a revoked token still offers Revoke")
	}
	p.screenshot("admin-tokens-revoked")
	if code := api(token); code != http.StatusUnauthorized {
		t.Fatalf("the revoked token answered %d, want 401", code)
	}

	// Deactivating Robin asks first as well.
	robin := h.userIDOf("robin@example.com")
	p.do(leaveBy(`header nav a[href="/admin/users"]`), chromedp.WaitVisible(css("#users-title")),
		leaveBy(fmt.Sprintf(`form[action="/admin/users/%d/deactivate"] button`, robin)), chromedp.WaitVisible(css("#confirm-title")))
	expect("the deactivation", p.text("main"), "Deactivate Robin Park", "sessions end")
	check("user-deactivate-confirm")
	p.do(leaveBy(`main form button[type=submit]`), chromedp.WaitVisible(css("#users-title")))
	expect("the user row", p.text(fmt.Sprintf("#user-%d", robin)), "deactivated", "Reactivate")
	p.screenshot("admin-users-deactivated")
}

func (h *harness) userIDOf(email string) int64 {
	h.t.Helper()
	u, err := models.UserByEmail(context.Background(), h.db, email)
	if err != nil {
		h.t.Fatal(err)
	}
	return u.ID
}
