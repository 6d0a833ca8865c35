package seed_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/seed"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

// seeded is a desk after a seed, with the codes the seed drew and what it printed.
type seeded struct {
	db       *gorm.DB
	desk     *cases.Desk
	codes    map[int64]cases.ClaimCode
	progress string
	res      seed.Result
}

func seedDesk(t *testing.T, db *gorm.DB, n int) seeded {
	t.Helper()
	s := seeded{db: db, desk: cases.New(cases.Config{DB: db, Keys: casestest.Keys}), codes: map[int64]cases.ClaimCode{}}
	var out bytes.Buffer
	res, err := seed.Run(context.Background(), s.desk, seed.Options{Cases: n, Seed: 7, Progress: &out, BatchCases: 250,
		Checked: true, OnClaimCode: func(id int64, c cases.ClaimCode) { s.codes[id] = c }})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	s.res, s.progress = res, out.String()
	return s
}

// TestSeedKeepsTheRules seeds a desk and checks, on the rows, every rule the use cases would have
// kept: types, statuses and resolutions (R11), flags and links (R3, R4), balanced postings,
// face values (R7), approvals (R5), receipts (R6), reversals, and the audit chain (R10).
func TestSeedKeepsTheRules(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := seedDesk(t, db, 1200)
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases`); n != 1200 {
			t.Fatalf("%d cases", n)
		}
		for _, typ := range []string{"wrong_account", "unactivated_card", "regional_mismatch", "code_problem", "scam_victim",
			"promo_credit", "unexpected_charge", "other"} {
			if modelstest.Count(t, db, `SELECT COUNT(*) FROM cases WHERE type = ?`, typ) == 0 {
				t.Errorf("no %s case", typ)
			}
		}
		for _, st := range []string{"new", "investigating", "waiting_on_customer", "pending_approval", "resolved", "closed"} {
			if modelstest.Count(t, db, `SELECT COUNT(*) FROM cases WHERE status = ?`, st) == 0 {
				t.Errorf("no %s case", st)
			}
		}
		for _, r := range []string{"corrected", "denied", "no_action", "duplicate", "referred"} {
			if modelstest.Count(t, db, `SELECT COUNT(*) FROM cases WHERE resolution = ?`, r) == 0 {
				t.Errorf("no case resolved %s", r)
			}
		}
		for _, st := range []string{"pending", "applied", "denied", "cancelled", "reversed"} {
			if modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections WHERE status = ?`, st) == 0 {
				t.Errorf("no %s correction", st)
			}
		}
		// R11: pending_approval is exactly the cases with a pending correction.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases c WHERE (c.status = 'pending_approval') <>
			EXISTS (SELECT 1 FROM corrections k WHERE k.case_id = c.id AND k.status = 'pending')`); n != 0 {
			t.Errorf("%d cases whose pending_approval status disagrees with their corrections", n)
		}
		// Cards the types of SPEC §1 need.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases c WHERE c.type IN ('wrong_account', 'unactivated_card',
			'regional_mismatch', 'code_problem') AND NOT EXISTS (SELECT 1 FROM case_cards cc WHERE cc.case_id = c.id)`); n != 0 {
			t.Errorf("%d cases without the card their type needs", n)
		}

		// R3: cards on several cases flag and link every one of them, both ways.
		if modelstest.Count(t, db, `SELECT COUNT(*) FROM case_links`) == 0 {
			t.Error("no duplicate links")
		}
		flagged, _ := models.JSONArrayContains(db, "c.flags", cases.FlagPossibleDuplicate)
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases c WHERE `+flagged, cases.FlagPossibleDuplicate); n == 0 {
			t.Error("no case flagged possible_duplicate")
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM case_cards a JOIN case_cards b ON a.card_id = b.card_id AND a.case_id <> b.case_id
			WHERE NOT EXISTS (SELECT 1 FROM case_links l WHERE l.case_id = a.case_id AND l.other_case_id = b.case_id AND l.reason = 'card')`); n != 0 {
			t.Errorf("%d pairs of cases sharing a card without a link", n)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM case_links l JOIN cases c ON c.id = l.case_id WHERE NOT (`+flagged+`)`,
			cases.FlagPossibleDuplicate); n != 0 {
			t.Errorf("%d linked cases not flagged possible_duplicate", n)
		}
		cross, _ := models.JSONArrayContains(db, "c.flags", cases.FlagCrossMarketplace)
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases c WHERE `+cross, cases.FlagCrossMarketplace); n == 0 {
			t.Error("no case flagged cross_marketplace")
		}
		// R4: money never crosses marketplaces: a correction's currency is its card's and its customer's.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k JOIN cases c ON c.id = k.case_id
			JOIN customer_accounts a ON a.id = c.customer_account_id LEFT JOIN gift_cards g ON g.id = k.card_id
			WHERE (g.id IS NOT NULL AND g.currency <> k.currency) OR a.marketplace IS NULL`); n != 0 {
			t.Errorf("%d corrections in another currency than their card", n)
		}

		// The ledger: postings sum to zero per correction and per currency; only applied (and
		// reversed) corrections post, two lines each.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM (SELECT correction_id FROM postings GROUP BY correction_id
			HAVING SUM(amount_minor) <> 0 OR COUNT(*) <> 2) x`); n != 0 {
			t.Errorf("%d corrections whose postings do not balance", n)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM (SELECT currency FROM postings GROUP BY currency HAVING SUM(amount_minor) <> 0) x`); n != 0 {
			t.Errorf("%d currencies whose postings do not balance", n)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k WHERE (k.status IN ('applied', 'reversed')) <>
			EXISTS (SELECT 1 FROM postings p WHERE p.correction_id = k.id)`); n != 0 {
			t.Errorf("%d corrections posted although not applied, or applied without postings", n)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM postings p JOIN corrections k ON k.id = p.correction_id
			WHERE p.currency <> k.currency OR (p.account_id <> k.from_account_id AND p.account_id <> k.to_account_id)
			OR (p.account_id = k.from_account_id AND p.amount_minor <> -k.amount_minor)`); n != 0 {
			t.Errorf("%d postings that are not their correction's", n)
		}
		// Seeded postings carry the load's transaction (cases carry it as their change_seq; 0 on
		// SQLite, whose order is the id's), and the seed ends with them folded into the balance
		// checkpoints, which agree with the plain sums.
		seededXact := "0"
		if models.DialectOf(db) == models.Postgres {
			seededXact = "(SELECT MAX(change_seq) FROM cases)"
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM postings WHERE xact_id <> `+seededXact); n != 0 {
			t.Errorf("%d seeded postings do not carry the load's transaction id", n)
		}
		if n, err := models.UnfoldedPostings(context.Background(), db, 10); err != nil || n != 0 {
			t.Errorf("%d postings left after the balance mark (%v): the seed folds what it wrote", n, err)
		}
		groups := modelstest.Count(t, db, `SELECT COUNT(*) FROM (SELECT DISTINCT account_id, currency FROM postings) g`)
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM (SELECT account_id, currency, SUM(amount_minor) AS s FROM postings
			GROUP BY account_id, currency) p JOIN balance_checkpoints c ON c.account_id = p.account_id AND c.currency = p.currency
			WHERE c.amount_minor = p.s`); n != groups || n != modelstest.Count(t, db, `SELECT COUNT(*) FROM balance_checkpoints`) || n == 0 {
			t.Errorf("%d balance checkpoints equal their postings' sum, of %d accounts and currencies", n, groups)
		}
		// R7: on no card do applied, non-reversed transfers and credits exceed its face value.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM gift_cards g WHERE g.face_value_minor < (SELECT COALESCE(SUM(k.amount_minor), 0)
			FROM corrections k WHERE k.card_id = g.id AND k.kind IN ('transfer', 'credit') AND k.status = 'applied')`); n != 0 {
			t.Errorf("%d cards with more applied on them than their face value", n)
		}
		// Reversals: each reversed correction has one applied reversal of the same amount, accounts swapped.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k WHERE k.status = 'reversed' AND 1 <> (SELECT COUNT(*)
			FROM corrections r WHERE r.reverses_id = k.id AND r.kind = 'reversal' AND r.status = 'applied' AND r.amount_minor = k.amount_minor
			AND r.from_account_id = k.to_account_id AND r.to_account_id = k.from_account_id AND r.currency = k.currency)`); n != 0 {
			t.Errorf("%d reversed corrections without their reversal", n)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections r WHERE r.kind = 'reversal' AND NOT EXISTS
			(SELECT 1 FROM corrections k WHERE k.id = r.reverses_id AND k.status = 'reversed')`); n != 0 {
			t.Errorf("%d reversals of corrections not marked reversed", n)
		}
		// R5: required approvals follow the thresholds; an applied correction has that many
		// distinct approving supervisors, none the requester; a decision is a supervisor's.
		var corr []models.Correction
		modelstest.Scan(t, db, &corr, `SELECT * FROM corrections`)
		th := cases.DefaultThresholds()
		for _, k := range corr {
			if want := th.RequiredApprovals(k.AmountMinor, cases.Currency(k.Currency)); k.RequiredApprovals != want {
				t.Errorf("correction %d of %d %s requires %d approvals, R5 says %d", k.ID, k.AmountMinor, k.Currency, k.RequiredApprovals, want)
			}
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k WHERE k.status IN ('applied', 'reversed') AND k.required_approvals >
			(SELECT COUNT(DISTINCT a.approver_id) FROM correction_approvals a JOIN users u ON u.id = a.approver_id
			 WHERE a.correction_id = k.id AND a.approver_id <> k.requested_by_id AND u.role IN ('supervisor', 'admin'))`); n != 0 {
			t.Errorf("%d applied corrections without the approvals R5 requires", n)
		}
		if modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections WHERE required_approvals = 2 AND status IN ('applied', 'reversed')`) == 0 {
			t.Error("no dual-approval correction applied")
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k JOIN users u ON u.id = k.decided_by_id
			WHERE u.role NOT IN ('supervisor', 'admin') OR k.decided_by_id = k.requested_by_id`); n != 0 {
			t.Errorf("%d corrections decided by an agent or their requester", n)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k WHERE k.status = 'pending' AND
			(SELECT COUNT(*) FROM correction_approvals a WHERE a.correction_id = k.id) >= k.required_approvals`); n != 0 {
			t.Errorf("%d pending corrections with all their approvals", n)
		}
		// R6: an unactivated card's credit rests on a verified receipt of at least its amount.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k JOIN cases c ON c.id = k.case_id
			WHERE c.type = 'unactivated_card' AND k.kind = 'credit' AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.case_id = c.id
			AND e.kind = 'receipt' AND e.verification = 'verified' AND e.amount_minor >= k.amount_minor AND e.currency = k.currency)`); n != 0 {
			t.Errorf("%d unactivated-card credits without a verified receipt", n)
		}
		if modelstest.Count(t, db, `SELECT COUNT(*) FROM communications WHERE representative_name <> '' AND reference <> ''`) == 0 ||
			modelstest.Count(t, db, `SELECT COUNT(*) FROM communications WHERE supersedes_id IS NOT NULL`) == 0 {
			t.Error("no communication with a representative and a reference, or none amended")
		}
		// A seed announces nothing: no webhook would fire for a million generated cases.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Errorf("%d outbox rows", n)
		}
		if modelstest.Count(t, db, `SELECT COUNT(*) FROM gift_cards WHERE frozen`) == 0 {
			t.Error("no frozen card")
		}
		// A frozen card blocks every correction but a scam victim's credit (card_frozen): no
		// applied reversal or transfer on a card frozen before it.
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k JOIN gift_cards g ON g.id = k.card_id
			WHERE g.frozen AND g.frozen_at <= k.created_at AND k.status IN ('applied', 'reversed') AND k.kind IN ('reversal', 'transfer')`); n != 0 {
			t.Errorf("%d applied reversals or transfers on a card frozen before them", n)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM corrections k JOIN gift_cards g ON g.id = k.card_id JOIN cases c ON c.id = k.case_id
			WHERE g.frozen AND g.frozen_at <= k.created_at AND k.status IN ('applied', 'reversed') AND NOT (k.kind = 'credit' AND c.type = 'scam_victim')`); n != 0 {
			t.Errorf("%d applied corrections on a frozen card other than a scam victim's credit", n)
		}

		// R10: the chain verifies, every event chained.
		rep, err := s.desk.VerifyAudit(ctx)
		if err != nil || !rep.Intact() || rep.Pending != 0 {
			t.Fatalf("audit verify: %+v %v", rep, err)
		}
		if rep.Sealed < modelstest.Count(t, db, `SELECT COUNT(*) FROM audit_events`) {
			t.Errorf("only %d events chained", rep.Sealed)
		}
	})
}

// TestSeededCardsAreFoundByTheirCodes: the seed hashes codes as the desk does, so the normal
// look-up finds a seeded card; and no code reaches the seed's output or the database in clear.
func TestSeededCardsAreFoundByTheirCodes(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := seedDesk(t, db, 300)
		if len(s.codes) == 0 {
			t.Fatal("no claim code seeded")
		}
		p, err := s.desk.PrincipalByEmail(ctx, "agent01@seed.giftdesk.test")
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		dump := modelstest.Dump(t, db)
		for id, code := range s.codes {
			n := code.Reveal()
			for _, form := range []string{n, strings.ToLower(n), n[:4] + "-" + n[4:10] + "-" + n[10:]} {
				if strings.Contains(s.progress, form) || strings.Contains(dump, form) {
					t.Fatalf("claim code of card %d found in clear", id)
				}
			}
			if found < 20 {
				got, err := s.desk.LookupCard(ctx, p, cases.CLIActor, cases.CardLookup{ClaimCode: strings.ToLower(n[:4] + " " + n[4:])})
				if err != nil || got.ID != id || len(got.Cases) == 0 {
					t.Fatalf("look-up of card %d: %+v %v", id, got, err)
				}
				found++
			}
		}
		if !strings.Contains(s.progress, "/s)") || !strings.Contains(s.progress, "cases") {
			t.Errorf("progress shows no rate: %q", s.progress)
		}
	})
}

// TestSeedRefusesADeskWithCases unless forced; a forced seed adds to it, the desk goes on
// numbering after it, and the chain still verifies.
func TestSeedRefusesADeskWithCases(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := seedDesk(t, db, 60)
		_, err := seed.Run(ctx, s.desk, seed.Options{Cases: 10, Seed: 7})
		if !errors.Is(err, seed.ErrHasCases) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("second seed: %v", err)
		}
		res, err := seed.Run(ctx, s.desk, seed.Options{Cases: 40, Seed: 7, Force: true, Checked: true})
		if err != nil || res.FirstRef != "GD-000061" || res.LastRef != "GD-000100" {
			t.Fatalf("forced seed: %+v %v", res, err)
		}
		// The sequences moved past the seeded rows: the desk's own next case comes after them.
		p, err := s.desk.PrincipalByEmail(ctx, "agent02@seed.giftdesk.test")
		if err != nil {
			t.Fatal(err)
		}
		face := int64(2500)
		v, _, err := s.desk.CreateCase(ctx, p, cases.ActorFor(p, "", "", ""), cases.NewCase{Type: "unactivated_card", Summary: "after the seed",
			Customer: cases.AccountInput{AccountID: "AFTER-SEED-1", Marketplace: "US"},
			Cards:    []cases.CardInput{{Serial: "6000111122223333", FaceValueMinor: &face, Currency: "USD", Marketplace: "US"}}})
		if err != nil || v.Ref != "GD-000101" {
			t.Fatalf("case after the seed: %+v %v", v.Ref, err)
		}
		if _, err := s.desk.SealPass(ctx); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.desk.VerifyAudit(ctx); err != nil || !rep.Intact() || rep.Pending != 0 {
			t.Fatalf("audit verify: %+v %v", rep, err)
		}
	})
}

// TestSeededEvidenceDownloads: seeded evidence points at small real files, so the desk's
// download path serves them whole, matching their recorded size and sha256.
func TestSeededEvidenceDownloads(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := seedDesk(t, db, 200)
		var ids []int64
		modelstest.Scan(t, db, &ids, `SELECT id FROM evidence ORDER BY id LIMIT 20`)
		if len(ids) == 0 {
			t.Fatal("no evidence seeded")
		}
		p, err := s.desk.PrincipalByEmail(ctx, "agent01@seed.giftdesk.test")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			meta, err := s.desk.GetEvidence(ctx, p, id)
			if err != nil {
				t.Fatal(err)
			}
			f, err := s.desk.OpenEvidence(ctx, p, id)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(f)
			if err != nil {
				t.Fatalf("evidence %d: %v", id, err)
			}
			sum := sha256.Sum256(data)
			if int64(len(data)) != meta.Size || hex.EncodeToString(sum[:]) != meta.SHA256 {
				t.Fatalf("evidence %d: %d bytes, sha %x; recorded %d, %s", id, len(data), sum, meta.Size, meta.SHA256)
			}
		}
	})
}

// TestSeedIsDeterministic: the same seed on two empty desks writes the same cases.
func TestSeedIsDeterministic(t *testing.T) {
	var dumps []string
	for range 2 {
		db := modelstest.Open(t, models.SQLite)
		seedDesk(t, db, 150)
		var rows []struct {
			Ref, Type, Status, Summary string
			Priority                   string
		}
		modelstest.Scan(t, db, &rows, `SELECT ref, type, status, summary, priority FROM cases ORDER BY id`)
		var b strings.Builder
		for _, r := range rows {
			b.WriteString(r.Ref + r.Type + r.Status + r.Summary + r.Priority + "\n")
		}
		dumps = append(dumps, b.String())
	}
	if dumps[0] != dumps[1] {
		t.Fatal("two seeds with the same seed differ")
	}
}

// TestSeedShowsEveryStatusAndType: even a small seed has a case of each type and in each status,
// whatever its random seed.
func TestSeedShowsEveryStatusAndType(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
		var before int64 // the largest case id before this seed
		for i, r := range []uint64{7, 1, 99} {
			if _, err := seed.Run(ctx, desk, seed.Options{Cases: 300, Seed: r, Force: i > 0, BatchCases: 250, Checked: true}); err != nil {
				t.Fatalf("seed %d: %v", r, err)
			}
			for _, typ := range []string{"wrong_account", "unactivated_card", "regional_mismatch", "code_problem", "scam_victim",
				"promo_credit", "unexpected_charge", "other"} {
				if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases WHERE type = ? AND id > ?`, typ, before); n == 0 {
					t.Errorf("seed %d: no %s case", r, typ)
				}
			}
			for _, st := range []string{"new", "investigating", "waiting_on_customer", "pending_approval", "resolved", "closed"} {
				if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases WHERE status = ? AND id > ?`, st, before); n == 0 {
					t.Errorf("seed %d: no %s case", r, st)
				}
			}
			// Still R11: pending_approval is exactly the cases with a pending correction.
			if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases c WHERE (c.status = 'pending_approval') <>
				EXISTS (SELECT 1 FROM corrections k WHERE k.case_id = c.id AND k.status = 'pending')`); n != 0 {
				t.Errorf("%d cases whose pending_approval status disagrees with their corrections", n)
			}
			before = modelstest.Count(t, db, `SELECT COALESCE(MAX(id), 0) FROM cases`)
		}
	})
}

