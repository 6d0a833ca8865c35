package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// measure is one row of the table: desk runs interleaved with their pgbench baseline.
type measure struct {
	name string
	run  func(ctx context.Context, b *bench, out *results) error
}

var measures = []measure{
	{"create", measureCreate},
	{"approve", measureApprove},
	{"list", measureList},
	{"search", measureSearch},
	{"account", measureAccount},
	{"export", measureExport},
	{"case_page", measureCasePage},
	{"home", measureHome},
}

func measureNames() []string {
	var out []string
	for _, m := range measures {
		out = append(out, m.name)
	}
	return out
}

// measureCreate: POST /api/v1/cases from --clients clients against pgbench writing the same rows
// in one transaction (bench/case_create_tx.sql) with as many clients, on the baseline database.
func measureCreate(ctx context.Context, b *bench, out *results) error {
	run := runID()
	var seq atomic.Int64
	var desk, db []float64
	for range b.c.rounds {
		rate, err := throughput(ctx, b.c.clients, b.c.duration, func(int) error {
			n := seq.Add(1)
			_, err := b.api(ctx, b.agent, http.MethodPost, "/api/v1/cases", caseBody(run, n), http.StatusCreated)
			return err
		})
		if err != nil {
			return err
		}
		desk = append(desk, rate)
		r, err := b.pgbench(ctx, b.baseURL, "case_create_tx.sql", b.c.clients, nil)
		if err != nil {
			return err
		}
		db = append(db, r.tps)
	}
	putRate(out, "create", desk, db)
	return nil
}

// measureApprove: single approvals of pending transfers, each on its own card, by --clients
// supervisors, against pgbench running the same statements (bench/approve.sql) on transfers
// bench/approve_setup.sql prepares in the baseline database.
func measureApprove(ctx context.Context, b *bench, out *results) error {
	if _, err := b.psqlFile(ctx, b.baseURL, "approve_setup.sql"); err != nil {
		return err
	}
	run := runID()
	var desk, db []float64
	for round := range b.c.rounds {
		want := b.c.approvals
		if want <= 0 {
			want = int(500 * b.c.duration.Seconds())
		}
		ids, err := b.pendingTransfers(ctx, fmt.Sprintf("%s-%d", run, round), want)
		if err != nil {
			return err
		}
		queue := make(chan string, len(ids))
		for _, id := range ids {
			queue <- id
		}
		close(queue)
		rate, err := throughput(ctx, b.c.clients, b.c.duration, func(client int) error {
			id, ok := <-queue
			if !ok {
				return errDrained
			}
			_, err := b.api(ctx, b.decide[client], http.MethodPost, "/api/v1/corrections/"+id+"/approve", []byte(`{"note": "bench"}`), http.StatusOK)
			return err
		})
		if err != nil {
			return err
		}
		desk = append(desk, rate)
		r, err := b.pgbench(ctx, b.baseURL, "approve.sql", b.c.clients, nil)
		if err != nil {
			return err
		}
		db = append(db, r.tps)
	}
	putRate(out, "approve", desk, db)
	return nil
}

