package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
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

// timelineBenchCase builds, through the use cases, a case of 200 timeline entries: its creation,
// 80 communications, 30 uploads and their 30 verdicts, 10 transfers requested, approved and
// applied with the system's moves into and out of pending_approval (50 entries), and 9 status
// changes. It returns the case's ref.
func timelineBenchCase(b *testing.B, ctx context.Context, desk *cases.Desk) string {
	b.Helper()
	people := map[string]cases.Role{"agent@example.com": cases.RoleAgent, "second@example.com": cases.RoleAgent, "sup@example.com": cases.RoleSupervisor}
	principals := map[string]cases.Principal{}
	for email, role := range people {
		if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: "Bench", Role: role, Password: "correct horse battery"}); err != nil {
			b.Fatal(err)
		}
		p, err := desk.PrincipalByEmail(ctx, email)
		if err != nil {
			b.Fatal(err)
		}
		principals[email] = p
	}
	agent, second, sup := principals["agent@example.com"], principals["second@example.com"], principals["sup@example.com"]
	act := func(p cases.Principal) cases.Actor { return cases.ActorFor(p, "", "", "") }
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	face, duration := int64(500000), int64(300)
	v, _, err := desk.CreateCase(ctx, agent, act(agent), cases.NewCase{Type: "wrong_account", Summary: "Redeemed on work account",
		Customer:        cases.AccountInput{AccountID: "A1B2C3D4", Marketplace: "US", Email: "pat@example.com", Name: "Pat Doe"},
		IntendedAccount: &cases.AccountInput{AccountID: "Z9Y8X7W6", Marketplace: "US"},
		Cards: []cases.CardInput{{ClaimCode: "AB12-CDEF34-GH56", Serial: "6046123412341234", FaceValueMinor: &face, Currency: "USD",
			Marketplace: "US", Status: "redeemed", RedeemedTo: "A1B2C3D4", RedeemedAt: "2026-11-20T10:00:00Z"}}})
	must(err)
	for i := 0; i < 80; i++ {
		_, err := desk.AddCommunication(ctx, agent, act(agent), v.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound",
			CounterpartName: "Pat Doe", RepresentativeName: "Rep 7", Reference: fmt.Sprintf("CALL-%d", i), DurationSeconds: &duration,
			Body: strings.Repeat("The customer explained what happened at the register. ", 6)})
		must(err)
	}
	for i := 0; i < 30; i++ {
		spooled, err := cases.SpoolUpload(strings.NewReader(string(pngBytes)+strconv.Itoa(i)), b.TempDir())
		must(err)
		e, err := desk.AddEvidence(ctx, agent, act(agent), v.Ref, cases.EvidenceFields{Kind: "receipt", AmountMinor: "5000", Currency: "USD",
			PurchasedAt: "2026-11-01", StoreName: "Store 12", Note: "photo of the receipt"}, spooled)
		spooled.Close()
		must(err)
		_, err = desk.VerifyEvidence(ctx, second, act(second), e.ID, "verified", "matches the card")
		must(err)
	}
	amount := int64(1000)
	for i := 0; i < 10; i++ {
		c, err := desk.RequestCorrection(ctx, agent, act(agent), v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount, Currency: "USD",
			FromAccount: "A1B2C3D4", ToAccount: "Z9Y8X7W6", CardID: strconv.FormatInt(v.Cards[0].ID, 10), Reason: "wrong account"})
		must(err)
		_, err = desk.ApproveCorrection(ctx, sup, act(sup), c.ID, "checked")
		must(err)
	}
	for i := 0; i < 9; i++ {
		cur, err := desk.GetCase(ctx, agent, v.Ref)
		must(err)
		to := "waiting_on_customer"
		if cur.Status == "waiting_on_customer" {
			to = "investigating"
		}
		_, err = desk.UpdateCase(ctx, agent, act(agent), v.Ref, cur.ETag(), cases.CasePatch{Status: to})
		must(err)
	}
	return v.Ref
}

