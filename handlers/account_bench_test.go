package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// BenchmarkAccountPage measures GET /api/v1/accounts/system:goodwill (its balances and newest
// postings) through the router in process, on PostgreSQL, for a goodwill account of 100,000
// postings among 200,000 (bench/account_balance_setup.sql, the data pgbench reads too): before
// any checkpoint (the plain sum, what every read cost before issue 25), once the checkpoint pass
// has folded them, and with 1,000 postings written after the last pass. Run:
//
//	go test -run '^$' -bench BenchmarkAccountPage -benchtime 2000x ./handlers/
func BenchmarkAccountPage(b *testing.B) {
	ctx := context.Background()
	db := modelstest.Open(b, models.Postgres)
	counter := modelstest.NewStatementCounter()
	desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: counter}), Keys: casestest.Keys})
	srv, err := New(Config{Desk: desk})
	if err != nil {
		b.Fatal(err)
	}
	setup, err := os.ReadFile("../bench/account_balance_setup.sql")
	if err != nil {
		b.Fatal(err)
	}
	for _, stmt := range sqlStatements(string(setup)) {
		if err := db.Exec(stmt).Error; err != nil {
			b.Fatalf("%.60s: %v", stmt, err)
		}
	}
	token, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "agent@bench", Name: "bench", Scopes: []cases.Scope{cases.ScopeCasesRead}})
	if err != nil {
		b.Fatal(err)
	}
	var want int64
	if err := db.Raw(`SELECT SUM(amount_minor) FROM postings p JOIN customer_accounts a ON a.id = p.account_id
		WHERE a.account_id = 'system:goodwill'`).Scan(&want).Error; err != nil {
		b.Fatal(err)
	}
	read := func() (time.Duration, int64) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/accounts/system:goodwill", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		before := counter.N.Load()
		start := time.Now()
		srv.ServeHTTP(w, req)
		took := time.Since(start)
		var got struct {
			Balances map[string]int64 `json:"balances"`
		}
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Balances["USD"] != want {
			b.Fatalf("account: %d %.300s, want USD %d", w.Code, w.Body, want)
		}
		return took, counter.N.Load() - before
	}
	if os.Getenv("GIFTDESK_BENCH_PRINT_SQL") == "1" {
		printer := logger.New(printLog{b}, logger.Config{LogLevel: logger.Info, ParameterizedQueries: true})
		srv, err := New(Config{Desk: cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: printer}), Keys: casestest.Keys})})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/api/v1/accounts/system:goodwill", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		srv.ServeHTTP(httptest.NewRecorder(), req)
	}
	b.Run("no-checkpoint", func(b *testing.B) { reportPageLatency(b, read) })
	if _, err := desk.CatchUpBalances(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("checkpointed", func(b *testing.B) { reportPageLatency(b, read) })
	// Postings the pass has not folded yet: a second of a busy desk's corrections, and more.
	unfolded, err := os.ReadFile("../bench/account_balance_unfolded.sql")
	if err != nil {
		b.Fatal(err)
	}
	for _, stmt := range sqlStatements(string(unfolded)) {
		if err := db.Exec(stmt).Error; err != nil {
			b.Fatalf("%.60s: %v", stmt, err)
		}
	}
	want -= 1000 * 100
	b.Run("checkpointed+1000-unfolded", func(b *testing.B) { reportPageLatency(b, read) })
}

// sqlStatements splits a file of statements each ended by ";" at the end of a line, leaving out
// comment lines.
func sqlStatements(file string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(file, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	return out
}
