package modelstest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/peterldowns/pgtestdb"

	"giftdesk/models"
)

// Cluster is a PostgreSQL cluster of the test's own: initdb into a temporary folder, a free
// loopback port. Tests that stop, restart or kill the database use one, never the shared server
// other tests run on.
type Cluster struct {
	dir   string
	pgCtl string
	runAs []string
	opts  string
	conf  pgtestdb.Config
}

// StartCluster starts a throwaway cluster and stops and removes it when t ends. Without the
// machine's initdb the test is skipped, or fails when GIFTDESK_TEST_REQUIRE_POSTGRES=1 (CI).
func StartCluster(t testing.TB) *Cluster { return StartClusterAtEpoch(t, 0) }

// StartClusterAtEpoch is StartCluster with the cluster's transaction-id epoch set by pg_resetwal
// before it first starts (when epoch > 0): its transaction ids then begin at epoch<<32, as a
// cluster prepared to receive a restored desk (README: Backups and restore).
func StartClusterAtEpoch(t testing.TB, epoch int64) *Cluster {
	t.Helper()
	c, err := startCluster(epoch)
	if err != nil {
		msg := "a throwaway PostgreSQL cluster could not start: " + err.Error()
		if os.Getenv("GIFTDESK_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("GIFTDESK_TEST_REQUIRE_POSTGRES=1 but %s", msg)
		}
		fmt.Fprintln(os.Stderr, "!!! SKIPPED: "+msg)
		t.Skip(msg)
	}
	t.Cleanup(c.remove)
	return c
}

// Database creates a database named name on the cluster, migrated with Fingerprint, and returns
// its URL (as the superuser postgres: tests may terminate its backends through it too).
func (c *Cluster) Database(t testing.TB, name string) string {
	t.Helper()
	admin := c.Admin(t)
	if _, err := admin.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%s/%s?sslmode=disable", c.conf.Port, name)
	db, err := models.Open(context.Background(), models.Options{URL: url})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer models.Close(db)
	if err := models.Migrate(context.Background(), db, Fingerprint); err != nil {
		t.Fatalf("migrate %s: %v", name, err)
	}
	return url
}

// Admin returns a pool on the cluster's postgres database, closed when t ends. It reconnects by
// itself after the cluster restarts.
func (c *Cluster) Admin(t testing.TB) *sql.DB {
	t.Helper()
	db, err := c.conf.Connect()
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Stop stops the cluster in mode (smart, fast or immediate) and waits until it has.
func (c *Cluster) Stop(mode string) error {
	if out, err := c.run(c.pgCtl, "-D", c.data(), "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %v: %s", mode, err, out)
	}
	return nil
}

// Start starts the stopped cluster on its port and waits until it accepts connections.
func (c *Cluster) Start() error {
	// -l: without a log file the server would inherit pg_ctl's output and hold it open forever.
	if out, err := c.run(c.pgCtl, "-D", c.data(), "-o", c.opts, "-l", c.log(), "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	return nil
}

// Restart is pg_ctl restart in mode: stop, then start again with the same options.
func (c *Cluster) Restart(mode string) error {
	if out, err := c.run(c.pgCtl, "-D", c.data(), "-m", mode, "-o", c.opts, "-l", c.log(), "-w", "-t", "60", "restart"); err != nil {
		return fmt.Errorf("pg_ctl restart -m %s: %v: %s", mode, err, out)
	}
	return nil
}

// TerminateBackends ends every connection to database but the caller's, as an administrator's
// pg_terminate_backend does, and returns how many it ended.
func (c *Cluster) TerminateBackends(ctx context.Context, admin *sql.DB, database string) (int, error) {
	var n int
	err := admin.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()) ended`, database).Scan(&n)
	return n, err
}

// startCluster runs initdb and pg_ctl from the machine's PostgreSQL installation into a temporary
// folder, listening on a free loopback port. As root it runs them as the postgres user, since
// initdb refuses root.
func startCluster(epoch int64) (*Cluster, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "giftdesk-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, pgCtl: filepath.Join(bin, "pg_ctl")}
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
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", c.data(), "-U", "postgres", "-A", "trust", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if epoch > 0 {
		// initdb may be a link on PATH (/usr/local/bin) to the versioned folder, which has pg_resetwal.
		resetwal := filepath.Join(bin, "pg_resetwal")
		if real, err := filepath.EvalSymlinks(filepath.Join(bin, "initdb")); err == nil {
			resetwal = filepath.Join(filepath.Dir(real), "pg_resetwal")
		}
		if out, err := c.run(resetwal, "--epoch="+strconv.FormatInt(epoch, 10), "-D", c.data()); err != nil {
			return nil, fmt.Errorf("pg_resetwal: %v: %s", err, out)
		}
	}
	c.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", port, dir)
	if err := c.Start(); err != nil {
		return nil, err
	}
	c.conf = pgtestdb.Config{DriverName: "pgx", Host: "127.0.0.1", Port: strconv.Itoa(port), User: "postgres",
		Database: "postgres", Options: "sslmode=disable"}
	fmt.Fprintf(os.Stderr, "modelstest: started a throwaway PostgreSQL cluster on 127.0.0.1:%d\n", port)
	return c, nil
}

// Config is how to reach the cluster as the superuser postgres, without a password.
func (c *Cluster) Config() pgtestdb.Config { return c.conf }

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) log() string  { return filepath.Join(c.dir, "log") }

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	full := append(append([]string{}, c.runAs...), name)
	full = append(full, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, full[0], full[1:]...).CombinedOutput()
}

// remove stops the cluster at once, whatever state it is in, and deletes its folder.
func (c *Cluster) remove() {
	_, _ = c.run(c.pgCtl, "-D", c.data(), "-m", "immediate", "stop")
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
