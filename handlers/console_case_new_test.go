package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// newCaseCode is a claim code the tests type; newCaseCodePart is a piece of it that no page, hint
// or log may ever hold, in any spelling.
const (
	newCaseCode     = "ab12-cdef34-gh56"
	newCaseCodePart = "CDEF34"
)

// holdsCode reports whether s holds the test's claim code in clear, in any case or spacing.
func holdsCode(s string) bool {
	return strings.Contains(strings.ToUpper(cases.NormalizeClaimCode(s)), newCaseCodePart)
}

func (h *harness) postForm(path, cookie string, form url.Values) *httpResponse {
	h.t.Helper()
	w := h.do(request{method: http.MethodPost, path: path, cookie: cookie, body: strings.NewReader(form.Encode()), header: sameOrigin})
	return &httpResponse{w.Code, w.Body.String(), w.Header().Get("Location")}
}

// wrongAccountForm is the new-case form of a wrong_account case as an agent fills it in.
func wrongAccountForm() url.Values {
	return url.Values{
		"type": {"wrong_account"}, "priority": {"high"}, "summary": {"Redeemed on the work account"},
		"description":         {"Pat redeemed a birthday card on the work account."},
		"customer.account_id": {"A1B2C3D4"}, "customer.marketplace": {"US"}, "customer.email": {"pat@example.com"},
		"customer.name":               {"Pat Doe"},
		"intended_account.account_id": {"Z9Y8X7W6"}, "intended_account.marketplace": {"US"},
		"cards[0].claim_code": {newCaseCode}, "cards[0].serial": {"6046 1234 1234 1234"}, "cards[0].face_value": {"50.00"},
		"cards[0].marketplace": {""}, "cards[0].status": {"redeemed"}, "cards[0].redeemed_to": {"customer"},
		"cards[0].redeemed_at": {"2026-11-20T10:00"},
		"tags":                 {"phone, birthday"}, "assign_to_me": {"on"},
		"external.system": {"zendesk"}, "external.id": {"81234"}, "external.url": {"https://example.zendesk.com/agent/tickets/81234"},
	}
}

// TestNewCaseStartsWithTheType: /cases/new first asks what happened, each type with SPEC §1's
// line, as a plain GET form that works without JavaScript (issue 21 item 4).
func TestNewCaseStartsWithTheType(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cookie := h.session("agent@example.com", cases.RoleAgent)
		w := h.do(request{method: http.MethodGet, path: "/cases/new", cookie: cookie})
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, `method="get" action="/cases/new"`) || strings.Contains(body, `name="summary"`) {
			t.Fatalf("the chooser: %d %s", w.Code, body)
		}
		for _, typ := range cases.CaseTypes {
			if !strings.Contains(body, `name="type" value="`+string(typ)+`"`) {
				t.Errorf("no choice of %s", typ)
			}
		}
		for _, line := range []string{"work vs personal", "never activated the card at the register", "pay a &#34;fine&#34;", "1-Click"} {
			if !strings.Contains(body, line) {
				t.Errorf("the chooser does not say %q", line)
			}
		}
		if bad := h.postForm("/cases/new", cookie, url.Values{"type": {"nonsense"}, "summary": {"x"}}); bad.code != http.StatusBadRequest ||
			!strings.Contains(bad.body, "Choose one of the types") {
			t.Fatalf("a post of an unknown type: %d %s", bad.code, bad.body)
		}
		if bad := h.do(request{method: http.MethodGet, path: "/cases/new?type=nonsense", cookie: cookie}); bad.Code != http.StatusBadRequest ||
			!strings.Contains(bad.Body.String(), "Choose one of the types") || !strings.Contains(bad.Body.String(), `name="type" value="other"`) {
			t.Fatalf("an unknown type: %d %s", bad.Code, bad.Body)
		}
	})
}

