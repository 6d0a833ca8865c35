package cases_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// pngFile spools a small PNG whose bytes differ with seed.
func pngFile(t *testing.T, seed string) *cases.Spooled {
	t.Helper()
	s, err := cases.SpoolUpload(strings.NewReader("\x89PNG\r\n\x1a\n"+seed), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// flagged checks R3's one behaviour on a case found a duplicate after it was created: it carries
// possible_duplicate, names its duplicates, is at version, and each of its n changes by R3 was
// audited as case.flagged and announced (case.updated), the last as it now stands.
func flagged(t *testing.T, db *gorm.DB, desk *cases.Desk, p cases.Principal, ref string, duplicates []string, version int64, n int) {
	t.Helper()
	got, err := desk.GetCase(context.Background(), p, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got.Flags, cases.FlagPossibleDuplicate) || !slices.Equal(got.Duplicates, duplicates) || got.Version != version {
		t.Fatalf("%s: flags %v duplicates %v version %d, want possible_duplicate, %v, version %d", ref, got.Flags, got.Duplicates, got.Version, duplicates, version)
	}
	if events := audited(t, db, "case.flagged", ref); events != int64(n) {
		t.Fatalf("%s: %d case.flagged audit events, want %d", ref, events, n)
	}
	rows := announced(t, db, ref)
	if len(rows) != n {
		t.Fatalf("%s: %d case.updated outbox rows, want %d", ref, len(rows), n)
	}
	if v := rows[n-1]; !slices.Contains(v.Flags, cases.FlagPossibleDuplicate) || !slices.Equal(v.Duplicates, duplicates) || v.Version != version {
		t.Fatalf("%s announced with flags %v duplicates %v version %d", ref, v.Flags, v.Duplicates, v.Version)
	}
}

// TestDuplicateFlaggedOneWayFromCaseCreation: a new case naming a known card is born flagged and
// announced by case.created alone; each older case is audited and announced at each change.
func TestDuplicateFlaggedOneWayFromCaseCreation(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		first := create(t, desk, p, wrongAccountCase(testCode, ""))
		in := wrongAccountCase(testCode, "")
		in.Cards[0].Serial = ""
		second := create(t, desk, p, in)
		flagged(t, db, desk, p, first.Ref, []string{second.Ref}, 2, 1)
		if !slices.Contains(second.Flags, cases.FlagPossibleDuplicate) || !slices.Equal(second.Duplicates, []string{first.Ref}) || second.Version != 1 {
			t.Fatalf("new case: flags %v duplicates %v version %d", second.Flags, second.Duplicates, second.Version)
		}
		if n, rows := audited(t, db, "case.flagged", second.Ref), announced(t, db, second.Ref); n != 0 || len(rows) != 0 {
			t.Fatalf("a case born flagged: %d case.flagged events, %d case.updated rows", n, len(rows))
		}
		// A third case with the card: both older cases gain a duplicate, so their ETags change.
		third := create(t, desk, p, in)
		flagged(t, db, desk, p, first.Ref, []string{second.Ref, third.Ref}, 3, 2)
		flagged(t, db, desk, p, second.Ref, []string{first.Ref, third.Ref}, 2, 1)
		if !slices.Equal(third.Duplicates, []string{first.Ref, second.Ref}) || third.Version != 1 {
			t.Fatalf("third case: duplicates %v version %d", third.Duplicates, third.Version)
		}
	})
}

// TestDuplicateFlaggedOneWayFromEvidence: the same file, or the same POS transaction, on two
// cases flags both, each audited and announced once, however many uploads find them.
func TestDuplicateFlaggedOneWayFromEvidence(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		refs := make([]string, 3)
		for i, code := range []string{"AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF", "GGGG-HHHH-JJJJ"} {
			in := wrongAccountCase(code, "")
			in.Cards[0].Serial = ""
			refs[i] = create(t, desk, p, in).Ref
		}
		photo := cases.EvidenceFields{Kind: "card_photo", PosTransactionID: "POS-1"}
		if _, err := desk.AddEvidence(ctx, p, a, refs[0], photo, pngFile(t, "one")); err != nil {
			t.Fatal(err)
		}
		// The same file on the second case.
		ev, err := desk.AddEvidence(ctx, p, a, refs[1], cases.EvidenceFields{Kind: "card_photo"}, pngFile(t, "one"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ev.Flags, cases.FlagPossibleDuplicate) {
			t.Fatalf("evidence flags %v", ev.Flags)
		}
		flagged(t, db, desk, p, refs[0], []string{refs[1]}, 2, 1)
		flagged(t, db, desk, p, refs[1], []string{refs[0]}, 2, 1)
		// Another file with the first one's POS transaction, on the third case: the first case, flagged
		// already, gains a duplicate, so its JSON and ETag change again; the second does not change.
		if _, err := desk.AddEvidence(ctx, p, a, refs[2], photo, pngFile(t, "two")); err != nil {
			t.Fatal(err)
		}
		flagged(t, db, desk, p, refs[2], []string{refs[0]}, 2, 1)
		flagged(t, db, desk, p, refs[0], []string{refs[1], refs[2]}, 3, 2)
		flagged(t, db, desk, p, refs[1], []string{refs[0]}, 2, 1)
		// The first file and POS transaction on the second case: it gains the third as a duplicate.
		if _, err := desk.AddEvidence(ctx, p, a, refs[1], photo, pngFile(t, "one")); err != nil {
			t.Fatal(err)
		}
		flagged(t, db, desk, p, refs[1], []string{refs[0], refs[2]}, 3, 2)
		flagged(t, db, desk, p, refs[2], []string{refs[0], refs[1]}, 3, 2)
		flagged(t, db, desk, p, refs[0], []string{refs[1], refs[2]}, 3, 2)
	})
}

// TestDuplicateFlaggedOneWayFromAddedCard: a card added to a case while another case has it flags
// both; the case it was added to is announced once, as it stands after the card and the flag.
func TestDuplicateFlaggedOneWayFromAddedCard(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		first := create(t, desk, p, wrongAccountCase(testCode, ""))
		in := wrongAccountCase("KKKK-LLLL-MMMM", "")
		in.Cards[0].Serial = ""
		second := create(t, desk, p, in)
		v, _, err := desk.AddCard(ctx, p, cases.ActorFor(p, "", "", ""), second.Ref, cases.CardInput{ClaimCode: testCode,
			FaceValueMinor: i64(5000), Currency: "USD", Marketplace: "US"})
		if err != nil {
			t.Fatal(err)
		}
		flagged(t, db, desk, p, first.Ref, []string{second.Ref}, 2, 1)
		flagged(t, db, desk, p, second.Ref, []string{first.Ref}, v.Version, 1)
		if v.Version <= second.Version || len(v.Cards) != 2 {
			t.Fatalf("after the card: version %d (was %d), %d cards", v.Version, second.Version, len(v.Cards))
		}
	})
}
