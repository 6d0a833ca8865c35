package cases_test

import (
	"context"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models/modelstest"
)

// Findings of the hostile review of issue 14, each kept as a test.
func TestReviewRegressionsCaseCreation(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		try := func(in cases.NewCase) (cases.CaseView, bool, error) { return desk.CreateCase(ctx, p, a, in) }

		// An external id holding the case's code: redacted before the look-up, so a repeat finds
		// the case instead of failing on the unique key.
		in := wrongAccountCase("PLMK-OIJN-7788", "")
		in.Cards[0].Serial = ""
		in.External = &cases.ExternalInput{System: "zendesk", ID: "ticket PLMKOIJN7788", URL: "https://t.example/" + strings.Repeat("plmkoijn7788/", 150)}
		first, created, err := try(in)
		if err != nil || !created || strings.Contains(strings.ToUpper(first.External.ID+*first.External.URL), "PLMKOIJN7788") {
			t.Fatalf("first: %v %v external %+v", created, err, first.External)
		}
		again, created, err := try(in)
		if err != nil || created || again.Ref != first.Ref {
			t.Fatalf("repeat with a coded external id: %v %v %s", created, err, again.Ref)
		}
		// Account names are redacted; an email or a ticketing system holding the code is refused.
		named := wrongAccountCase("QAZW-SXED-CRFV", "")
		named.Cards[0].Serial = ""
		named.Customer.AccountID, named.IntendedAccount.AccountID = "NAMED1", "NAMED2"
		named.Customer.Name = "QAZW-SXED-CRFV"
		named.Cards[0].RedeemedTo = "NAMED1"
		v, _, err := try(named)
		if err != nil || v.Customer.Name == nil || *v.Customer.Name != "[claim code ••••CRFV]" {
			t.Fatalf("account name: %+v %v", v.Customer.Name, err)
		}
		named.Customer.Email = "qazwsxedcrfv@example.com"
		if _, _, err := try(named); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("email holding the code: %v", err)
		}
		named.Customer.Email = ""
		named.External = &cases.ExternalInput{System: "qazw-sxed-crfv", ID: "1"}
		if _, _, err := try(named); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("system holding the code: %v", err)
		}
		// The claim code given as the serial too is refused, not stored in clear.
		same := wrongAccountCase("TGBY-HNUJ-MIKO", "")
		same.Cards[0].Serial = "TGBYHNUJMIKO"
		if _, _, err := try(same); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("serial equal to the code: %v", err)
		}
		// Code on one record, serial on another: 422 naming the serial, not a 500.
		serialOnly := wrongAccountCase("", "")
		serialOnly.Cards[0].ClaimCode, serialOnly.Cards[0].Serial = "", "1111222233334444"
		create(t, desk, p, serialOnly)
		codeOnly := wrongAccountCase("WSXE-DCRF-VTGB", "")
		codeOnly.Cards[0].Serial = ""
		create(t, desk, p, codeOnly)
		both := wrongAccountCase("WSXE-DCRF-VTGB", "")
		both.Cards[0].Serial = "1111 2222 3333 4444"
		_, _, err = try(both)
		var re *cases.RuleError
		if !errorsAs(err, &re) || re.Code != cases.CodeValidationFailed || re.Field != "cards[0].serial" {
			t.Fatalf("code and serial on two records: %v", err)
		}
		// A serial contradicting the card's recorded one is refused.
		contra := wrongAccountCase(testCode, "")
		create(t, desk, p, contra)
		contra.Cards[0].Serial = "9999888877776666"
		if _, _, err := try(contra); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("contradicting serial: %v", err)
		}
		// An external object of empty strings is no reference.
		empty := wrongAccountCase("YHNU-JMIK-OLPQ", "")
		empty.Cards[0].Serial = ""
		empty.External = &cases.ExternalInput{}
		if v, _, err := try(empty); err != nil || v.External != nil {
			t.Fatalf("empty external: %+v %v", v.External, err)
		}
		dump := dumpDatabase(t, db)
		for _, code := range []string{"PLMKOIJN7788", "QAZWSXEDCRFV", "TGBYHNUJMIKO", "QAZW-SXED", "PLMK-OIJN"} {
			if strings.Contains(strings.ToUpper(dump), code) {
				t.Fatalf("the database holds %s", code)
			}
		}
	})
}

