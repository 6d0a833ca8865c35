package main

import (
	"context"
	"flag"
	"log/slog"
	"runtime/debug"

	"giftdesk/cases/seed"
)

// cmdSeed generates N realistic cases for load tests and demos (cases/seed). It refuses a desk
// that already has cases unless --force, creates the first admin on a desk without users (as
// serve does), and reports progress on standard error.
func cmdSeed(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	n := fs.Int("cases", 0, "how many cases to generate")
	force := fs.Bool("force", false, "add to a desk that already has cases")
	random := fs.Uint64("seed", 1, "random seed: the same seed on an empty desk gives the same data")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n <= 0 {
		return &valueError{"seed: --cases N is required, N at least 1"}
	}
	o, err := open(ctx, e, newLogger(e.stderr, slog.LevelWarn), false)
	if err != nil {
		return err
	}
	defer o.close()
	// A fresh desk gets its first admin as serve would give it, before the seed adds staff whose
	// passwords nobody knows: otherwise nobody could sign in.
	if err := bootstrapAdmin(ctx, o, e); err != nil {
		return err
	}
	// The generator allocates many short-lived rows; a larger heap target halves the collector's
	// share of a 1M-case run.
	debug.SetGCPercent(200)
	_, err = seed.Run(ctx, o.desk, seed.Options{Cases: *n, Seed: *random, Force: *force, Progress: e.stderr})
	if err != nil {
		return describe(err)
	}
	return nil
}
