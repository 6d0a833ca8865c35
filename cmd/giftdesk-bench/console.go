package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// openStatuses are the statuses of the home page's queues (SPEC R11's open ones).
const openStatuses = `('new', 'investigating', 'waiting_on_customer', 'pending_approval')`

// console is a signed-in agent of the console: the seeded agent with the most open cases.
type console struct {
	client *http.Client
	userID int64
	hash   string // the session's stored hash, for the pgbench scripts
}

// signIn takes over the seeded agent with the most open cases: a new password set with
// `giftdesk user password` (to change at next sign-in), a sign-in, the change, as a person would.
func (b *bench) signIn(ctx context.Context) (*console, error) {
	var email string
	var userID int64
	if err := b.db.QueryRow(ctx, `SELECT u.email, u.id FROM users u JOIN cases c ON c.assignee_id = u.id
		WHERE u.role = 'agent' AND u.active AND c.status IN `+openStatuses+`
		GROUP BY u.email, u.id ORDER BY count(*) DESC LIMIT 1`).Scan(&email, &userID); err != nil {
		return nil, fmt.Errorf("no agent with open cases: %w", err)
	}
	run := runID()
	first, second := "bench first "+run+" horse battery", "bench second "+run+" horse battery"
	if _, err := b.giftdeskCmd(ctx, strings.NewReader(first+"\n"), b.env, "user", "password", "--email", email); err != nil {
		return nil, err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &console{userID: userID, client: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if err := c.post(ctx, b.serve.addr+"/login", url.Values{"email": {email}, "password": {first}}); err != nil {
		return nil, err
	}
	if err := c.post(ctx, b.serve.addr+"/account/password", url.Values{"current_password": {first},
		"new_password": {second}, "confirm_password": {second}}); err != nil {
		return nil, err
	}
	var h []byte
	if err := b.db.QueryRow(ctx, `SELECT id_hash FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1`, userID).Scan(&h); err != nil {
		return nil, err
	}
	c.hash = `\x` + hex.EncodeToString(h)
	return c, nil
}

// post sends a console form; the desk answers a redirect (303) when it took it.
func (c *console) post(ctx context.Context, to string, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("POST %s: %d: %.300s", to, resp.StatusCode, body)
	}
	return nil
}

// page GETs a console page and fails unless it is a 200.
func (c *console) page(ctx context.Context, to string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, to, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", to, resp.StatusCode)
	}
	return nil
}

// measureCasePage: p95 of the console's page of a case with 200 timeline entries (its creation
// and 199 communications, made through the API), against the page's statements in pgbench
// (bench/case_page.sql).
func measureCasePage(ctx context.Context, b *bench, out *results) error {
	con, err := b.signIn(ctx)
	if err != nil {
		return err
	}
	run := runID()
	body, err := b.api(ctx, b.agent, http.MethodPost, "/api/v1/cases", []byte(fmt.Sprintf(
		`{"type": "other", "summary": "A long conversation", "customer": {"account_id": "TL%s", "marketplace": "US"}}`, run)), http.StatusCreated)
	if err != nil {
		return err
	}
	ref := jsonField(body, "ref")
	occurred := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for i := 1; i < 200; i++ {
		if _, err := b.api(ctx, b.agent, http.MethodPost, "/api/v1/cases/"+ref+"/communications", []byte(fmt.Sprintf(
			`{"channel": "phone", "direction": "inbound", "occurred_at": %q, "body": "Call %d about the card."}`, occurred, i)), http.StatusCreated); err != nil {
			return err
		}
	}
	var caseID, accountID int64
	if err := b.db.QueryRow(ctx, `SELECT id, customer_account_id FROM cases WHERE ref = $1`, ref).Scan(&caseID, &accountID); err != nil {
		return err
	}
	vars := map[string]string{"session_hash": con.hash, "ref": ref, "case_id": strconv.FormatInt(caseID, 10),
		"account_id": strconv.FormatInt(accountID, 10)}
	return b.pagePair(ctx, out, "case_page", func() error { return con.page(ctx, b.serve.addr+"/cases/"+ref) }, "case_page.sql", vars)
}

// measureHome: p95 of the home page of the seeded agent with the most open cases (its queue
// counts and first queue), against the page's statements in pgbench (bench/home_page.sql).
func measureHome(ctx context.Context, b *bench, out *results) error {
	con, err := b.signIn(ctx)
	if err != nil {
		return err
	}
	var accounts string
	if err := b.db.QueryRow(ctx, `SELECT COALESCE(array_agg(DISTINCT customer_account_id)::text, '{}') FROM (SELECT customer_account_id
		FROM cases WHERE status IN `+openStatuses+` AND assignee_id = $1 ORDER BY id DESC LIMIT 51) page`, con.userID).Scan(&accounts); err != nil {
		return err
	}
	vars := map[string]string{"session_hash": con.hash, "user_id": strconv.FormatInt(con.userID, 10), "accounts": accounts,
		"due": time.Now().UTC().Add(2 * time.Hour).Format("2006-01-02 15:04:05.999999Z07:00")}
	// Unnamed (-M extended): the desk sends the queue counts, the page's cost, as an unnamed
	// statement planned for its values (models.CountCases).
	return b.pagePairMode(ctx, out, "home", func() error { return con.page(ctx, b.serve.addr+"/") }, "home_page.sql", vars, "extended")
}

// pagePair is latencyPair for a console page.
func (b *bench) pagePair(ctx context.Context, out *results, name string, get func() error, script string, vars map[string]string) error {
	return b.pagePairMode(ctx, out, name, get, script, vars, "prepared")
}

// pagePairMode is pagePair with pgbench's query mode (-M): "prepared" for statements the desk's
// driver prepares, "extended" for those it sends unnamed.
func (b *bench) pagePairMode(ctx context.Context, out *results, name string, get func() error, script string, vars map[string]string, mode string) error {
	var desk, db []float64
	for range b.c.rounds {
		p95, err := latencyP95(ctx, b.c.duration, get)
		if err != nil {
			return err
		}
		desk = append(desk, p95)
		r, err := b.pgbenchMode(ctx, b.c.databaseURL, script, 1, vars, mode)
		if err != nil {
			return err
		}
		db = append(db, r.p95ms)
	}
	out.put(name+"_p95_ms", "%.2f", median(desk))
	out.put(name+"_sql_p95_ms", "%.2f", median(db))
	out.put(name+"_ratio", "%.1f", median(desk)/median(db))
	return nil
}
