package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/handlers"
	"giftdesk/models"
)

// opened is a configured desk on an open database.
type opened struct {
	cfg  *config
	db   *gorm.DB
	desk *cases.Desk
}

func (o *opened) close() { _ = models.Close(o.db) }

// open loads the configuration and the master key and connects. With migrate it applies pending
// migrations; without, it refuses a database that is behind. Either way a database created under
// another master key is refused.
func open(ctx context.Context, e *env, log *slog.Logger, migrate bool) (*opened, error) {
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return nil, err
	}
	// First of all, before the database is reached (it may be down): older versions spooled
	// request bodies, claim codes included, to the uploads folder (R1).
	if err := removeUploadLeftovers(cfg.DataDir); err != nil {
		return nil, err
	}
	master, err := cfg.masterKey()
	if err != nil {
		return nil, err
	}
	keys, err := cases.DeriveKeys(master)
	if err != nil {
		return nil, err
	}
	db, err := models.Open(ctx, models.Options{URL: cfg.DatabaseURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("GIFTDESK_DATABASE_URL: %v", err)
	}
	o := &opened{cfg: cfg, db: db, desk: cases.New(cases.Config{DB: db, Keys: keys, Thresholds: cfg.DualApproval, SLA: cfg.SLA})}
	if migrate {
		err = models.Migrate(ctx, db, keys.Fingerprint)
	} else {
		err = checkMigrated(ctx, db, keys.Fingerprint)
	}
	if err == nil {
		err = models.CheckTransactionCounter(ctx, db)
	}
	if err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

func checkMigrated(ctx context.Context, db *gorm.DB, fingerprint string) error {
	pending, err := models.Pending(ctx, db)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return errors.New("the database is not migrated: run 'giftdesk migrate' (or start 'giftdesk serve') first")
	}
	return models.CheckMasterKey(ctx, db, fingerprint)
}

func cmdMigrate(ctx context.Context, args []string, e *env) error {
	if err := parseFlags(flag.NewFlagSet("migrate", flag.ContinueOnError), args); err != nil {
		return err
	}
	o, err := open(ctx, e, newLogger(e.stderr, slog.LevelWarn), false)
	if err == nil {
		o.close()
		fmt.Fprintln(e.stderr, "giftdesk: the database is up to date")
		return nil
	}
	o, err = open(ctx, e, newLogger(e.stderr, slog.LevelWarn), true)
	if err != nil {
		return err
	}
	defer o.close()
	fmt.Fprintf(e.stderr, "giftdesk: migrations applied (%d in all)\n", len(models.MigrationIDs()))
	return nil
}

