package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func benchCaseBody(n int64) []byte {
	return []byte(fmt.Sprintf(`{"type": "wrong_account", "summary": "Redeemed on work account",
 "description": "The customer redeemed the card on the work account by mistake.",
 "customer": {"account_id": "CUST%03d", "marketplace": "US", "email": "pat%03d@example.com", "name": "Pat Doe"},
 "intended_account": {"account_id": "HOME%03d", "marketplace": "US"},
 "cards": [{"claim_code": "BN%09d", "face_value_minor": 5000, "currency": "USD", "marketplace": "US",
            "status": "redeemed", "redeemed_to": "CUST%03d", "redeemed_at": "2026-11-20T10:00:00Z"}],
 "external": {"system": "zendesk", "id": "T%d"}, "tags": ["phone"]}`, n%100, n%100, n%100, n, n%100, n))
}

// BenchmarkCaseCreateHTTP creates cases through the HTTP API (real TCP, the whole router, token
// authentication) at 16 concurrent clients on PostgreSQL. Run:
//
//	go test -run '^$' -bench BenchmarkCaseCreateHTTP -benchtime 10s ./handlers/
func BenchmarkCaseCreateHTTP(b *testing.B) {
	db := modelstest.Open(b, models.Postgres)
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	srv, err := New(Config{Desk: desk})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: "bench@example.com", Name: "Bench", Role: cases.RoleAgent, Password: "correct horse battery"}); err != nil {
		b.Fatal(err)
	}
	token, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "bench@example.com", Name: "bench", Scopes: []cases.Scope{cases.ScopeCasesWrite}})
	if err != nil {
		b.Fatal(err)
	}
	// A desk with cases already (GIFTDESK_BENCH_PREFILL, default 3000; a creation's round trips
	// do not grow with the table), analyzed: this PostgreSQL runs without autovacuum.
	prefill := 3000
	if v := os.Getenv("GIFTDESK_BENCH_PREFILL"); v != "" {
		if prefill, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	for _, stmt := range []string{
		`INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) SELECT 'PRE' || g, 'US', now(), now() FROM generate_series(1, 100) g`,
		fmt.Sprintf(`INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, tags, flags, created_at, updated_at, version)
			SELECT 'GD-' || lpad(nextval('case_ref_seq')::text, 6, '0'), 'other', 'new', 'normal', a.id, 'prefilled', '[]', '[]', now(), now(), 1
			FROM generate_series(1, %d) g JOIN customer_accounts a ON a.account_id = 'PRE' || (1 + g %% 100)`, prefill),
		`ANALYZE`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			b.Fatalf("%.50s: %v", stmt, err)
		}
	}
	// Statements of one creation, counted at the driver's door.
	counter := modelstest.NewStatementCounter()
	counted := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: counter}), Keys: casestest.Keys})
	p, err := counted.AuthenticateToken(ctx, token)
	if err != nil {
		b.Fatal(err)
	}
	counter.N.Store(0)
	var in cases.NewCase
	if err := json.Unmarshal(benchCaseBody(1_000_000_000), &in); err != nil {
		b.Fatal(err)
	}
	if _, _, err := counted.CreateCase(ctx, p, cases.ActorFor(p, "", "", ""), in); err != nil {
		b.Fatal(err)
	}
	statements := counter.N.Load()

	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var seq atomic.Int64
	// With an Idempotency-Key (as ticketing systems send) the key is looked up before the use
	// case, locked and checked in its transaction, and written there with the answer (issue 19).
	withKey := os.Getenv("GIFTDESK_BENCH_IDEMPOTENCY_KEY") == "1"
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/cases", bytes.NewReader(benchCaseBody(n)))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+token)
			if withKey {
				req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(n, 10))
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(statements), "stmts/create")
}
