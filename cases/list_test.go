package cases_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

func TestListFiltersAndSearch(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		first := create(t, desk, p, wrongAccountCase(testCode, "111")) // US, zendesk 111
		uk := wrongAccountCase("QWER-TYUI-OPAS", "")
		uk.Customer = cases.AccountInput{AccountID: "UKACCT99", Marketplace: "UK", Email: "sam@example.co.uk"}
		uk.IntendedAccount = &cases.AccountInput{AccountID: "UKHOME01", Marketplace: "UK"}
		uk.Cards[0].Serial, uk.Cards[0].Currency, uk.Cards[0].Marketplace, uk.Cards[0].RedeemedTo = "5555666677778888", "GBP", "UK", "UKACCT99"
		uk.Priority = "urgent"
		second := create(t, desk, p, uk)
		dup := wrongAccountCase("ab12cdef34gh56", "")
		dup.Cards[0].Serial = ""
		third := create(t, desk, p, dup) // shares the first case's card: both flagged
		if _, err := desk.UpdateCase(ctx, p, a, second.Ref, second.ETag(), cases.CasePatch{Assignee: cases.Nullable{Set: true, Value: "agent@example.com"}}); err != nil {
			t.Fatal(err)
		}
		refs := func(q cases.CaseQuery) []string {
			t.Helper()
			page, err := desk.ListCases(ctx, p, q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			var out []string
			for _, r := range page.Data {
				out = append(out, r.Ref)
			}
			return out
		}
		all := []string{third.Ref, second.Ref, first.Ref}
		for _, tt := range []struct {
			name string
			q    cases.CaseQuery
			want []string
		}{
			{"everything, newest first", cases.CaseQuery{}, all},
			{"priority", cases.CaseQuery{Priority: "urgent"}, []string{second.Ref}},
			{"marketplace", cases.CaseQuery{Marketplace: "uk"}, []string{second.Ref}},
			{"flag", cases.CaseQuery{Flag: cases.FlagPossibleDuplicate}, []string{third.Ref, first.Ref}},
			{"assigned to me", cases.CaseQuery{Assignee: "me"}, []string{second.Ref}},
			{"assigned by email", cases.CaseQuery{Assignee: "AGENT@example.com"}, []string{second.Ref}},
			{"unassigned", cases.CaseQuery{Assignee: "none"}, []string{third.Ref, first.Ref}},
			{"external reference", cases.CaseQuery{ExternalSystem: "zendesk", ExternalID: "111"}, []string{first.Ref}},
			{"q: ref, any case", cases.CaseQuery{Q: "gd-" + second.Ref[3:]}, []string{second.Ref}},
			{"q: account id, any case", cases.CaseQuery{Q: "ukacct"}, []string{second.Ref}},
			{"q: email", cases.CaseQuery{Q: "SAM@EXAMPLE"}, []string{second.Ref}},
			{"q: card last 4", cases.CaseQuery{Q: "gh56"}, []string{third.Ref, first.Ref}},
			{"q: serial", cases.CaseQuery{Q: "66667777"}, []string{second.Ref}},
			{"q: SQL is just text", cases.CaseQuery{Q: "' OR 1=1 --"}, nil},
			{"q: wildcards are literal", cases.CaseQuery{Q: "%"}, nil},
			{"updated since the future", cases.CaseQuery{UpdatedSince: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, nil},
		} {
			if got := refs(tt.q); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
		}
		for _, bad := range []cases.CaseQuery{{Priority: "asap"}, {Marketplace: "EU"}, {Assignee: "nobody@example.com"},
			{UpdatedSince: "yesterday"}, {ExternalSystem: "zendesk"}, {Limit: "500"}, {Cursor: "x"}} {
			if _, err := desk.ListCases(ctx, p, bad); codeOf(err) != cases.CodeValidationFailed {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		// Pages stay put while new cases arrive: the cursor is the last id seen.
		page, err := desk.ListCases(ctx, p, cases.CaseQuery{Limit: "2"})
		if err != nil {
			t.Fatal(err)
		}
		later := wrongAccountCase("ZXCV-BNMA-SDFG", "")
		later.Cards[0].Serial = ""
		create(t, desk, p, later)
		next, err := desk.ListCases(ctx, p, cases.CaseQuery{Limit: "2", Cursor: page.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(next.Data) != 1 || next.Data[0].Ref != first.Ref || next.NextCursor != "" {
			t.Fatalf("second page %+v", next)
		}
	})
}
