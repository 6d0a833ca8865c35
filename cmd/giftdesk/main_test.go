package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

// cli runs giftdesk commands in-process with its own environment.
type cli struct {
	t    *testing.T
	vars map[string]string
}

func newCLI(t *testing.T, dbURL string) *cli {
	dir := t.TempDir()
	vars := map[string]string{"GIFTDESK_DATA_DIR": filepath.Join(dir, "data")}
	if dbURL != "" {
		vars["GIFTDESK_DATABASE_URL"] = dbURL
	}
	return &cli{t: t, vars: vars}
}

// emptyDatabase returns a fresh unmigrated PostgreSQL URL, or "" for the SQLite default.
func emptyDatabase(t *testing.T, d models.Dialect) string {
	if d == models.Postgres {
		return modelstest.EmptyURL(t, d)
	}
	return ""
}

type result struct {
	code           int
	stdout, stderr string
}

func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &env{
		getenv: func(k string) string { return c.vars[k] },
		stdin:  strings.NewReader(stdin), stdout: &out, stderr: &errb,
	})
	return result{code, out.String(), errb.String()}
}

// oneLineError checks SPEC 4.1's error form: exit non-zero, one line on standard error.
func oneLineError(t *testing.T, r result, want int, mention string) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, want, r.stderr)
	}
	if want == 1 && strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("error is not one line: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, mention) {
		t.Fatalf("stderr %q does not mention %q", r.stderr, mention)
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("stack trace on stderr: %q", r.stderr)
	}
}

// TestUsageErrorsExit2 runs usage mistakes: each exits 2 with one line naming it.
func TestUsageErrorsExit2(t *testing.T) {
	c := newCLI(t, "")
	for _, args := range [][]string{
		{"frobnicate"}, {"serve", "--bogus"}, {"serve", "--addr", "nonsense"}, {"migrate", "extra"},
		{"user"}, {"user", "remove"}, {"user", "add", "--email", "a@example.com"},
		{"user", "add", "--email", "a@example.com", "--name", "A", "--role", "root"},
		{"token"}, {"token", "create", "--email", "a@example.com", "--name", "x", "--scopes", "everything"},
		{"token", "create", "--email", "a@example.com", "--name", "x", "--scopes", "cases:read", "--expires-in", "soon"},
	} {
		// SPEC 4.1: one line on standard error, exit 2; `giftdesk help` shows the usage.
		r := c.run("", args...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "giftdesk: ") || !strings.Contains(r.stderr, "giftdesk help") {
			t.Errorf("%v: exit %d, stderr %q; want 2 with one line", args, r.code, r.stderr)
		}
	}
	if r := c.run("", "--help"); r.code != 0 || !strings.Contains(r.stdout, "usage: giftdesk") {
		t.Errorf("--help: %+v", r)
	}
}

func TestUserAddAndTokenCreate(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := newCLI(t, emptyDatabase(t, d))
			oneLineError(t, c.run("correct horse battery\n", "user", "add", "--email", "pat@example.com", "--name", "Pat", "--role", "agent"), 1, "giftdesk migrate")
			if r := c.run("", "migrate"); r.code != 0 {
				t.Fatalf("migrate: %+v", r)
			}
			if r := c.run("", "migrate"); r.code != 0 || !strings.Contains(r.stderr, "up to date") {
				t.Fatalf("second migrate: %+v", r)
			}
			if r := c.run("correct horse battery\n", "user", "add", "--email", "Pat@Example.com", "--name", "Pat Doe", "--role", "agent"); r.code != 0 {
				t.Fatalf("user add: %+v", r)
			}
			oneLineError(t, c.run("another good password\n", "user", "add", "--email", "PAT@example.COM", "--name", "Other", "--role", "agent"), 1, "already exists")
			oneLineError(t, c.run("", "user", "add", "--email", "b@example.com", "--name", "B", "--role", "agent"), 1, "no password")
			oneLineError(t, c.run("\n", "user", "add", "--email", "b@example.com", "--name", "B", "--role", "agent"), 1, "no password")
			oneLineError(t, c.run("short\n", "user", "add", "--email", "b@example.com", "--name", "B", "--role", "agent"), 1, "at least 12")
			oneLineError(t, c.run("correct horse battery\n", "user", "add", "--email", "not-an-email", "--name", "B", "--role", "agent"), 1, "email")

			r := c.run("", "token", "create", "--email", "pat@example.com", "--name", "zendesk", "--scopes", "cases:read,cases:write", "--expires-in", "90d")
			if r.code != 0 {
				t.Fatalf("token create: %+v", r)
			}
			token := strings.TrimSuffix(r.stdout, "\n")
			if !strings.HasPrefix(token, "gdk_") || strings.ContainsAny(token, " \n") || strings.Contains(r.stderr, token) {
				t.Fatalf("stdout must hold the token alone, stderr never: %q / %q", r.stdout, r.stderr)
			}
			oneLineError(t, c.run("", "token", "create", "--email", "nobody@example.com", "--name", "x", "--scopes", "cases:read"), 1, "no user")

			// Another master key is refused by every command.
			c.vars["GIFTDESK_SECRET_KEY"] = strings.Repeat("ab", 32)
			oneLineError(t, c.run("", "migrate"), 1, "master key")
			oneLineError(t, c.run("correct horse battery\n", "user", "add", "--email", "c@example.com", "--name", "C", "--role", "agent"), 1, "master key")
		})
	}
}

