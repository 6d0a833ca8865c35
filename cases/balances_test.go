package cases_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// Issue 25: a balance is a checkpoint written by a background pass plus the postings after its
// mark. These tests hold it to its definition, the plain sum of the account's postings (SPEC §2),
// whatever the order in which corrections, reversals and passes interleave or commit.

// plainSums sums an account's postings per currency, the way balances were read before
// checkpoints.
func plainSums(t *testing.T, db *gorm.DB, accountID string) map[string]int64 {
	t.Helper()
	var rows []struct {
		Currency string
		Sum      int64
	}
	modelstest.Scan(t, db, &rows, `SELECT p.currency, SUM(p.amount_minor) AS sum FROM postings p
		JOIN customer_accounts a ON a.id = p.account_id WHERE a.account_id = ? GROUP BY p.currency`, accountID)
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Currency] = r.Sum
	}
	return out
}

func sameSums(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkBalances compares every path that shows a balance (the console's account page, the API's
// account, the approval page's balances) with the plain sum, for each account.
func checkBalances(t *testing.T, db *gorm.DB, desk *cases.Desk, p cases.Principal, step string, accounts ...string) {
	t.Helper()
	ctx := context.Background()
	for _, acct := range accounts {
		want := plainSums(t, db, acct)
		ledger, err := desk.Ledger(ctx, p, acct, cases.LedgerQuery{Limit: "1"})
		if err != nil {
			t.Fatal(err)
		}
		fromLedger := map[string]int64{}
		for _, b := range ledger.Balances {
			fromLedger[b.Currency] = b.AmountMinor
		}
		api, err := desk.Account(ctx, p, acct, "1", "")
		if err != nil {
			t.Fatal(err)
		}
		direct, err := desk.AccountBalances(ctx, p, acct)
		if err != nil {
			t.Fatal(err)
		}
		if !sameSums(fromLedger, want) || !sameSums(api.Balances, want) || !sameSums(direct, want) {
			t.Fatalf("%s: %s balances: ledger %v, API %v, approval page %v; the postings sum to %v", step, acct, fromLedger, api.Balances, direct, want)
		}
	}
}

// secondCase is a wrong-account case between the same two accounts on another card, so that two
// transactions can apply corrections at once without waiting on one card's lock.
func secondCase(t *testing.T, desk *cases.Desk, p cases.Principal, code, serial string) cases.CaseView {
	t.Helper()
	in := wrongAccountCase(code, "")
	in.Cards[0].Serial = serial
	return create(t, desk, p, in)
}

func requestReversal(t *testing.T, desk *cases.Desk, p cases.Principal, ref string, original int64) cases.CorrectionView {
	t.Helper()
	c, err := desk.RequestCorrection(context.Background(), p, cases.ActorFor(p, "", "", ""), ref,
		cases.NewCorrection{Kind: "reversal", Reverses: strconv.FormatInt(original, 10), Reason: "applied by mistake"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkpoint(t *testing.T, desk *cases.Desk, limit int) int {
	t.Helper()
	n, err := cases.CheckpointBalancesLimit(context.Background(), desk, limit)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// catchUp runs passes until no posting is left after the mark. Another test's transaction open
// elsewhere in the cluster may hold the low-water mark back for a moment, hence the deadline.
func catchUp(t *testing.T, db *gorm.DB, desk *cases.Desk) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := desk.CatchUpBalances(context.Background()); err != nil {
			t.Fatal(err)
		}
		n, err := models.UnfoldedPostings(context.Background(), db, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d postings still after the mark", n)
		}
	}
}

// TestBalancesAlwaysEqualTheSumOfPostings interleaves, at random, transfers applied, reversals
// applied and checkpoint passes that stop after 1 to 3 postings (so that the mark falls between
// the two postings of one correction too), and checks after every step that every path shows
// each account's plain sum.
func TestBalancesAlwaysEqualTheSumOfPostings(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		rng := rand.New(rand.NewPCG(25, 3))
		type live struct{ id, amount int64 }
		var applied []live
		var onCard int64
		passes, folded := 0, 0
		for step := 0; step < 60; step++ {
			var what string
			switch op := rng.IntN(5); {
			case op < 2:
				amount := 1 + rng.Int64N(700)
				if onCard+amount > 5000 {
					continue
				}
				c := requestTransfer(t, desk, agent, v, amount)
				mustApprove(t, desk, sup, c.ID)
				applied = append(applied, live{c.ID, amount})
				onCard += amount
				what = fmt.Sprintf("transfer of %d", amount)
			case op == 2:
				if len(applied) == 0 {
					continue
				}
				i := rng.IntN(len(applied))
				r := requestReversal(t, desk, agent, v.Ref, applied[i].id)
				mustApprove(t, desk, sup, r.ID)
				onCard -= applied[i].amount
				applied = append(applied[:i], applied[i+1:]...)
				what = "reversal"
			default:
				limit := 1 + rng.IntN(3)
				folded += checkpoint(t, desk, limit)
				passes++
				what = fmt.Sprintf("pass of at most %d", limit)
			}
			checkBalances(t, db, desk, agent, fmt.Sprintf("step %d (%s)", step, what), "A1B2C3D4", "Z9Y8X7W6")
		}
		catchUp(t, db, desk)
		checkBalances(t, db, desk, agent, "caught up", "A1B2C3D4", "Z9Y8X7W6")
		mark, err := models.BalanceMarkOf(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if all := modelstest.Count(t, db, `SELECT COUNT(*) FROM postings`); mark.Folded != all || all < 20 {
			t.Fatalf("the mark folded %d postings of %d: each must be folded exactly once", mark.Folded, all)
		}
		// Caught up, the checkpoints alone are the balances.
		var fromCheckpoints []struct {
			AccountID string
			Amount    int64
		}
		modelstest.Scan(t, db, &fromCheckpoints, `SELECT a.account_id, c.amount_minor AS amount FROM balance_checkpoints c
			JOIN customer_accounts a ON a.id = c.account_id WHERE c.currency = 'USD' ORDER BY a.account_id`)
		if len(fromCheckpoints) != 2 || fromCheckpoints[0].Amount != plainSums(t, db, "A1B2C3D4")["USD"] ||
			fromCheckpoints[1].Amount != plainSums(t, db, "Z9Y8X7W6")["USD"] {
			t.Fatalf("checkpoints %+v", fromCheckpoints)
		}
		t.Logf("%d passes folded %d postings during the walk", passes, folded)
	})
}

// TestPostingCommittedAcrossAPassIsCountedOnce: a transaction applies a correction and stays open
// while another applies one and commits, and checkpoint passes run; then it commits. Its postings
// must count once, before and after the next passes, whichever of the two transactions drew the
// lower posting ids. PostgreSQL only: SQLite serialises writers, so there no transaction can
// commit postings behind another's.
func TestPostingCommittedAcrossAPassIsCountedOnce(t *testing.T) {
	for _, order := range []string{"lower ids in the open transaction", "higher ids in the open transaction"} {
		t.Run(order, func(t *testing.T) {
			db := modelstest.Open(t, models.Postgres)
			ctx := context.Background()
			desk := newDesk(db)
			agent := agentPrincipal(t, db)
			sup := supervisor(t, db, "sup@example.com")
			v1 := create(t, desk, agent, wrongAccountCase(testCode, ""))
			v2 := secondCase(t, desk, agent, "ZX98-KLMN76-PQ54", "6046999988887777")
			c1 := requestTransfer(t, desk, agent, v1, 700)
			c2 := requestTransfer(t, desk, agent, v2, 300)
			accounts := []string{"A1B2C3D4", "Z9Y8X7W6"}
			// A pass before anything is applied, so that the mark is a real one.
			checkpoint(t, desk, 100)
			lowerIDs := order == "lower ids in the open transaction"
			c2Applied, c1Applied, commit, done := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				done <- desk.Do(ctx, cases.ActorFor(sup, "", "", ""), func(w *cases.Work) error {
					// The transaction's id is drawn first either way: it is the older transaction.
					if err := w.Tx.Exec(`SELECT pg_current_xact_id()`).Error; err != nil {
						return err
					}
					if !lowerIDs {
						<-c2Applied // the younger transaction draws its posting ids first
					}
					if _, err := desk.ApproveCorrection(w.Context(), sup, cases.ActorFor(sup, "", "", ""), c1.ID, ""); err != nil {
						close(c1Applied)
						return err
					}
					close(c1Applied)
					<-commit
					return nil
				})
			}()
			if lowerIDs {
				<-c1Applied
				mustApprove(t, desk, sup, c2.ID)
			} else {
				// Wait until the older transaction holds its id, then apply and commit the younger.
				for deadline := time.Now().Add(10 * time.Second); modelstest.Count(t, db,
					`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()`) == 0; {
					if time.Now().After(deadline) {
						t.Fatal("the older transaction never drew its id")
					}
					time.Sleep(10 * time.Millisecond)
				}
				mustApprove(t, desk, sup, c2.ID)
				close(c2Applied)
				<-c1Applied
			}
			// The open transaction's postings are not visible: balances are the committed ones.
			for _, limit := range []int{1, 1, 100} {
				checkpoint(t, desk, limit)
				checkBalances(t, db, desk, agent, "while the older transaction is open", accounts...)
			}
			if got := plainSums(t, db, "A1B2C3D4")["USD"]; got != -300 {
				t.Fatalf("A1B2C3D4 sums to %d with the older transaction open, want -300", got)
			}
			close(commit)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			checkBalances(t, db, desk, agent, "after the late commit, before a pass", accounts...)
			for i := 0; i < 4; i++ {
				checkpoint(t, desk, 1)
				checkBalances(t, db, desk, agent, fmt.Sprintf("after the late commit, pass %d", i+1), accounts...)
			}
			catchUp(t, db, desk)
			checkBalances(t, db, desk, agent, "caught up", accounts...)
			if got := plainSums(t, db, "A1B2C3D4")["USD"]; got != -1000 {
				t.Fatalf("A1B2C3D4 sums to %d, want -1000", got)
			}
			if mark, err := models.BalanceMarkOf(ctx, db); err != nil || mark.Folded != 4 {
				t.Fatalf("mark %+v %v: want the four postings folded once each", mark, err)
			}
		})
	}
}

// TestBalancesUnderConcurrentWritersAndPasses: four writers apply corrections on their own cases
// between the same two accounts while checkpoint passes run back to back and a reader compares,
// inside one snapshot, the balance read with the plain sum.
func TestBalancesUnderConcurrentWritersAndPasses(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		codes := []string{"AB12-CDEF34-GH56", "ZX98-KLMN76-PQ54", "QW12-ERTY34-UI56", "AS98-DFGH76-JK54"}
		var views []cases.CaseView
		for i, code := range codes {
			views = append(views, secondCase(t, desk, agent, code, fmt.Sprintf("60461234123400%02d", i)))
		}
		var accountIDs []int64
		modelstest.Scan(t, db, &accountIDs, `SELECT id FROM customer_accounts WHERE account_id IN ('A1B2C3D4', 'Z9Y8X7W6') ORDER BY id`)
		stop := make(chan struct{})
		var background sync.WaitGroup
		errs := make(chan error, 16)
		background.Add(2)
		go func() {
			defer background.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := cases.CheckpointBalancesLimit(ctx, desk, 3); err != nil {
					errs <- fmt.Errorf("pass: %w", err)
					return
				}
			}
		}()
		reads := 0
		go func() {
			defer background.Done()
			var opts []*sql.TxOptions
			if models.DialectOf(db) == models.Postgres {
				opts = append(opts, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Transaction(func(tx *gorm.DB) error {
					for _, id := range accountIDs {
						got, err := models.Balances(ctx, tx, id)
						if err != nil {
							return err
						}
						var rows []struct {
							Currency string
							Sum      int64
						}
						if err := tx.Raw(`SELECT currency, SUM(amount_minor) AS sum FROM postings WHERE account_id = ? GROUP BY currency`, id).Scan(&rows).Error; err != nil {
							return err
						}
						want := map[string]int64{}
						for _, r := range rows {
							want[r.Currency] = r.Sum
						}
						if !sameSums(got, want) {
							return fmt.Errorf("account %d: balance read %v, postings sum to %v in the same snapshot", id, got, want)
						}
					}
					return nil
				}, opts...)
				if err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
				reads++
			}
		}()
		var writers sync.WaitGroup
		for _, v := range views {
			writers.Add(1)
			go func(v cases.CaseView) {
				defer writers.Done()
				for i := 0; i < 6; i++ {
					amount := int64(100 + i)
					c, err := desk.RequestCorrection(ctx, agent, cases.ActorFor(agent, "", "", ""), v.Ref, cases.NewCorrection{Kind: "transfer",
						AmountMinor: &amount, Currency: "USD", FromAccount: "A1B2C3D4", ToAccount: "Z9Y8X7W6",
						CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "wrong account"})
					if err == nil {
						_, err = desk.ApproveCorrection(ctx, sup, cases.ActorFor(sup, "", "", ""), c.ID, "")
					}
					if err != nil {
						errs <- fmt.Errorf("writer on %s: %w", v.Ref, err)
						return
					}
				}
			}(v)
		}
		writers.Wait()
		close(stop)
		background.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		catchUp(t, db, desk)
		checkBalances(t, db, desk, agent, "after the writers", "A1B2C3D4", "Z9Y8X7W6")
		if got := plainSums(t, db, "A1B2C3D4")["USD"]; got != -4*(100+101+102+103+104+105) {
			t.Fatalf("A1B2C3D4 sums to %d", got)
		}
		if reads == 0 {
			t.Fatal("the reader never compared")
		}
		t.Logf("%d consistent reads while 4 writers and the pass ran", reads)
	})
}