func TestReviewRegressionsFinalityAndETags(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		if v.External != nil {
			t.Fatalf("no external reference given: %+v", v.External)
		}
		// A card's change moves the ETag of the cases showing it.
		freeze := true
		if _, err := desk.UpdateCard(ctx, p, a, mustCardID(t, v), cases.CardPatch{Frozen: &freeze, FrozenReason: "reported stolen"}); err != nil {
			t.Fatal(err)
		}
		after := mustGetCase(t, desk, p, v.Ref)
		if after.ETag() == v.ETag() || !after.Cards[0].Frozen {
			t.Fatalf("ETag %s after freezing a card, was %s", after.ETag(), v.ETag())
		}
		// So does a newer email of its customer, recorded by another case.
		other := wrongAccountCase("EDCR-FVTG-BYHN", "")
		other.Cards[0].Serial = ""
		other.Customer.Email = "pat.new@example.com"
		create(t, desk, p, other)
		again := mustGetCase(t, desk, p, v.Ref)
		if again.ETag() == after.ETag() || *again.Customer.Email != "pat.new@example.com" {
			t.Fatalf("ETag %s after the customer's email changed, was %s", again.ETag(), after.ETag())
		}
		// Adding a card already on the case changes nothing.
		same, added, err := desk.AddCard(ctx, p, a, v.Ref, cases.CardInput{ClaimCode: testCode, Serial: "6046123412341234", FaceValueMinor: i64(5000), Currency: "USD", Marketplace: "US"})
		if err != nil || same.Version != again.Version || added {
			t.Fatalf("re-adding a card: version %d, was %d, added %v, %v", same.Version, again.Version, added, err)
		}
		// Closed is final: no field changes, no card is added.
		cur := again
		for _, body := range []string{`{"status":"resolved","resolution":"no_action"}`, `{"status":"closed"}`} {
			if cur, err = desk.UpdateCase(ctx, p, a, v.Ref, cur.ETag(), patchJSON(t, body)); err != nil {
				t.Fatal(err)
			}
		}
		for _, body := range []string{`{"priority":"urgent"}`, `{"tags":["late"]}`, `{"assignee":"agent@example.com"}`} {
			if _, err := desk.UpdateCase(ctx, p, a, v.Ref, cur.ETag(), patchJSON(t, body)); codeOf(err) != cases.CodeInvalidTransition {
				t.Errorf("%s on a closed case: %v", body, err)
			}
		}
		if _, _, err := desk.AddCard(ctx, p, a, v.Ref, cases.CardInput{ClaimCode: "UJMI-KOLP-QAZX", FaceValueMinor: i64(100), Currency: "USD", Marketplace: "US"}); codeOf(err) != cases.CodeInvalidTransition {
			t.Fatalf("card added to a closed case: %v", err)
		}
		// The idempotency hash is keyed: another desk key gives another hash.
		otherKeys := casestest.Keys
		otherKeys.Idempotency = []byte("another idempotency key of 32 b.")
		if string(desk.RequestHash("POST", "/x", []byte("{}"))) == string(cases.New(cases.Config{DB: db, Keys: otherKeys}).RequestHash("POST", "/x", []byte("{}"))) {
			t.Fatal("the request hash does not depend on the key")
		}
	})
}

func mustCardID(t *testing.T, v cases.CaseView) int64 {
	t.Helper()
	if len(v.Cards) == 0 {
		t.Fatal("case without cards")
	}
	return v.Cards[0].ID
}
