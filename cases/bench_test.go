package cases_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// BenchmarkAuditedWrite measures a write that records an audit event (token creation: user
// look-up, token insert, audit insert, one transaction) at 16 concurrent clients on PostgreSQL,
// with no sealer and with a sealer chaining every 500 ms as serve runs it. Writers take no lock of
// the chain (R10), so the two should match. Run:
//
//	go test -run '^$' -bench BenchmarkAuditedWrite -benchtime 10s ./cases/
func BenchmarkAuditedWrite(b *testing.B) {
	for _, sealing := range []bool{false, true} {
		name := "no-sealer"
		if sealing {
			name = "sealer-every-500ms"
		}
		b.Run(name, func(b *testing.B) {
			db := modelstest.Open(b, models.Postgres)
			desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
			now := models.Now()
			u := models.User{Email: "writer@example.com", Name: "W", Role: "agent", PasswordHash: "x", Active: true, CreatedAt: now, UpdatedAt: now}
			if err := models.CreateUser(context.Background(), db, &u); err != nil {
				b.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			sealerDone := make(chan struct{})
			go func() {
				defer close(sealerDone)
				tick := time.NewTicker(500 * time.Millisecond)
				defer tick.Stop()
				for sealing {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						if _, err := desk.SealPass(ctx); err != nil && ctx.Err() == nil {
							b.Error(err)
							return
						}
					}
				}
			}()
			var n atomic.Int64
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "writer@example.com",
						Name: fmt.Sprint(n.Add(1)), Scopes: []cases.Scope{cases.ScopeCasesRead}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			stop()
			<-sealerDone
			if sealing {
				if _, err := desk.SealPass(context.Background()); err != nil {
					b.Fatal(err)
				}
				r, err := desk.VerifyAudit(context.Background())
				if err != nil || !r.Intact() {
					b.Fatalf("chain after the run: %+v %v", r, err)
				}
			}
		})
	}
}