func TestConfigurationErrorsNameTheVariable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, value, mention string
	}{
		{"GIFTDESK_DATABASE_URL", "mysql://localhost/x", "GIFTDESK_DATABASE_URL"},
		{"GIFTDESK_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", "GIFTDESK_DATABASE_URL"},
		{"GIFTDESK_DATABASE_URL", "sqlite:", "GIFTDESK_DATABASE_URL"},
		{"GIFTDESK_ADDR", "localhost", "GIFTDESK_ADDR"},
		{"GIFTDESK_ADDR", "127.0.0.1:99999", "GIFTDESK_ADDR"},
		{"GIFTDESK_SECRET_KEY", "too-short", "GIFTDESK_SECRET_KEY"},
		{"GIFTDESK_DUAL_APPROVAL", "USD=lots", "GIFTDESK_DUAL_APPROVAL"},
		{"GIFTDESK_DUAL_APPROVAL", "XYZ=5", "GIFTDESK_DUAL_APPROVAL"},
		{"GIFTDESK_API_RATE", "-1", "GIFTDESK_API_RATE"},
		{"GIFTDESK_API_RATE", "fast", "GIFTDESK_API_RATE"},
		{"GIFTDESK_WEBHOOK_ALLOW_PRIVATE", "maybe", "GIFTDESK_WEBHOOK_ALLOW_PRIVATE"},
		{"GIFTDESK_DATA_DIR", filepath.Join(file, "sub"), "GIFTDESK_DATA_DIR"},
	} {
		c := newCLI(t, "")
		c.vars[tt.name] = tt.value
		r := c.run("", "migrate")
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tt.mention) {
			t.Errorf("%s=%q: exit %d, stderr %q; want one line naming %s", tt.name, tt.value, r.code, r.stderr, tt.mention)
		}
		if strings.Contains(tt.name, "SECRET") && strings.Contains(r.stderr, tt.value) {
			t.Errorf("the secret key value was echoed")
		}
	}
}

func TestSecretKeyFileCreatedOnceWithMode0600(t *testing.T) {
	c := newCLI(t, "")
	if r := c.run("", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	path := filepath.Join(c.vars["GIFTDESK_DATA_DIR"], "secret.key")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key mode %v, want 0600", st.Mode().Perm())
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.run("", "migrate"); r.code != 0 {
		t.Fatalf("second run with the same key file: %+v", r)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("secret.key was rewritten")
	}
	// Losing the key file makes a new key, which the database refuses.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	oneLineError(t, c.run("", "migrate"), 1, "master key")
}

// TestServe runs serve on both databases: it migrates, creates and prints the first admin once,
// answers health and the API, and stops cleanly when its context ends.
func TestServe(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := newCLI(t, emptyDatabase(t, d))
			serveOnce := func(args ...string) (string, string) {
				ctx, cancel := context.WithCancel(context.Background())
				addrc := make(chan string, 1)
				var errb bytes.Buffer
				done := make(chan int, 1)
				go func() {
					done <- run(ctx, args, &env{
						getenv: func(k string) string { return c.vars[k] }, stdin: strings.NewReader(""),
						stdout: &bytes.Buffer{}, stderr: &errb, ready: func(a string) { addrc <- a },
					})
				}()
				var addr string
				select {
				case addr = <-addrc:
				case code := <-done:
					t.Fatalf("serve exited %d: %s", code, errb.String())
				case <-time.After(30 * time.Second):
					t.Fatal("serve did not start")
				}
				resp, err := http.Get("http://" + addr + "/api/v1/health")
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("health: %v %v", resp, err)
				}
				resp.Body.Close()
				resp, err = http.Get("http://" + addr + "/api/v1/cases")
				if err != nil || resp.StatusCode != 401 {
					t.Fatalf("cases without a token: %v %v", resp, err)
				}
				resp.Body.Close()
				cancel()
				select {
				case code := <-done:
					if code != 0 {
						t.Fatalf("serve exit %d after shutdown: %s", code, errb.String())
					}
				case <-time.After(30 * time.Second):
					t.Fatal("serve did not stop")
				}
				return addr, errb.String()
			}
			_, first := serveOnce("serve", "--addr", "127.0.0.1:0")
			if strings.Count(first, "admin@localhost with password") != 1 {
				t.Fatalf("first serve did not print the admin password once: %s", first)
			}
			// serve is the default command, flags and all.
			_, second := serveOnce("--addr", "127.0.0.1:0")
			if strings.Contains(second, "password") {
				t.Fatalf("second serve printed a password again: %s", second)
			}
		})
	}
}

