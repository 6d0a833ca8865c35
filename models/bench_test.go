package models_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// BenchmarkCaseInsert compares a single-row case insert through models (gorm, prepared
// statements, the desk's pool) with the same INSERT sent by pgx directly, in one run, serially
// and with 16 concurrent clients. Run:
//
//	go test -run '^$' -bench BenchmarkCaseInsert -benchtime 3s ./models/
func BenchmarkCaseInsert(b *testing.B) {
	url := modelstest.URL(b, models.Postgres)
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{URL: url, MaxOpenConns: 32})
	if err != nil {
		b.Fatal(err)
	}
	defer models.Close(db)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	now := models.Now()
	if err := db.Exec(`INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('BENCH1', 'US', ?, ?)`, now, now).Error; err != nil {
		b.Fatal(err)
	}
	acct, err := models.AccountByAccountID(ctx, db, "BENCH1")
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	nextRef := func() string { return fmt.Sprintf("GD-%09d", seq.Add(1)) }
	viaModels := func() error {
		c := models.Case{Ref: nextRef(), Type: "other", Status: "new", Priority: "normal", CustomerAccountID: acct.ID,
			Summary: "Redeemed on work account", Description: "benchmark", CreatedAt: now, UpdatedAt: now}
		return models.InsertCase(ctx, db, &c)
	}
	const insertSQL = `INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, description,
		tags, flags, created_at, updated_at, version) VALUES ($1, 'other', 'new', 'normal', $2, $3, $4, '[]', '[]', $5, $5, 1) RETURNING id`
	viaPgx := func() error {
		var id int64
		return pool.QueryRow(ctx, insertSQL, nextRef(), acct.ID, "Redeemed on work account", "benchmark", now).Scan(&id)
	}
	for _, impl := range []struct {
		name string
		fn   func() error
	}{{"pgx", viaPgx}, {"models", viaModels}} {
		b.Run(impl.name+"/serial", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := impl.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(impl.name+"/16-clients", func(b *testing.B) {
			b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := impl.fn(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	n := modelstest.Count(b, db, `SELECT count(*) FROM cases`)
	b.Logf("cases inserted: %d", n)
}