// TestNewCaseShowsOnlyItsTypesFields: once the type is chosen, the form asks what that type needs
// and nothing else.
func TestNewCaseShowsOnlyItsTypesFields(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cookie := h.session("agent@example.com", cases.RoleAgent)
		type expect struct {
			cards, intended, redemption, freeze bool
			says                                []string
		}
		for typ, want := range map[cases.CaseType]expect{
			cases.TypeWrongAccount:     {cards: true, intended: true, redemption: true, says: []string{"landed on"}},
			cases.TypeUnactivatedCard:  {cards: true, says: []string{"verified receipt", "before any credit"}},
			cases.TypeRegionalMismatch: {cards: true, says: []string{"never cross marketplaces"}},
			cases.TypeCodeProblem:      {cards: true, says: []string{"proven unredeemed"}},
			cases.TypeScamVictim:       {cards: true, freeze: true, says: []string{"Freeze the cards", "Report"}},
			cases.TypePromoCredit:      {says: []string{"screenshot"}},
			cases.TypeUnexpectedCharge: {says: []string{"order ids"}},
			cases.TypeOther:            {cards: true},
		} {
			w := h.do(request{method: http.MethodGet, path: "/cases/new?type=" + string(typ), cookie: cookie})
			body := w.Body.String()
			if w.Code != http.StatusOK || !strings.Contains(body, `method="post" action="/cases/new"`) ||
				!strings.Contains(body, `name="type" value="`+string(typ)+`"`) || !strings.Contains(body, `name="customer.account_id"`) {
				t.Fatalf("%s: %d %s", typ, w.Code, body)
			}
			for field, shown := range map[string]bool{
				`name="cards[0].claim_code"`:         want.cards,
				`name="cards[0].face_value"`:         want.cards,
				`name="intended_account.account_id"`: want.intended,
				`name="cards[0].redeemed_at"`:        want.redemption,
				`name="cards[0].redeemed_to"`:        want.redemption,
				`name="freeze" value="on" checked`:   want.freeze,
				`hx-post="/cases/new/code-hint"`:     want.cards,
				`hx-params="cards[0].claim_code"`:    want.cards,
			} {
				if strings.Contains(body, field) != shown {
					t.Errorf("%s: %s shown %v, want %v", typ, field, !shown, shown)
				}
			}
			for _, s := range want.says {
				if !strings.Contains(body, s) {
					t.Errorf("%s does not say %q", typ, s)
				}
			}
		}
	})
}

// TestNewCaseCreates: the form posts to the same use case as the API and redirects to the case;
// the face value typed in major units is stored in minor units of the card's currency, which
// follows its marketplace.
func TestNewCaseCreates(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cookie := h.session("agent@example.com", cases.RoleAgent)
		res := h.postForm("/cases/new", cookie, wrongAccountForm())
		if res.code != http.StatusSeeOther || !regexp.MustCompile(`^/cases/GD-[0-9]{6,}$`).MatchString(res.location) {
			t.Fatalf("create: %d %q %s", res.code, res.location, res.body)
		}
		ref := strings.TrimPrefix(res.location, "/cases/")
		view, err := h.desk.GetCase(context.Background(), cases.Principal{UserID: 1, Role: cases.RoleAdmin}, ref)
		if err != nil {
			t.Fatal(err)
		}
		if view.Type != "wrong_account" || view.Priority != "high" || view.Customer.AccountID != "A1B2C3D4" || view.IntendedAccount == nil ||
			view.IntendedAccount.AccountID != "Z9Y8X7W6" || len(view.Cards) != 1 || view.Cards[0].FaceValueMinor != 5000 ||
			view.Cards[0].Currency != "USD" || view.Cards[0].Marketplace != "US" || view.Cards[0].Last4 == nil || *view.Cards[0].Last4 != "GH56" ||
			view.Cards[0].RedeemedTo == nil || *view.Cards[0].RedeemedTo != "A1B2C3D4" || view.Cards[0].RedeemedAt == nil ||
			view.Cards[0].RedeemedAt.UTC().Format("2006-01-02T15:04") != "2026-11-20T10:00" || len(view.Tags) != 2 || view.External == nil {
			t.Fatalf("the case: %+v", view)
		}
		// The agent who took the call is assigned, as the form offers by default.
		if view.Assignee == nil || *view.Assignee != "agent@example.com" {
			t.Fatalf("assignee %v, want the agent who created the case", view.Assignee)
		}
		// In the agent's zone, in yen: a Tokyo agent's 19:00 is 10:00 UTC, 3000 is 3000 yen.
		if ok := h.postForm("/account", cookie, url.Values{"time_zone": {"Asia/Tokyo"}}); ok.code != http.StatusSeeOther {
			t.Fatalf("zone: %d", ok.code)
		}
		jp := url.Values{"type": {"unactivated_card"}, "summary": {"Card not activated at the konbini"},
			"customer.account_id": {"JP-7781"}, "customer.marketplace": {"JP"}, "cards[0].serial": {"7788 9900 1122"},
			"cards[0].face_value": {"3000"}, "cards[0].status": {"not_activated"}}
		res = h.postForm("/cases/new", cookie, jp)
		if res.code != http.StatusSeeOther {
			t.Fatalf("a JP case: %d %s", res.code, res.body)
		}
		var card struct {
			FaceValueMinor int64
			Currency       string
			Status         string
		}
		modelstest.Scan(t, db, &card, `SELECT g.face_value_minor, g.currency, g.status FROM gift_cards g JOIN case_cards cc ON cc.card_id = g.id
			JOIN cases c ON c.id = cc.case_id WHERE c.ref = ?`, strings.TrimPrefix(res.location, "/cases/"))
		if card.FaceValueMinor != 3000 || card.Currency != "JPY" || card.Status != "not_activated" {
			t.Fatalf("the JP card: %+v", card)
		}
		if holdsCode(h.logs.String()) {
			t.Fatal("the logs hold the claim code")
		}
	})
}

