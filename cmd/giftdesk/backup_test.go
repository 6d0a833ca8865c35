package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// ledgerRow is a posting as the backup test compares them.
type ledgerRow struct {
	ID, CorrectionID, AccountID, AmountMinor int64
	Currency                                 string
}

// sealRow is an audit seal as the backup test compares them.
type sealRow struct {
	Seq, EventID int64
	Hash         []byte
}

// busyDesk is a desk with writers that keep creating cases, requesting, approving and reversing
// corrections, sealing the audit chain and folding balance checkpoints until stop is called.
type busyDesk struct {
	db     *gorm.DB
	desk   *cases.Desk
	writes atomic.Int64 // corrections decided so far
	stop   func()
}

func startBusyDesk(t *testing.T, db *gorm.DB, writers int) *busyDesk {
	return startBusyDeskOn(t, db, writers, true)
}

// startBusyDeskOn is startBusyDesk; fresh adds the users (a restored desk has them already), and
// without it the writers name their accounts apart from the first desk's and leave sealing and
// checkpoints to the serve running on the database.
func startBusyDeskOn(t *testing.T, db *gorm.DB, writers int, fresh bool) *busyDesk {
	ctx := context.Background()
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	prefix := "W"
	if fresh {
		for _, u := range []cases.NewUser{{Email: "agent@example.com", Name: "A", Role: cases.RoleAgent},
			{Email: "sup@example.com", Name: "S", Role: cases.RoleSupervisor}} {
			u.Password = "correct horse battery"
			if _, err := desk.AddUser(ctx, cases.CLIActor, u); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		prefix = "R"
	}
	agent, err := desk.PrincipalByEmail(ctx, "agent@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sup, err := desk.PrincipalByEmail(ctx, "sup@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b := &busyDesk{db: db, desk: desk}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	fail := func(what string, err error) {
		if runCtx.Err() == nil {
			t.Errorf("busy desk: %s: %v", what, err)
		}
	}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; runCtx.Err() == nil; i++ {
				face := int64(100000)
				from, to := fmt.Sprintf("%s%dC%dA", prefix, w, i), fmt.Sprintf("%s%dC%dB", prefix, w, i)
				v, _, err := desk.CreateCase(runCtx, agent, cases.CLIActor, cases.NewCase{Type: "wrong_account", Summary: "backup test",
					Customer: cases.AccountInput{AccountID: from, Marketplace: "US"}, IntendedAccount: &cases.AccountInput{AccountID: to, Marketplace: "US"},
					Cards: []cases.CardInput{{Serial: fmt.Sprintf("%s9%03d%06d", prefix, w, i), FaceValueMinor: &face, Currency: "USD", Marketplace: "US",
						Status: "redeemed", RedeemedTo: from}}})
				if err != nil {
					fail("create case", err)
					return
				}
				amount := int64(100 + i%400)
				c, err := desk.RequestCorrection(runCtx, agent, cases.CLIActor, v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount,
					Currency: "USD", FromAccount: from, ToAccount: to, CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "landed on the work account"})
				if err != nil {
					fail("request", err)
					return
				}
				if _, err := desk.ApproveCorrection(runCtx, sup, cases.CLIActor, c.ID, "receipt checked"); err != nil {
					fail("approve", err)
					return
				}
				b.writes.Add(1)
				if i%3 == 0 { // every third is reversed: a reversal pair in the ledger
					r, err := desk.RequestCorrection(runCtx, agent, cases.CLIActor, v.Ref, cases.NewCorrection{Kind: "reversal",
						Reverses: strconv.FormatInt(c.ID, 10), Reason: "customer found it"})
					if err != nil {
						fail("request reversal", err)
						return
					}
					if _, err := desk.ApproveCorrection(runCtx, sup, cases.CLIActor, r.ID, "ok"); err != nil {
						fail("approve reversal", err)
						return
					}
					b.writes.Add(1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // the sealer and the balance checkpoints, as serve runs them
		defer wg.Done()
		for fresh && runCtx.Err() == nil {
			if _, err := desk.SealPass(runCtx); err != nil {
				fail("seal", err)
			}
			if _, err := desk.CheckpointBalances(runCtx); err != nil {
				fail("checkpoint balances", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	b.stop = func() { cancel(); wg.Wait() }
	return b
}

// TestBackupOfABusyDeskRestores backs up a desk while writers run on it, restores the backup into
// a fresh database, serves it with the same master key and finds: the audit chain verifies; every
// balance the API shows is the sum of the restored postings; every applied correction has its two
// postings summing to zero and its approval; everything committed before the backup began is
// there unchanged (postings, seals) and nothing is there that the source does not hold; and
// another master key is refused.
func TestBackupOfABusyDeskRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("backs up and restores a busy desk: skipped with -short")
	}
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			testBackupRestore(t, d, func(t *testing.T, d models.Dialect, file string, _ *gorm.DB) string { return restore(t, d, file) })
		})
	}
	// Disaster recovery restores into another cluster, whose transaction counter may be far behind
	// the source's: the sealer and the balance checkpoints, which compare transaction ids, must
	// still take the restored desk's new events and postings.
	t.Run("postgres into a new cluster", func(t *testing.T) {
		var epoch int64
		file := testBackupRestore(t, models.Postgres, func(t *testing.T, _ models.Dialect, file string, src *gorm.DB) string {
			// As the README says: a cluster made for the restore gets an epoch past the source's ids.
			var stored int64
			modelstest.Scan(t, src, &stored, `SELECT max(xact_id) FROM audit_events`)
			epoch = stored>>32 + 1
			return restoreIntoNewCluster(t, file, epoch)
		})
		// Without the epoch, the desk refuses to start rather than skip new events and postings.
		url := restoreIntoNewCluster(t, file, 0)
		c := newCLI(t, url)
		c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
		oneLineError(t, c.run("", "serve", "--addr", "127.0.0.1:0"), 1, fmt.Sprintf("pg_resetwal --epoch=%d", epoch))
		oneLineError(t, c.run("", "audit", "verify"), 1, "restored from another cluster")
	})
}

// testBackupRestore runs the test on one database, restoring with restore; it returns the backup.
func testBackupRestore(t *testing.T, d models.Dialect, restore func(t *testing.T, d models.Dialect, file string, src *gorm.DB) string) string {
	ctx := context.Background()
	dir := t.TempDir()
	srcURL := modelstest.URL(t, d)
	src, err := models.Open(ctx, models.Options{URL: srcURL, MaxOpenConns: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(src)
	if d == models.SQLite {
		if err := models.Migrate(ctx, src, modelstest.Fingerprint); err != nil {
			t.Fatal(err)
		}
	}
	busy := startBusyDesk(t, src, 3)
	defer busy.stop()
	waitFor(t, time.Minute, "the first decisions", func() bool { return busy.writes.Load() >= 20 })

	// What committed before the backup began must be in it, unchanged.
	var before []ledgerRow
	modelstest.Scan(t, src, &before, `SELECT id, correction_id, account_id, amount_minor, currency FROM postings ORDER BY id`)
	var sealsBefore []sealRow
	modelstest.Scan(t, src, &sealsBefore, `SELECT seq, event_id, hash FROM audit_seals ORDER BY seq`)
	writesAtStart := busy.writes.Load()

	file := filepath.Join(dir, "giftdesk.backup")
	backup := newCLI(t, srcURL)
	backup.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
	r := backup.run("", "backup", "--to", file)
	writesDuring := busy.writes.Load() - writesAtStart
	if r.code != 0 {
		t.Fatalf("backup exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "master key (GIFTDESK_SECRET_KEY, fingerprint "+modelstest.Fingerprint) {
		t.Fatalf("backup does not say to keep the master key with it: %s", r.stderr)
	}
	assertNoSecrets(t, r.stdout+r.stderr, srcURL)
	assertNoSecrets(t, readFile(t, file), srcURL)
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v (want 0600: it holds customer data)", err, st.Mode())
	}
	time.Sleep(200 * time.Millisecond) // writes go on after the backup too
	busy.stop()
	t.Logf("%s: %d decisions before the backup, %d while it ran, %d in all; %d postings and %d seals committed before it",
		d, writesAtStart, writesDuring, busy.writes.Load(), len(before), len(sealsBefore))

	restoredURL := restore(t, d, file, src)
	dst, err := models.Open(ctx, models.Options{URL: restoredURL})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(dst)
	var after []ledgerRow
	modelstest.Scan(t, dst, &after, `SELECT id, correction_id, account_id, amount_minor, currency FROM postings ORDER BY id`)
	var sealsAfter []sealRow
	modelstest.Scan(t, dst, &sealsAfter, `SELECT seq, event_id, hash FROM audit_seals ORDER BY seq`)
	var sourceNow []ledgerRow
	modelstest.Scan(t, src, &sourceNow, `SELECT id, correction_id, account_id, amount_minor, currency FROM postings ORDER BY id`)

	// Everything committed before the backup began is restored unchanged.
	restored := map[int64]ledgerRow{}
	for _, p := range after {
		restored[p.ID] = p
	}
	for _, p := range before {
		if restored[p.ID] != p {
			t.Fatalf("posting %+v, committed before the backup began, is restored as %+v", p, restored[p.ID])
		}
	}
	if len(sealsAfter) < len(sealsBefore) || !reflect.DeepEqual(sealsAfter[:len(sealsBefore)], sealsBefore) {
		t.Fatalf("the %d seals chained before the backup began are not restored as they were (%d restored)", len(sealsBefore), len(sealsAfter))
	}
	// Nothing is restored that the source does not hold.
	source := map[int64]ledgerRow{}
	for _, p := range sourceNow {
		source[p.ID] = p
	}
	for _, p := range after {
		if source[p.ID] != p {
			t.Fatalf("restored posting %+v is not the source's %+v", p, source[p.ID])
		}
	}
	serveEnv := newCLI(t, restoredURL)
	serveEnv.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
	token := readToken(t, restoredURL)
	addr, stopServe := serveInProcess(t, serveEnv)

	// The restored desk works: new cases and corrections, sealed and folded by the restored serve.
	again := startBusyDeskOn(t, dst, 1, false)
	waitFor(t, time.Minute, "decisions on the restored desk", func() bool { return again.writes.Load() >= 5 })
	again.stop()

	// The restored desk seals what the backup caught unsealed and what it wrote since; then the
	// chain verifies.
	waitFor(t, time.Minute, "the restored desk to chain every event", func() bool {
		return modelstest.Count(t, dst, `SELECT count(*) FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)`) == 0
	})
	verify := serveEnv.run("", "audit", "verify")
	if verify.code != 0 {
		t.Fatalf("audit verify on the restored desk: %+v", verify)
	}

	// The restored ledger is whole: applied corrections with their two postings summing to zero
	// and their approval, no posting of an undecided one, reversals paired.
	for _, q := range []struct{ what, sql string }{
		{"applied or reversed corrections without exactly two postings summing to zero", `SELECT count(*) FROM corrections c WHERE c.status IN ('applied','reversed')
			AND ((SELECT count(*) FROM postings p WHERE p.correction_id = c.id) <> 2 OR (SELECT sum(amount_minor) FROM postings p WHERE p.correction_id = c.id) <> 0)`},
		{"postings of corrections that are not applied", `SELECT count(*) FROM postings p JOIN corrections c ON c.id = p.correction_id
			WHERE c.status NOT IN ('applied','reversed')`},
		{"applied corrections with fewer approvals than they need", `SELECT count(*) FROM corrections c WHERE c.status IN ('applied','reversed')
			AND (SELECT count(*) FROM correction_approvals a WHERE a.correction_id = c.id) < c.required_approvals`},
		{"reversed corrections without their applied reversal", `SELECT count(*) FROM corrections c WHERE c.status = 'reversed'
			AND NOT EXISTS (SELECT 1 FROM corrections r WHERE r.reverses_id = c.id AND r.status = 'applied')`},
		{"applied reversals whose original is not reversed", `SELECT count(*) FROM corrections r JOIN corrections c ON c.id = r.reverses_id
			WHERE r.status = 'applied' AND c.status <> 'reversed'`},
	} {
		if n := modelstest.Count(t, dst, q.sql); n != 0 {
			t.Errorf("restored desk: %d %s", n, q.what)
		}
	}
	// Every account's balance, as the API shows it, is the sum of its restored postings.
	type sum struct {
		AccountID string
		Currency  string
		Total     int64
	}
	var sums []sum
	modelstest.Scan(t, dst, &sums, `SELECT a.account_id, p.currency, sum(p.amount_minor) AS total FROM postings p
		JOIN customer_accounts a ON a.id = p.account_id GROUP BY a.account_id, p.currency ORDER BY a.account_id`)
	want := map[string]map[string]int64{}
	for _, s := range sums {
		if want[s.AccountID] == nil {
			want[s.AccountID] = map[string]int64{}
		}
		want[s.AccountID][s.Currency] = s.Total
	}
	if len(want) < 20 {
		t.Fatalf("only %d accounts have postings: the desk was not busy", len(want))
	}
	for account, balances := range want {
		got := accountBalances(t, addr, token, account)
		if !reflect.DeepEqual(got, balances) {
			t.Fatalf("account %s: the restored API shows %v, its postings sum to %v", account, got, balances)
		}
	}
	stopServe()

	// Another master key is refused (SPEC 4.1): claim-code look-ups would silently miss.
	other := newCLI(t, restoredURL)
	other.vars["GIFTDESK_SECRET_KEY"] = strings.Repeat("ab", 32)
	oneLineError(t, other.run("", "serve", "--addr", "127.0.0.1:0"), 1, "master key")
	t.Logf("%s: restored %d postings (%d committed before the backup began), %d seals, %d accounts with balances; audit verify: %s",
		d, len(after), len(before), len(sealsAfter), len(want), strings.TrimSpace(verify.stdout+verify.stderr))
	return file
}

// restore puts a backup into a fresh database as the README says and returns its URL: SQLite, the
// file copied into place; PostgreSQL, pg_restore into a new empty database.
func restore(t *testing.T, d models.Dialect, file string) string {
	t.Helper()
	if d == models.SQLite {
		path := filepath.Join(t.TempDir(), "restored.db")
		if err := os.WriteFile(path, []byte(readFile(t, file)), 0o600); err != nil {
			t.Fatal(err)
		}
		return "sqlite:" + path
	}
	url := modelstest.EmptyURL(t, models.Postgres)
	pgDump := findPgDump()
	if pgDump == "" {
		t.Fatal("pg_dump is not installed: the PostgreSQL backup cannot be tested")
	}
	conn, password, err := pgDumpConnection(url)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(filepath.Dir(pgDump), "pg_restore"), "--no-owner", "--exit-on-error", "--dbname="+conn, file)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, out)
	}
	return url
}

// restoreIntoNewCluster restores a PostgreSQL backup into a database of a throwaway cluster just
// made, whose transaction counter starts far below the shared cluster's.
func restoreIntoNewCluster(t *testing.T, file string, epoch int64) string {
	t.Helper()
	conf := modelstest.StartClusterAtEpoch(t, epoch).Config()
	admin, err := models.Open(context.Background(), models.Options{URL: conf.URL()})
	if err != nil {
		t.Fatal(err)
	}
	modelstest.Exec(t, admin, `CREATE DATABASE restored`)
	if err := models.Close(admin); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%s/restored?sslmode=disable", conf.Port)
	pgDump := findPgDump()
	if pgDump == "" {
		t.Fatal("pg_dump is not installed: the PostgreSQL backup cannot be tested")
	}
	cmd := exec.Command(filepath.Join(filepath.Dir(pgDump), "pg_restore"), "--no-owner", "--exit-on-error", "--dbname="+url, file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, out)
	}
	return url
}

// readToken creates an API token on the restored desk, through its own master key.
func readToken(t *testing.T, url string) string {
	t.Helper()
	db, err := models.Open(context.Background(), models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	raw, _, err := desk.CreateToken(context.Background(), cases.CLIActor, cases.NewToken{Email: "sup@example.com", Name: "restore check",
		Scopes: []cases.Scope{cases.ScopeCasesRead}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// serveInProcess runs `giftdesk serve` on a free port until the returned stop is called; it
// checks that serve then exits 0. Its standard error (which may hold a password) is not printed.
func serveInProcess(t *testing.T, c *cli) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, &env{
			getenv: func(k string) string { return c.vars[k] }, stdin: strings.NewReader(""),
			stdout: io.Discard, stderr: &errb, ready: func(a string) { addrc <- a },
		})
	}()
	select {
	case addr := <-addrc:
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				select {
				case code := <-done:
					if code != 0 {
						t.Errorf("serve on the restored desk exited %d", code)
					}
				case <-time.After(30 * time.Second):
					t.Error("serve on the restored desk did not stop")
				}
			})
		}
		t.Cleanup(stop) // before the database is dropped, also when the test fails
		return addr, stop
	case code := <-done:
		cancel()
		t.Fatalf("serve on the restored desk exited %d at start", code)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve on the restored desk did not start")
	}
	return "", nil
}

