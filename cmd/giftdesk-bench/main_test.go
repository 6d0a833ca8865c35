package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"giftdesk/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

// TestBenchPrintsEveryFigure runs the whole command at a small size: a fresh database seeded
// with 300 cases, serve, every measure for one short round, and checks that each figure of the
// table comes out as a positive number, one name=value line each.
func TestBenchPrintsEveryFigure(t *testing.T) {
	conf := modelstest.Server(t)
	if _, err := findPgbench(""); err != nil {
		t.Fatalf("pgbench: %v (it comes with PostgreSQL's server package)", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "giftdesk")
	if out, err := exec.Command("go", "build", "-o", bin, "giftdesk/cmd/giftdesk").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	name := "giftdesk_bench_test_" + hex.EncodeToString(suffix)
	u := url.URL{Scheme: "postgres", Host: conf.Host + ":" + conf.Port, Path: "/" + name, RawQuery: "sslmode=disable"}
	if conf.Password != "" {
		u.User = url.UserPassword(conf.User, conf.Password)
	} else {
		u.User = url.User(conf.User)
	}
	t.Cleanup(func() { dropDatabases(t, u, name, name+"_pgbench") })
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--giftdesk", bin, "--database-url", u.String(), "--data-dir", filepath.Join(dir, "data"),
		"--cases", "300", "--duration", "1s", "--rounds", "1", "--clients", "2", "--approvals", "40", "--bench-dir", "../../bench"},
		&stdout, &stderr)
	if err != nil {
		t.Fatalf("giftdesk-bench: %v\n%s", err, withoutPasswords(stderr.String()))
	}
	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, ok := strings.Cut(line, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			t.Fatalf("not a name=value line with a number: %q", line)
		}
		got[k] = f
	}
	want := []string{"create_per_s", "create_pgbench_tps", "create_ratio", "approve_per_s", "approve_pgbench_tps", "approve_ratio"}
	for _, m := range []string{"list_default", "list_filtered", "list_deep", "account", "case_page", "home",
		"search_ref", "search_email", "search_account", "search_last4", "search_serial", "search_text"} {
		want = append(want, m+"_p95_ms", m+"_sql_p95_ms", m+"_ratio")
	}
	want = append(want, "export_csv_bytes", "export_csv_ms", "export_copy_ms", "export_csv_ratio", "serve_peak_rss_mb")
	for _, k := range want {
		if v, ok := got[k]; !ok || !(v > 0) {
			t.Errorf("%s = %v (present: %v)", k, v, ok)
		}
	}
	if strings.Contains(strings.ToLower(stdout.String()+stderr.String()), "password") {
		t.Error("a password line reached the output")
	}
}

func dropDatabases(t *testing.T, u url.URL, names ...string) {
	u.Path = "/postgres"
	conn, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close(context.Background())
	for _, n := range names {
		if _, err := conn.Exec(context.Background(), fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, pgx.Identifier{n}.Sanitize())); err != nil {
			t.Error(err)
		}
	}
}