func cmdServe(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address HOST:PORT (default $GIFTDESK_ADDR or 127.0.0.1:8080)")
	demo := fs.Bool("demo", false, "load a small demo data set when the database is empty")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *addr != "" {
		if err := checkAddr(*addr); err != nil {
			return &usageError{"serve: --addr " + err.Error()}
		}
	}
	log := newLogger(e.stderr, slog.LevelInfo)
	o, err := open(ctx, e, log, true)
	if err != nil {
		return err
	}
	defer o.close()
	if *addr == "" {
		*addr = o.cfg.Addr
	}
	if err := bootstrapAdmin(ctx, o, e); err != nil {
		return err
	}
	tempDir, err := uploadDir(o.cfg.DataDir)
	if err != nil {
		return err
	}
	if *demo {
		if err := loadDemo(ctx, o.desk, e, tempDir); err != nil {
			return fmt.Errorf("demo data: %v", err)
		}
	}
	srv, err := handlers.New(handlers.Config{Desk: o.desk, Logger: log, TrustedProxies: o.cfg.TrustedProxies, TempDir: tempDir, APIRate: o.cfg.APIRate,
		WebhookAllowPrivate: o.cfg.WebhookAllowPrivate})
	if err != nil {
		return err
	}
	// On a stop signal the dispatcher stops claiming at once, finishes its attempts in flight and
	// gives back the deliveries it has not sent; the sealer and the balance pass keep running
	// until the last request in flight has been answered, so that this server chains the events
	// of those requests too before it exits.
	// Both also stop when serving fails (the address is taken), which cancels no signal context.
	backgroundCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	dispatchCtx, stopDispatch := context.WithCancel(ctx)
	defer stopDispatch()
	background := startBackground(backgroundCtx, o.desk, log)
	dispatcher := startDispatcher(dispatchCtx, o.desk, o.cfg.WebhookAllowPrivate, log)
	err = srv.ListenAndServe(ctx, *addr, func(a net.Addr) {
		log.Info("listening", slog.String("addr", a.String()))
		fmt.Fprintf(e.stderr, "giftdesk: serving on http://%s\n", a)
		if e.ready != nil {
			e.ready(a.String())
		}
	})
	stopDispatch()
	stopBackground()
	dispatcher()
	background()
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// bootstrapAdmin creates admin@localhost on a desk without users and prints its password once on
// standard error (SPEC 4.1): serve does it at start, and seed before it adds its staff, so that a
// seeded fresh desk has someone who can sign in.
func bootstrapAdmin(ctx context.Context, o *opened, e *env) error {
	password, created, err := o.desk.EnsureBootstrapAdmin(ctx)
	if err != nil {
		return fmt.Errorf("create the first admin: %v", err)
	}
	if created {
		fmt.Fprintf(e.stderr, "giftdesk: created the first admin: sign in as %s with password %s "+
			"(shown once; you will choose a new one at first sign-in)\n", cases.BootstrapAdminEmail, password)
	}
	return nil
}

// subcommands are the two-word commands.
var subcommands = map[string]func(context.Context, []string, *env) error{
	"user add":        cmdUserAdd,
	"user role":       cmdUserRole,
	"user deactivate": cmdUserActive(false),
	"user reactivate": cmdUserActive(true),
	"user password":   cmdUserPassword,
	"token create":    cmdTokenCreate,
	"token revoke":    cmdTokenRevoke,
	"token list":      cmdTokenList,
	"audit verify":    cmdAuditVerify,
}

// sealBeforeExit chains the events a command wrote (R10): no server may be running to do it.
func sealBeforeExit(ctx context.Context, o *opened, e *env) {
	if _, err := o.desk.SealPass(ctx); err != nil {
		fmt.Fprintf(e.stderr, "giftdesk: warning: the audit events of this command were not chained yet (%s); a running server will chain them\n", oneLine(err.Error()))
	}
}

func cmdUserAdd(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	email := fs.String("email", "", "email address (unique, case-insensitive)")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "", "agent, supervisor or admin")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" || *name == "" || *role == "" {
		return &usageError{"user add: --email, --name and --role are required"}
	}
	if !cases.Role(*role).Valid() {
		return &usageError{fmt.Sprintf("user add: unknown role %q: use agent, supervisor or admin", *role)}
	}
	password, err := readPasswordLine(e)
	if err != nil {
		return err
	}
	o, err := open(ctx, e, newLogger(e.stderr, slog.LevelWarn), false)
	if err != nil {
		return err
	}
	defer o.close()
	u, err := o.desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: *email, Name: *name, Role: cases.Role(*role), Password: password})
	if err != nil {
		return describe(err)
	}
	sealBeforeExit(ctx, o, e)
	fmt.Fprintf(e.stderr, "giftdesk: created %s %s\n", u.Role, u.Email)
	return nil
}

func cmdTokenCreate(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	email := fs.String("email", "", "the user the token acts as")
	name := fs.String("name", "", "what the token is for, e.g. zendesk")
	scopes := fs.String("scopes", "", "comma-separated: "+scopeList())
	expiresIn := fs.String("expires-in", "", "lifetime, e.g. 90d or 720h (default: no expiry)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" || *name == "" || *scopes == "" {
		return &usageError{"token create: --email, --name and --scopes are required"}
	}
	list, err := cases.ParseScopes(*scopes)
	if err != nil {
		return &usageError{"token create: " + describe(err).Error()}
	}
	var expires *time.Time
	if *expiresIn != "" {
		d, err := parseLifetime(*expiresIn)
		if err != nil {
			return &usageError{"token create: --expires-in " + err.Error()}
		}
		t := models.Now().Add(d)
		expires = &t
	}
	o, err := open(ctx, e, newLogger(e.stderr, slog.LevelWarn), false)
	if err != nil {
		return err
	}
	defer o.close()
	raw, view, err := o.desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: *email, Name: *name, Scopes: list, ExpiresAt: expires})
	if err != nil {
		return describe(err)
	}
	sealBeforeExit(ctx, o, e)
	fmt.Fprintln(e.stdout, raw)
	fmt.Fprintf(e.stderr, "giftdesk: created token %d (%s…, %s) for %s; it is shown once\n", view.ID, view.Prefix, view.Name, view.UserEmail)
	return nil
}

