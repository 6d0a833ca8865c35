// Package seed generates a desk at work for load tests and demos: `giftdesk seed --cases N`.
//
// Every case type in believable proportions and every status, customers with several cases,
// cards on a few cases at once (flagged possible_duplicate and linked, as R3 flags them), a US card
// on a UK account (cross_marketplace), communications with representatives and references,
// evidence with small real files, corrections in every status with their approvals, postings and
// reversals, and the audit trail of all of it, chained, spread over the past year.
//
// Rows are written in bulk (COPY on PostgreSQL in one transaction, multi-row INSERTs on SQLite in
// a transaction per batch), bypassing the use cases, so the generator itself keeps the rules the use cases keep: R4's
// currencies, R5's approvals, R6's verified receipts, R7's face values, R11's statuses and
// resolutions, balanced postings. The tests check each on the generated data.
//
// Seeded data writes no webhook outbox rows: a seed announces nothing, or a million webhooks
// would fire at whatever endpoints the desk has.
package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
)

// Options configures a seed.
type Options struct {
	Cases int    // how many cases
	Seed  uint64 // the random seed; the same seed on an empty desk gives the same data
	Force bool   // add to a desk that already has cases
	// Progress receives a line of rows and rows/s per table at most once a second, and a summary.
	Progress io.Writer
	// Now is the end of the year the data spreads over (default: the desk's clock).
	Now time.Time
	// BatchCases is how many cases are written per batch (default 2000).
	BatchCases int
	// OnClaimCode, when set, is told each seeded claim code (for tests: a code is never written
	// anywhere by the seed itself).
	OnClaimCode func(cardID int64, code cases.ClaimCode)
	// Checked keeps PostgreSQL's foreign-key triggers on during the load (tests).
	Checked bool
	// OnBatch, when set, is called after each batch is written, with the cases written so far
	// (tests: to stop a seed midway, or to write beside it).
	OnBatch func(cases int64)
	// SettleWait bounds the wait, at the end of a PostgreSQL load, for transactions older than
	// the load to end (models.BulkOptions; default 2 s).
	SettleWait time.Duration
}

// Result counts what a seed wrote.
type Result struct {
	Rows     map[string]int64
	FirstRef string
	LastRef  string
	Elapsed  time.Duration
}

// ErrHasCases refuses a desk that already has cases without Force.
var ErrHasCases = errors.New("the desk already has cases: seed adds to it only with --force")

// Run seeds the desk.
func Run(ctx context.Context, desk *cases.Desk, opts Options) (Result, error) {
	start := time.Now()
	if opts.Cases <= 0 {
		return Result{}, errors.New("seed: --cases must be at least 1")
	}
	if opts.BatchCases <= 0 {
		opts.BatchCases = 2000
	}
	if opts.Now.IsZero() {
		opts.Now = desk.Now()
	}
	opts.Now = opts.Now.UTC().Truncate(time.Microsecond)
	db := desk.BulkDB(ctx)
	n, err := models.CountAllCases(ctx, db)
	if err != nil {
		return Result{}, cases.StoreErr(err)
	}
	if n > 0 && !opts.Force {
		return Result{}, fmt.Errorf("%w (it has %d)", ErrHasCases, n)
	}
	staff, err := ensureStaff(ctx, desk)
	if err != nil {
		return Result{}, err
	}
	// Chain what the desk wrote so far (the staff just added, a command's events): the seed's
	// chain continues from there.
	if _, err := desk.SealPass(ctx); err != nil {
		return Result{}, err
	}
	bounds, err := models.SeedStart(ctx, db)
	if err != nil {
		return Result{}, cases.StoreErr(err)
	}
	// The case numbers are taken before anything is written, and the ids as the generator goes
	// (models.SeedReserve): a seed that stops midway (SQLite keeps the batches it committed) or a
	// desk creating cases meanwhile never finds its numbering behind the rows.
	firstCase, err := models.SeedReserveCaseNumbers(ctx, db, int64(opts.Cases))
	if err != nil {
		return Result{}, cases.StoreErr(err)
	}
	reserve := func(table string, n int64) (int64, error) { return models.SeedReserve(ctx, db, bounds, table, n) }
	systems, err := systemAccounts(ctx, db)
	if err != nil {
		return Result{}, err
	}
	res := Result{Rows: map[string]int64{}}
	prog := newProgress(opts.Progress)
	err = models.BulkLoad(ctx, db, models.BulkOptions{Checked: opts.Checked, RebuildIndexes: n < int64(opts.Cases),
		SettleWait: opts.SettleWait}, func(l models.SeedLoad) error {
		g := newGenerator(desk, opts, firstCase, reserve, staff, systems, l.Head(), l.LowWater())
		g.changeSeq = l.ChangeSeq()
		batches := make(chan models.SeedBatch, 1)
		genErr := make(chan error, 1)
		gctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg sync.WaitGroup
		wg.Add(1)
		// Generation runs beside the writes: on two cores the database and the generator each
		// get one.
		go func() {
			defer wg.Done()
			defer close(batches)
			genErr <- g.run(gctx, batches)
		}()
		var werr error
		for b := range batches {
			if werr != nil {
				continue // drain so that the generator ends
			}
			if werr = l.Write(ctx, b); werr != nil {
				cancel()
				continue
			}
			prog.add(b)
			if opts.OnBatch != nil {
				opts.OnBatch(prog.rows["cases"])
			}
		}
		wg.Wait()
		if err := <-genErr; err != nil && werr == nil && !errors.Is(err, context.Canceled) {
			werr = err
		}
		if werr != nil {
			return werr
		}
		res.FirstRef, res.LastRef = ref(firstCase), ref(g.caseNumber-1)
		// The seed's own event ends the chain, with the low-water mark that spares the sealer's
		// next pass the walk over every seeded event.
		prog.phase("chaining the closing event")
		lowWater, err := l.FinalLowWater(ctx)
		if err != nil {
			return err
		}
		last := g.closing(desk.Now(), lowWater, map[string]any{
			"cases": opts.Cases, "seed": fmt.Sprint(opts.Seed), "first_ref": res.FirstRef, "last_ref": res.LastRef})
		if g.err != nil {
			return g.err
		}
		if err := l.Write(ctx, last); err != nil {
			return err
		}
		prog.add(last)
		prog.spent = l.Spent()
		return nil
	})
	if err != nil {
		return Result{}, cases.StoreErr(err)
	}
	prog.phase("ANALYZE")
	if err := models.SeedFinish(ctx, db); err != nil {
		return Result{}, cases.StoreErr(err)
	}
	// Chains what the desk wrote beside the seed, if anything: a short pass when the closing
	// seal's mark is past the load, a walk over the seeded events when it could not be.
	if _, err := desk.SealPass(ctx); err != nil {
		return Result{}, err
	}
	// Folds the seeded postings into the balance checkpoints now rather than leaving it to a
	// server's background pass, so that the desk's balance reads are caught up from the start.
	// Postings a transaction older than the load's commit still holds are left to that pass.
	prog.phase("balance checkpoints")
	if _, err := desk.CatchUpBalances(ctx); err != nil {
		return Result{}, err
	}
	res.Rows = prog.totals()
	res.Elapsed = time.Since(start)
	prog.done(res)
	return res, nil
}

func ref(n int64) string { return fmt.Sprintf("GD-%06d", n) }
