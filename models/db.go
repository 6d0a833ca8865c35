// Package models holds giftdesk's tables, queries and migrations, and the one place that knows
// which database runs (dialect.go). It never imports cases or handlers.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options configures Open.
type Options struct {
	// URL is GIFTDESK_DATABASE_URL: postgres://… (or postgresql://…) or sqlite:PATH.
	URL string
	// Logger receives slow-query and error lines, never parameter values. Nil discards them.
	Logger *slog.Logger
	// Now is the clock gorm uses for timestamps; nil means Now in UTC at microsecond precision.
	Now func() time.Time
	// MaxOpenConns bounds the PostgreSQL pool (default 20).
	MaxOpenConns int
	// StatementTimeout bounds every PostgreSQL statement (default 30 s) unless the URL sets one.
	StatementTimeout time.Duration
}

// Now returns the current time as the desk stores it: UTC, truncated to microseconds (PostgreSQL's
// precision), so that a value read back equals the value written on both databases.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open connects to the database named by opts.URL and checks that it answers. It does not migrate.
func Open(ctx context.Context, opts Options) (*gorm.DB, error) {
	dialector, configure, err := dialectorFor(opts)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = Now
	}
	cfg := &gorm.Config{
		TranslateError: true,
		// pgx already prepares and caches every statement per connection (its default query
		// mode), in the round trip that runs it. gorm's own prepared statements on top prepared
		// each statement again inside every transaction and closed it at commit: two hidden round
		// trips per statement (issue 25: creations 0.26 → 0.42 of pgbench's rate at 16 clients,
		// approvals 0.17 → 0.31, BENCHMARKS.md section 16). SQLite keeps gorm's cache: its driver
		// has none, and a statement prepared there costs no round trip.
		PrepareStmt: dialector.Name() != "postgres",
		// Every use case opens its own transaction in cases; gorm's implicit one around each
		// single write would add BEGIN and COMMIT round trips (measured: 2× slower inserts).
		SkipDefaultTransaction: true,
		NowFunc:                now,
		// gorm logs a failed connection itself; the caller reports it once, so stay quiet until open.
		Logger: logger.Discard,
		// Constraints are written by hand in the migrations; gorm never creates them.
		DisableForeignKeyConstraintWhenMigrating: true,
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %s", describeConnectError(err))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	configure(sqlDB)
	db.Logger = newQueryLogger(opts.Logger)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("database does not answer: %s", describeConnectError(err))
	}
	return db, nil
}

// Close closes the pool behind db.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks that the database answers within ctx.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

func dialectorFor(opts Options) (gorm.Dialector, func(*sql.DB), error) {
	raw := strings.TrimSpace(opts.URL)
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		dsn, err := postgresDSN(raw, opts.StatementTimeout)
		if err != nil {
			return nil, nil, err
		}
		maxOpen := opts.MaxOpenConns
		if maxOpen <= 0 {
			maxOpen = 20
		}
		return postgres.New(postgres.Config{DSN: dsn}), func(db *sql.DB) {
			db.SetMaxOpenConns(maxOpen)
			db.SetMaxIdleConns(maxOpen / 2)
			db.SetConnMaxLifetime(30 * time.Minute)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(raw, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return nil, nil, errors.New("sqlite: URL needs a file path, e.g. sqlite:data/giftdesk.db")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		// Create the file ourselves so that it is private (SQLite would use 0644); SQLite gives its
		// -wal and -shm files the database file's mode.
		if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			f.Close()
		} else if !errors.Is(err, os.ErrExist) {
			return nil, nil, fmt.Errorf("create database file: %w", err)
		}
		// WAL lets readers run beside the writer; _txlock=immediate takes the write lock at BEGIN so
		// that two writers queue on busy_timeout instead of failing with SQLITE_BUSY at their first
		// write; foreign keys are off in SQLite unless asked for.
		dsn := "file:" + path + "?_foreign_keys=on&_busy_timeout=10000&_journal_mode=WAL&_txlock=immediate&_synchronous=NORMAL"
		return sqlite.Open(dsn), func(db *sql.DB) {
			// SQLite has one writer; writers queue on the immediate lock (busy_timeout), and with WAL
			// a few connections let reads and health checks go on beside a write.
			db.SetMaxOpenConns(sqliteConns)
			db.SetMaxIdleConns(sqliteConns)
			db.SetConnMaxLifetime(0)
		}, nil
	}
	return nil, nil, errors.New("must start with postgres://, postgresql:// or sqlite:")
}

// sqliteConns is the SQLite pool size: enough for reads beside the writer, few enough that
// writers waiting on the lock do not pile up.
const sqliteConns = 4

// postgresDSN adds the session settings the desk relies on unless the URL already sets them.
func postgresDSN(raw string, timeout time.Duration) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a valid postgres:// URL")
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return "", errors.New("postgres URL has no host")
	}
	q := u.Query()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	setDefault := func(k, v string) {
		if q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	setDefault("statement_timeout", fmt.Sprintf("%d", timeout.Milliseconds()))
	setDefault("connect_timeout", "5")
	setDefault("application_name", "giftdesk")
	setDefault("timezone", "UTC")
	// The desk's statements are short and each reads few rows; a planner that overestimates the
	// rows of a capped count (LIMIT 1001 over an index it expects to read whole) passes
	// jit_above_cost and spends 150-200 ms compiling a 20 ms query (issue 25, at 1M cases).
	setDefault("jit", "off")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// describeConnectError keeps a driver error to one line and drops any password it might quote.
func describeConnectError(err error) string {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if i := strings.Index(msg, "://"); i >= 0 {
		if at := strings.Index(msg[i:], "@"); at >= 0 {
			msg = msg[:i+3] + "…" + msg[i+at:]
		}
	}
	return msg
}

// queryLogger is gorm's slog logger with parameters filtered out (customer data must never reach
// the logs) and with the errors the desk expects and translates kept out of the error level.
type queryLogger struct {
	logger.Interface
}

func newQueryLogger(l *slog.Logger) logger.Interface {
	if l == nil {
		return logger.Discard
	}
	return queryLogger{logger.NewSlogLogger(l, logger.Config{
		SlowThreshold:             500 * time.Millisecond,
		LogLevel:                  logger.Warn,
		ParameterizedQueries:      true,
		IgnoreRecordNotFoundError: true,
	})}
}

// LogMode keeps the wrapper when gorm changes the level.
func (q queryLogger) LogMode(level logger.LogLevel) logger.Interface {
	return queryLogger{q.Interface.LogMode(level)}
}

// Trace drops errors the domain handles itself (constraint refusals, cancelled requests).
func (q queryLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if err != nil && IsExpected(err) {
		err = nil
	}
	q.Interface.Trace(ctx, begin, fc, err)
}

// ParamsFilter keeps parameter values out of every logged statement.
func (q queryLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

// IsExpected reports errors that are part of normal operation: not found, unique, foreign-key and
// check refusals, and cancelled contexts.
func IsExpected(err error) bool {
	return errors.Is(err, gorm.ErrRecordNotFound) || IsUniqueViolation(err) || IsForeignKeyViolation(err) ||
		IsCheckViolation(err) || errors.Is(err, context.Canceled)
}
