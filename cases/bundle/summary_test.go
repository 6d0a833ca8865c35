package bundle_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/bundle"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestBundleSummaryNamesEveryApprover: a correction above the dual-approval threshold, approved by
// two supervisors with long notes, shows both approvers with their times in summary.pdf, and so do
// the requesters, the denier and the canceller; on a case whose timeline fills the two pages, the
// timeline is cut, never a correction's people. Set BUNDLE_SUMMARY_DIR to keep the PDFs.
func TestBundleSummaryNamesEveryApprover(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		v := f.richCase(t, 120)
		const code = "DUAL-7Q4K-W2XZ-9M"
		face := int64(120000)
		withCard, _, err := f.desk.AddCard(ctx, f.agent, actorOf(f.agent), v.Ref, cases.CardInput{ClaimCode: code, Serial: "604612341299999",
			FaceValueMinor: &face, Currency: "USD", Marketplace: "US", Status: "redeemed", RedeemedTo: "ZOE-001", RedeemedAt: "2026-11-21T10:00:00Z"})
		if err != nil {
			t.Fatal(err)
		}
		cardID := ""
		for _, c := range withCard.Cards {
			if c.FaceValueMinor == face {
				cardID = strconv.FormatInt(c.ID, 10)
			}
		}
		if cardID == "" {
			t.Fatalf("the added card is not on the case: %+v", withCard.Cards)
		}
		amount := int64(90000)
		if n := f.desk.DualApproval().RequiredApprovals(amount, "USD"); n != 2 {
			t.Fatalf("%d USD minor units need %d approval(s); the test wants a dual-approval correction", amount, n)
		}
		dual, err := f.desk.RequestCorrection(ctx, f.agent, actorOf(f.agent), v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount,
			Currency: "USD", FromAccount: "ZOE-001", ToAccount: "GULSEN-7", CardID: cardID,
			Reason: "The large card went to the work account as well; Zoë sent the slip, the till roll and a long explanation of the mix-up"})
		if err != nil {
			t.Fatal(err)
		}
		long := func(who string) string {
			return who + " checked the slip against the till roll, the redemption log and the call recording; " +
				strings.Repeat("the customer's story holds together in every detail we could check, ", 4) + "approved."
		}
		if _, err := f.desk.ApproveCorrection(ctx, f.sup, actorOf(f.sup), dual.ID, long("Søren")); err != nil {
			t.Fatal(err)
		}
		done, err := f.desk.ApproveCorrection(ctx, f.sup2, actorOf(f.sup2), dual.ID, long("Ines"))
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != string(cases.CorrectionApplied) || len(done.Approvals) != 2 {
			t.Fatalf("the dual correction is %s with %d approvals, want applied with 2", done.Status, len(done.Approvals))
		}
		small := int64(10000)
		withdrawn, err := f.desk.RequestCorrection(ctx, f.agent, actorOf(f.agent), v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &small,
			Currency: "USD", FromAccount: "ZOE-001", ToAccount: "GULSEN-7", CardID: cardID, Reason: "Asked by mistake"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.CancelCorrection(ctx, f.agent, actorOf(f.agent), withdrawn.ID); err != nil {
			t.Fatal(err)
		}
		x, err := f.desk.CaseDossier(ctx, f.sup, v.Ref)
		if err != nil {
			t.Fatal(err)
		}

		_, entries, _ := export(t, f, f.sup, v.Ref)
		pdf := entries[bundle.SummaryName]
		saveSummary(t, "approvers-"+string(models.DialectOf(db))+".pdf", pdf)
		if n := pdfPages(pdf); n != 2 {
			t.Errorf("the summary has %d pages, want 2 (a long timeline, cut)", n)
		}
		text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
		// Every correction's requester, approvers and denier, each followed by the minute of the act.
		var want []string
		for _, c := range x.Corrections {
			want = append(want, c.RequestedBy+" "+c.CreatedAt.UTC().Format("2006-01-02 15:04"))
			for _, a := range c.Approvals {
				want = append(want, "approved by "+a.By+" "+a.At.UTC().Format("2006-01-02 15:04"))
			}
			if c.DenialReason != nil {
				if c.DecidedAt == nil {
					t.Fatalf("correction %d is denied with no decision time", c.ID)
				}
				want = append(want, "denied by sup2@example.com "+c.DecidedAt.UTC().Format("2006-01-02 15:04"))
			}
			if c.Status == string(cases.CorrectionCancelled) { // the view has no time for a cancellation: the timeline has
				cancelled := false
				for _, e := range x.Timeline {
					if e.Kind == "correction_cancelled" && e.Correction != nil && e.Correction.ID == c.ID {
						want = append(want, "cancelled by agent@example.com "+e.At.UTC().Format("2006-01-02 15:04"))
						cancelled = true
					}
				}
				if !cancelled {
					t.Fatalf("correction %d is cancelled and the timeline does not say so", c.ID)
				}
			}
		}
		// The dual correction's two approvals, one after the other, each with its minute and its note begun.
		approval := func(a cases.ApprovalView, note string) string {
			return "approved by " + a.By + " " + a.At.UTC().Format("2006-01-02 15:04") + ": “" + note
		}
		want = append(want, approval(done.Approvals[0], "Søren")+" ", approval(done.Approvals[1], "Ines")+" ", "more events, see timeline.csv")
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("the summary's text lacks %q:\n%s", w, text)
			}
		}
		if strings.Contains(text, "more corrections") {
			t.Errorf("a correction was left out of the summary while the timeline was drawn:\n%s", text)
		}
		if out, ok := pdftotext(t, pdf); ok {
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range []string{"sup@example.com", "sup2@example.com"} {
				if !strings.Contains(flat, w) {
					t.Errorf("pdftotext does not read %q in the summary:\n%s", w, out)
				}
			}
		}
		flat := strings.ReplaceAll(text, " ", "")
		for _, form := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""), strings.ToLower(strings.ReplaceAll(code, "-", ""))} {
			if strings.Contains(flat, form) {
				t.Errorf("the claim code %q is drawn in summary.pdf", form)
			}
		}
	})
}