func TestFilesArePrivate(t *testing.T) {
	c := newCLI(t, "")
	if r := c.run("", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	dir := c.vars["GIFTDESK_DATA_DIR"]
	for _, name := range []string{"giftdesk.db", "secret.key"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: readable by others", name, st.Mode().Perm())
		}
	}
	if err := os.Chmod(filepath.Join(dir, "secret.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	oneLineError(t, c.run("", "migrate"), 1, "chmod 600")
}

func TestTokenLifetimeIsBounded(t *testing.T) {
	for _, bad := range []string{"0d", "-1d", "3651d", "99999999999d", "87601h", "0s", "forever"} {
		if _, err := parseLifetime(bad); err == nil {
			t.Errorf("--expires-in %s accepted", bad)
		}
	}
	for _, good := range []string{"1d", "90d", "3650d", "720h", "90m"} {
		if _, err := parseLifetime(good); err != nil {
			t.Errorf("--expires-in %s refused: %v", good, err)
		}
	}
}

func TestUserAndTokenAdministrationCommands(t *testing.T) {
	c := newCLI(t, "")
	if r := c.run("", "migrate"); r.code != 0 {
		t.Fatal(r)
	}
	if r := c.run("correct horse battery\n", "user", "add", "--email", "pat@example.com", "--name", "Pat", "--role", "agent"); r.code != 0 {
		t.Fatal(r)
	}
	if r := c.run("", "user", "role", "--email", "PAT@example.com", "--role", "supervisor"); r.code != 0 || !strings.Contains(r.stderr, "now supervisor") {
		t.Fatalf("user role: %+v", r)
	}
	oneLineError(t, c.run("", "user", "role", "--email", "nobody@example.com", "--role", "admin"), 1, "no user")
	if r := c.run("", "user", "role", "--email", "pat@example.com", "--role", "owner"); r.code != 2 {
		t.Fatalf("unknown role: %+v", r)
	}
	if r := c.run("another good password\n", "user", "password", "--email", "pat@example.com"); r.code != 0 {
		t.Fatalf("user password: %+v", r)
	}
	oneLineError(t, c.run("short\n", "user", "password", "--email", "pat@example.com"), 1, "at least 12")
	r := c.run("", "token", "create", "--email", "pat@example.com", "--name", "jira", "--scopes", "cases:read")
	if r.code != 0 {
		t.Fatal(r)
	}
	var id int
	if _, err := fmt.Sscanf(r.stderr, "giftdesk: created token %d", &id); err != nil {
		t.Fatalf("token id not printed: %q", r.stderr)
	}
	if r := c.run("", "token", "revoke", "--id", fmt.Sprint(id)); r.code != 0 {
		t.Fatalf("revoke: %+v", r)
	}
	oneLineError(t, c.run("", "token", "revoke", "--id", fmt.Sprint(id)), 1, "already revoked")
	oneLineError(t, c.run("", "token", "revoke", "--id", "99999"), 1, "no token")
	if r := c.run("", "user", "deactivate", "--email", "pat@example.com"); r.code != 0 || !strings.Contains(r.stderr, "deactivated") {
		t.Fatalf("deactivate: %+v", r)
	}
	if r := c.run("", "user", "reactivate", "--email", "pat@example.com"); r.code != 0 {
		t.Fatalf("reactivate: %+v", r)
	}
	for _, args := range [][]string{{"user", "deactivate"}, {"token", "revoke"}, {"token", "revoke", "--id", "x"}, {"audit"}, {"audit", "fix"}} {
		if r := c.run("", args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2", args, r.code)
		}
	}
	// Every command chained its events before exiting.
	v := c.run("", "audit", "verify")
	if v.code != 0 || !strings.Contains(v.stdout, "audit chain intact") || !strings.Contains(v.stdout, " 0 waiting") {
		t.Fatalf("audit verify: %+v", v)
	}
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			url := modelstest.URL(t, d)
			c := newCLI(t, url)
			c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
			if d == models.SQLite {
				if r := c.run("", "migrate"); r.code != 0 {
					t.Fatal(r)
				}
			}
			for i := 0; i < 3; i++ {
				if r := c.run("correct horse battery\n", "user", "add", "--email", fmt.Sprintf("u%d@example.com", i), "--name", "U", "--role", "agent"); r.code != 0 {
					t.Fatal(r)
				}
			}
			if r := c.run("", "audit", "verify"); r.code != 0 {
				t.Fatalf("intact chain: %+v", r)
			}
			db, err := models.Open(context.Background(), models.Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			modelstest.DisableAppendOnly(t, db, "audit_events")
			victim := modelstest.Count(t, db, `SELECT event_id FROM audit_seals WHERE seq = 2`)
			if err := db.Exec(`UPDATE audit_events SET actor_label = 'someone else' WHERE id = ?`, victim).Error; err != nil {
				t.Fatal(err)
			}
			oneLineError(t, c.run("", "audit", "verify"), 1, fmt.Sprintf("event %d (seq 2) was altered", victim))
		})
	}
}