// TestNewScamCaseFreezesItsCards: "freeze the cards" is on by default; the case and the freezes
// commit together, so a freeze refused leaves no case behind.
func TestNewScamCaseFreezesItsCards(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cookie := h.session("agent@example.com", cases.RoleAgent)
		scam := func(code, reason string, freeze bool) url.Values {
			v := url.Values{"type": {"scam_victim"}, "summary": {"Paid a fake tax office in gift cards"},
				"customer.account_id": {"S-1"}, "customer.marketplace": {"US"}, "cards[0].claim_code": {code},
				"cards[0].face_value": {"100"}, "frozen_reason": {reason}, "reported": {"fraud_team"}}
			if freeze {
				v.Set("freeze", "on")
			}
			return v
		}
		res := h.postForm("/cases/new", cookie, scam(newCaseCode, "Codes given to a scammer on the phone", true))
		if res.code != http.StatusSeeOther {
			t.Fatalf("create: %d %s", res.code, res.body)
		}
		var card struct {
			Frozen       bool
			FrozenReason *string
		}
		modelstest.Scan(t, db, &card, `SELECT frozen, frozen_reason FROM gift_cards WHERE claim_code_last4 = 'GH56'`)
		if !card.Frozen || card.FrozenReason == nil || *card.FrozenReason != "Codes given to a scammer on the phone" {
			t.Fatalf("the card: %+v", card)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'card.frozen'`); n != 1 {
			t.Fatalf("%d card.frozen events", n)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM cases WHERE CAST(tags AS TEXT) LIKE '%reported_to_fraud_team%'`); n != 1 {
			t.Fatalf("the checklist's report is not on the case: %d", n)
		}
		// Freezing without a reason is refused, and the case is not created either.
		res = h.postForm("/cases/new", cookie, scam("QWXZ-RTYU-PKLM", "", true))
		if res.code != http.StatusUnprocessableEntity || !strings.Contains(res.body, `id="f-frozen_reason-error"`) {
			t.Fatalf("a freeze without reason: %d %s", res.code, res.body)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM cases`); n != 1 {
			t.Fatalf("%d cases after a refused freeze", n)
		}
		// Unticked, nothing is frozen.
		if res = h.postForm("/cases/new", cookie, scam("QWXZ-RTYU-PKLM", "", false)); res.code != http.StatusSeeOther {
			t.Fatalf("without freezing: %d %s", res.code, res.body)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM gift_cards WHERE frozen`); n != 1 {
			t.Fatalf("%d frozen cards", n)
		}
	})
}