// TestSummaryKeepsPeopleOnFullPages: whatever the case's facts and cards leave of the two pages,
// ten corrections with long reasons and notes (dual-approval ones among them) come before the
// evidence and the timeline; every correction drawn shows its requester and approvers with their
// minutes, a row is drawn with its notes shortened rather than left out, and what is left out is
// named with where it is. Set BUNDLE_SUMMARY_DIR to keep the PDFs to look at.
func TestSummaryKeepsPeopleOnFullPages(t *testing.T) {
	shortened := 0
	for tickets := 14; tickets <= 30; tickets += 2 {
		for frozen := 0; frozen <= 10; frozen += 2 {
			pdf, people := fullSummary(t, tickets, frozen)
			name := fmt.Sprintf("full-%d-%d.pdf", tickets, frozen)
			saveSummary(t, name, pdf)
			if n := pdfPages(pdf); n != 2 {
				t.Errorf("%s has %d pages, want 2", name, n)
			}
			text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
			drawn := len(people)
			if m := regexp.MustCompile(`… (\d+) more corrections, see timeline.csv`).FindStringSubmatch(text); m != nil {
				more, _ := strconv.Atoi(m[1])
				drawn -= more
				if strings.Contains(text, "Timeline (") && !strings.Contains(text, "Timeline (50 events, oldest first): no room left") {
					t.Errorf("%s: the timeline is drawn while %d corrections are left out:\n%s", name, more, text)
				}
			}
			if drawn < 1 {
				t.Errorf("%s draws no correction:\n%s", name, text)
			}
			for i, want := range people[:max(drawn, 0)] {
				for _, w := range want {
					if !strings.Contains(text, w) {
						t.Errorf("%s: correction %d lacks %q:\n%s", name, i+1, w, text)
					}
				}
			}
			// A one-approval row shortened to its people: its reason and note cut on the lines of their minutes.
			short := regexp.MustCompile(`agent\d@example\.com 2026-11-30 09:0\d · the… approved by sup\.\d@example\.com 2026-11-30 1\d:\d0: “checked the…`).MatchString(text)
			if short {
				shortened++
			}
			// Unless the corrections took the last of the room, the timeline left out is named.
			if drawn == len(people) && !short && !strings.Contains(text, "more events, see timeline.csv") && !strings.Contains(text, "no room left on the two pages, see") {
				t.Errorf("%s: the timeline left out is not named with where it is:\n%s", name, text)
			}
		}
	}
	if shortened == 0 {
		t.Errorf("no summary had a correction row shortened to fit: the test does not reach that path")
	}
}