// TestServeChainsEventsWithinTwoSeconds: a failed sign-in against a running server is an audit
// event; the server's sealer chains it within 2 seconds (R10).
func TestServeChainsEventsWithinTwoSeconds(t *testing.T) {
	url := modelstest.URL(t, models.Postgres)
	c := newCLI(t, url)
	c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, &env{getenv: func(k string) string { return c.vars[k] },
			stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb, ready: func(a string) { addrc <- a }})
	}()
	addr := <-addrc
	db, err := models.Open(context.Background(), models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	waitSealed := func() time.Duration {
		start := time.Now()
		for time.Since(start) < 5*time.Second {
			unsealed := modelstest.Count(t, db, `SELECT count(*) FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)`)
			if unsealed == 0 {
				return time.Since(start)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("events still unchained after 5 s")
		return 0
	}
	waitSealed() // the bootstrap admin's creation
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/login", strings.NewReader("email=x%40example.com&password=wrong"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("failed sign-in: %v %v", resp, err)
	}
	resp.Body.Close()
	if took := waitSealed(); took > 2*time.Second {
		t.Fatalf("the event was chained after %s, want within 2 s", took)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, errb.String())
	}
	if r := c.run("", "audit", "verify"); r.code != 0 {
		t.Fatalf("verify after serve: %+v", r)
	}
}

func TestTrustedProxiesSetting(t *testing.T) {
	c := newCLI(t, "")
	c.vars["GIFTDESK_TRUSTED_PROXIES"] = "10.0.0.0/8, not-an-ip"
	oneLineError(t, c.run("", "migrate"), 1, "GIFTDESK_TRUSTED_PROXIES")
	cfg, err := loadConfig(func(k string) string {
		if k == "GIFTDESK_TRUSTED_PROXIES" {
			return "10.0.0.0/8, 192.0.2.7,::1"
		}
		return ""
	})
	if err != nil || len(cfg.TrustedProxies) != 3 {
		t.Fatalf("config %+v, %v", cfg, err)
	}
}

// serveDemo starts `serve --demo` until it is ready, stops it, and returns what it printed.
func serveDemo(t *testing.T, c *cli) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb bytes.Buffer
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0"}, &env{getenv: func(k string) string { return c.vars[k] },
			stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb, ready: func(a string) { addrc <- a }})
	}()
	select {
	case <-addrc:
	case code := <-done:
		t.Fatalf("serve --demo exited %d: %s", code, errb.String())
	}
	cancel()
	<-done
	return errb.String()
}