// TestLongTransactionElsewhereDoesNotHoldBalancesBack: a writing transaction open in another
// database of the cluster cannot write this desk's postings, so the pass folds past it.
// PostgreSQL only: the cluster's other databases are what is tested.
func TestLongTransactionElsewhereDoesNotHoldBalancesBack(t *testing.T) {
	other := modelstest.Open(t, models.Postgres)
	db := modelstest.Open(t, models.Postgres)
	holding, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if err := other.Transaction(func(tx *gorm.DB) error {
			err := tx.Exec(`INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('LONG1', 'US', now(), now())`).Error
			close(holding)
			if err != nil {
				return err
			}
			<-release
			return nil
		}); err != nil {
			t.Errorf("the long transaction in the other database: %v", err)
		}
	}()
	<-holding
	defer func() { close(release); <-done }()
	desk := newDesk(db)
	agent := agentPrincipal(t, db)
	sup := supervisor(t, db, "sup@example.com")
	v := create(t, desk, agent, wrongAccountCase(testCode, ""))
	mustApprove(t, desk, sup, requestTransfer(t, desk, agent, v, 400).ID)
	if n := checkpoint(t, desk, 100); n != 2 {
		t.Fatalf("folded %d postings while another database held a transaction open, want 2", n)
	}
	checkBalances(t, db, desk, agent, "folded", "A1B2C3D4", "Z9Y8X7W6")
}