// fullSummary is the summary of a case with tickets tickets, a long description, ten cards (the
// first frozen ones with a long reason) and ten corrections (the even ones dual-approval), and for each correction the texts
// that name its people with their minutes.
func fullSummary(t *testing.T, tickets, frozen int) ([]byte, [][]string) {
	t.Helper()
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	last4, serial, reason := "GH56", "6046123412341234", "frozen while the transfer is checked against the till roll and the redemption log of the store"
	x := cases.Dossier{ReadAt: at, Case: cases.CaseView{Ref: "GD-000042", Type: "wrong_account", Status: "investigating", Priority: "high",
		Summary: "Redeemed on the work account", Description: strings.Repeat("A long description of what happened to the cards. ", 14),
		Customer: cases.AccountView{AccountID: "ZOE-001", Marketplace: "US"}, Tags: []string{"phone", "escalated"}}}
	for i := 0; i < tickets; i++ {
		x.Case.Externals = append(x.Case.Externals, cases.ExternalView{System: "zendesk", ID: strconv.Itoa(81234 + i)})
	}
	for i := 0; i < 10; i++ {
		x.Case.Cards = append(x.Case.Cards, cases.CardView{ID: int64(i + 1), Last4: &last4, Serial: &serial, FaceValueMinor: 100000, Currency: "USD",
			Marketplace: "US", Status: "redeemed", Frozen: i < frozen, FrozenReason: &reason})
	}
	var people [][]string
	for i := 0; i < 10; i++ {
		c := cases.CorrectionView{ID: int64(i + 1), Kind: "transfer", Status: "applied", AmountMinor: 90000, Currency: "USD", RequiredApprovals: 2,
			FromAccount: "ZOE-001", ToAccount: "GULSEN-7", RequestedBy: "agent" + strconv.Itoa(i) + "@example.com", CreatedAt: at.Add(time.Duration(i) * time.Minute),
			Reason: strings.Repeat("the card landed on the work account, ", 5)}
		approvers := []string{"sup", "sup2"}
		if i%2 == 1 { // under the threshold: one approval, a row three lines tall unless shortened
			c.AmountMinor, c.RequiredApprovals, approvers = 40000, 1, approvers[:1]
		}
		want := []string{c.RequestedBy + " " + c.CreatedAt.Format("2006-01-02 15:04")}
		for j, by := range approvers {
			a := cases.ApprovalView{By: by + "." + strconv.Itoa(i) + "@example.com", At: at.Add(time.Duration(60+10*i+j) * time.Minute),
				Note: strings.Repeat("checked the slip, the till roll and the call recording; ", 4)}
			c.Approvals = append(c.Approvals, a)
			want = append(want, "approved by "+a.By+" "+a.At.Format("2006-01-02 15:04"))
		}
		people = append(people, want)
		x.Corrections = append(x.Corrections, c)
	}
	for i := 0; i < 50; i++ {
		x.Timeline = append(x.Timeline, cases.TimelineEntry{Kind: "communication", ID: int64(i + 1), Actor: "agent@example.com", At: at,
			Communication: &cases.CommunicationView{Channel: "chat", Direction: "inbound", Body: "Follow-up about the transfer"}})
	}
	pdf, err := bundle.Summary(x, bundle.Exporter{Email: "sup@example.com", Via: "console"}, at)
	if err != nil {
		t.Fatal(err)
	}
	return pdf, people
}
