package demo_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/demo"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

// loaded is what the demo left on a desk, read back through the use cases a console reads with.
type loaded struct {
	cases       []cases.CaseView
	corrections []cases.CorrectionView
	evidence    []cases.EvidenceView
	comms       []cases.CommunicationView
}

func readBack(t *testing.T, ctx context.Context, desk *cases.Desk, p cases.Principal) loaded {
	t.Helper()
	var l loaded
	page, err := desk.ListCases(ctx, p, cases.CaseQuery{Limit: "100"})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range page.Data {
		v, err := desk.GetCase(ctx, p, row.Ref)
		if err != nil {
			t.Fatal(err)
		}
		l.cases = append(l.cases, v)
		ev, err := desk.ListEvidence(ctx, p, row.Ref, "100", "")
		if err != nil {
			t.Fatal(err)
		}
		l.evidence = append(l.evidence, ev.Data...)
		cm, err := desk.ListCommunications(ctx, p, row.Ref, "100", "")
		if err != nil {
			t.Fatal(err)
		}
		l.comms = append(l.comms, cm.Data...)
	}
	corr, err := desk.ListCorrections(ctx, p, "", "", "100", "")
	if err != nil {
		t.Fatal(err)
	}
	l.corrections = corr.Data
	return l
}

// TestDemoLoadsADeskAtWork: on an empty desk the demo opens a desk already at work, every part of
// it made by the use cases (so every rule held and every change is audited), with no claim code
// stored anywhere; on a desk with cases it adds nothing.
func TestDemoLoadsADeskAtWork(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
		created, err := demo.AddUsers(ctx, desk)
		if err != nil {
			t.Fatal(err)
		}
		if len(created) != len(demo.Users) {
			t.Fatalf("created %d users, want %d", len(created), len(demo.Users))
		}
		start := time.Now()
		n, err := demo.Load(ctx, desk, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d cases in %s", models.DialectOf(db), n, time.Since(start).Round(time.Millisecond))
		if n < 12 {
			t.Fatalf("loaded %d cases, want about fifteen", n)
		}
		sup, err := desk.PrincipalByEmail(ctx, "supervisor@demo.giftdesk")
		if err != nil {
			t.Fatal(err)
		}
		l := readBack(t, ctx, desk, sup)
		if len(l.cases) != n {
			t.Fatalf("the desk lists %d cases, the demo said %d", len(l.cases), n)
		}

		types, statuses, priorities := map[string]bool{}, map[string]bool{}, map[string]bool{}
		flags := map[string]bool{}
		var assigned, unassigned, breached, frozenScam bool
		for _, c := range l.cases {
			types[c.Type], statuses[c.Status], priorities[c.Priority] = true, true, true
			for _, f := range c.Flags {
				flags[f] = true
			}
			if c.Status == string(cases.StatusResolved) && c.Resolution == nil {
				t.Errorf("%s is resolved without a resolution", c.Ref)
			}
			if slices.Contains(c.Flags, cases.FlagPossibleDuplicate) && len(c.Duplicates) == 0 {
				t.Errorf("%s is flagged a duplicate of nothing", c.Ref)
			}
			assigned = assigned || c.Assignee != nil
			unassigned = unassigned || c.Assignee == nil
			breached = breached || c.SLA.Breached
			for _, card := range c.Cards {
				frozenScam = frozenScam || (c.Type == string(cases.TypeScamVictim) && card.Frozen && card.FrozenReason != nil)
			}
		}
		for _, typ := range cases.CaseTypes {
			if !types[string(typ)] {
				t.Errorf("no %s case", typ)
			}
		}
		for _, st := range cases.Statuses {
			if !statuses[string(st)] {
				t.Errorf("no %s case", st)
			}
		}
		for _, f := range []string{cases.FlagPossibleDuplicate, cases.FlagCrossMarketplace} {
			if !flags[f] {
				t.Errorf("no case flagged %s", f)
			}
		}
		if !assigned || !unassigned || len(priorities) < 3 || !breached || !frozenScam {
			t.Errorf("assigned %v, unassigned %v, priorities %v, SLA breached %v, frozen card on a scam case %v",
				assigned, unassigned, priorities, breached, frozenScam)
		}

		corrections := map[string]int{}
		dual := false
		for _, c := range l.corrections {
			corrections[c.Status]++
			dual = dual || (c.Status != "pending" && c.RequiredApprovals == 2 && len(c.Approvals) == 2)
		}
		for _, st := range []string{"pending", "applied", "denied", "reversed"} {
			if corrections[st] == 0 {
				t.Errorf("no %s correction: %v", st, corrections)
			}
		}
		if !dual {
			t.Error("no correction decided by two supervisors")
		}

		channels := map[string]bool{}
		amended := false
		for _, c := range l.comms {
			channels[c.Channel] = true
			amended = amended || c.Supersedes != nil
			if c.Channel == "phone" && c.RepresentativeName != "" && c.Reference != "" {
				channels["phone with a representative and a reference"] = true
			}
		}
		for _, ch := range []string{"phone", "email", "chat", "in_person", "internal_note", "phone with a representative and a reference"} {
			if !channels[ch] {
				t.Errorf("no %s communication", ch)
			}
		}
		if !amended {
			t.Error("no amended communication")
		}

		receipts := map[string]bool{}
		for _, e := range l.evidence {
			if e.Kind != "receipt" {
				continue
			}
			receipts[e.Verification] = true
			if e.VerifiedBy != nil && *e.VerifiedBy == e.UploadedBy {
				t.Errorf("evidence %d verified by its uploader", e.ID)
			}
			content, err := desk.OpenEvidence(ctx, sup, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(content)
			if err != nil {
				t.Fatal(err)
			}
			if got := http.DetectContentType(b); got != "image/png" || e.ContentType != "image/png" {
				t.Errorf("receipt %d sniffs as %s, stored as %s", e.ID, got, e.ContentType)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("receipt %d: %v", e.ID, err)
			}
			if img.Bounds().Dx() < 200 || img.Bounds().Dy() < 200 {
				t.Errorf("receipt %d is %v: too small to read", e.ID, img.Bounds())
			}
		}
		if !receipts["verified"] || !receipts["unverified"] {
			t.Errorf("receipts: %v, want a verified and an unverified one", receipts)
		}

		if _, err := desk.SealPass(ctx); err != nil {
			t.Fatal(err)
		}
		report, err := desk.VerifyAudit(ctx)
		if err != nil || !report.Intact() {
			t.Fatalf("audit after the demo: %+v, %v", report, err)
		}

		dump := strings.ToUpper(modelstest.Dump(t, db))
		if len(demo.ClaimCodes) == 0 {
			t.Fatal("the demo names no claim code")
		}
		for _, code := range demo.ClaimCodes {
			if strings.Contains(dump, cases.NormalizeClaimCode(code)) || strings.Contains(dump, strings.ToUpper(code)) {
				t.Errorf("the claim code ending %s is stored in clear", cases.NormalizeClaimCode(code)[len(cases.NormalizeClaimCode(code))-4:])
			}
			if _, err := cases.ParseClaimCode(code); err != nil {
				t.Errorf("a demo claim code is not valid (R2): %v", err)
			}
		}
		if !strings.Contains(dump, "[CLAIM CODE ••••") {
			t.Error("no text of the demo shows a redacted claim code")
		}

		events := modelstest.Count(t, db, `SELECT COUNT(*) FROM audit_events`)
		again, err := demo.Load(ctx, desk, t.TempDir())
		if err != nil || again != 0 {
			t.Fatalf("second load: %d cases, %v", again, err)
		}
		if more, err := demo.AddUsers(ctx, desk); err != nil || len(more) != 0 {
			t.Fatalf("second AddUsers: %v, %v", more, err)
		}
		if after := modelstest.Count(t, db, `SELECT COUNT(*) FROM audit_events`); after != events {
			t.Fatalf("the second load wrote %d audit events", after-events)
		}
		if l2 := readBack(t, ctx, desk, sup); len(l2.cases) != n || len(l2.corrections) != len(l.corrections) {
			t.Fatalf("the second load changed the desk: %d cases, %d corrections", len(l2.cases), len(l2.corrections))
		}
	})
}

// TestReceiptIsAPNGShowingItsFacts: the drawn receipt sniffs as PNG, decodes, and differs with
// its facts (so no two demo receipts share a sha256 by accident: that would flag them duplicates).
func TestReceiptIsAPNGShowingItsFacts(t *testing.T) {
	r := demo.Receipt{Store: "CORNER MARKET #0412", Location: "1200 MARKET ST, SPRINGFIELD", PurchasedAt: time.Date(2026, 11, 21, 14, 32, 0, 0, time.UTC),
		Amount: "50.00", Currency: "USD", CardLast4: "7731", Transaction: "0412-03-88231"}
	a, err := r.PNG()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cases.SniffEvidence(a); err != nil || got != "image/png" {
		t.Fatalf("sniffed %q, %v", got, err)
	}
	if _, err := png.Decode(bytes.NewReader(a)); err != nil {
		t.Fatal(err)
	}
	r.CardLast4 = "7732"
	b, err := r.PNG()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatal("the last four do not show on the receipt")
	}
}
