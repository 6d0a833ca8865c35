package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestKilledServerLeavesNoHalfAppliedCorrection starts the real binary on PostgreSQL, sends thirty
// concurrent approvals, kills the server with SIGKILL while they run, restarts it, and finds every
// correction either applied with both postings or still pending with none, and the audit chain
// intact (R8, R10).
func TestKilledServerLeavesNoHalfAppliedCorrection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server: skipped with -short")
	}
	dir, bin, url, db := binaryOnPostgres(t)
	ctx := context.Background()
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	for _, u := range []cases.NewUser{{Email: "agent@example.com", Name: "A", Role: cases.RoleAgent}, {Email: "sup@example.com", Name: "S", Role: cases.RoleSupervisor}} {
		u.Password = "correct horse battery"
		if _, err := desk.AddUser(ctx, cases.CLIActor, u); err != nil {
			t.Fatal(err)
		}
	}
	agent, err := desk.PrincipalByEmail(ctx, "agent@example.com")
	if err != nil {
		t.Fatal(err)
	}
	supToken, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "sup@example.com", Name: "t", Scopes: []cases.Scope{cases.ScopeCorrectionsDecide}})
	if err != nil {
		t.Fatal(err)
	}
	face := int64(100000)
	v, _, err := desk.CreateCase(ctx, agent, cases.CLIActor, cases.NewCase{Type: "wrong_account", Summary: "crash test",
		Customer: cases.AccountInput{AccountID: "CRASH1", Marketplace: "US"}, IntendedAccount: &cases.AccountInput{AccountID: "CRASH2", Marketplace: "US"},
		Cards: []cases.CardInput{{Serial: "777", FaceValueMinor: &face, Currency: "USD", Marketplace: "US", Status: "redeemed", RedeemedTo: "CRASH1"}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := 0; i < 30; i++ {
		amount := int64(100)
		c, err := desk.RequestCorrection(ctx, agent, cases.CLIActor, v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount, Currency: "USD",
			FromAccount: "CRASH1", ToAccount: "CRASH2", CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "crash"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	env := serverEnv(url, filepath.Join(dir, "data"))
	start := func() (*exec.Cmd, string) { return startServer(t, bin, env) }
	server, addr := start()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func(id int64) {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s/api/v1/corrections/%d/approve", addr, id), strings.NewReader(`{"note":"ok"}`))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+supToken)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}(id)
	}
	// Kill as soon as some approvals have committed, while the others are in flight.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		n := modelstest.Count(t, db, `SELECT count(*) FROM corrections WHERE status = 'applied'`)
		if n >= 3 {
			break
		}
	}
	if err := server.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := server.Wait(); err == nil {
		t.Fatal("the killed server exited as if it had stopped cleanly")
	}
	wg.Wait()
	server, _ = start()
	defer func() { _ = server.Process.Signal(syscall.SIGTERM); _ = server.Wait() }()
	applied := modelstest.Count(t, db, `SELECT count(*) FROM corrections WHERE status = 'applied'`)
	pending := modelstest.Count(t, db, `SELECT count(*) FROM corrections WHERE status = 'pending'`)
	halfApplied := modelstest.Count(t, db, `SELECT count(*) FROM corrections c WHERE (c.status = 'applied') <> ((SELECT count(*) FROM postings p WHERE p.correction_id = c.id) = 2)
		OR (c.status = 'pending' AND EXISTS (SELECT 1 FROM postings p WHERE p.correction_id = c.id))`)
	unbalanced := modelstest.Count(t, db, `SELECT count(*) FROM (SELECT correction_id FROM postings GROUP BY correction_id HAVING SUM(amount_minor) <> 0) x`)
	t.Logf("after SIGKILL: %d applied, %d still pending", applied, pending)
	if applied == 0 || applied+pending != 30 || halfApplied != 0 || unbalanced != 0 {
		t.Fatalf("after SIGKILL: %d applied + %d pending of 30, %d half-applied, %d unbalanced", applied, pending, halfApplied, unbalanced)
	}
	// The restarted server chains what the killed one left; then the chain verifies.
	time.Sleep(3 * time.Second)
	verify := exec.Command(bin, "audit", "verify")
	verify.Env = env
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("audit verify after the crash: %v: %s", err, out)
	}
}

// binaryOnPostgres builds giftdesk into a temporary folder for a test that runs it as a process,
// and opens a PostgreSQL test database for it: the folder, the binary, the database's URL and a
// connection (closed when the test ends).
func binaryOnPostgres(t *testing.T) (dir, bin, dbURL string, db *gorm.DB) {
	t.Helper()
	dir = t.TempDir()
	bin = buildBinary(t, dir)
	dbURL = modelstest.URL(t, models.Postgres)
	db, err := models.Open(context.Background(), models.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	return dir, bin, dbURL, db
}

// buildBinary builds the giftdesk command into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "giftdesk")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v: %s", err, out)
	}
	return bin
}

// serverEnv is the environment of a test server on dbURL with its data folder in dataDir.
func serverEnv(dbURL, dataDir string) []string {
	return append(os.Environ(), "GIFTDESK_DATABASE_URL="+dbURL, "GIFTDESK_DATA_DIR="+dataDir,
		fmt.Sprintf("GIFTDESK_SECRET_KEY=%x", modelstest.MasterKey), "GIFTDESK_API_RATE=0")
}

// startServer starts `giftdesk serve` on a free port and waits until it answers.
func startServer(t *testing.T, bin string, env []string) (*exec.Cmd, string) {
	t.Helper()
	return startServerLogged(t, bin, env, nil)
}

// startServerLogged is startServer with the server's standard error written to log (nil drops
// it: it holds the bootstrap admin's password when the desk has no user yet).
func startServerLogged(t *testing.T, bin string, env []string, log io.Writer) (*exec.Cmd, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr)
	cmd.Env, cmd.Stderr = env, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/api/v1/health"); err == nil {
			resp.Body.Close()
			return cmd, addr
		}
	}
	_ = cmd.Process.Kill()
	t.Fatal("server did not start")
	return nil, ""
}