// BenchmarkCaseTimeline reads the 200-entry timeline of a case through the whole router (token,
// route, use case, JSON), in process, one page of 200 per operation, on PostgreSQL with 20,000
// other cases' communications and audit events around it. It reports the p95 of the server time
// per page and the statements a page sends. Run:
//
//	go test -run '^$' -bench BenchmarkCaseTimeline -benchtime 2000x ./handlers/
//
// With GIFTDESK_BENCH_PRINT_SQL=1 it prints the statements of one page (for bench/timeline.sql).
func BenchmarkCaseTimeline(b *testing.B) {
	ctx := context.Background()
	db := modelstest.Open(b, models.Postgres)
	counter := modelstest.NewStatementCounter()
	desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: counter}), Keys: casestest.Keys})
	srv, err := New(Config{Desk: desk})
	if err != nil {
		b.Fatal(err)
	}
	ref := timelineBenchCase(b, ctx, desk)
	for _, stmt := range []string{
		// Other cases' rows, so that the reads go through their indexes as in a working desk.
		`INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, tags, flags, created_at, updated_at, version)
			SELECT 'GD-9' || lpad(g::text, 7, '0'), 'other', 'new', 'normal', (SELECT min(id) FROM customer_accounts WHERE NOT is_system),
				'background', '[]', '[]', now(), now(), 1 FROM generate_series(1, 1000) g`,
		`INSERT INTO communications (case_id, channel, direction, occurred_at, body, author_id, recorded_at)
			SELECT c.id, 'email', 'inbound', now() - g * interval '1 minute', 'background', (SELECT min(id) FROM users), now()
			FROM cases c, generate_series(1, 20) g WHERE c.ref LIKE 'GD-9%'`,
		`INSERT INTO audit_events (occurred_at, actor_type, actor_label, action, entity_type, entity_id, after_state)
			SELECT now(), 'system', '', 'case.updated', 'case', c.ref, '{"status":"investigating"}'
			FROM cases c, generate_series(1, 20) g WHERE c.ref LIKE 'GD-9%'`,
		`ANALYZE`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			b.Fatalf("%.60s: %v", stmt, err)
		}
	}
	token, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "agent@example.com", Name: "bench", Scopes: []cases.Scope{cases.ScopeCasesRead}})
	if err != nil {
		b.Fatal(err)
	}
	read := func() (time.Duration, int64) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/cases/"+ref+"/timeline?limit=200", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		before := counter.N.Load()
		start := time.Now()
		srv.ServeHTTP(w, req)
		took := time.Since(start)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"kind"`) || strings.Contains(w.Body.String(), `"next_cursor"`) {
			b.Fatalf("timeline: %d %.300s", w.Code, w.Body)
		}
		return took, counter.N.Load() - before
	}
	if os.Getenv("GIFTDESK_BENCH_PRINT_SQL") == "1" {
		printer := logger.New(printLog{b}, logger.Config{LogLevel: logger.Info, ParameterizedQueries: true})
		desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: printer}), Keys: casestest.Keys})
		p, err := desk.AuthenticateToken(ctx, token)
		if err != nil {
			b.Fatal(err)
		}
		page, err := desk.Timeline(ctx, p, ref, cases.TimelineQuery{Limit: "200"})
		if err != nil || len(page.Data) != 200 || page.NextCursor != "" {
			b.Fatalf("%d entries, cursor %q: %v", len(page.Data), page.NextCursor, err)
		}
	}
	reportPageLatency(b, read)
}

// reportPageLatency runs read b.N times after a warm-up and reports the p95 and p50 of its
// server time and the statements one read sends.
func reportPageLatency(b *testing.B, read func() (time.Duration, int64)) {
	b.Helper()
	for i := 0; i < 20; i++ {
		read() // warm the pool and the prepared statements
	}
	_, statements := read()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		took, _ := read()
		durations = append(durations, took)
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[(len(durations)*95+99)/100-1].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(statements), "stmts/page")
}

// printLog writes gorm's statement log through the benchmark's log.
type printLog struct{ b *testing.B }

func (p printLog) Printf(format string, args ...any) { p.b.Logf(format, args...) }

// BenchmarkCasePage renders the console's case page of a case with 200 timeline entries through
// the whole router (session, route, use cases, template), on PostgreSQL with 1,000 other cases
// around it, and reports the p95 of the server time and the statements a page sends. Issue 21's
// target is a p95 of 20 ms. Run:
//
//	go test -run '^$' -bench BenchmarkCasePage -benchtime 1000x ./handlers/
func BenchmarkCasePage(b *testing.B) {
	ctx := context.Background()
	db := modelstest.Open(b, models.Postgres)
	counter := modelstest.NewStatementCounter()
	desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: counter}), Keys: casestest.Keys})
	srv, err := New(Config{Desk: desk})
	if err != nil {
		b.Fatal(err)
	}
	ref := timelineBenchCase(b, ctx, desk)
	for _, stmt := range []string{
		`INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, tags, flags, created_at, updated_at, version)
			SELECT 'GD-9' || lpad(g::text, 7, '0'), 'other', 'new', 'normal', (SELECT min(id) FROM customer_accounts WHERE NOT is_system),
				'background', '[]', '[]', now(), now(), 1 FROM generate_series(1, 1000) g`,
		`ANALYZE`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			b.Fatalf("%.60s: %v", stmt, err)
		}
	}
	signed, err := desk.SignIn(ctx, cases.SignInInput{Email: "agent@example.com", Password: "correct horse battery", ClientIP: "192.0.2.1"})
	if err != nil {
		b.Fatal(err)
	}
	read := func() (time.Duration, int64) {
		req := httptest.NewRequest(http.MethodGet, "/cases/"+ref, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: signed.Token})
		w := httptest.NewRecorder()
		before := counter.N.Load()
		start := time.Now()
		srv.ServeHTTP(w, req)
		took := time.Since(start)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), ref) {
			b.Fatalf("case page: %d %.300s", w.Code, w.Body)
		}
		return took, counter.N.Load() - before
	}
	reportPageLatency(b, read)
}