// accountBalances reads an account's balances through the API.
func accountBalances(t *testing.T, addr, token, account string) map[string]int64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/accounts/"+account, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Balances map[string]int64 `json:"balances"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET account %s: %s", account, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Balances
}

// assertNoSecrets: neither the master key nor the database password shows in s.
func assertNoSecrets(t *testing.T, s, databaseURL string) {
	t.Helper()
	if strings.Contains(s, fmt.Sprintf("%x", modelstest.MasterKey)) {
		t.Fatal("the master key shows in the backup or its output")
	}
	if _, password, err := pgDumpConnection(databaseURL); err == nil && password != "" && strings.Contains(s, password) {
		t.Fatal("the database password shows in the backup's output")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBackupCommandRefusals: the command's mistakes are one line each; an existing file is never
// replaced; without pg_dump the command to run is printed, without the password, and it fails.
func TestBackupCommandRefusals(t *testing.T) {
	c := newCLI(t, "")
	oneLineError(t, c.run("", "backup"), 2, "--to FILE is required")
	oneLineError(t, c.run("", "backup", "--to"), 2, "flag needs an argument")
	oneLineError(t, c.run("", "backup", "--to", "x", "extra"), 2, "unexpected argument")
	oneLineError(t, c.run("", "backup", "--to", filepath.Join(t.TempDir(), "x")), 1, "no SQLite database")

	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			url := modelstest.URL(t, d)
			if d == models.SQLite {
				db, err := models.Open(context.Background(), models.Options{URL: url})
				if err != nil {
					t.Fatal(err)
				}
				if err := models.Migrate(context.Background(), db, modelstest.Fingerprint); err != nil {
					t.Fatal(err)
				}
				models.Close(db)
			}
			c := newCLI(t, url)
			existing := filepath.Join(t.TempDir(), "taken")
			if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
			oneLineError(t, c.run("", "backup", "--to", existing), 1, "already exists")
			if readFile(t, existing) != "keep me" {
				t.Fatal("the existing file was changed")
			}
			if d != models.Postgres {
				return
			}
			hidden := findPgDump
			findPgDump = func() string { return "" }
			defer func() { findPgDump = hidden }()
			target := filepath.Join(t.TempDir(), "b.dump")
			r := c.run("", "backup", "--to", target)
			oneLineError(t, r, 1, "pg_dump is not installed")
			if !strings.HasPrefix(r.stdout, "pg_dump --format=custom --file='"+target+"' --dbname='postgres://") {
				t.Fatalf("the command to run is not printed: %q", r.stdout)
			}
			assertNoSecrets(t, r.stdout+r.stderr, url)
			if _, err := os.Stat(target); err == nil {
				t.Fatal("a failed backup left its file")
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "*")); len(left) > 0 {
				t.Fatalf("a failed backup left %v", left)
			}
		})
	}
}
