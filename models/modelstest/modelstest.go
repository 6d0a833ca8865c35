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
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
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
	cluster    *throwawayCluster
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
		cluster.stop()
	}
	os.Exit(code)
}

// Cluster starts a throwaway PostgreSQL cluster of the test's own (for a test that needs a fresh
// cluster: a transaction counter of its own, a server it may stop), stopped when the test ends, and
// returns how to reach it as the superuser postgres without a password. It skips the test, or
// fails it when GIFTDESK_TEST_REQUIRE_POSTGRES=1, when the machine has no initdb.
//
// A non-zero epoch is set with pg_resetwal before the cluster first starts: its transaction ids
// then begin at epoch<<32, as a cluster prepared to receive a restored desk (README: Backups).
func Cluster(t testing.TB, epoch int64) pgtestdb.Config {
	t.Helper()
	c, err := startCluster(epoch)
	if err != nil {
		msg := "a throwaway PostgreSQL cluster could not start: " + err.Error()
		if os.Getenv("GIFTDESK_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("GIFTDESK_TEST_REQUIRE_POSTGRES=1 but %s", msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(c.stop)
	return c.conf
}

type throwawayCluster struct {
	dir   string
	pgCtl string
	runAs []string
	conf  pgtestdb.Config
}

// startCluster runs initdb and pg_ctl from the machine's PostgreSQL installation into a temporary
// folder, listening on a free loopback port. As root it runs them as the postgres user, since
// initdb refuses root.
func startCluster(epoch int64) (*throwawayCluster, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "giftdesk-pg-")
	if err != nil {
		return nil, err
	}
	c := &throwawayCluster{dir: dir, pgCtl: filepath.Join(bin, "pg_ctl")}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("running as root without runuser")
		}
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown cluster folder: %v: %s", err, out)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if epoch > 0 {
		// initdb may be a link on PATH (/usr/local/bin) to the versioned folder, which has pg_resetwal.
		resetwal := filepath.Join(bin, "pg_resetwal")
		if real, err := filepath.EvalSymlinks(filepath.Join(bin, "initdb")); err == nil {
			resetwal = filepath.Join(filepath.Dir(real), "pg_resetwal")
		}
		if out, err := c.run(resetwal, "--epoch="+strconv.FormatInt(epoch, 10), "-D", data); err != nil {
			return nil, fmt.Errorf("pg_resetwal: %v: %s", err, out)
		}
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", port, dir)
	if out, err := c.run(c.pgCtl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	c.conf = pgtestdb.Config{DriverName: "pgx", Host: "127.0.0.1", Port: strconv.Itoa(port), User: "postgres",
		Database: "postgres", Options: "sslmode=disable"}
	fmt.Fprintf(os.Stderr, "modelstest: started a throwaway PostgreSQL cluster on 127.0.0.1:%d\n", port)
	return c, nil
}

func (c *throwawayCluster) run(name string, args ...string) ([]byte, error) {
	full := append(append([]string{}, c.runAs...), name)
	full = append(full, args...)
	return exec.Command(full[0], full[1:]...).CombinedOutput()
}

func (c *throwawayCluster) stop() {
	_, _ = c.run(c.pgCtl, "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "stop")
	_ = os.RemoveAll(c.dir)
}

func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("initdb not found")
	}
	sort.Strings(matches)
	return filepath.Dir(matches[len(matches)-1]), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