// createAfter creates a case through the desk, as an agent of the seed.
func createAfter(ctx context.Context, desk *cases.Desk, account string) (cases.CaseView, error) {
	p, err := desk.PrincipalByEmail(ctx, "agent03@seed.giftdesk.test")
	if err != nil {
		return cases.CaseView{}, err
	}
	face := int64(2500)
	v, _, err := desk.CreateCase(ctx, p, cases.ActorFor(p, "", "", ""), cases.NewCase{Type: "unactivated_card", Summary: "beside the seed",
		Customer: cases.AccountInput{AccountID: account, Marketplace: "US"},
		Cards:    []cases.CardInput{{Serial: "6000" + account[len(account)-4:] + "22223333", FaceValueMinor: &face, Currency: "USD", Marketplace: "US"}}})
	return v, err
}

// checkFresh checks that ref is the desk's largest and unique, and (with verify) that the audit
// chain verifies.
func checkFresh(t *testing.T, db *gorm.DB, desk *cases.Desk, ref string, verify bool) {
	t.Helper()
	ctx := context.Background()
	if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases WHERE ref >= ?`, ref); n != 1 {
		t.Errorf("%d cases numbered %s or after", n, ref)
	}
	if !verify {
		return
	}
	if _, err := desk.SealPass(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err := desk.VerifyAudit(ctx); err != nil || !rep.Intact() || rep.Pending != 0 {
		t.Fatalf("audit verify: %+v %v", rep, err)
	}
}

// TestSeedStoppedMidway: a seed cancelled after its first batch (SQLite keeps the batches it
// committed; PostgreSQL keeps none) leaves the desk creating cases with fresh refs, never
// answering "lost a creation race".
func TestSeedStoppedMidway(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := seed.Run(ctx, desk, seed.Options{Cases: 1000, Seed: 3, BatchCases: 250, Checked: true,
			OnBatch: func(int64) { cancel() }})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled seed: %v", err)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases`); n >= 1000 {
			t.Fatalf("the seed was not stopped: %d cases", n)
		}
		v, err := createAfter(context.Background(), desk, "AFTER-STOP-0001")
		if err != nil {
			t.Fatalf("case after a stopped seed: %v", err)
		}
		checkFresh(t, db, desk, v.Ref, true)
		// A second seed (forced if the first left cases) numbers on after that case.
		res, err := seed.Run(context.Background(), desk, seed.Options{Cases: 20, Seed: 3, Force: true, Checked: true})
		if err != nil || res.FirstRef <= v.Ref {
			t.Fatalf("seed after the stop: %+v %v", res, err)
		}
		v2, err := createAfter(context.Background(), desk, "AFTER-STOP-0002")
		if err != nil {
			t.Fatalf("case after the second seed: %v", err)
		}
		checkFresh(t, db, desk, v2.Ref, true)
	})
}