// pendingTransfers creates n cases, each with a card redeemed on the wrong account, and a
// transfer of part of it requested by the agent, through the API; it returns the corrections' ids.
func (b *bench) pendingTransfers(ctx context.Context, run string, n int) ([]string, error) {
	ids := make([]string, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range b.c.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				id, err := b.pendingTransfer(ctx, run, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				ids[i] = id
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}

func (b *bench) pendingTransfer(ctx context.Context, run string, i int64) (string, error) {
	body, err := b.api(ctx, b.agent, http.MethodPost, "/api/v1/cases", caseBody(run+"a", i), http.StatusCreated)
	if err != nil {
		return "", err
	}
	var c struct {
		Ref   string `json:"ref"`
		Cards []struct {
			ID string `json:"id"`
		} `json:"cards"`
	}
	if err := json.Unmarshal(body, &c); err != nil || len(c.Cards) == 0 {
		return "", fmt.Errorf("case answer without a card: %v", err)
	}
	req := fmt.Sprintf(`{"kind": "transfer", "amount_minor": 2500, "currency": "USD", "from_account": "CUST%s%d",
		"to_account": "HOME%s%d", "card_id": %q, "reason": "bench: redeemed on the wrong account"}`, run+"a", i%100, run+"a", i%100, c.Cards[0].ID)
	body, err = b.api(ctx, b.agent, http.MethodPost, "/api/v1/cases/"+c.Ref+"/corrections", []byte(req), http.StatusCreated)
	if err != nil {
		return "", err
	}
	var k struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &k); err != nil || k.ID == "" {
		return "", fmt.Errorf("correction answer without an id: %v", err)
	}
	return k.ID, nil
}

// measureList: p95 of one page of GET /api/v1/cases (default, filtered, and a deep keyset page,
// 50 pages of 100 down), one client, against the same statements with the same values in pgbench
// (bench/list_page.sql).
func measureList(ctx context.Context, b *bench, out *results) error {
	// 50 pages down, or half the desk on a small one.
	cursor, before, err := b.deepCursor(ctx, max(1, min(50, b.c.cases/200)))
	if err != nil {
		return err
	}
	pages := []struct {
		name, query, where string
		page               int
	}{
		{"list_default", "", "", 1},
		{"list_filtered", "status=investigating&type=wrong_account", "WHERE status = 'investigating' AND type = 'wrong_account'", 2},
		{"list_deep", "cursor=" + url.QueryEscape(cursor), fmt.Sprintf("WHERE id < %d", before), 3},
	}
	hash, err := b.tokenHash(ctx)
	if err != nil {
		return err
	}
	for _, p := range pages {
		var accounts, users string
		if err := b.db.QueryRow(ctx, `SELECT COALESCE(array_agg(DISTINCT customer_account_id)::text, '{}'),
			COALESCE((array_agg(DISTINCT assignee_id) FILTER (WHERE assignee_id IS NOT NULL))::text, '{}')
			FROM (SELECT * FROM cases `+p.where+` ORDER BY id DESC LIMIT 51) page`).Scan(&accounts, &users); err != nil {
			return err
		}
		vars := map[string]string{"token_hash": hash, "page": strconv.Itoa(p.page), "before": strconv.FormatInt(before, 10),
			"accounts": accounts, "users": users}
		if err := b.latencyPair(ctx, out, p.name, "/api/v1/cases?"+p.query, "list_page.sql", vars); err != nil {
			return err
		}
	}
	return nil
}

// deepCursor follows the desk's own cursors down pages of 100 cases and returns the cursor of the
// next page and the smallest case id above it.
func (b *bench) deepCursor(ctx context.Context, pages int) (string, int64, error) {
	cursor := ""
	var lowest int64
	for range pages {
		body, err := b.api(ctx, b.agent, http.MethodGet, "/api/v1/cases?limit=100&cursor="+url.QueryEscape(cursor), nil, http.StatusOK)
		if err != nil {
			return "", 0, err
		}
		var page struct {
			Items []struct {
				Ref string `json:"ref"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return "", 0, err
		}
		if page.NextCursor == nil || len(page.Items) == 0 {
			return "", 0, errors.New("the desk has fewer cases than the deep page needs")
		}
		cursor = *page.NextCursor
		if err := b.db.QueryRow(ctx, `SELECT id FROM cases WHERE ref = $1`, page.Items[len(page.Items)-1].Ref).Scan(&lowest); err != nil {
			return "", 0, err
		}
	}
	return cursor, lowest, nil
}

// measureAccount: p95 of GET /api/v1/accounts/system:goodwill, the account with the most
// postings, against the same statements in pgbench (bench/account_page.sql).
func measureAccount(ctx context.Context, b *bench, out *results) error {
	hash, err := b.tokenHash(ctx)
	if err != nil {
		return err
	}
	var postings int64
	if err := b.db.QueryRow(ctx, `SELECT COUNT(*) FROM postings p JOIN customer_accounts a ON a.id = p.account_id WHERE a.account_id = 'system:goodwill'`).Scan(&postings); err != nil {
		return err
	}
	out.put("account_postings", "%d", postings)
	return b.latencyPair(ctx, out, "account", "/api/v1/accounts/system:goodwill", "account_page.sql",
		map[string]string{"token_hash": hash, "account": "system:goodwill"})
}

// measureExport: GET /api/v1/export/cases.csv of every case against PostgreSQL's COPY of the
// same rows and columns (bench/export_csv_copy.sql), through psql.
func measureExport(ctx context.Context, b *bench, out *results) error {
	var desk, db []float64
	var bytesOut int64
	for range b.c.rounds {
		start := time.Now()
		n, err := b.apiStream(ctx, b.agent, "/api/v1/export/cases.csv")
		if err != nil {
			return err
		}
		desk = append(desk, time.Since(start).Seconds())
		bytesOut = n
		start = time.Now()
		if _, err := b.psqlFile(ctx, b.c.databaseURL, "export_csv_copy.sql"); err != nil {
			return err
		}
		db = append(db, time.Since(start).Seconds())
	}
	out.put("export_csv_bytes", "%d", bytesOut)
	out.put("export_csv_ms", "%.1f", 1000*median(desk))
	out.put("export_copy_ms", "%.1f", 1000*median(db))
	out.put("export_csv_ratio", "%.2f", median(db)/median(desk))
	return nil
}

// latencyPair measures p95 of a desk API GET and of its pgbench script, interleaved, one client each.
func (b *bench) latencyPair(ctx context.Context, out *results, name, path, script string, vars map[string]string) error {
	return b.pagePair(ctx, out, name, func() error {
		_, err := b.api(ctx, b.agent, http.MethodGet, path, nil, http.StatusOK)
		return err
	}, script, vars)
}

// jsonField is one string field of a JSON object ("" when absent).
func jsonField(body []byte, name string) string {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s, _ := m[name].(string)
	return s
}

func putRate(out *results, name string, desk, db []float64) {
	out.put(name+"_per_s", "%.0f", median(desk))
	out.put(name+"_pgbench_tps", "%.0f", median(db))
	out.put(name+"_ratio", "%.2f", median(desk)/median(db))
}

// tokenHash is the agent's token as the desk stores it, for the pgbench scripts' look-up.
func (b *bench) tokenHash(ctx context.Context) (string, error) {
	var h []byte
	err := b.db.QueryRow(ctx, `SELECT secret_hash FROM api_tokens WHERE id = $1`, b.tokenIDs[0]).Scan(&h)
	return `\x` + hex.EncodeToString(h), err
}

// errDrained ends a throughput run early: the work prepared for it is done.
var errDrained = errors.New("drained")

// throughput runs fn from n clients for d and returns completed calls per second. A call's error
// fails the run, but errDrained, which ends that client.
func throughput(ctx context.Context, n int, d time.Duration, fn func(client int) error) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	var last atomic.Int64
	for client := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				err := fn(client)
				if errors.Is(err, errDrained) {
					return
				}
				if err != nil {
					if ctx.Err() != nil {
						return // cut off by the end of the run
					}
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				done.Add(1)
				last.Store(int64(time.Since(start)))
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	elapsed := time.Duration(last.Load())
	if elapsed <= 0 || done.Load() == 0 {
		return 0, errors.New("no call completed")
	}
	return float64(done.Load()) / elapsed.Seconds(), nil
}

// latencyP95 calls fn one after the other for d and returns the 95th percentile, in ms.
func latencyP95(ctx context.Context, d time.Duration, fn func() error) (float64, error) {
	var ms []float64
	end := time.Now().Add(d)
	for time.Now().Before(end) || len(ms) < 20 {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	return percentile(ms, 0.95), nil
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)]
}

func median(v []float64) float64 { return percentile(v, 0.5) }

// api sends one request with a token and returns the body, failing unless the status is want.
func (b *bench) api(ctx context.Context, token, method, path string, body []byte, want int) ([]byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.serve.addr+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d: %.300s", method, path, resp.StatusCode, got)
	}
	return got, nil
}

// apiStream GETs path and counts the bytes of the answer without keeping them.
func (b *bench) apiStream(ctx context.Context, token, path string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.serve.addr+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return io.Copy(io.Discard, resp.Body)
}

// pgbenchResult is one pgbench run: transactions per second and the 95th percentile latency.
type pgbenchResult struct {
	tps, p95ms float64
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench runs bench/<script> against dbURL for the measure's duration with clients clients and
// variables vars (-D), prepared statements as the desk's driver uses them, and logs each
// transaction's latency for the percentile.
func (b *bench) pgbench(ctx context.Context, dbURL, script string, clients int, vars map[string]string) (pgbenchResult, error) {
	return b.pgbenchMode(ctx, dbURL, script, clients, vars, "prepared")
}

// pgbenchMode is pgbench with its query mode (-M); a script given by an absolute path is used as
// it is, any other is read from --bench-dir.
func (b *bench) pgbenchMode(ctx context.Context, dbURL, script string, clients int, vars map[string]string, mode string) (pgbenchResult, error) {
	if !filepath.IsAbs(script) {
		script = filepath.Join(b.c.benchDir, script)
	}
	dir, err := os.MkdirTemp("", "giftdesk-bench-pgbench-")
	if err != nil {
		return pgbenchResult{}, err
	}
	defer os.RemoveAll(dir)
	args := append(connArgs(dbURL), "-n", "-M", mode, "-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(clients, 2)),
		"-T", strconv.Itoa(int(b.c.duration.Seconds())), "--log", "--log-prefix", filepath.Join(dir, "log"),
		"-f", script)
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, "-D", k+"="+vars[k])
	}
	cmd := exec.CommandContext(ctx, b.c.pgbench, append(args, dbName(dbURL))...)
	// The desk's sessions run with JIT off (models.postgresDSN); pgbench's must too, or a baseline
	// statement can spend longer compiling than the desk's spends running.
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c jit=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return pgbenchResult{}, fmt.Errorf("pgbench %s: %w: %.500s", script, err, stderr.String())
	}
	m := tpsLine.FindStringSubmatch(stdout.String())
	if m == nil {
		return pgbenchResult{}, fmt.Errorf("pgbench %s: no tps in its output: %.500s", script, stdout.String())
	}
	var r pgbenchResult
	r.tps, _ = strconv.ParseFloat(m[1], 64)
	logs, _ := filepath.Glob(filepath.Join(dir, "log*"))
	var ms []float64
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			return r, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// client_id transaction_no time script_no time_epoch time_us: time is the latency in µs.
			fields := strings.Fields(sc.Text())
			if len(fields) >= 3 {
				if us, err := strconv.ParseFloat(fields[2], 64); err == nil {
					ms = append(ms, us/1000)
				}
			}
		}
		f.Close()
	}
	r.p95ms = percentile(ms, 0.95)
	return r, nil
}

// psqlFile runs bench/<script> with psql against dbURL, output discarded but counted.
func (b *bench) psqlFile(ctx context.Context, dbURL, script string) (int64, error) {
	psql := filepath.Join(filepath.Dir(b.c.pgbench), "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	cmd := exec.CommandContext(ctx, psql, append(connArgs(dbURL), "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-f", filepath.Join(b.c.benchDir, script), dbName(dbURL))...)
	var cw countWriter
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &cw, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("psql %s: %w: %.500s", script, err, stderr.String())
	}
	return cw.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// connArgs are pgbench's and psql's host, port and user flags for dbURL.
func connArgs(dbURL string) []string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil
	}
	var args []string
	if h := u.Hostname(); h != "" {
		args = append(args, "-h", h)
	}
	if p := u.Port(); p != "" {
		args = append(args, "-p", p)
	}
	if n := u.User.Username(); n != "" {
		args = append(args, "-U", n)
	}
	return args
}

func dbName(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// caseBody is a creation as a ticketing system sends it (BENCHMARKS.md section 3): a
// wrong_account case, two accounts among 100 of the run, one new card, an external reference.
func caseBody(run string, n int64) []byte {
	return []byte(fmt.Sprintf(`{"type": "wrong_account", "summary": "Redeemed on work account",
 "description": "The customer redeemed the card on the work account by mistake.",
 "customer": {"account_id": "CUST%[1]s%[2]d", "marketplace": "US", "email": "pat%[2]d@example.com", "name": "Pat Doe"},
 "intended_account": {"account_id": "HOME%[1]s%[2]d", "marketplace": "US"},
 "cards": [{"claim_code": "%[3]s", "face_value_minor": 5000, "currency": "USD", "marketplace": "US",
            "status": "redeemed", "redeemed_to": "CUST%[1]s%[2]d", "redeemed_at": "2026-11-20T10:00:00Z"}],
 "external": {"system": "zendesk", "id": "B%[1]s%[4]d"}, "tags": ["phone"]}`, run, n%100, claimCode(run, n), n))
}

// runID is six letters and digits that tell this run's rows from an earlier run's.
func runID() string {
	return fmt.Sprintf("%06s", strconv.FormatInt(time.Now().UnixNano()/1e6%2176782336, 36))
}

// claimCode is a code unique to the run and n: letters and digits as the desk accepts them.
func claimCode(run string, n int64) string {
	return strings.ToUpper(fmt.Sprintf("BN%s%09d", run, n))
}
