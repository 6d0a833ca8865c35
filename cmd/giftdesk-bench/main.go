// Command giftdesk-bench measures a desk on PostgreSQL against the database doing the same work
// in the same run (issue 25): it seeds or reuses N cases, analyzes, starts `giftdesk serve` as a
// subprocess, and measures each row of BENCHMARKS.md's performance table, each desk run
// interleaved with its pgbench baseline, then prints one `name=value` line per figure.
//
//	go build -o /tmp/gd ./cmd/giftdesk
//	go run ./cmd/giftdesk-bench --giftdesk /tmp/gd \
//	    --database-url 'postgres://postgres@127.0.0.1:5432/giftdesk_bench?sslmode=disable'
//
// The database is created when missing. Its master key lives in --data-dir (default: a folder
// named after the database under the system's temporary folder), so that a second run reuses the
// seeded cases under the same key. Write baselines (creation, approvals) run on a second database,
// <name>_pgbench, migrated by the same binary, so that pgbench's rows never mix with the desk's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is the command's flags.
type config struct {
	giftdesk    string        // the giftdesk binary
	databaseURL string        // the desk's PostgreSQL database
	dataDir     string        // GIFTDESK_DATA_DIR of every giftdesk subprocess
	cases       int           // how many cases the desk must hold
	duration    time.Duration // length of each run, desk or pgbench
	rounds      int           // desk and pgbench runs of each measure, interleaved
	clients     int           // concurrent clients of the throughput measures
	pgbench     string        // the pgbench binary
	only        []string      // measures to run (all when empty)
	benchDir    string        // the bench/ folder of pgbench scripts
	approvals   int           // pending transfers prepared for each approvals run
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "giftdesk-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("giftdesk-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var only string
	fs.StringVar(&c.giftdesk, "giftdesk", "", "the giftdesk binary (go build -o /tmp/gd ./cmd/giftdesk)")
	fs.StringVar(&c.databaseURL, "database-url", os.Getenv("GIFTDESK_DATABASE_URL"), "the desk's PostgreSQL database URL")
	fs.StringVar(&c.dataDir, "data-dir", "", "GIFTDESK_DATA_DIR for the desk (default: TMPDIR/giftdesk-bench-<database>)")
	fs.IntVar(&c.cases, "cases", 1_000_000, "cases the desk holds; seeded when it has fewer")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each desk and pgbench run")
	fs.IntVar(&c.rounds, "rounds", 2, "desk and pgbench runs of each measure, interleaved")
	fs.IntVar(&c.clients, "clients", 16, "concurrent clients of creation and approvals")
	fs.StringVar(&c.pgbench, "pgbench", "", "the pgbench binary (default: PATH, then /usr/lib/postgresql/*/bin)")
	fs.StringVar(&only, "only", "", "comma-separated measures to run: "+strings.Join(measureNames(), ","))
	fs.StringVar(&c.benchDir, "bench-dir", "bench", "the folder of the pgbench scripts")
	fs.IntVar(&c.approvals, "approvals", 0, "pending transfers prepared for each approvals run (default: 500 per second of --duration, more than the desk approves here)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.giftdesk == "" || c.databaseURL == "" {
		return errors.New("--giftdesk and --database-url are required (see the command's doc comment)")
	}
	if only != "" {
		c.only = strings.Split(only, ",")
		for _, m := range c.only {
			if !slices.Contains(measureNames(), m) {
				return fmt.Errorf("--only: no measure %q (there are %s)", m, strings.Join(measureNames(), ", "))
			}
		}
	}
	if c.rounds < 1 || c.clients < 1 || c.duration < time.Second || c.cases < 1 {
		return errors.New("--rounds, --clients and --cases must be at least 1, --duration at least 1s")
	}
	var err error
	if c.pgbench, err = findPgbench(c.pgbench); err != nil {
		return err
	}
	if c.giftdesk, err = filepath.Abs(c.giftdesk); err != nil {
		return err
	}
	b, err := prepare(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	out := &results{w: stdout}
	for _, m := range measures {
		if len(c.only) > 0 && !slices.Contains(c.only, m.name) {
			continue
		}
		fmt.Fprintf(stderr, "giftdesk-bench: %s\n", m.name)
		if err := m.run(ctx, b, out); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	out.put("serve_peak_rss_mb", "%.0f", float64(b.serve.peakRSS())/(1<<20))
	return nil
}

// results prints the figures, one name=value line each.
type results struct{ w io.Writer }

func (r *results) put(name, format string, v any) {
	fmt.Fprintf(r.w, "%s=%s\n", name, fmt.Sprintf(format, v))
}
