// Command giftdesk runs the gift-card case desk: its server, migrations and admin commands.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // time zones of the console work on a machine without zoneinfo
)

const usage = `usage: giftdesk <command> [flags]

commands:
  serve [--addr HOST:PORT] [--demo]   migrate, then serve the console and API (the default)
  migrate                             apply pending database migrations
  user add --email E --name N --role agent|supervisor|admin
                                      create a user; the password is read from standard input
  user role --email E --role R        change a user's role
  user deactivate --email E           stop a user at once (sessions and tokens)
  user reactivate --email E           let a deactivated user sign in again
  user password --email E             set a new password (from standard input) to change at next sign-in
  token create --email E --name N --scopes s1,s2 [--expires-in 90d]
                                      create an API token and print it alone on standard output
  token revoke --id N                 revoke an API token
  token list [--email E]              list API tokens: ids, owners, names, scopes, last use; never a token
  audit verify                        check the audit hash chain; exit 0 when intact
  backup --to FILE                    write a consistent backup of the database while it serves
                                      (SQLite: VACUUM INTO; PostgreSQL: pg_dump -Fc); never the master key
  export --format csv|jsonl|xlsx [--status S] [--type T] [--from DAY] [--to DAY]
                                      stream the matching cases to standard output (days: YYYY-MM-DD, UTC)
  seed --cases N [--force] [--seed S] generate N realistic cases (load tests, demos)

configuration comes from GIFTDESK_* environment variables; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal stops gracefully (serve lets requests in flight finish for up to 20 s);
	// a second one, the default action again, ends the process at once.
	go func() { <-ctx.Done(); stop() }()
	code := run(ctx, os.Args[1:], &env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// env is what a command may touch, so that tests run commands in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// ready, when set, is told the address serve listens on.
	ready func(addr string)
}

// usageError makes run print one line naming the mistake and exit 2 (SPEC 4.1: errors are one
// line); `giftdesk help` prints the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, e *env) int {
	err := dispatch(ctx, args, e)
	var ue *usageError
	var ve *valueError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(e.stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "giftdesk: %s (giftdesk help lists the commands)\n", oneLine(ue.msg))
		return 2
	case errors.As(err, &ve):
		fmt.Fprintf(e.stderr, "giftdesk: %s\n", oneLine(ve.msg))
		return 2
	default:
		fmt.Fprintf(e.stderr, "giftdesk: %s\n", oneLine(err.Error()))
		return 1
	}
}

func dispatch(ctx context.Context, args []string, e *env) error {
	// serve is the default command, with its flags too: `giftdesk --addr :8081` serves.
	if len(args) == 0 || (strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" && args[0] != "-help") {
		return cmdServe(ctx, args, e)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return cmdServe(ctx, rest, e)
	case "migrate":
		return cmdMigrate(ctx, rest, e)
	case "export":
		return cmdExport(ctx, rest, e)
	case "seed":
		return cmdSeed(ctx, rest, e)
	case "backup":
		return cmdBackup(ctx, rest, e)
	case "user", "token", "audit":
		sub := ""
		if len(rest) > 0 {
			sub = rest[0]
		}
		if fn, ok := subcommands[cmd+" "+sub]; ok {
			return fn(ctx, rest[1:], e)
		}
		return &usageError{fmt.Sprintf("%s: unknown subcommand %q", cmd, sub)}
	case "help", "-h", "-help", "--help":
		return flag.ErrHelp
	default:
		return &usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// parseFlags parses a subcommand's flags, turning every mistake into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// oneLine keeps an error message on one line, as SPEC 4.1 asks.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// newLogger returns the structured logger of serve (JSON on standard error) or, for the short
// commands, one that only reports warnings.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// readPasswordLine reads one line from standard input; a terminal gets a prompt and no echo.
func readPasswordLine(e *env) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(e.stderr, "Password (12 characters or more): ")
		pw, err := readNoEcho(f)
		fmt.Fprintln(e.stderr)
		return pw, err
	}
	line, err := bufio.NewReaderSize(e.stdin, 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %v", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input: pipe one line, e.g. printf '%s\\n' \"$PASSWORD\" | giftdesk user add ...")
	}
	return line, nil
}

var randRead = rand.Read
