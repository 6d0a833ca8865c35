package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"giftdesk/cases"
	"giftdesk/models"
)

// searchSamples is how many values of each shape a search run cycles through.
const searchSamples = 20

// searchShapes are the kinds of q the table measures, each with the query that samples
// its values from the seeded data (random rows, so that no value is warmer than another).
var searchShapes = []struct{ name, sample string }{
	{"ref", `SELECT lower(ref) FROM cases WHERE id IN (SELECT (random() * (SELECT max(id) FROM cases))::bigint FROM generate_series(1, %[1]d)) LIMIT %[1]d`},
	{"email", `SELECT upper(email) FROM customer_accounts WHERE email IS NOT NULL AND id IN (SELECT (random() * (SELECT max(id) FROM customer_accounts))::bigint FROM generate_series(1, 4 * %[1]d)) LIMIT %[1]d`},
	{"account", `SELECT lower(account_id) FROM customer_accounts WHERE account_id NOT LIKE 'system:%%' AND id IN (SELECT (random() * (SELECT max(id) FROM customer_accounts))::bigint FROM generate_series(1, 4 * %[1]d)) LIMIT %[1]d`},
	{"last4", `SELECT lower(claim_code_last4) FROM gift_cards WHERE claim_code_last4 IS NOT NULL AND id IN (SELECT (random() * (SELECT max(id) FROM gift_cards))::bigint FROM generate_series(1, 4 * %[1]d)) LIMIT %[1]d`},
	{"serial", `SELECT serial FROM gift_cards WHERE serial IS NOT NULL AND id IN (SELECT (random() * (SELECT max(id) FROM gift_cards))::bigint FROM generate_series(1, 4 * %[1]d)) LIMIT %[1]d`},
	{"text", `SELECT split_part(email, '.', 1) || ' ' || split_part(split_part(email, '@', 1), '.', 2) FROM customer_accounts
		WHERE email LIKE '%%.%%@%%' AND id IN (SELECT (random() * (SELECT max(id) FROM customer_accounts))::bigint FROM generate_series(1, 4 * %[1]d)) LIMIT %[1]d`},
}

// measureSearch: p95 of GET /api/v1/cases?q=… for each shape of q (cases.SearchFor), cycling
// through values sampled from the desk, one client, against pgbench running the statements the
// desk sends for each value: the token's, then those cases.ListCases sends, captured from gorm
// with their values in place. pgbench sends them unnamed (-M extended), as the desk sends its
// search, so both plan each one anew.
func measureSearch(ctx context.Context, b *bench, out *results) error {
	token, err := tokenStatement(filepath.Join(b.c.benchDir, "list_page.sql"))
	if err != nil {
		return err
	}
	hash, err := b.tokenHash(ctx)
	if err != nil {
		return err
	}
	db, err := models.Open(ctx, models.Options{URL: b.c.databaseURL, MaxOpenConns: 2})
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	capture := &statementCapture{Interface: logger.Discard}
	desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: capture})})
	agent := cases.Principal{UserID: b.agentID, Role: cases.RoleAgent, Scopes: []cases.Scope{cases.ScopeCasesRead}}
	dir, err := os.MkdirTemp("", "giftdesk-bench-search-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, shape := range searchShapes {
		rows, err := b.db.Query(ctx, fmt.Sprintf(shape.sample, searchSamples))
		if err != nil {
			return err
		}
		qs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("sampling %s values: %w", shape.name, err)
		}
		if len(qs) == 0 {
			return fmt.Errorf("the desk has no %s to search for", shape.name)
		}
		script := fmt.Sprintf("\\set k random(0, %d)\n", len(qs)-1)
		for i, q := range qs {
			capture.statements = nil
			if _, err := desk.ListCases(ctx, agent, cases.CaseQuery{Q: q}); err != nil {
				return fmt.Errorf("search %s %q: %w", shape.name, q, err)
			}
			if len(capture.statements) == 0 {
				return errors.New("no statement captured from the desk's search: pgbench would run the token's alone")
			}
			branch := "\\elif"
			if i == 0 {
				branch = "\\if"
			}
			script += fmt.Sprintf("%s :k = %d\n%s;\n", branch, i, token)
			for _, s := range capture.statements {
				script += strings.ReplaceAll(s, "\n", " ") + ";\n"
			}
		}
		script += "\\endif\n"
		file := filepath.Join(dir, shape.name+".sql")
		if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
			return err
		}
		next := 0
		get := func() error {
			q := qs[next%len(qs)]
			next++
			_, err := b.api(ctx, b.agent, http.MethodGet, "/api/v1/cases?q="+url.QueryEscape(q), nil, http.StatusOK)
			return err
		}
		if err := b.pagePairMode(ctx, out, "search_"+shape.name, get, file, map[string]string{"token_hash": hash}, "extended"); err != nil {
			return err
		}
	}
	return nil
}

// tokenStatement is the first statement of a bench script (the token and its user, as every API
// request reads them), without its comments or semicolon.
func tokenStatement(file string) (string, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		if stmt, _, done := strings.Cut(line, ";"); done {
			return strings.Join(append(lines, stmt), " "), nil
		}
		lines = append(lines, line)
	}
	return "", errors.New(file + " has no statement")
}

// statementCapture keeps every statement gorm runs with its values in place, for pgbench. A
// search's first argument is pgx's QueryExecMode, not a value of the statement: ParamsFilter drops
// it before gorm renders the statement.
type statementCapture struct {
	logger.Interface
	statements []string
}

func (c *statementCapture) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	c.statements = append(c.statements, sql)
}

func (c *statementCapture) LogMode(logger.LogLevel) logger.Interface { return c }

func (c *statementCapture) ParamsFilter(_ context.Context, sql string, params ...any) (string, []any) {
	if len(params) > 0 {
		if _, ok := params[0].(pgx.QueryExecMode); ok {
			params = params[1:]
		}
	}
	return sql, params
}