// TestDemoLoadsUsersAndCasesOnce: `serve --demo` on an empty desk adds the demo users (passwords
// printed once) and about fifteen cases at work (cases/demo's tests check what they hold); a
// second start adds nothing and prints no password.
func TestDemoLoadsUsersAndCasesOnce(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := newCLI(t, emptyDatabase(t, d))
			out := serveDemo(t, c)
			m := regexp.MustCompile(`loaded (\d+) demo cases`).FindStringSubmatch(out)
			if m == nil || len(m[1]) < 2 || strings.Count(out, "demo supervisor") != 2 || strings.Count(out, "demo agent") != 2 {
				t.Fatalf("demo output: %s", out)
			}
			if r := c.run("", "audit", "verify"); r.code != 0 {
				t.Fatalf("verify after demo: %+v", r)
			}
			again := serveDemo(t, c)
			if strings.Contains(again, "loaded") || strings.Contains(again, "password") || !strings.Contains(again, "already has cases") {
				t.Fatalf("second demo start: %s", again)
			}
			if r := c.run("", "audit", "verify"); r.code != 0 {
				t.Fatalf("verify after the second start: %+v", r)
			}
			c.vars["GIFTDESK_SLA"] = "urgent=2h"
			oneLineError(t, c.run("", "migrate"), 1, "GIFTDESK_SLA")
		})
	}
}

