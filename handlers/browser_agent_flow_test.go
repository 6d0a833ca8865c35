package handlers

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestBrowserAgentWorksACase is issue 21 item 9 from end to end, through the pages only: an
// agent signs in, opens a wrong_account case after seeing the serial-number hint, records a
// phone call and amends it, uploads a receipt; a second agent verifies the receipt and requests
// the transfer, and the case waits for a supervisor. At every step the page the browser holds
// is checked for the claim code and saved as a screenshot.
func TestBrowserAgentWorksACase(t *testing.T) {
	p := newPage(t)
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	ctx := context.Background()
	for email, name := range map[string]string{"agent@example.com": "Alex Morgan", "agent2@example.com": "Blake Chen"} {
		if _, err := h.desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: name, Role: cases.RoleAgent,
			Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log: %s", h.logs.String())
		}
	})
	receiptFile := filepath.Join(t.TempDir(), "receipt.png")
	if err := os.WriteFile(receiptFile, drawnPNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	submit := leaveBy
	// step checks the page the browser holds (its live DOM, after any htmx swap) for the code,
	// saves it, and returns its main text.
	step := func(name string) string {
		t.Helper()
		source := p.value(chromedp.Evaluate[string]("document.documentElement.outerHTML"))
		if holdsCode(source) {
			t.Fatalf("%s: the page holds the claim code", name)
		}
		p.screenshot("agent-flow-" + name)
		return p.text("main")
	}
	signIn := func(email string) {
		t.Helper()
		p.do(chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(css("#email")),
			chromedp.SendKeys(css("#email"), email), chromedp.SendKeys(css("#password"), "correct horse battery"),
			submit("main button[type=submit]"), chromedp.WaitVisible(css("header nav")))
	}
	// empty clears a field (chromedp's SetValue takes an empty value for a failure).
	empty := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`document.querySelector("` + sel + `").value = ""`)
	}
	// until waits for a script to be true: an htmx answer swapped in.
	until := func(js string) {
		t.Helper()
		if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](js)); err != nil {
			t.Fatalf("waiting for %s: %v", js, err)
		}
	}
	expect := func(what, got string, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Fatalf("%s lacks %q: %q", what, want, got)
			}
		}
	}

	// 1. Sign in through the form, open New case, choose wrong_account.
	p.do(chromedp.EmulateViewport(1280, 800))
	signIn("agent@example.com")
	step("01-home")
	p.do(chromedp.Click(css(`header a[href="/cases/new"]`)), chromedp.WaitVisible(css("#type-wrong_account")),
		chromedp.Click(css("#type-wrong_account")), submit("main button[type=submit]"),
		chromedp.WaitVisible(css("#f-cards-0-claim_code")))
	expect("the form's heading", p.text("h1"), "Redeemed on the wrong account")
	step("02-new-case-form")

	// 2. The serial number typed where the code goes: the server's hint says so as the field is left.
	code := "#f-cards-0-claim_code"
	p.do(chromedp.SendKeys(css(code), "6046123412341234"), chromedp.Focus(css("#f-cards-0-serial")),
		chromedp.WaitVisible(css(code+"-hint .hint")))
	hint := p.text(code + "-hint")
	expect("the serial's hint", hint, "12 or more digits", "serial number")
	if strings.Contains(hint, "6046123412341234") {
		t.Fatalf("the hint echoes what was typed: %q", hint)
	}
	step("03-serial-hint")

	// 3. The real code, and the rest of the form.
	p.do(empty(code), chromedp.SendKeys(css(code), newCaseCode), chromedp.Focus(css("#f-cards-0-serial")))
	until(`document.querySelector("` + code + `-hint").textContent.includes("GH56")`)
	expect("the code's hint", p.text(code+"-hint"), "••••GH56")
	p.do(chromedp.SendKeys(css("#f-summary"), "Birthday card redeemed on the work account"),
		chromedp.SendKeys(css("#f-description"), "Pat redeemed a birthday card on the work account on Sunday."),
		chromedp.SendKeys(css("#f-customer-account_id"), "A1B2C3D4"), chromedp.SetValue(css("#f-customer-marketplace"), "US"),
		chromedp.SendKeys(css("#f-customer-email"), "work@example.com"),
		chromedp.SendKeys(css("#f-intended_account-account_id"), "Z9Y8X7W6"), chromedp.SetValue(css("#f-intended_account-marketplace"), "US"),
		chromedp.SendKeys(css("#f-intended_account-email"), "pat@example.com"),
		chromedp.SendKeys(css("#f-cards-0-serial"), "6046123412341234"), chromedp.SendKeys(css("#f-cards-0-face_value"), "50.00"))
	step("04-new-case-filled")
	p.do(submit("main form[method=post] button[type=submit]"), chromedp.WaitVisible(css("#case-title")))
	loc := p.value(chromedp.Location())
	ref := regexp.MustCompile(`/cases/(GD-[0-9]{6,})$`).FindStringSubmatch(loc)
	if ref == nil {
		t.Fatalf("after creating: %q", loc)
	}
	main := step("05-case-created")
	expect("the new case page", main, ref[1], "wrong_account", "A1B2C3D4", "Z9Y8X7W6", "••••GH56", "redeemed", "to A1B2C3D4", "50.00 USD")

	// 4. A phone call with the representative's name and a reference, read back with the code in it.
	p.do(chromedp.SetValue(css("#f-comm-channel"), "phone"), chromedp.SetValue(css("#f-comm-direction"), "inbound"),
		chromedp.SendKeys(css("#f-comm-counterpart_name"), "Pat Doe"), chromedp.SendKeys(css("#f-comm-representative_name"), "Maria"),
		chromedp.SendKeys(css("#f-comm-reference"), "CALL-4471"), chromedp.SendKeys(css("#f-comm-duration_seconds"), "420"),
		chromedp.SendKeys(css("#f-comm-body"), "Pat read the code AB12 CDEF34 GH56 to Maria; it went to the work account."),
		submit("#comm-form button[type=submit]"), chromedp.WaitVisible(css(".notice")))
	expect("the notice", p.text(".notice"), "communication is recorded")
	timeline := step("06-call-recorded")
	expect("the timeline", timeline, "phone", "representative Maria", "ref CALL-4471", "7 min 0 s", "[claim code ••••GH56]")

	// 5. Amend it through its Amend link: the original stays, marked amended and linked.
	p.do(submit(`#timeline a[href*="?amend="]`), chromedp.WaitReady(css(`#comm-form input[name=supersedes]`)))
	expect("the amend form", p.text("#add-communication"), "Amend entry")
	if rep := p.value(chromedp.Value(css("#f-comm-representative_name"))); rep != "Maria" {
		t.Fatalf("the amend form is not filled from the entry: %q", rep)
	}
	step("07-amend-form")
	p.do(empty("#f-comm-reference"), chromedp.SendKeys(css("#f-comm-reference"), "CALL-4472"),
		submit("#comm-form button[type=submit]"), chromedp.WaitVisible(css("li.superseded")))
	amended := p.text("li.superseded")
	expect("the amended entry", amended, "amended", "ref CALL-4471")
	target := p.value(chromedp.Evaluate[string](`document.querySelector('li.superseded a[href^="#communication-"]').getAttribute("href")`))
	// Oldest first: the case opened, the call, its amendment (which keeps the call's time).
	got := p.text("#timeline")
	if opened, call, amendment := strings.Index(got, "opened as"), strings.Index(got, "ref CALL-4471"), strings.Index(got, "ref CALL-4472"); opened < 0 ||
		call < opened || amendment < call || !strings.Contains(got, "amends an earlier entry") {
		t.Fatalf("the timeline is not the case, the call, then its amendment: %q", got)
	}
	if n := p.value(chromedp.Evaluate[string](`String(document.querySelectorAll('` + target + `:not(.superseded)').length)`)); n != "1" {
		t.Fatalf("the amended entry links to %s, which is not the amendment", target)
	}
	step("08-amended")

	// 6. Upload the receipt with its fields.
	p.do(chromedp.Click(css("#evidence details > summary")), chromedp.WaitVisible(css("#f-ev-file")),
		chromedp.SetUploadFiles(css("#f-ev-file"), []string{receiptFile}), chromedp.SetValue(css("#f-ev-kind"), "receipt"),
		chromedp.SendKeys(css("#f-ev-store_name"), "Store 12"), chromedp.SendKeys(css("#f-ev-store_location"), "Main St"),
		chromedp.SetValue(css("#f-ev-purchased_at"), "2026-11-19"), chromedp.SendKeys(css("#f-ev-amount"), "50.00"),
		chromedp.SendKeys(css("#f-ev-card_last4"), "GH56"), chromedp.SendKeys(css("#f-ev-pos_transaction_id"), "POS-778899"))
	step("09-upload-form")
	p.do(submit(`#evidence form[enctype="multipart/form-data"] button[type=submit]`), chromedp.WaitVisible(css(".evidence-item")))
	expect("the notice", p.text(".notice"), "evidence is uploaded")
	expect("the evidence", p.text(".evidence-item"), "receipt", "receipt.png", "image/png", "unverified", "Store 12", "50.00 USD", "card …GH56", "POS-778899")
	if n := p.value(chromedp.Evaluate[string](`String(document.querySelectorAll(".evidence-item form[action$='/verify']").length)`)); n != "0" {
		t.Fatal("the uploader is offered to verify their own receipt")
	}
	step("10-uploaded")

	// 7. Sign out; the second agent signs in, opens the case and verifies the receipt.
	p.do(submit("header button.link"), chromedp.WaitVisible(css("#email")))
	signIn("agent2@example.com")
	p.do(chromedp.Navigate(ts.URL+"/cases/"+ref[1]), chromedp.WaitVisible(css("#case-title")),
		chromedp.SendKeys(css(`.evidence-item input[name=note]`), "Matches the card's last 4 and the face value"))
	step("11-second-agent")
	p.do(submit(`.evidence-item button[value=verified]`), chromedp.WaitVisible(css(".notice")))
	expect("the notice", p.text(".notice"), "verdict on the evidence is recorded")
	expect("the verified receipt", p.text(".evidence-item"), "verified", "by agent2@example.com", "Matches the card's last 4")
	step("12-verified")

	// 8. Request the transfer, from the account it landed on to the intended one: pending approval.
	p.do(chromedp.Click(css("#corrections details > summary")), chromedp.WaitVisible(css("#f-corr-amount")),
		chromedp.SetValue(css("#f-corr-kind"), "transfer"), chromedp.SendKeys(css("#f-corr-amount"), "50.00"),
		chromedp.SetValue(css("#f-corr-from_account"), "A1B2C3D4"), chromedp.SetValue(css("#f-corr-to_account"), "Z9Y8X7W6"),
		chromedp.Evaluate[chromedp.Void](`(s => { s.selectedIndex = 1; s.dispatchEvent(new Event("change", {bubbles: true})) })(document.querySelector("#f-corr-card_id"))`),
		chromedp.SendKeys(css("#f-corr-reason"), "Redeemed on the work account by mistake; receipt verified"))
	until(`document.querySelector("#correction-preview").textContent.includes("allowed")`)
	expect("the preview", p.text("#correction-preview"), "allowed", "1 supervisor approval")
	step("13-transfer-form")
	p.do(submit("#corrections form button[type=submit]"), chromedp.WaitVisible(css(".notice")))
	expect("the notice", p.text(".notice"), "correction is requested")
	expect("the case's status", p.text(".facts"), "pending approval")
	expect("the corrections", p.text("#corrections table"), "transfer", "50.00 USD", "A1B2C3D4 → Z9Y8X7W6", "pending", "0 of 1", "agent2@example.com")
	step("14-pending-approval")

	// 9. What the database holds.
	for _, c := range []struct {
		what  string
		query string
	}{
		{"the case, pending approval", `SELECT count(*) FROM cases WHERE ref = ? AND type = 'wrong_account' AND status = 'pending_approval'`},
		{"the amendment of the call, at the call's time", `SELECT count(*) FROM communications m
			JOIN communications o ON o.id = m.supersedes_id AND o.case_id = m.case_id JOIN cases c ON c.id = m.case_id
			WHERE c.ref = ? AND o.reference = 'CALL-4471' AND m.reference = 'CALL-4472' AND m.occurred_at = o.occurred_at
				AND o.representative_name = 'Maria' AND (SELECT count(*) FROM communications a WHERE a.case_id = c.id) = 2`},
		{"the verified receipt", `SELECT count(*) FROM evidence e JOIN cases c ON c.id = e.case_id JOIN users u ON u.id = e.verified_by_id
			WHERE c.ref = ? AND e.kind = 'receipt' AND e.verification = 'verified' AND e.amount_minor = 5000 AND u.email = 'agent2@example.com'`},
		{"the pending transfer", `SELECT count(*) FROM corrections x JOIN cases c ON c.id = x.case_id
			WHERE c.ref = ? AND x.kind = 'transfer' AND x.status = 'pending' AND x.amount_minor = 5000 AND x.card_id IS NOT NULL`},
	} {
		if n := modelstest.Count(t, h.db, c.query, ref[1]); n != 1 {
			t.Errorf("%s: %d rows, want 1", c.what, n)
		}
	}
	if logs := h.logs.String(); holdsCode(logs) || strings.Contains(logs, `"status":500`) || strings.Contains(logs, `"status":404`) {
		t.Fatalf("the logs hold a claim code, a 404 or a 500: %s", logs)
	}
}
