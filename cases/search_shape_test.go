package cases_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestSearchForSortsQByShape: each shape of q gets the probes that fit it, and nothing else. The
// first rows are the q values whose plans models' TestListPlansUseIndexesAt100k checks.
func TestSearchForSortsQByShape(t *testing.T) {
	for _, tt := range []struct {
		q     string
		shape cases.SearchShape
		want  *models.CaseSearch
	}{
		{"gd-012345", cases.ShapeRef, &models.CaseSearch{Refs: []string{"GD-012345"}}},
		{"12345", cases.ShapeNumber, &models.CaseSearch{Refs: []string{"GD-012345"}, AccountPrefix: "12345"}},
		{"4321", cases.ShapeNumber, &models.CaseSearch{Refs: []string{"GD-004321"}, AccountPrefix: "4321", Last4: "4321"}},
		{"6000000000012345", cases.ShapeNumber, &models.CaseSearch{Refs: []string{"GD-6000000000012345"}, AccountPrefix: "6000000000012345",
			SerialPrefix: "6000000000012345", SerialFragment: "6000000000012345"}},
		{"98765432", cases.ShapeNumber, &models.CaseSearch{Refs: []string{"GD-98765432"}, AccountPrefix: "98765432",
			SerialPrefix: "98765432", SerialFragment: "98765432"}},
		{"user4321@", cases.ShapeEmail, &models.CaseSearch{EmailPrefix: "user4321@"}},
		{"acct4321", cases.ShapeWord, &models.CaseSearch{AccountPrefix: "acct4321", EmailPrefix: "acct4321", SerialPrefix: "acct4321"}},
		{"c4ca", cases.ShapeWord, &models.CaseSearch{AccountPrefix: "c4ca", EmailPrefix: "c4ca", Last4: "C4CA"}},
		{"ct4321 x", cases.ShapeText, &models.CaseSearch{Contains: "ct4321 x"}},

		{"  GD-000123 ", cases.ShapeRef, &models.CaseSearch{Refs: []string{"GD-000123"}}},
		{"gd-123", cases.ShapeRef, &models.CaseSearch{Refs: []string{"GD-123", "GD-000123"}}},
		{"GD-000000001", cases.ShapeRef, &models.CaseSearch{Refs: []string{"GD-000000001", "GD-000001"}}},
		{"0", cases.ShapeText, &models.CaseSearch{Contains: "0"}},
		{"000", cases.ShapeNumber, &models.CaseSearch{AccountPrefix: "000"}},
		{"a", cases.ShapeText, &models.CaseSearch{Contains: "a"}},
		{"UK", cases.ShapeText, &models.CaseSearch{Contains: "UK"}},
		{"99999999999999999999", cases.ShapeNumber, &models.CaseSearch{AccountPrefix: "99999999999999999999",
			SerialPrefix: "99999999999999999999", SerialFragment: "99999999999999999999"}},
		{"Sam@Example.co.uk", cases.ShapeEmail, &models.CaseSearch{EmailPrefix: "Sam@Example.co.uk"}},
		{"@example.com", cases.ShapeText, &models.CaseSearch{Contains: "@example.com"}},
		{"sam @example", cases.ShapeText, &models.CaseSearch{Contains: "sam @example"}},
		{"GD-", cases.ShapeWord, &models.CaseSearch{AccountPrefix: "GD-", EmailPrefix: "GD-"}},
		{"system:goodwill", cases.ShapeWord, &models.CaseSearch{AccountPrefix: "system:goodwill", EmailPrefix: "system:goodwill", SerialPrefix: "system:goodwill"}},
		{"_", cases.ShapeText, &models.CaseSearch{Contains: "_"}},
		{"a_b", cases.ShapeWord, &models.CaseSearch{AccountPrefix: "a_b", EmailPrefix: "a_b"}},
		{`%_\`, cases.ShapeText, &models.CaseSearch{Contains: `%_\`}},
		{"' OR 1=1 --", cases.ShapeText, &models.CaseSearch{Contains: "' OR 1=1 --"}},
		{"", "", nil},
		{" \t ", "", nil},
	} {
		shape, got, err := cases.SearchFor(tt.q)
		if err != nil {
			t.Errorf("%q: %v", tt.q, err)
			continue
		}
		if shape != tt.shape || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %s %+v, want %s %+v", tt.q, shape, got, tt.shape, tt.want)
		}
	}
	for _, bad := range []string{"a\x00b", "\xff\xfe", "ok\xc3", strings.Repeat("x", cases.MaxSearchLength+1), strings.Repeat("é", 1000)} {
		if _, s, err := cases.SearchFor(bad); codeOf(err) != cases.CodeValidationFailed || s != nil {
			t.Errorf("%.20q: %v %+v", bad, err, s)
		}
	}
	if _, _, err := cases.SearchFor(strings.Repeat("é", cases.MaxSearchLength)); err != nil {
		t.Errorf("%d characters: %v", cases.MaxSearchLength, err)
	}
}

// TestSearchFindsEveryShape runs every shape of q against real cases on both databases: found in
// any letter case, not found, and hostile text that must find nothing or be refused, never fail.
func TestSearchFindsEveryShape(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		us := create(t, desk, p, wrongAccountCase(testCode, "")) // A1B2C3D4, pat@example.com, 6046123412341234, …GH56
		ukIn := wrongAccountCase("QWER-TYUI-OPAS", "")
		ukIn.Customer = cases.AccountInput{AccountID: "UKACCT99", Marketplace: "UK", Email: "Sam.Jones@Example.co.uk"}
		ukIn.Cards[0].Serial, ukIn.Cards[0].Currency, ukIn.Cards[0].Marketplace, ukIn.Cards[0].RedeemedTo = "5555666677778888", "GBP", "UK", "UKACCT99"
		uk := create(t, desk, p, ukIn)
		number := strings.TrimLeft(strings.TrimPrefix(uk.Ref, "GD-"), "0")
		find := func(q string) ([]string, error) {
			page, err := desk.ListCases(ctx, p, cases.CaseQuery{Q: q})
			var out []string
			for _, r := range page.Data {
				out = append(out, r.Ref)
			}
			return out, err
		}
		for _, tt := range []struct {
			name, q string
			want    []string
		}{
			{"ref", uk.Ref, []string{uk.Ref}},
			{"ref in lower case", strings.ToLower(uk.Ref), []string{uk.Ref}},
			{"ref without its zeros", "gd-" + number, []string{uk.Ref}},
			{"ref's number", strings.TrimPrefix(uk.Ref, "GD-"), []string{uk.Ref}},
			{"ref not found", "GD-999999", nil},
			{"ref's middle is no ref", uk.Ref[2:], nil},
			{"email", "sam.jones@example.co.uk", []string{uk.Ref}},
			{"email in capitals", "SAM.JONES@EXAMPLE.CO.UK", []string{uk.Ref}},
			{"start of an email", "Sam.Jones@Exa", []string{uk.Ref}},
			{"start of an email without its @", "sam.jones", []string{uk.Ref}},
			{"a domain, as text", "@example.co.uk", []string{uk.Ref}},
			{"email not found", "sam@example.co.uk", nil},
			{"account id", "ukacct99", []string{uk.Ref}},
			{"start of an account id", "UKAC", []string{uk.Ref}},
			{"account id not found", "UKACCT98", nil},
			{"middle of an account id", "ACCT99", nil},
			{"last 4", "opas", []string{uk.Ref}},
			{"last 4 of the other card", "GH56", []string{us.Ref}},
			{"last 4 not found", "ZZ99", nil},
			{"serial", "5555666677778888", []string{uk.Ref}},
			{"start of a serial", "55556666", []string{uk.Ref}},
			{"a serial's issuer digits are no search", "55556", nil},
			{"serial fragment", "66667777", []string{uk.Ref}},
			{"serial not found", "12121212", nil},
			{"middle of an email", "jones@exa", nil},
			{"free text, any case", "@EXAMPLE.CO.", []string{uk.Ref}},
			{"free text not found", "no such thing", nil},
			{"two characters, as text", "Uk", []string{uk.Ref}},
			{"percent", "%", nil},
			{"underscore", "_", nil},
			{"backslash", `\`, nil},
			{"wildcards in a word", "UK%CT99", nil},
			{"wildcards after a start", "UKACCT_9", nil},
			{"wildcards in an email", "sam%@example.co.uk", nil},
			{"wildcards in text", `%_\ x`, nil},
			{"SQL", "' OR 1=1 --", nil},
		} {
			got, err := find(tt.q)
			if err != nil {
				t.Errorf("%s (%q): %v", tt.name, tt.q, err)
			} else if !slices.Equal(got, tt.want) {
				t.Errorf("%s (%q): %v, want %v", tt.name, tt.q, got, tt.want)
			}
		}
		for _, bad := range []string{"UK\x00", "\xff", strings.Repeat("1", 1000)} {
			if _, err := find(bad); codeOf(err) != cases.CodeValidationFailed {
				t.Errorf("%.20q: %v, want %s", bad, err, cases.CodeValidationFailed)
			}
		}
	})
}

// TestSearchCostsNoExtraStatement: a search is the list's statements and no more (issue 25: it
// took a transaction and SET LOCAL on PostgreSQL), whatever its shape.
func TestSearchCostsNoExtraStatement(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		p := agentPrincipal(t, db)
		create(t, newDesk(db), p, wrongAccountCase(testCode, ""))
		counter := modelstest.NewStatementCounter()
		desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: counter}), Keys: casestest.Keys})
		statements := func(q string) int64 {
			t.Helper()
			before := counter.N.Load()
			page, err := desk.ListCases(ctx, p, cases.CaseQuery{Q: q})
			if err != nil {
				t.Fatal(err)
			}
			if q != "" && q != "nothing here" && len(page.Data) != 1 {
				t.Fatalf("%q: %d cases", q, len(page.Data))
			}
			return counter.N.Load() - before
		}
		list := statements("")
		for _, q := range []string{"a1b2", "pat@example.com", "6046123412341234", "GD-000001", "@example.com", "nothing here"} {
			if n := statements(q); n != list {
				t.Errorf("%q: %d statements, the list without q %d", q, n, list)
			}
		}
	})
}
