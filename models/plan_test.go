package models_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestListPlansUseIndexesAt100k fills PostgreSQL with 100,000 accounts, cases (a desk's history:
// four in five closed), cards and links and checks with EXPLAIN that the queue queries, the home
// page's counts and every shape of q are served by indexes: no sequential scan of a 100k-row
// table. GIFTDESK_PLAN_TEST_CASES=1000000 runs it at a million (about 3 minutes here).
// PostgreSQL only: plans, operator classes and trigram indexes are its own.
func TestListPlansUseIndexesAt100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100k rows: skipped with -short")
	}
	n := 100000
	if v := os.Getenv("GIFTDESK_PLAN_TEST_CASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100000 {
			t.Fatalf("GIFTDESK_PLAN_TEST_CASES=%q: want a number of cases from 100000", v)
		}
	}
	db := modelstest.Open(t, models.Postgres)
	f := newFixture(t, db)
	load := []string{
		`INSERT INTO customer_accounts (account_id, marketplace, email, created_at, updated_at)
			SELECT 'ACCT' || g, 'US', 'user' || g || '@example.com', now(), now() FROM generate_series(1, {n}) g`,
		`INSERT INTO cases (ref, type, status, resolution, priority, customer_account_id, summary, tags, flags, assignee_id,
				first_response_due, resolution_due, created_at, updated_at, version)
			SELECT 'GD-' || CASE WHEN g + 1 < 1000000 THEN lpad((g + 1)::text, 6, '0') ELSE (g + 1)::text END, 'other',
				CASE WHEN g % 5 = 0 THEN (ARRAY['new', 'investigating', 'waiting_on_customer'])[1 + g % 3] ELSE 'closed' END,
				CASE WHEN g % 5 = 0 THEN NULL ELSE 'no_action' END,
				(ARRAY['low', 'normal', 'high', 'urgent'])[1 + g % 4],
				(SELECT min(id) FROM customer_accounts WHERE account_id LIKE 'ACCT%') + g - 1, 'case ' || g, '[]',
				CASE WHEN g % 200 = 0 THEN '["possible_duplicate"]' ELSE '[]' END::jsonb,
				CASE WHEN g % 100 = 0 THEN ` + fmt.Sprint(f.user) + ` END,
				now() + (g % 1000 - 5) * interval '1 hour', now() + (g % 1000 + 43) * interval '1 hour', now(), now(), 1
			FROM generate_series(1, {n}) g`,
		`INSERT INTO gift_cards (serial, claim_code_hmac, claim_code_last4, marketplace, currency, face_value_minor, created_at, updated_at)
			SELECT '60' || lpad(g::text, 14, '0'), decode(md5(g::text) || md5((-g)::text), 'hex'), upper(substr(md5(g::text), 1, 4)),
				'US', 'USD', 5000, now(), now()
			FROM generate_series(1, {n}) g`,
		`INSERT INTO case_cards (case_id, card_id, added_at)
			SELECT c.id, g.id, now() FROM cases c JOIN gift_cards g ON g.serial = '60' || lpad(substr(c.ref, 4)::int::text, 14, '0')`,
	}
	for _, stmt := range load {
		if err := db.Exec(strings.ReplaceAll(stmt, "{n}", strconv.Itoa(n))).Error; err != nil {
			t.Fatalf("%.60s: %v", stmt, err)
		}
	}
	if links := modelstest.Count(t, db, `SELECT count(*) FROM case_cards`); links < int64(n) {
		t.Fatalf("%d case-card links, want %d", links, n)
	}
	big := []string{"cases", "gift_cards", "case_cards", "customer_accounts"}
	// Searches before any statistics exist (autovacuum may be off, as on this machine): a shaped
	// search must not turn into a scan of a big table meanwhile. Free text may: without
	// statistics PostgreSQL guesses that a trigram match keeps many rows.
	for _, sh := range searchShapes {
		if sh.search.Contains == "" {
			checkSearchPlan(t, db, "no statistics: "+sh.name, sh, big)
		}
	}
	// What autovacuum does to a table this size: statistics, and the visibility map that lets a
	// count read an index alone.
	if err := db.Exec(`VACUUM ANALYZE`).Error; err != nil {
		t.Fatal(err)
	}
	for _, sh := range searchShapes {
		checkSearchPlan(t, db, sh.name, sh, big)
	}
	open := []string{"new", "investigating", "waiting_on_customer", "pending_approval"}
	soon := time.Now().Add(2 * time.Hour)
	for _, tt := range []struct {
		name   string
		filter models.CaseFilter
		index  string // an index the plan must use, "" for any
	}{
		{"queue: new cases", models.CaseFilter{Status: "new", Limit: 51}, "Index"},
		{"queue: mine", models.CaseFilter{AssigneeID: &f.user, Limit: 51}, "cases_assignee"},
		{"queue: urgent", models.CaseFilter{Priority: "urgent", Limit: 51}, ""},
		{"queue: flagged", models.CaseFilter{Flag: "possible_duplicate", Limit: 51}, ""},
		{"queue: my open", models.CaseFilter{StatusIn: open, AssigneeID: &f.user, Limit: 51}, "cases_open_assignee"},
		{"queue: unassigned", models.CaseFilter{StatusIn: open, Unassigned: true, Limit: 51}, "cases_open_unassigned"},
		{"queue: SLA at risk", models.CaseFilter{StatusIn: open, DueBy: &soon, Limit: 51}, ""},
		{"queue: SLA at risk, previous page", models.CaseFilter{StatusIn: open, DueBy: &soon, AfterID: 50000, Limit: 51}, ""},
		{"cases of a card", models.CaseFilter{CardID: 4321, Limit: 51}, "case_cards_card"},
		{"change feed", models.CaseFilter{Changes: &models.ChangeRange{AfterSeq: 0, AfterID: 50000, Horizon: 1 << 40}, Limit: 101}, "Index Scan using cases_change_seq"},
	} {
		plan := explain(t, db, "EXPLAIN "+models.CaseListSQL(db, tt.filter))
		for _, table := range big {
			if strings.Contains(plan, "Seq Scan on "+table+" ") || strings.HasSuffix(strings.TrimSpace(plan), "Seq Scan on "+table) {
				t.Errorf("%s: sequential scan of %s:\n%s", tt.name, table, plan)
			}
		}
		if tt.index != "" && !strings.Contains(plan, tt.index) {
			t.Errorf("%s: the plan does not use %s:\n%s", tt.name, tt.index, plan)
		}
	}
	// The home page's counts: one statement, every queue from its own index.
	counts := explain(t, db, "EXPLAIN "+models.CaseCountSQL(db, []models.CaseFilter{
		{StatusIn: open, AssigneeID: &f.user}, {StatusIn: open, Unassigned: true}, {StatusIn: open, DueBy: &soon},
		{Status: "waiting_on_customer"}, {StatusIn: open, ToVerifyBy: &f.user}, {Status: "pending_approval"}}, 1001))
	for _, table := range big {
		if strings.Contains(counts, "Seq Scan on "+table) {
			t.Errorf("queue counts: sequential scan of %s:\n%s", table, counts)
		}
	}
	for _, index := range []string{"cases_open_assignee", "cases_open_unassigned", "Index Only Scan using cases_open_first_response_due", "Index Only Scan using cases_open_resolution_due", "cases_status"} {
		if !strings.Contains(counts, index) {
			t.Errorf("queue counts: the plan does not use %s:\n%s", index, counts)
		}
	}
	// The case page's other cases of its accounts (customer or intended) and its audit panel's
	// cards: each arm from its own index, never a scan of every case or card.
	sent := modelstest.NewStatementCounter()
	sent.KeepSQL = true
	traced := db.Session(&gorm.Session{Logger: sent})
	var accountID int64
	if err := db.Raw(`SELECT customer_account_id FROM cases ORDER BY id DESC LIMIT 1`).Scan(&accountID).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := models.CasesOfAccounts(context.Background(), traced, []int64{accountID}, 0, 20); err != nil {
		t.Fatal(err)
	}
	checkNoScan(t, db, "other cases of an account", sent.Last(), big, "cases_intended_account")
	if _, err := models.CardsNamedByEvents(context.Background(), traced, []models.AuditRow{
		{AuditEvent: models.AuditEvent{EntityType: "case", EntityID: "GD-000042"}},
		{AuditEvent: models.AuditEvent{EntityType: "card", EntityID: "7"}},
		{AuditEvent: models.AuditEvent{EntityType: "correction", EntityID: "3"}}}); err != nil {
		t.Fatal(err)
	}
	checkNoScan(t, db, "audit panel cards", sent.Last(), big, "gift_cards_pkey")
	checkRepeatedSearchUsesIndex(t, db)
	// The counts are planned for their own user and time on every run: never a named statement,
	// whose generic plan after five runs read 390 ms where its custom plan reads 80 (1M cases).
	for range 7 {
		if _, err := models.CountCases(context.Background(), db, []models.CaseFilter{{StatusIn: open, AssigneeID: &f.user}}, 1001); err != nil {
			t.Fatal(err)
		}
	}
	var named []string
	modelstest.Scan(t, db, &named, `SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%AS capped%' AND statement NOT LIKE 'EXPLAIN%' AND statement NOT LIKE '%pg_prepared_statements%'`)
	if len(named) != 0 {
		t.Errorf("the queue counts were prepared as a named statement: %q", named)
	}
}

// checkNoScan explains stmt and fails when its plan reads any of tables sequentially or does not
// use index.
func checkNoScan(t *testing.T, db *gorm.DB, name, stmt string, tables []string, index string) {
	t.Helper()
	if stmt == "" {
		t.Fatalf("%s: no statement was sent", name)
	}
	plan := explain(t, db, "EXPLAIN "+stmt)
	for _, table := range tables {
		if strings.Contains(plan, "Seq Scan on "+table+" ") || strings.HasSuffix(strings.TrimSpace(plan), "Seq Scan on "+table) {
			t.Errorf("%s: sequential scan of %s:\n%s", name, table, plan)
		}
	}
	if !strings.Contains(plan, index) {
		t.Errorf("%s: the plan does not use %s:\n%s", name, index, plan)
	}
}

func explain(t *testing.T, db *gorm.DB, stmt string) string {
	t.Helper()
	var lines []string
	if err := db.Raw(stmt).Scan(&lines).Error; err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	return strings.Join(lines, "\n")
}

func pgLiteral(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case int, int64:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("'%v'", v)
}