// TestNewCaseRefusalKeepsInputButNoClaimCode: a refused form comes back with every message next
// to its field and a summary linking to them, the agent's input kept, except claim codes, which
// are never written into a page: their fields come back empty, saying to re-enter them, with the
// hints the code would have had (the same as the htmx hint, for browsers without JavaScript).
func TestNewCaseRefusalKeepsInputButNoClaimCode(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cookie := h.session("agent@example.com", cases.RoleAgent)
		form := wrongAccountForm()
		form.Set("summary", "")
		form.Set("customer.email", "not an email")
		form.Set("cards[0].face_value", "50.001")
		form.Set("cards[1].claim_code", "6046 1234 5678 9012")
		form.Set("cards[1].face_value", "25")
		res := h.postForm("/cases/new", cookie, form)
		if res.code != http.StatusUnprocessableEntity {
			t.Fatalf("refused form: %d %s", res.code, res.body)
		}
		for _, want := range []string{
			`id="error-summary"`, `href="#f-summary"`, `href="#f-customer-email"`, `href="#f-cards-0-face_value"`, `href="#f-cards-1-claim_code"`,
			`id="f-summary" name="summary"`, `aria-invalid="true" aria-describedby="f-summary-hint f-summary-error"`, `id="f-summary-error"`,
			`value="A1B2C3D4"`, `value="not an email"`, `value="50.001"`, `value="6046 1234 1234 1234"`, `value="81234"`, `value="phone, birthday"`,
			"Re-enter the claim code", "••••GH56", "12 or more digits", `<details class="more-cards" open>`,
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("the refused form lacks %s", want)
			}
		}
		if strings.Count(res.body, "12 or more digits") != 2 { // in the summary and under the field, once
			t.Errorf("the serial's refusal is said %d times", strings.Count(res.body, "12 or more digits"))
		}
		if holdsCode(res.body) || strings.Contains(res.body, "6046123456789012") || strings.Contains(res.body, "6046 1234 5678 9012") {
			t.Fatal("the refused form holds a claim code")
		}
		if regexp.MustCompile(`name="cards\[\d\]\.claim_code"[^>]*value="[^"]`).MatchString(res.body) {
			t.Fatal("a claim-code field comes back filled")
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM cases`); n != 0 {
			t.Fatalf("%d cases from a refused form", n)
		}
		if holdsCode(h.logs.String()) || strings.Contains(h.logs.String(), "6046123456789012") {
			t.Fatal("the logs hold a claim code")
		}
	})
}

// TestCodeHint: as the agent leaves the claim-code field, htmx posts it and the server answers a
// fragment: what R2 says, the masked form, the cases the card is already on as links. Never the
// code, in the answer or the logs.
func TestCodeHint(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cookie := h.session("agent@example.com", cases.RoleAgent)
		created := h.postForm("/cases/new", cookie, wrongAccountForm())
		if created.code != http.StatusSeeOther {
			t.Fatalf("create: %d %s", created.code, created.body)
		}
		ref := strings.TrimPrefix(created.location, "/cases/")
		hint := func(field, code string) string {
			t.Helper()
			res := h.postForm("/cases/new/code-hint", cookie, url.Values{field: {code}})
			if res.code != http.StatusOK || strings.Contains(res.body, "<html") {
				t.Fatalf("hint of %s: %d %s", field, res.code, res.body)
			}
			return res.body
		}
		for _, tc := range []struct {
			field, code string
			says        []string
		}{
			{"cards[0].claim_code", "6046 1234 1234 1234", []string{"12 or more digits", "serial number printed under the barcode"}},
			{"cards[2].claim_code", "QWXZ-RTYU-PKL0", []string{"contains O/0: letters and digits easy to confuse, read it back to the customer", "stored as", "••••PKL0"}},
			{"cards[0].claim_code", newCaseCode, []string{"••••GH56", `<a href="/cases/` + ref + `">` + ref + `</a>`, "new", "possible duplicate"}},
			{"cards[1].claim_code", "AB12-??", []string{"only letters and digits"}},
			{"cards[0].claim_code", "AB12", []string{"10 to 20 letters and digits"}},
		} {
			body := hint(tc.field, tc.code)
			for _, s := range tc.says {
				if !strings.Contains(body, s) {
					t.Errorf("hint of %q lacks %q: %s", tc.code, s, body)
				}
			}
			if holdsCode(body) || strings.Contains(body, "RTYU") || strings.Contains(body, "604612341234") {
				t.Errorf("the hint echoes the code: %s", body)
			}
		}
		if body := hint("cards[0].claim_code", ""); strings.TrimSpace(body) != "" {
			t.Errorf("an empty code: %q", body)
		}
		if w := h.do(request{method: http.MethodGet, path: "/cases/new/code-hint?cards[0].claim_code=x", cookie: cookie}); w.Code == http.StatusOK {
			t.Error("the hint answers a GET: a code would sit in a URL")
		}
		if holdsCode(h.logs.String()) || strings.Contains(h.logs.String(), "RTYU") {
			t.Fatal("the logs hold a claim code")
		}
	})
}
