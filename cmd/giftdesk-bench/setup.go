package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// bench is a prepared desk: the seeded database, its users and tokens, and serve running on it.
type bench struct {
	c        config
	env      []string // the giftdesk subprocesses' environment
	db       *pgx.Conn
	dbName   string
	baseURL  string // the pgbench baselines' write database
	serve    *server
	client   *http.Client
	agent    string   // an agent's token: cases, corrections, export
	agentPW  string   // the agent's password (console pages)
	agentID  int64    // the agent's user id
	decide   []string // supervisors' tokens, one per client
	tokenIDs []int64  // the agent's token id first
}

func prepare(ctx context.Context, c config, log io.Writer) (*bench, error) {
	u, err := url.Parse(c.databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("--database-url must be a postgres:// URL")
	}
	b := &bench{c: c, dbName: strings.TrimPrefix(u.Path, "/"),
		client: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	if b.dbName == "" {
		return nil, errors.New("--database-url names no database")
	}
	if c.dataDir == "" {
		c.dataDir = filepath.Join(os.TempDir(), "giftdesk-bench-"+b.dbName)
		b.c.dataDir = c.dataDir
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return nil, err
	}
	b.env = append(os.Environ(), "GIFTDESK_DATABASE_URL="+c.databaseURL, "GIFTDESK_DATA_DIR="+c.dataDir, "GIFTDESK_API_RATE=0")
	base := *u
	base.Path = "/" + b.dbName + "_pgbench"
	b.baseURL = base.String()
	if err := createDatabase(ctx, u, b.dbName, false); err != nil {
		return nil, err
	}
	if err := createDatabase(ctx, u, b.dbName+"_pgbench", true); err != nil {
		return nil, err
	}
	if _, err := b.giftdeskCmd(ctx, nil, b.env, "migrate"); err != nil {
		return nil, err
	}
	baseEnv := append(os.Environ(), "GIFTDESK_DATABASE_URL="+b.baseURL, "GIFTDESK_DATA_DIR="+filepath.Join(c.dataDir, "pgbench"))
	if _, err := b.giftdeskCmd(ctx, nil, baseEnv, "migrate"); err != nil {
		return nil, err
	}
	if b.db, err = pgx.Connect(ctx, c.databaseURL); err != nil {
		return nil, err
	}
	var have int
	if err := b.db.QueryRow(ctx, `SELECT COUNT(*) FROM cases`).Scan(&have); err != nil {
		return nil, err
	}
	if have < c.cases {
		fmt.Fprintf(log, "giftdesk-bench: the desk has %d cases; seeding %d\n", have, c.cases-have)
		args := []string{"seed", "--cases", strconv.Itoa(c.cases - have), "--seed", strconv.FormatInt(time.Now().UnixNano(), 10)}
		if have > 0 {
			args = append(args, "--force")
		}
		if err := b.giftdeskStream(ctx, log, args...); err != nil {
			return nil, err
		}
	}
	// Statistics may be missing or stale (autovacuum may be off): every figure is taken after.
	if _, err := b.db.Exec(ctx, `ANALYZE`); err != nil {
		return nil, err
	}
	if err := b.people(ctx); err != nil {
		return nil, err
	}
	if b.serve, err = startServe(ctx, b.c.giftdesk, b.env, log); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	if b.serve != nil {
		b.serve.stop()
	}
	if b.db != nil {
		_ = b.db.Close(context.Background())
	}
}

// createDatabase creates database name on u's server when missing, or anew when fresh.
func createDatabase(ctx context.Context, u *url.URL, name string, fresh bool) error {
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if fresh {
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			return err
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
	return err
}

// giftdeskCmd runs a giftdesk command and returns its standard output; standard error, which may
// hold a bootstrap password, is shown only when the command fails, without that line.
func (b *bench) giftdeskCmd(ctx context.Context, stdin io.Reader, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.c.giftdesk, args...)
	cmd.Env, cmd.Stdin = env, stdin
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("giftdesk %s: %w: %s", args[0], err, withoutPasswords(errOut.String()))
	}
	return out.String(), nil
}

// giftdeskStream runs a long giftdesk command (seed), passing its progress on without the
// bootstrap admin's password line.
func (b *bench) giftdeskStream(ctx context.Context, log io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, b.c.giftdesk, args...)
	cmd.Env = b.env
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		if line := withoutPasswords(sc.Text()); line != "" {
			fmt.Fprintln(log, line)
		}
	}
	return cmd.Wait()
}

func withoutPasswords(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(strings.ToLower(l), "password") {
			keep = append(keep, l)
		}
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

// people creates this run's agent and supervisors and their tokens (names unique to the run, so
// that a reused database keeps working).
func (b *bench) people(ctx context.Context) error {
	run := strconv.FormatInt(time.Now().Unix(), 36)
	b.agentPW = "bench " + run + " correct horse battery staple"
	add := func(email, role string) error {
		_, err := b.giftdeskCmd(ctx, strings.NewReader(b.agentPW+"\n"), b.env, "user", "add", "--email", email, "--name", "Bench "+role, "--role", role)
		return err
	}
	token := func(email, scopes string) (string, error) {
		out, err := b.giftdeskCmd(ctx, nil, b.env, "token", "create", "--email", email, "--name", "bench", "--scopes", scopes)
		return strings.TrimSpace(out), err
	}
	agent := "bench-" + run + "-agent@bench.invalid"
	if err := add(agent, "agent"); err != nil {
		return err
	}
	var err error
	if b.agent, err = token(agent, "cases:read,cases:write,corrections:write,export"); err != nil {
		return err
	}
	if err := b.db.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, agent).Scan(&b.agentID); err != nil {
		return err
	}
	var tokenID int64
	if err := b.db.QueryRow(ctx, `SELECT id FROM api_tokens WHERE user_id = $1`, b.agentID).Scan(&tokenID); err != nil {
		return err
	}
	b.tokenIDs = append(b.tokenIDs, tokenID)
	for i := range b.c.clients {
		sup := fmt.Sprintf("bench-%s-sup%02d@bench.invalid", run, i)
		if err := add(sup, "supervisor"); err != nil {
			return err
		}
		t, err := token(sup, "cases:read,corrections:decide")
		if err != nil {
			return err
		}
		b.decide = append(b.decide, t)
	}
	return nil
}

// server is `giftdesk serve` as a subprocess.
type server struct {
	cmd  *exec.Cmd
	addr string
}

func startServe(ctx context.Context, bin string, env []string, log io.Writer) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr)
	cmd.Env = env
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard // request logs; the bootstrap line never appears on a desk with users
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, addr: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.addr + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(log, "giftdesk-bench: serve (pid %d) on %s\n", cmd.Process.Pid, addr)
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("serve did not answer its health check within 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// peakRSS is serve's peak resident set so far (VmHWM), in bytes.
func (s *server) peakRSS() int64 {
	f, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(f), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// findPgbench returns the pgbench to run: the flag's, PATH's, or the PostgreSQL server's.
func findPgbench(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(found) == 0 {
		return "", errors.New("pgbench not found: install PostgreSQL's server or contrib package, or pass --pgbench")
	}
	return found[len(found)-1], nil
}
