package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

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
	o := &opened{cfg: cfg, db: db, desk: cases.New(cases.Config{DB: db, Keys: keys, Thresholds: cfg.DualApproval})}
	if migrate {
		err = models.Migrate(ctx, db, keys.Fingerprint)
	} else {
		err = checkMigrated(ctx, db, keys.Fingerprint)
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
	password, created, err := o.desk.EnsureBootstrapAdmin(ctx)
	if err != nil {
		return fmt.Errorf("create the first admin: %v", err)
	}
	if created {
		fmt.Fprintf(e.stderr, "giftdesk: created the first admin: sign in as %s with password %s "+
			"(shown once; you will choose a new one at first sign-in)\n", cases.BootstrapAdminEmail, password)
	}
	if *demo {
		if err := loadDemo(ctx, o.desk, e); err != nil {
			return fmt.Errorf("demo data: %v", err)
		}
	}
	srv, err := handlers.New(handlers.Config{Desk: o.desk, Logger: log})
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, *addr, func(a net.Addr) {
		log.Info("listening", slog.String("addr", a.String()))
		fmt.Fprintf(e.stderr, "giftdesk: serving on http://%s\n", a)
		if e.ready != nil {
			e.ready(a.String())
		}
	})
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
	fmt.Fprintln(e.stdout, raw)
	fmt.Fprintf(e.stderr, "giftdesk: created token %s (%s) for %s; it is shown once\n", view.Prefix, view.Name, view.UserEmail)
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
