package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// otherBrowser is a tab in a new browser context of p's browser: its own cookies, so another
// person signed in at the same time.
func (p *page) otherBrowser() *page {
	ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithNewBrowserContext())
	p.t.Cleanup(cancel)
	return &page{t: p.t, ctx: ctx, dir: p.dir}
}

// TestBrowserSupervisorApprovesATransfer is issue 22 item 6 for approvals: an agent requests a
// transfer on a wrong_account case through the case page; in another browser a supervisor
// approves it through the confirmation step and sees both balances change; a dual approval
// needs a second supervisor in a third browser; a supervisor is offered no decision on their
// own request, and the agent none at all.
func TestBrowserSupervisorApprovesATransfer(t *testing.T) {
	agentTab := newPage(t)
	d := newApprovalDesk(t, modelstest.Open(t, models.Postgres))
	reader := d.token("reader@example.com", cases.RoleAgent, cases.ScopeCasesRead)
	ref, _ := d.caseWith("b1")
	dualRef, dualCard := d.caseWith("b2", "AB12-CDEF34-GH56", "DU12-CDEF34-GH88", "6046123412341234", "6046123412347777",
		`"face_value_minor": 5000`, `"face_value_minor": 80000`)
	ownRef, ownCard := d.caseWith("b3", "AB12-CDEF34-GH56", "OW12-CDEF34-GH99", "6046123412341234", "6046123412346666")
	ts := httptest.NewServer(d.srv)
	defer ts.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log: %s", d.logs.String())
		}
	})
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	signIn := func(p *page, email string) {
		t.Helper()
		p.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(css("#email")),
			chromedp.SendKeys(css("#email"), email), chromedp.SendKeys(css("#password"), "correct horse battery"),
			leaveBy("main button[type=submit]"), chromedp.WaitVisible(css("header nav")))
	}
	expect := func(what, got string, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Fatalf("%s lacks %q: %q", what, want, got)
			}
		}
	}
	balance := func(account string) int64 {
		t.Helper()
		var v struct{ Balances map[string]int64 }
		w := d.do(request{method: http.MethodGet, path: "/api/v1/accounts/" + account, token: reader})
		mustUnmarshal(t, w.Body.Bytes(), &v)
		return v.Balances["USD"]
	}
	shot := func(p *page, name string) {
		t.Helper()
		p.screenshot("approvals-" + name + "-light")
		p.do(colorScheme("dark"))
		p.screenshot("approvals-" + name + "-dark")
		p.do(colorScheme("light"))
	}

	// 1. The agent requests the transfer through the case page.
	signIn(agentTab, "agent@example.com")
	agentTab.do(chromedp.Navigate(ts.URL+"/cases/"+ref), chromedp.WaitVisible(css("#case-title")),
		chromedp.Click(css("#corrections details > summary")), chromedp.WaitVisible(css("#f-corr-amount")),
		chromedp.SetValue(css("#f-corr-kind"), "transfer"), chromedp.SendKeys(css("#f-corr-amount"), "50.00"),
		chromedp.SetValue(css("#f-corr-from_account"), "A1B2C3D4"), chromedp.SetValue(css("#f-corr-to_account"), "Z9Y8X7W6"),
		chromedp.SendKeys(css("#f-corr-reason"), "Redeemed on the work account by mistake"),
		leaveBy("#corrections form button[type=submit]"), chromedp.WaitVisible(css(".notice")))
	expect("the notice", agentTab.text(".notice"), "correction is requested")
	var first int64
	if err := d.db.Raw(`SELECT x.id FROM corrections x JOIN cases c ON c.id = x.case_id WHERE c.ref = ? AND x.status = 'pending'`, ref).Scan(&first).Error; err != nil || first == 0 {
		t.Fatalf("the agent's request: %d %v", first, err)
	}
	dual := d.transfer(d.agentTok, dualRef, dualCard, 50000, "USD")
	own := d.transfer(d.supTok, ownRef, ownCard, 1000, "USD")

	// 2. A supervisor, in another browser, reads the queue: nothing to decide on their own request.
	sup := agentTab.otherBrowser()
	signIn(sup, "sup1@example.com")
	sup.do(leaveBy(`header a[href="/approvals"]`), chromedp.WaitVisible(css("ol.approval-list")))
	queue := sup.text("main")
	expect("the queue", queue, ref, "50.00 USD", "500.00 USD", "A1B2C3D4", "Z9Y8X7W6", "••••GH56", "face value 50.00 USD",
		"The card was redeemed to A1B2C3D4, the from account.", "0 of 2", "You requested this correction")
	if n := sup.count(fmt.Sprintf("#decision-%d a, #decision-%d form", own, own)); n != 0 {
		t.Fatalf("the supervisor is offered %d decisions on their own request", n)
	}
	shot(sup, "queue")

	// The agent reads the same queue and is offered nothing to decide.
	agentTab.do(leaveBy(`header a[href="/approvals"]`), chromedp.WaitVisible(css("ol.approval-list")))
	expect("the agent's queue", agentTab.text("main"), "A supervisor or an admin decides")
	if n := agentTab.count(".decision a, .decision form"); n != 0 {
		t.Fatalf("the agent is offered %d decisions", n)
	}
	// 3. Approve… swaps the confirmation step into the queue (htmx): it restates the money and
	// the balances before and after; once approved, both balances have moved.
	panel := fmt.Sprintf("#decision-%d", first)
	sup.do(chromedp.Click(css(panel+" a.button")), chromedp.WaitVisible(css(panel+".confirming form")))
	if loc := sup.value(chromedp.Location()); !strings.HasSuffix(loc, "/approvals") {
		t.Fatalf("the inline confirmation left the queue: %q", loc)
	}
	expect("the inline confirmation", sup.text(panel), "Approve correction", "50.00 USD", "from account A1B2C3D4",
		"to account Z9Y8X7W6", "taken from card ••••GH56", "face value 50.00 USD")
	expect("the balances before", sup.text(panel+" table.balances"), "0.00 USD", "-50.00 USD", "50.00 USD")
	if focused := sup.value(chromedp.Evaluate[string](`document.activeElement.id`)); focused != fmt.Sprintf("decision-%d-title", first) {
		t.Fatalf("focus after the swap is on %q, not the confirmation", focused)
	}
	shot(sup, "confirm-inline")
	for _, scheme := range []string{"light", "dark"} {
		sup.do(colorScheme(scheme))
		sup.axe("the inline confirmation, " + scheme)
	}
	sup.do(colorScheme("light"))
	if balance("A1B2C3D4") != 0 || balance("Z9Y8X7W6") != 0 {
		t.Fatal("money moved before the approval was confirmed")
	}
	sup.do(chromedp.SendKeys(css(fmt.Sprintf("#f-approve-%d-note", first)), "redemption checked on the card"),
		leaveBy(panel+" form button.primary"), chromedp.WaitVisible(css("#outcome")))
	expect("the outcome", sup.text("#outcome"), fmt.Sprintf("Correction #%d is applied", first), "A1B2C3D4 -50.00 USD", "Z9Y8X7W6 50.00 USD")
	if from, to := balance("A1B2C3D4"), balance("Z9Y8X7W6"); from != -5000 || to != 5000 {
		t.Fatalf("balances after the approval: %d %d", from, to)
	}
	shot(sup, "applied")

	// 4. The dual approval, through the confirmation page a browser without JavaScript opens: the
	// first supervisor's approval is recorded, and no second is offered.
	href := sup.value(chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector("#decision-%d a.button").getAttribute("href")`, dual)))
	sup.do(chromedp.Navigate(ts.URL+href), chromedp.WaitVisible(css("#confirm-title")))
	expect("the dual confirmation", sup.text("main"), "Approve correction", "500.00 USD", "from account A1B2C3D4", "to account Z9Y8X7W6",
		"taken from card ••••GH88", "needs 2 approvals by different supervisors")
	shot(sup, "confirm")
	sup.do(leaveBy("main form button.primary"), chromedp.WaitVisible(css("#outcome")))
	expect("the first approval", sup.text("#outcome"), "1 of 2 approvals")
	expect("the dual row", sup.text(fmt.Sprintf("#decision-%d", dual)), "You approved it")
	if n := sup.count(fmt.Sprintf("#decision-%d a.button", dual)); n != 0 {
		t.Fatal("the first supervisor is offered a second approval")
	}
	if balance("A1B2C3D4") != -5000 {
		t.Fatal("one supervisor applied a dual-approval correction")
	}

	// 5. A second supervisor, in a third browser, applies it.
	sup2 := agentTab.otherBrowser()
	signIn(sup2, "sup2@example.com")
	panel = fmt.Sprintf("#decision-%d", dual)
	sup2.do(chromedp.Navigate(ts.URL+"/approvals"), chromedp.WaitVisible(css("ol.approval-list")),
		chromedp.Click(css(panel+" a.button")), chromedp.WaitVisible(css(panel+".confirming form")))
	expect("the second confirmation", sup2.text(panel), "1 of 2 approvals so far: yours applies it")
	sup2.do(leaveBy(panel+" form button.primary"), chromedp.WaitVisible(css("#outcome")))
	expect("the second approval", sup2.text("#outcome"), fmt.Sprintf("Correction #%d is applied", dual), "A1B2C3D4 -550.00 USD", "Z9Y8X7W6 550.00 USD")
	if from, to := balance("A1B2C3D4"), balance("Z9Y8X7W6"); from != -55000 || to != 55000 {
		t.Fatalf("balances after the dual approval: %d %d", from, to)
	}

	// The second supervisor denies the first one's own request: a denial without a reason is
	// refused next to its field, then one with a reason is recorded.
	panel = fmt.Sprintf("#decision-%d", own)
	reason := fmt.Sprintf("#f-deny-%d-reason", own)
	sup2.do(chromedp.Click(css(panel+" details > summary")), chromedp.WaitVisible(css(reason)), leaveBy(panel+" form button.danger"),
		chromedp.WaitVisible(css(reason+"-error")))
	expect("the refused denial", sup2.text(reason+"-error"), "a denial needs a reason")
	if invalid := sup2.value(chromedp.Evaluate[string](`document.querySelector("` + reason + `").getAttribute("aria-describedby")`)); invalid != reason[1:]+"-error" {
		t.Fatalf("the reason field is not described by its error: %q", invalid)
	}
	shot(sup2, "deny-refused")
	sup2.axe("the refused denial")
	sup2.do(chromedp.SendKeys(css(reason), "Duplicate of the customer's other request"), leaveBy(panel+" form button.danger"),
		chromedp.WaitVisible(css("#outcome")))
	expect("the denial", sup2.text("#outcome"), fmt.Sprintf("Correction #%d is denied", own))

	for _, p := range []*page{agentTab, sup, sup2} {
		if holdsCode(p.value(chromedp.Evaluate[string]("document.documentElement.outerHTML"))) {
			t.Fatal("a page holds the claim code")
		}
	}
	if strings.Contains(d.logs.String(), `"status":500`) {
		t.Fatalf("the browser met a 500: %s", d.logs.String())
	}
}

// count is how many elements of the page match sel.
func (p *page) count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		p.t.Fatalf("browser: %v", err)
	}
	return n
}

// axe runs axe-core (WCAG 2 A and AA) on the page as it is now, after any htmx swap, and fails on
// a serious or critical violation, as TestEveryConsolePageIsAccessible does for whole pages.
func (p *page) axe(name string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
		p.t.Fatalf("injecting axe: %v", err)
	}
	res, err := chromedp.Run(p.ctx, chromedp.Evaluate[axeResult](
		`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			p.t.Errorf("%s: %s (%s) %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
}