// TestSeedBesideADeskAtWork: a case created while a seed loads (after its first batch) gets a
// number and ids of its own; neither the desk nor the seed fails. (PostgreSQL: the case waits for
// the load's table locks, then commits.)
func TestSeedBesideADeskAtWork(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
		type created struct {
			v   cases.CaseView
			err error
		}
		done := make(chan created, 1)
		started := false
		res, err := seed.Run(ctx, desk, seed.Options{Cases: 1000, Seed: 5, BatchCases: 250, Checked: true,
			OnBatch: func(int64) {
				if !started {
					started = true
					go func() {
						v, err := createAfter(ctx, desk, "BESIDE-SEED-0001")
						done <- created{v, err}
					}()
				}
			}})
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
		c := <-done
		if c.err != nil {
			t.Fatalf("case created during the seed: %v", c.err)
		}
		if c.v.Ref <= res.LastRef {
			t.Errorf("case created during the seed numbered %s, inside the seed's %s..%s", c.v.Ref, res.FirstRef, res.LastRef)
		}
		if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM cases`); n != 1001 {
			t.Errorf("%d cases", n)
		}
		// On SQLite the seed chains its events batch by batch, without the sealer's lock
		// PostgreSQL has: an event written between two batches is passed by the next batch's
		// seals and left out of the chain. That is why the seed is for an idle desk (README).
		checkFresh(t, db, desk, c.v.Ref, models.DialectOf(db) == models.Postgres)
	})
}

// schemaOf lists the indexes and constraints of the desk's tables as PostgreSQL would recreate them.
func schemaOf(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var defs []string
	modelstest.Scan(t, db, &defs, `SELECT pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relnamespace = current_schema()::regnamespace
		UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE connamespace = current_schema()::regnamespace ORDER BY 1`)
	if len(defs) < 20 {
		t.Fatalf("only %d indexes and constraints read", len(defs))
	}
	return defs
}

// TestSeedLeavesTheSchemaAsMigrated: the load drops indexes and unique constraints and builds
// them again; afterwards the schema is the migrations' to the letter (unique constraints as
// constraints, not bare unique indexes).
func TestSeedLeavesTheSchemaAsMigrated(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	before := schemaOf(t, db)
	s := seedDesk(t, db, 300)
	after := schemaOf(t, s.db)
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Fatalf("the seed changed the schema:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

// closingSealMark is the low-water mark of the seal of the seed's closing event, and the largest
// transaction id of the events chained before it.
func closingSealMark(t *testing.T, db *gorm.DB) (mark, newestEventXact int64) {
	t.Helper()
	const closing = `(SELECT s.seq FROM audit_seals s JOIN audit_events e ON e.id = s.event_id WHERE e.action = 'desk.seeded')`
	mark = modelstest.Count(t, db, `SELECT COALESCE(low_water_xact, -1) FROM audit_seals WHERE seq = `+closing)
	newestEventXact = modelstest.Count(t, db, `SELECT MAX(e.xact_id) FROM audit_events e JOIN audit_seals s ON s.event_id = e.id
		WHERE s.seq < `+closing)
	return mark, newestEventXact
}

// TestSeedEndsTheChainPastTheLoad: on an idle desk the seed's closing seal carries a low-water
// mark past its own transaction, so that the sealer's next pass starts after the seeded events
// instead of anti-joining all of them; the chain verifies.
func TestSeedEndsTheChainPastTheLoad(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	// A transaction open in another database of the cluster (other tests hold some) cannot write
	// this desk's events: the mark does not wait for it.
	elsewhere := modelstest.Open(t, models.Postgres).Begin()
	if elsewhere.Error != nil {
		t.Fatal(elsewhere.Error)
	}
	defer elsewhere.Rollback()
	if err := elsewhere.Exec(`SELECT pg_current_xact_id()`).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(context.Background(), desk, seed.Options{Cases: 200, Seed: 9, Checked: true}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	mark, newest := closingSealMark(t, db)
	if mark <= newest {
		t.Fatalf("the closing seal's mark %d is not past the seeded events' transaction %d", mark, newest)
	}
	if rep, err := desk.VerifyAudit(context.Background()); err != nil || !rep.Intact() || rep.Pending != 0 {
		t.Fatalf("audit verify: %+v %v", rep, err)
	}
}

// TestSeedEndsTheChainBesideAnOlderTransaction: a transaction older than the load is still open
// when the load ends, or committed an event the chain does not hold yet. The closing seal then
// keeps the load's starting mark, and that transaction's event is chained after: nothing is left
// outside the chain, and `audit verify` passes.
func TestSeedEndsTheChainBesideAnOlderTransaction(t *testing.T) {
	for _, name := range []string{"still open at the end", "committed during the load"} {
		t.Run(name, func(t *testing.T) {
			db := modelstest.Open(t, models.Postgres)
			ctx := context.Background()
			desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
			older := db.Begin()
			if older.Error != nil {
				t.Fatal(older.Error)
			}
			defer older.Rollback()
			var xact int64
			if err := older.Raw(`SELECT pg_current_xact_id()::text::bigint`).Scan(&xact).Error; err != nil {
				t.Fatal(err)
			}
			event := func() {
				if err := models.InsertAuditEvent(ctx, older, &models.AuditEvent{OccurredAt: desk.Now(), ActorType: "system",
					Action: "test.older", EntityType: "desk", EntityID: "older"}); err != nil {
					t.Error(err)
				}
				if err := older.Commit().Error; err != nil {
					t.Error(err)
				}
			}
			opts := seed.Options{Cases: 200, Seed: 9, BatchCases: 50, Checked: true, SettleWait: 200 * time.Millisecond}
			if name == "committed during the load" {
				// Written before the load began, committed while it writes.
				if err := models.InsertAuditEvent(ctx, older, &models.AuditEvent{OccurredAt: desk.Now(), ActorType: "system",
					Action: "test.older", EntityType: "desk", EntityID: "older"}); err != nil {
					t.Fatal(err)
				}
				committed := false
				opts.OnBatch = func(int64) {
					if !committed {
						committed = true
						if err := older.Commit().Error; err != nil {
							t.Error(err)
						}
					}
				}
			}
			if _, err := seed.Run(ctx, desk, opts); err != nil {
				t.Fatalf("seed: %v", err)
			}
			mark, newest := closingSealMark(t, db)
			if mark > xact || mark > newest {
				t.Fatalf("the closing seal's mark %d passes the older transaction %d", mark, xact)
			}
			if name == "still open at the end" {
				event()
				if _, err := desk.SealPass(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n := modelstest.Count(t, db, `SELECT COUNT(*) FROM audit_events e JOIN audit_seals s ON s.event_id = e.id WHERE e.action = 'test.older'`); n != 1 {
				t.Fatalf("the older transaction's event is chained %d times", n)
			}
			if rep, err := desk.VerifyAudit(ctx); err != nil || !rep.Intact() || rep.Pending != 0 {
				t.Fatalf("audit verify: %+v %v", rep, err)
			}
		})
	}
}
