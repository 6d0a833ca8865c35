// Package modelstest gives each test its own migrated database on PostgreSQL (cloned from a
// template with pgtestdb) and on SQLite (a fresh file), so that the same suite runs on both.
//
// PostgreSQL is found through GIFTDESK_TEST_DATABASE_URL, else 127.0.0.1:5432 as user postgres,
// else a throwaway cluster started with the machine's initdb and pg_ctl; when none of these works
// the PostgreSQL tests are skipped with a loud message, or fail when
// GIFTDESK_TEST_REQUIRE_POSTGRES=1 (as in CI).
package modelstest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb connects with
	"github.com/peterldowns/pgtestdb"
	"gorm.io/gorm"

	"giftdesk/models"
)

// MasterKey is the master key every test database is migrated with.
var MasterKey = func() []byte { s := sha256.Sum256([]byte("giftdesk test master key")); return s[:] }()

// Fingerprint is the fingerprint of MasterKey's subkeys, which every test database is migrated
// with. It is pinned rather than derived because the derivation lives in cases, which models'
// test helpers must not import; casestest checks that the two agree.
const Fingerprint = "6febcc95804131c98d4f11baf5af5620"

// Dialects lists the databases the suite runs on, PostgreSQL first: it is authoritative.
var Dialects = []models.Dialect{models.Postgres, models.SQLite}

// ForEach runs fn as a subtest per dialect, each with a fresh migrated database.
func ForEach(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated database of dialect d, closed (and on PostgreSQL dropped) when
// the test ends.
func Open(t testing.TB, d models.Dialect) *gorm.DB {
	t.Helper()
	url := URL(t, d)
	db, err := models.Open(context.Background(), models.Options{URL: url, MaxOpenConns: 40})
	if err != nil {
		t.Fatalf("open %s test database: %v", d, err)
	}
	t.Cleanup(func() {
		if err := models.Close(db); err != nil {
			t.Errorf("close %s test database: %v", d, err)
		}
	})
	if d == models.SQLite {
		if err := models.Migrate(context.Background(), db, Fingerprint); err != nil {
			t.Fatalf("migrate sqlite: %v", err)
		}
	}
	return db
}

// URL returns the URL of a fresh migrated database of dialect d (for tests that start the
// binary or open their own pool).
func URL(t testing.TB, d models.Dialect) string {
	t.Helper()
	if d == models.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "giftdesk.db")
	}
	conf := Server(t)
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// EmptyURL returns the URL of a fresh, unmigrated database of dialect d.
func EmptyURL(t testing.TB, d models.Dialect) string {
	t.Helper()
	if d == models.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "empty.db")
	}
	return pgtestdb.Custom(t, Server(t), pgtestdb.NoopMigrator{}).URL()
}

// migrator builds pgtestdb's template with the desk's own migrations.
type migrator struct{}

func (migrator) Hash() (string, error) {
	return models.SchemaHash(models.Postgres, Fingerprint), nil
}

func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	db, err := models.Open(ctx, models.Options{URL: conf.URL()})
	if err != nil {
		return err
	}
	defer models.Close(db)
	return models.Migrate(ctx, db, Fingerprint)
}

var (
	serverOnce sync.Once
	serverConf pgtestdb.Config
	serverErr  error
	cluster    *Cluster
)

// Server returns how to reach a PostgreSQL server, or skips (fails when required) the test.
func Server(t testing.TB) pgtestdb.Config {
	t.Helper()
	serverOnce.Do(func() { serverConf, serverErr = findServer() })
	if serverErr != nil {
		msg := "PostgreSQL tests SKIPPED: " + serverErr.Error() +
			" (set GIFTDESK_TEST_DATABASE_URL, run PostgreSQL on 127.0.0.1:5432, or install it for initdb)"
		if os.Getenv("GIFTDESK_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("GIFTDESK_TEST_REQUIRE_POSTGRES=1 but %s", msg)
		}
		fmt.Fprintln(os.Stderr, "!!! "+msg)
		t.Skip(msg)
	}
	return serverConf
}

func findServer() (pgtestdb.Config, error) {
	if raw := os.Getenv("GIFTDESK_TEST_DATABASE_URL"); raw != "" {
		conf, err := configFromURL(raw)
		if err != nil {
			return conf, fmt.Errorf("GIFTDESK_TEST_DATABASE_URL: %w", err)
		}
		if err := ping(conf); err != nil {
			return conf, fmt.Errorf("GIFTDESK_TEST_DATABASE_URL does not answer: %w", err)
		}
		return conf, nil
	}
	local := pgtestdb.Config{DriverName: "pgx", Host: "127.0.0.1", Port: "5432", User: "postgres",
		Database: "postgres", Options: "sslmode=disable"}
	if err := ping(local); err == nil {
		return local, nil
	}
	c, err := startCluster(0)
	if err != nil {
		return pgtestdb.Config{}, fmt.Errorf("nothing answers on 127.0.0.1:5432 and no throwaway cluster: %w", err)
	}
	cluster = c
	return c.conf, nil
}

func configFromURL(raw string) (pgtestdb.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return pgtestdb.Config{}, fmt.Errorf("not a postgres:// URL")
	}
	pass, _ := u.User.Password()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	return pgtestdb.Config{DriverName: "pgx", Host: u.Hostname(), Port: port, User: u.User.Username(),
		Password: pass, Database: strings.TrimPrefix(u.Path, "/"), Options: q.Encode()}, nil
}

func ping(conf pgtestdb.Config) error {
	db, err := conf.Connect()
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Main runs the package's tests and stops a throwaway cluster if one was started. Call it from
// TestMain in every package that uses these databases.
func Main(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.remove()
	}
	os.Exit(code)
}

// DisableAppendOnly drops the R9 guard on table for the rest of the test, as an attacker with
// owner rights could: tamper tests need it to prove the audit chain still catches them.
func DisableAppendOnly(t testing.TB, db *gorm.DB, table string) {
	t.Helper()
	var stmts []string
	if models.DialectOf(db) == models.Postgres {
		stmts = []string{`ALTER TABLE ` + table + ` DISABLE TRIGGER USER`}
	} else {
		stmts = []string{`DROP TRIGGER ` + table + `_no_update`, `DROP TRIGGER ` + table + `_no_delete`}
	}
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