// emailFlag parses a subcommand that names one user by --email.
func emailFlag(name string, args []string, extra func(fs *flag.FlagSet)) (string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	email := fs.String("email", "", "the user's email")
	if extra != nil {
		extra(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if *email == "" {
		return "", &usageError{name + ": --email is required"}
	}
	return *email, nil
}

// withDesk opens the migrated desk, runs fn, and chains the events fn wrote.
func withDesk(ctx context.Context, e *env, fn func(o *opened) error) error {
	o, err := open(ctx, e, newLogger(e.stderr, slog.LevelWarn), false)
	if err != nil {
		return err
	}
	defer o.close()
	if err := fn(o); err != nil {
		return describe(err)
	}
	sealBeforeExit(ctx, o, e)
	return nil
}

func cmdUserRole(ctx context.Context, args []string, e *env) error {
	var role *string
	email, err := emailFlag("user role", args, func(fs *flag.FlagSet) { role = fs.String("role", "", "agent, supervisor or admin") })
	if err != nil {
		return err
	}
	if !cases.Role(*role).Valid() {
		return &usageError{fmt.Sprintf("user role: --role must be agent, supervisor or admin, not %q", *role)}
	}
	return withDesk(ctx, e, func(o *opened) error {
		u, err := o.desk.SetUserRole(ctx, cases.CLIActor, email, cases.Role(*role))
		if err == nil {
			fmt.Fprintf(e.stderr, "giftdesk: %s is now %s\n", u.Email, u.Role)
		}
		return err
	})
}

func cmdUserActive(active bool) func(context.Context, []string, *env) error {
	name := "user deactivate"
	if active {
		name = "user reactivate"
	}
	return func(ctx context.Context, args []string, e *env) error {
		email, err := emailFlag(name, args, nil)
		if err != nil {
			return err
		}
		return withDesk(ctx, e, func(o *opened) error {
			change, verb := o.desk.DeactivateUser, "deactivated: their sessions ended and their tokens stopped"
			if active {
				change, verb = o.desk.ReactivateUser, "reactivated"
			}
			u, err := change(ctx, cases.CLIActor, email)
			if err == nil {
				fmt.Fprintf(e.stderr, "giftdesk: %s %s\n", u.Email, verb)
			}
			return err
		})
	}
}

func cmdUserPassword(ctx context.Context, args []string, e *env) error {
	email, err := emailFlag("user password", args, nil)
	if err != nil {
		return err
	}
	password, err := readPasswordLine(e)
	if err != nil {
		return err
	}
	return withDesk(ctx, e, func(o *opened) error {
		u, err := o.desk.ResetPassword(ctx, cases.CLIActor, email, password)
		if err == nil {
			fmt.Fprintf(e.stderr, "giftdesk: new password set for %s; they choose their own at next sign-in\n", u.Email)
		}
		return err
	})
}

func cmdTokenRevoke(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	id := fs.Int64("id", 0, "the token's id, as token create printed it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id <= 0 {
		return &usageError{"token revoke: --id is required"}
	}
	return withDesk(ctx, e, func(o *opened) error {
		err := o.desk.RevokeToken(ctx, cases.CLIActor, *id)
		if err == nil {
			fmt.Fprintf(e.stderr, "giftdesk: token %d revoked\n", *id)
		}
		return err
	})
}

func cmdTokenList(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	email := fs.String("email", "", "only this user's tokens")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o, err := open(ctx, e, newLogger(e.stderr, slog.LevelWarn), false)
	if err != nil {
		return err
	}
	defer o.close()
	tokens, err := o.desk.ListTokens(ctx, *email)
	if err != nil {
		return describe(err)
	}
	if len(tokens) == 0 {
		fmt.Fprintln(e.stderr, "giftdesk: no tokens")
		return nil
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSER\tNAME\tPREFIX\tSCOPES\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
	for _, t := range tokens {
		scopes := make([]string, len(t.Scopes))
		for i, s := range t.Scopes {
			scopes[i] = string(s)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserEmail, printable(t.Name), t.Prefix, strings.Join(scopes, ","),
			listTime(&t.CreatedAt, ""), listTime(t.LastUsedAt, "never"), listTime(t.ExpiresAt, "never"), listTime(t.RevokedAt, "-"))
	}
	return w.Flush()
}

// listTime renders a time of a listing in UTC to the second, or none when it is not set.
func listTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// printable keeps a stored name from moving the terminal's cursor or breaking the table.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func cmdAuditVerify(ctx context.Context, args []string, e *env) error {
	if err := parseFlags(flag.NewFlagSet("audit verify", flag.ContinueOnError), args); err != nil {
		return err
	}
	o, err := open(ctx, e, newLogger(e.stderr, slog.LevelWarn), false)
	if err != nil {
		return err
	}
	defer o.close()
	r, err := o.desk.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if !r.Intact() {
		return fmt.Errorf("audit chain broken: %s", r.Problem)
	}
	fmt.Fprintf(e.stdout, "audit chain intact: %d events chained, %d waiting to be chained; head seq %d hash %s\n", r.Sealed, r.Pending, r.HeadSeq, r.HeadHash)
	return nil
}

// maxTokenLifetime bounds --expires-in: ten years is longer than any integration should keep a
// secret, and keeps the arithmetic far from overflow.
const maxTokenLifetime = 3650 * 24 * time.Hour

func parseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		if err == nil && (n < 1 || n > 3650) {
			err = errors.New("out of range")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 || d > maxTokenLifetime {
		return 0, errors.New("must be a positive duration of at most 3650d, such as 90d or 720h")
	}
	return d, nil
}

func scopeList() string {
	parts := make([]string, len(cases.Scopes))
	for i, s := range cases.Scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// describe renders a domain error as a sentence for the terminal.
func describe(err error) error {
	var re *cases.RuleError
	if errors.As(err, &re) {
		if re.Field != "" {
			return fmt.Errorf("%s %s", re.Field, re.Message)
		}
		return errors.New(re.Message)
	}
	return err
}

// sealEvery is the sealer's period: R10 wants events chained within 2 seconds of commit.
const sealEvery = 500 * time.Millisecond

// balanceEvery is the balance checkpoint pass's period when it has caught up: a balance read
// adds the postings of about that long to its checkpoint.
const balanceEvery = time.Second

// startBackground runs the audit sealer, the balance checkpoint pass and session housekeeping
// until ctx ends, and returns a function that waits for them after one last sealing pass.
func startBackground(ctx context.Context, desk *cases.Desk, log *slog.Logger) func() {
	balancesDone := make(chan struct{})
	// A goroutine of its own, so that catching up on a large ledger never delays the sealer.
	go func() {
		defer close(balancesDone)
		runBalancePasses(ctx, desk, log)
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		seal := time.NewTicker(sealEvery)
		defer seal.Stop()
		housekeep := time.NewTicker(5 * time.Minute)
		defer housekeep.Stop()
		for {
			select {
			case <-ctx.Done():
				final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, _ = desk.SealPass(final)
				cancel()
				<-balancesDone
				return
			case <-seal.C:
				if _, err := desk.SealPass(ctx); err != nil && ctx.Err() == nil {
					log.Warn("audit sealing pass failed", slog.String("error", err.Error()))
				}
			case <-housekeep.C:
				if err := desk.Housekeep(ctx); err != nil && ctx.Err() == nil {
					log.Warn("housekeeping failed", slog.String("error", err.Error()))
				}
			}
		}
	}()
	return func() { <-done }
}

// runBalancePasses folds committed postings into the balance checkpoints until ctx ends: a pass
// every balanceEvery, and back to back while passes come back full (a desk upgraded or seeded
// with a large ledger catches up, BalancePassLimit postings per short transaction).
func runBalancePasses(ctx context.Context, desk *cases.Desk, log *slog.Logger) {
	tick := time.NewTicker(balanceEvery)
	defer tick.Stop()
	var behind int64
	for {
		n, err := desk.CheckpointBalances(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("balance checkpoint pass failed", slog.String("error", err.Error()))
		case n == cases.BalancePassLimit:
			if behind == 0 {
				log.Info("balance checkpoints catching up with the ledger")
			}
			behind += int64(n)
			if ctx.Err() == nil {
				continue
			}
		case behind > 0:
			log.Info("balance checkpoints caught up", slog.Int64("postings_folded", behind+int64(n)))
			behind = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// uploadDir returns $GIFTDESK_DATA_DIR/uploads, where uploads wait while they are checked.
func uploadDir(dataDir string) (string, error) {
	dir := filepath.Join(dataDir, "uploads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("GIFTDESK_DATA_DIR: cannot create %s: %v", dir, unwrapPathError(err))
	}
	return dir, nil
}

// removeUploadLeftovers empties the uploads folder of what a killed server left. Uploads are
// unlinked as soon as they are created, so anything there was left by an older version that
// spooled request bodies, claim codes included (R1): all of it goes. A server sharing the folder
// loses nothing: an open file outlives its name.
func removeUploadLeftovers(dataDir string) error {
	leftovers, err := filepath.Glob(filepath.Join(dataDir, "uploads", "giftdesk-*"))
	if err != nil {
		return err
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("GIFTDESK_DATA_DIR: cannot remove the leftover %s: %v", f, unwrapPathError(err))
		}
	}
	return nil
}
