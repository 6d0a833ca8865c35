package cases_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
)

// TestSearchLatencyAgainstPgbench measures each shape of q on a seeded PostgreSQL database
// (BENCHMARKS.md section 13), interleaved with pgbench running the very statement the desk sent,
// same values, one client, unnamed as the desk sends it (-M extended). It runs only when
// GIFTDESK_SEARCH_BENCH_URL names such a database (giftdesk seed --cases 1000000, which ends with
// ANALYZE):
//
//	GIFTDESK_SEARCH_BENCH_URL='postgres://postgres@127.0.0.1:5432/DB?sslmode=disable' \
//	  go test -run TestSearchLatencyAgainstPgbench -v -timeout 10m ./cases/
//
// For each shape, 20 values sampled from the data; two rounds of 3 s desk, 3 s pgbench. It prints
// one name=value line per figure: the search statement through models.ListCases (stmt), the whole
// use case cases.ListCases (list: the search, the page's accounts and assignees), pgbench.
func TestSearchLatencyAgainstPgbench(t *testing.T) {
	url := os.Getenv("GIFTDESK_SEARCH_BENCH_URL")
	if url == "" {
		t.Skip("set GIFTDESK_SEARCH_BENCH_URL to a seeded PostgreSQL database")
	}
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	sample := func(query string) []string {
		t.Helper()
		var out []string
		if err := db.Raw(query).Scan(&out).Error; err != nil || len(out) == 0 {
			t.Fatalf("%s: %v (%d)", query, err, len(out))
		}
		return out
	}
	const n = "20"
	shapes := []struct{ name, query string }{
		{"ref", `SELECT lower(ref) FROM cases WHERE id IN (SELECT (random() * 999999)::int + 1 FROM generate_series(1, ` + n + `))`},
		{"ref_number", `SELECT ltrim(substr(ref, 4), '0') FROM cases WHERE id IN (SELECT (random() * 999999)::int + 1 FROM generate_series(1, ` + n + `))`},
		{"email", `SELECT upper(email) FROM customer_accounts WHERE email IS NOT NULL AND id IN (SELECT (random() * 600000)::int + 1 FROM generate_series(1, 40)) LIMIT ` + n},
		{"email_prefix", `SELECT split_part(email, '@', 1) || '@' FROM customer_accounts WHERE email IS NOT NULL AND id IN (SELECT (random() * 600000)::int + 1 FROM generate_series(1, 40)) LIMIT ` + n},
		{"account", `SELECT lower(account_id) FROM customer_accounts WHERE account_id LIKE 'A%' AND id IN (SELECT (random() * 600000)::int + 1 FROM generate_series(1, 40)) LIMIT ` + n},
		{"last4", `SELECT lower(claim_code_last4) FROM gift_cards WHERE claim_code_last4 IS NOT NULL AND id IN (SELECT (random() * 700000)::int + 1 FROM generate_series(1, 40)) LIMIT ` + n},
		{"serial", `SELECT serial FROM gift_cards WHERE serial IS NOT NULL AND id IN (SELECT (random() * 700000)::int + 1 FROM generate_series(1, 40)) LIMIT ` + n},
		{"serial_miss", `SELECT ((random() * 7e7)::bigint + 2e7)::text FROM generate_series(1, ` + n + `)`},
		{"text", `SELECT split_part(email, '.', 1) || ' ' || split_part(split_part(email, '@', 1), '.', 2) FROM customer_accounts
			WHERE email LIKE '%.%@%' AND id IN (SELECT (random() * 600000)::int + 1 FROM generate_series(1, 40)) LIMIT ` + n},
	}
	capture := &sqlCapture{Interface: logger.Discard}
	captured := db.Session(&gorm.Session{Logger: capture})
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	p := cases.Principal{UserID: 1, Role: cases.RoleAgent, Scopes: []cases.Scope{cases.ScopeCasesRead}}
	dir := t.TempDir()
	for _, sh := range shapes {
		qs := sample(sh.query)
		// The statement of each q as the desk sends it, values in place, for pgbench.
		script := "\\set k random(0, " + fmt.Sprint(len(qs)-1) + ")\n"
		filters := make([]models.CaseFilter, len(qs))
		for i, q := range qs {
			_, s, err := cases.SearchFor(q)
			if err != nil {
				t.Fatal(err)
			}
			filters[i] = models.CaseFilter{Search: s, Limit: cases.DefaultPageLimit + 1}
			capture.last = ""
			if _, err := models.ListCases(ctx, captured, filters[i]); err != nil {
				t.Fatal(err)
			}
			kw := "\\elif"
			if i == 0 {
				kw = "\\if"
			}
			script += kw + " :k = " + fmt.Sprint(i) + "\n" + strings.ReplaceAll(capture.last, "\n", " ") + ";\n"
		}
		script += "\\endif\n"
		file := filepath.Join(dir, sh.name+".sql")
		if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		var stmt, list, bench []time.Duration
		for round := 0; round < 2; round++ {
			for end, i := time.Now().Add(3*time.Second), 0; time.Now().Before(end); i++ {
				start := time.Now()
				if _, err := models.ListCases(ctx, db, filters[i%len(filters)]); err != nil {
					t.Fatal(err)
				}
				stmt = append(stmt, time.Since(start))
				start = time.Now()
				if _, err := desk.ListCases(ctx, p, cases.CaseQuery{Q: qs[i%len(qs)]}); err != nil {
					t.Fatal(err)
				}
				list = append(list, time.Since(start))
			}
			bench = append(bench, pgbench(t, url, file, dir, sh.name, round)...)
		}
		fmt.Printf("search_%s_stmt_p50_ms=%.2f search_%s_stmt_p95_ms=%.2f search_%s_list_p95_ms=%.2f search_%s_pgbench_p50_ms=%.2f search_%s_pgbench_p95_ms=%.2f search_%s_ratio_p95=%.2f\n",
			sh.name, pct(stmt, 50), sh.name, pct(stmt, 95), sh.name, pct(list, 95), sh.name, pct(bench, 50), sh.name, pct(bench, 95),
			sh.name, pct(stmt, 95)/pct(bench, 95))
	}
}