// TestAuditVerifyPrintsTheHeadItChecked: with a sealer chaining new events all the while,
// `audit verify` prints the head of the chain it verified (its count of chained events, and that
// seal's hash), never a later seal it did not check (issue 19).
func TestAuditVerifyPrintsTheHeadItChecked(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			url := modelstest.URL(t, d)
			c := newCLI(t, url)
			c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
			db, err := models.Open(context.Background(), models.Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			if d == models.SQLite {
				if err := models.Migrate(context.Background(), db, casestest.Keys.Fingerprint); err != nil {
					t.Fatal(err)
				}
			}
			desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
			if _, err := desk.AddUser(context.Background(), cases.CLIActor, cases.NewUser{Email: "w@example.com", Name: "W",
				Role: cases.RoleAgent, Password: "correct horse battery"}); err != nil {
				t.Fatal(err)
			}
			if _, err := desk.SealPass(context.Background()); err != nil { // the chain has a head from the start
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			sealer := make(chan error, 1)
			go func() {
				// Writes and chains events as fast as it can, as a running server would.
				for i := 0; ctx.Err() == nil; i++ {
					if _, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "w@example.com", Name: fmt.Sprint("t", i),
						Scopes: []cases.Scope{cases.ScopeCasesRead}}); err != nil && ctx.Err() == nil {
						sealer <- err
						return
					}
					if _, err := desk.SealPass(ctx); err != nil && ctx.Err() == nil {
						sealer <- err
						return
					}
				}
				sealer <- nil
			}()
			var line = regexp.MustCompile(`^audit chain intact: (\d+) events chained, \d+ waiting to be chained; head seq (\d+) hash ([0-9a-f]{64})\n$`)
			for i := 0; i < 25; i++ {
				r := c.run("", "audit", "verify")
				m := line.FindStringSubmatch(r.stdout)
				if r.code != 0 || m == nil {
					stop()
					t.Fatalf("audit verify: %+v", r)
				}
				if m[1] != m[2] {
					stop()
					t.Fatalf("verified %s seals but printed head seq %s: %q", m[1], m[2], r.stdout)
				}
				var hash []byte
				if err := db.Raw(`SELECT hash FROM audit_seals WHERE seq = ?`, m[2]).Row().Scan(&hash); err != nil {
					stop()
					t.Fatal(err)
				}
				if fmt.Sprintf("%x", hash) != m[3] {
					stop()
					t.Fatalf("printed hash %s is not seal %s's", m[3], m[2])
				}
			}
			stop()
			if err := <-sealer; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTokenList: `token list [--email E]` shows each token's id, owner, name, scopes, last use,
// expiry and revocation, and never a token itself (issue 19).
func TestTokenList(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			url := modelstest.URL(t, d)
			c := newCLI(t, url)
			c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
			if d == models.SQLite {
				if r := c.run("", "migrate"); r.code != 0 {
					t.Fatal(r)
				}
			}
			for _, email := range []string{"pat@example.com", "sam@example.com"} {
				if r := c.run("correct horse battery\n", "user", "add", "--email", email, "--name", "U", "--role", "agent"); r.code != 0 {
					t.Fatal(r)
				}
			}
			if r := c.run("", "token", "list"); r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "no tokens") {
				t.Fatalf("no tokens yet: %+v", r)
			}
			var raws []string
			for _, args := range [][]string{
				{"--email", "pat@example.com", "--name", "zendesk", "--scopes", "cases:read,cases:write", "--expires-in", "90d"},
				{"--email", "pat@example.com", "--name", "old-sync", "--scopes", "cases:read"},
				{"--email", "sam@example.com", "--name", "jira", "--scopes", "export"},
			} {
				r := c.run("", append([]string{"token", "create"}, args...)...)
				if r.code != 0 {
					t.Fatal(r)
				}
				raws = append(raws, strings.TrimSpace(r.stdout))
			}
			if r := c.run("", "token", "revoke", "--id", "2"); r.code != 0 {
				t.Fatal(r)
			}
			db, err := models.Open(context.Background(), models.Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			if _, err := cases.New(cases.Config{DB: db, Keys: casestest.Keys}).AuthenticateToken(context.Background(), raws[0]); err != nil {
				t.Fatal(err)
			}

			r := c.run("", "token", "list")
			if r.code != 0 {
				t.Fatalf("token list: %+v", r)
			}
			for _, raw := range raws {
				if strings.Contains(r.stdout+r.stderr, raw) || strings.Contains(r.stdout+r.stderr, raw[len(raw)-12:]) {
					t.Fatalf("token list shows a token: %s", r.stdout)
				}
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != 4 {
				t.Fatalf("want a header and 3 tokens:\n%s", r.stdout)
			}
			for _, col := range []string{"ID", "USER", "NAME", "SCOPES", "LAST USED", "EXPIRES", "REVOKED"} {
				if !strings.Contains(lines[0], col) {
					t.Errorf("header %q lacks %s", lines[0], col)
				}
			}
			row := func(i int) []string { return strings.Fields(lines[i]) }
			if z := row(1); z[0] != "1" || z[1] != "pat@example.com" || z[2] != "zendesk" || !strings.Contains(lines[1], "cases:read,cases:write") ||
				strings.Count(lines[1], "never") != 0 || !strings.HasSuffix(lines[1], "-") {
				t.Errorf("zendesk row (used, expiring, live): %q", lines[1])
			}
			if o := row(2); o[0] != "2" || o[2] != "old-sync" || strings.Count(lines[2], "never") != 2 {
				t.Errorf("old-sync row (never used, never expires, revoked): %q", lines[2])
			}
			if j := row(3); j[0] != "3" || j[1] != "sam@example.com" || j[2] != "jira" || !strings.HasSuffix(lines[3], "-") {
				t.Errorf("jira row (not revoked): %q", lines[3])
			}
			if strings.HasSuffix(lines[2], "-") {
				t.Errorf("the revoked token does not show its revocation: %q", lines[2])
			}

			r = c.run("", "token", "list", "--email", "SAM@example.com")
			if got := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(got) != 2 || !strings.Contains(got[1], "jira") {
				t.Fatalf("token list --email: %+v", r)
			}
			oneLineError(t, c.run("", "token", "list", "--email", "nobody@example.com"), 1, "no user")
			if r := c.run("", "token", "list", "extra"); r.code != 2 {
				t.Errorf("token list extra: exit %d, want 2", r.code)
			}
		})
	}
}

// TestLeftoversGoBeforeTheDatabaseIsReached: request bodies an older version spooled to the
// uploads folder (claim codes in clear, R1) are removed at the start of every command, even when
// the database does not answer (review of issue 19).
func TestLeftoversGoBeforeTheDatabaseIsReached(t *testing.T) {
	c := newCLI(t, "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2")
	uploads := filepath.Join(c.vars["GIFTDESK_DATA_DIR"], "uploads")
	if err := os.MkdirAll(uploads, 0o700); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(uploads, "giftdesk-request-123")
	if err := os.WriteFile(leftover, []byte(`{"claim_code":"AB12-CDEF34-GH56"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
	if r := c.run("", "serve"); r.code == 0 {
		t.Fatalf("serve without a database exited 0: %s", r.stderr)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the leftover is still there: %v", err)
	}
}
