package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"giftdesk/cases"
	"giftdesk/cases/export"
)

// valueError is a bad flag value: run prints it on one line, without the usage, and exits 2.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

// cmdExport streams the cases matching its filters to standard output (SPEC 4.1), audited as
// cases.exported by the command line.
func cmdExport(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	format := fs.String("format", "", "csv, jsonl or xlsx")
	var f export.Filter
	fs.StringVar(&f.Status, "status", "", "only cases in this status")
	fs.StringVar(&f.Type, "type", "", "only cases of this type")
	fs.StringVar(&f.From, "from", "", "only cases created on or after this day (YYYY-MM-DD, UTC)")
	fs.StringVar(&f.To, "to", "", "only cases created on or before this day (YYYY-MM-DD, UTC)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format == "" {
		return &valueError{"export: --format is required: csv, jsonl or xlsx"}
	}
	plan, err := export.Check(nil, export.Request{Format: export.Format(*format), Filter: f})
	if err != nil {
		return &valueError{"export: " + flagProblems(err)}
	}
	o, err := open(ctx, e, newLogger(e.stderr, slog.LevelWarn), false)
	if err != nil {
		return err
	}
	defer o.close()
	// The XLSX writer's spill files go where the server's uploads do: a private folder of the
	// data folder (mode 0700).
	tmp, err := uploadDir(o.cfg.DataDir)
	if err != nil {
		tmp = os.TempDir()
	}
	res, err := export.New(o.desk, export.Config{TmpDir: tmp}).Run(ctx, cases.CLIActor, plan, e.stdout)
	sealBeforeExit(context.WithoutCancel(ctx), o, e)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("export interrupted after %d cases; the output is incomplete", res.Rows)
		}
		return fmt.Errorf("export failed after %d cases; the output is incomplete: %w", res.Rows, describe(err))
	}
	fmt.Fprintf(e.stderr, "giftdesk: exported %d cases\n", res.Rows)
	return nil
}

// flagProblems names each invalid value by its flag, on one line.
func flagProblems(err error) string {
	var re *cases.RuleError
	if !errors.As(err, &re) || len(re.Fields) == 0 {
		return describe(err).Error()
	}
	parts := make([]string, len(re.Fields))
	for i, fe := range re.Fields {
		parts[i] = "--" + fe.Field + " " + fe.Message
	}
	return strings.Join(parts, "; ")
}
