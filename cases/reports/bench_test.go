package reports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/reports"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// sqlRecorder keeps the statements a report sends, with their values, to run them again under
// EXPLAIN ANALYZE.
type sqlRecorder struct {
	logger.Interface
	mu   sync.Mutex
	on   bool
	stmt []string
}

func (r *sqlRecorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		sql, _ := fc()
		r.stmt = append(r.stmt, sql)
	}
}

type reportRun func(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) error

var benchReports = []struct {
	name string
	run  reportRun
}{
	{"volume", func(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) error {
		_, err := r.Volume(ctx, p, rg)
		return err
	}},
	{"times", func(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) error {
		_, err := r.Times(ctx, p, rg)
		return err
	}},
	{"sla", func(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) error {
		_, err := r.SLA(ctx, p, rg)
		return err
	}},
	{"corrections", func(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) error {
		_, err := r.Corrections(ctx, p, rg)
		return err
	}},
	{"cards", func(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) error {
		_, err := r.Clusters(ctx, p, rg)
		return err
	}},
}

// BenchmarkReports1M answers each report for the default 30 days and for the longest range
// (reports.MaxDays, 92 days) on PostgreSQL holding 1,000,000 cases (bench/reports_setup.sql), one
// call after the other. It reports p50 and p95 of the report's time in the desk (statements, scans
// and Go), and db-ms: the same statements with the same values under EXPLAIN (ANALYZE, TIMING OFF)
// in PostgreSQL (planning plus execution, without per-node clocks), once, after the timed calls;
// desk/db is p50 over db-ms. Loading takes minutes, so it only runs with GIFTDESK_BENCH_1M=1:
//
//	GIFTDESK_BENCH_1M=1 go test -run '^$' -bench BenchmarkReports1M -benchtime 30x -timeout 30m ./cases/reports/
func BenchmarkReports1M(b *testing.B) {
	if os.Getenv("GIFTDESK_BENCH_1M") != "1" {
		b.Skip("set GIFTDESK_BENCH_1M=1: it loads 1,000,000 cases")
	}
	db := modelstest.Open(b, models.Postgres)
	setup, err := os.ReadFile("../../bench/reports_setup.sql")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// One connection, without the test databases' statement timeout: the load takes minutes.
	err = db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SET statement_timeout = 0").Error; err != nil {
			return err
		}
		for _, stmt := range strings.Split(string(setup), ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if err := conn.Exec(stmt).Error; err != nil {
				return fmt.Errorf("%w in %.80s", err, stmt)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("1,000,000 cases loaded in %s", time.Since(start).Round(time.Second))
	rec := &sqlRecorder{Interface: logger.Discard}
	desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: rec}), Keys: casestest.Keys})
	r := reports.New(desk)
	sup := cases.Principal{UserID: 1, Role: cases.RoleSupervisor}
	ctx := context.Background()
	for _, days := range []int{30, reports.MaxDays} {
		now := time.Now().UTC()
		rg, err := reports.ParseRange(now.AddDate(0, 0, 1-days).Format(reports.DateLayout), now.Format(reports.DateLayout), time.UTC, now)
		if err != nil {
			b.Fatal(err)
		}
		for _, rep := range benchReports {
			b.Run(rep.name+"-"+strconv.Itoa(days)+"d", func(b *testing.B) {
				if err := rep.run(ctx, r, sup, rg); err != nil { // warm: plans and caches
					b.Fatal(err)
				}
				times := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					if err := rep.run(ctx, r, sup, rg); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t0))
				}
				b.StopTimer()
				rec.mu.Lock()
				rec.on, rec.stmt = true, nil
				rec.mu.Unlock()
				if err := rep.run(ctx, r, sup, rg); err != nil {
					b.Fatal(err)
				}
				rec.mu.Lock()
				rec.on = false
				stmts := rec.stmt
				rec.mu.Unlock()
				// The statements again, with the same settings (a report's SET LOCAL), in one
				// transaction, each under EXPLAIN ANALYZE.
				dbMS := 0.0
				err := db.Transaction(func(tx *gorm.DB) error {
					for _, s := range stmts {
						if strings.HasPrefix(s, "SET") {
							if err := tx.Exec(s).Error; err != nil {
								return err
							}
							continue
						}
						var plan []struct {
							Planning  float64 `json:"Planning Time"`
							Execution float64 `json:"Execution Time"`
						}
						var raw string
						if err := tx.Raw("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + s).Row().Scan(&raw); err != nil {
							return fmt.Errorf("explain: %w", err)
						}
						if err := json.Unmarshal([]byte(raw), &plan); err != nil || len(plan) != 1 {
							return fmt.Errorf("plan: %v %s", err, raw)
						}
						dbMS += plan[0].Planning + plan[0].Execution
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				selects := 0
				for _, s := range stmts {
					if !strings.HasPrefix(s, "SET") {
						selects++
					}
				}
				slices.Sort(times)
				p50 := float64(times[len(times)/2].Microseconds()) / 1000
				b.ReportMetric(p50, "p50-ms")
				b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
				b.ReportMetric(dbMS, "db-ms")
				b.ReportMetric(p50/dbMS, "desk/db")
				b.ReportMetric(float64(selects), "selects")
			})
		}
	}
}

