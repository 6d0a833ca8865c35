package cases_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// BenchmarkApprove approves pending transfers (each on its own card, so that only the work of an
// approval is measured, not contention on one card) with 16 concurrent supervisors on PostgreSQL,
// and checks afterwards that none was applied twice. Run:
//
//	go test -run '^$' -bench BenchmarkApprove -benchtime 3000x ./cases/
func BenchmarkApprove(b *testing.B) {
	ctx := context.Background()
	db := modelstest.Open(b, models.Postgres)
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	now := models.Now()
	agent := models.User{Email: "agent@example.com", Name: "A", Role: "agent", PasswordHash: "x", Active: true, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateUser(ctx, db, &agent); err != nil {
		b.Fatal(err)
	}
	var sups []cases.Principal
	for i := 0; i < 16; i++ {
		u := models.User{Email: fmt.Sprintf("s%d@example.com", i), Name: "S", Role: "supervisor", PasswordHash: "x", Active: true, CreatedAt: now, UpdatedAt: now}
		if err := models.CreateUser(ctx, db, &u); err != nil {
			b.Fatal(err)
		}
		sups = append(sups, cases.Principal{UserID: u.ID, Email: u.Email, Role: cases.RoleSupervisor})
	}
	n := b.N
	for _, stmt := range []string{
		`INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('BFROM', 'US', now(), now()), ('BTO', 'US', now(), now())`,
		fmt.Sprintf(`INSERT INTO cases (ref, type, status, priority, customer_account_id, intended_account_id, summary, tags, flags, created_at, updated_at, version)
			SELECT 'GD-' || lpad(g::text, 8, '0'), 'wrong_account', 'pending_approval', 'normal', f.id, t.id, 'bench', '[]', '[]', now(), now(), 1
			FROM generate_series(1, %d) g, customer_accounts f, customer_accounts t WHERE f.account_id = 'BFROM' AND t.account_id = 'BTO'`, n),
		fmt.Sprintf(`INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, status, redeemed_to_account_id, created_at, updated_at)
			SELECT 'B' || g, 'US', 'USD', 5000, 'redeemed', f.id, now(), now() FROM generate_series(1, %d) g, customer_accounts f WHERE f.account_id = 'BFROM'`, n),
		`INSERT INTO case_cards (case_id, card_id, added_at) SELECT c.id, g.id, now() FROM cases c JOIN gift_cards g ON g.serial = 'B' || substr(c.ref, 4)::int`,
		fmt.Sprintf(`INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, card_id, reason, requested_by_id, required_approvals, created_at, updated_at)
			SELECT cc.case_id, 'transfer', 'pending', 2500, 'USD', c.customer_account_id, c.intended_account_id, cc.card_id, 'bench', %d, 1, now(), now()
			FROM case_cards cc JOIN cases c ON c.id = cc.case_id`, agent.ID),
		`ANALYZE`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			b.Fatalf("%.50s: %v", stmt, err)
		}
	}
	var ids []int64
	modelstest.Scan(b, db, &ids, `SELECT id FROM corrections ORDER BY id`)
	if len(ids) != n {
		b.Fatalf("%d corrections prepared, want %d", len(ids), n)
	}
	var next atomic.Int64
	var who atomic.Int64
	b.SetParallelism(8) // 16 supervisors on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := sups[who.Add(1)%16]
		for pb.Next() {
			id := ids[next.Add(1)-1]
			if _, err := desk.ApproveCorrection(ctx, s, cases.ActorFor(s, "", "", ""), id, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	applied := modelstest.Count(b, db, `SELECT count(*) FROM corrections WHERE status = 'applied'`)
	postings := modelstest.Count(b, db, `SELECT count(*) FROM postings`)
	unbalanced := modelstest.Count(b, db, `SELECT count(*) FROM (SELECT correction_id FROM postings GROUP BY correction_id HAVING SUM(amount_minor) <> 0 OR count(*) <> 2) x`)
	if applied != int64(n) || postings != 2*int64(n) || unbalanced != 0 {
		b.Fatalf("%d applied, %d postings, %d unbalanced for %d approvals: a double or half application", applied, postings, unbalanced, n)
	}
}
