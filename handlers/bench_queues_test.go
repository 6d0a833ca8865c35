package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// BenchmarkHomeQueues serves the console's home page, one queue at a time, and the case list, on
// PostgreSQL holding 100,000 cases (bench/home_queues_setup.sql, the file pgbench's twin loads
// too), one request at a time through the whole router with a real session. It reports the
// server time per page (p50 and p95 over b.N requests, rendering included) and the statements a
// page sends. Run:
//
//	go test -run '^$' -bench BenchmarkHomeQueues -benchtime 400x ./handlers/
func BenchmarkHomeQueues(b *testing.B) {
	db := modelstest.Open(b, models.Postgres)
	counter := modelstest.NewStatementCounter()
	desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: counter}), Keys: casestest.Keys})
	srv, err := New(Config{Desk: desk})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: "me@bench", Name: "Me", Role: cases.RoleAgent, Password: "correct horse battery"}); err != nil {
		b.Fatal(err)
	}
	setup, err := os.ReadFile("../bench/home_queues_setup.sql")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// One connection: the setup's temporary tables live in it.
	err = db.Connection(func(conn *gorm.DB) error {
		for _, stmt := range strings.Split(string(setup), ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if err := conn.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("100,000 cases loaded in %s", time.Since(start).Round(time.Second))
	signed, err := desk.SignIn(ctx, cases.SignInInput{Email: "me@bench", Password: "correct horse battery", ClientIP: "192.0.2.1"})
	if err != nil {
		b.Fatal(err)
	}
	me, err := desk.Session(ctx, signed.Token)
	if err != nil {
		b.Fatal(err)
	}
	counts, err := desk.QueueCounts(ctx, me.Principal)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("queue counts: %+v", counts)
	get := func(path string) time.Duration {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: signed.Token})
		w := httptest.NewRecorder()
		t0 := time.Now()
		srv.ServeHTTP(w, req)
		d := time.Since(t0)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d", path, w.Code)
		}
		return d
	}
	for _, path := range []string{"/?queue=mine", "/?queue=unassigned", "/?queue=sla", "/?queue=waiting", "/?queue=verify", "/?queue=approval", "/cases", "/cases?priority=urgent&assignee=none"} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			get(path) // warm: the prepared statements of this page
			times := make([]time.Duration, 0, b.N)
			before := counter.N.Load()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				times = append(times, get(path))
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(counter.N.Load()-before)/float64(b.N), "stmts/page")
		})
	}
}