// BenchmarkReportsSQLite answers each report for 30 and 92 days on SQLite holding 50,000 cases
// (bench/reports_setup_sqlite.sql): the embedded database's reports work, and what they cost.
//
//	go test -run '^$' -bench BenchmarkReportsSQLite -benchtime 10x ./cases/reports/
func BenchmarkReportsSQLite(b *testing.B) {
	db := modelstest.Open(b, models.SQLite)
	setup, err := os.ReadFile("../../bench/reports_setup_sqlite.sql")
	if err != nil {
		b.Fatal(err)
	}
	for _, stmt := range strings.Split(string(setup), ";\n") {
		if strings.TrimSpace(stmt) != "" {
			if err := db.Exec(stmt).Error; err != nil {
				b.Fatalf("%v in %.80s", err, stmt)
			}
		}
	}
	r := reports.New(cases.New(cases.Config{DB: db, Keys: casestest.Keys}))
	sup := cases.Principal{UserID: 1, Role: cases.RoleSupervisor}
	ctx := context.Background()
	var n int64
	if err := db.Raw(`SELECT count(*) FROM cases`).Scan(&n).Error; err != nil || n != 50000 {
		b.Fatalf("%d cases loaded: %v", n, err)
	}
	now := time.Now().UTC()
	month, err := reports.ParseRange("", "", time.UTC, now)
	if err != nil {
		b.Fatal(err)
	}
	v, err := r.Volume(ctx, sup, month)
	if err != nil {
		b.Fatal(err)
	}
	cl, err := r.Clusters(ctx, sup, month)
	if err != nil {
		b.Fatal(err)
	}
	opened, _ := v.ByDay()
	var total int64
	for _, o := range opened {
		total += o
	}
	if total == 0 || len(cl) == 0 {
		b.Fatalf("the last 30 days hold %d cases and %d clusters", total, len(cl))
	}
	b.Logf("the last 30 days: %d cases opened, %d card clusters, the largest on %d cases", total, len(cl), cl[0].Cases)
	for _, days := range []int{30, reports.MaxDays} {
		now := time.Now().UTC()
		rg, err := reports.ParseRange(now.AddDate(0, 0, 1-days).Format(reports.DateLayout), now.Format(reports.DateLayout), time.UTC, now)
		if err != nil {
			b.Fatal(err)
		}
		for _, rep := range benchReports {
			b.Run(rep.name+"-"+strconv.Itoa(days)+"d", func(b *testing.B) {
				times := make([]time.Duration, 0, b.N)
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					if err := rep.run(ctx, r, sup, rg); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t0))
				}
				slices.Sort(times)
				b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			})
		}
	}
}