// pgbench runs file for 3 s on one client and returns each transaction's latency from its log.
func pgbench(t *testing.T, url, file, dir, name string, round int) []time.Duration {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, fmt.Sprintf("pgb_%s_%d", name, round))
	cmd := exec.Command("pgbench", "-h", cfg.Host, "-p", fmt.Sprint(cfg.Port), "-U", cfg.User, "-n", "-c", "1", "-T", "3",
		"-M", "extended", "-f", file, "-l", "--log-prefix="+prefix, cfg.Database)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	logs, _ := filepath.Glob(prefix + "*")
	var out []time.Duration
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var client, tx, us int64
			if _, err := fmt.Sscan(line, &client, &tx, &us); err == nil {
				out = append(out, time.Duration(us)*time.Microsecond)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("pgbench %s: no transactions logged", name)
	}
	return out
}

func pct(d []time.Duration, p int) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[(len(s)-1)*p/100]) / float64(time.Millisecond)
}

// sqlCapture keeps the last statement with its values in place. The search's first argument is
// pgx's QueryExecMode, not a value of the statement: ParamsFilter drops it before gorm renders.
type sqlCapture struct {
	logger.Interface
	last string
}

func (c *sqlCapture) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	c.last, _ = fc()
}

func (c *sqlCapture) LogMode(logger.LogLevel) logger.Interface { return c }

func (c *sqlCapture) ParamsFilter(_ context.Context, sql string, params ...any) (string, []any) {
	if len(params) > 0 {
		if _, ok := params[0].(pgx.QueryExecMode); ok {
			params = params[1:]
		}
	}
	return sql, params
}
