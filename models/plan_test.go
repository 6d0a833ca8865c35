package models_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestListPlansUseIndexesAt100k fills PostgreSQL with 100,000 accounts, cases (a desk's history:
// four in five closed), cards and links and checks with EXPLAIN that the queue queries, the home
// page's counts and every branch of q are served by indexes: no sequential scan of a 100k-row table. It also runs a prepared search six times under the setting
// ListCases uses and checks the sixth plan, which is where a generic plan would drop the index.
func TestListPlansUseIndexesAt100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100k rows: skipped with -short")
	}
	db := modelstest.Open(t, models.Postgres)
	f := newFixture(t, db)
	for _, stmt := range []string{
		`INSERT INTO customer_accounts (account_id, marketplace, email, created_at, updated_at)
			SELECT 'ACCT' || g, 'US', 'user' || g || '@example.com', now(), now() FROM generate_series(1, 100000) g`,
		`INSERT INTO cases (ref, type, status, resolution, priority, customer_account_id, summary, tags, flags, assignee_id,
				first_response_due, resolution_due, created_at, updated_at, version)
			SELECT 'GD-' || lpad(g::text, 7, '0'), 'other',
				CASE WHEN g % 5 = 0 THEN (ARRAY['new', 'investigating', 'waiting_on_customer'])[1 + g % 3] ELSE 'closed' END,
				CASE WHEN g % 5 = 0 THEN NULL ELSE 'no_action' END,
				(ARRAY['low', 'normal', 'high', 'urgent'])[1 + g % 4],
				(SELECT min(id) FROM customer_accounts WHERE account_id LIKE 'ACCT%') + g - 1, 'case ' || g, '[]',
				CASE WHEN g % 200 = 0 THEN '["possible_duplicate"]' ELSE '[]' END::jsonb,
				CASE WHEN g % 100 = 0 THEN ` + fmt.Sprint(f.user) + ` END,
				now() + (g % 1000 - 5) * interval '1 hour', now() + (g % 1000 + 43) * interval '1 hour', now(), now(), 1
			FROM generate_series(1, 100000) g`,
		`INSERT INTO gift_cards (serial, claim_code_hmac, claim_code_last4, marketplace, currency, face_value_minor, created_at, updated_at)
			SELECT '60' || lpad(g::text, 14, '0'), decode(md5(g::text) || md5((-g)::text), 'hex'), upper(substr(md5(g::text), 1, 4)),
				'US', 'USD', 5000, now(), now()
			FROM generate_series(1, 100000) g`,
		`INSERT INTO case_cards (case_id, card_id, added_at)
			SELECT c.id, g.id, now() FROM cases c JOIN gift_cards g ON g.serial = '60' || lpad(substr(c.ref, 4)::int::text, 14, '0')`,
		// What autovacuum does to a table this size: statistics, and the visibility map that lets a
		// count read an index alone.
		`VACUUM ANALYZE`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatalf("%.60s: %v", stmt, err)
		}
	}
	links := modelstest.Count(t, db, `SELECT count(*) FROM case_cards`)
	if links < 100000 {
		t.Fatalf("%d case-card links, want 100000", links)
	}
	big := []string{"cases", "gift_cards", "case_cards", "customer_accounts"}
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
		{"q: ref", models.CaseFilter{Query: "gd-0012345", Limit: 51}, "cases_ref_trgm"},
		{"q: account", models.CaseFilter{Query: "acct4321", Limit: 51}, "customer_accounts_account_trgm"},
		{"q: email", models.CaseFilter{Query: "user4321@", Limit: 51}, "customer_accounts_email_trgm"},
		{"q: serial", models.CaseFilter{Query: "00000000012345", Limit: 51}, "gift_cards_serial_trgm"},
		{"q: last 4", models.CaseFilter{Query: "c4ca", Limit: 51}, "gift_cards_last4"},
		{"queue: my open", models.CaseFilter{StatusIn: open, AssigneeID: &f.user, Limit: 51}, "cases_assignee"},
		{"queue: unassigned", models.CaseFilter{StatusIn: open, Unassigned: true, Limit: 51}, ""},
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
		{Status: "waiting_on_customer"}, {Status: "pending_approval"}}))
	for _, table := range big {
		if strings.Contains(counts, "Seq Scan on "+table) {
			t.Errorf("queue counts: sequential scan of %s:\n%s", table, counts)
		}
	}
	for _, index := range []string{"cases_assignee", "Index Only Scan using cases_open_first_response_due", "Index Only Scan using cases_open_resolution_due", "cases_status"} {
		if !strings.Contains(counts, index) {
			t.Errorf("queue counts: the plan does not use %s:\n%s", index, counts)
		}
	}
	// The sixth run of a prepared search, planned as ListCases plans it.
	sql, vars := models.CaseListStatement(db, models.CaseFilter{Query: "gd-0012345", Limit: 51})
	args := make([]string, len(vars))
	for i, v := range vars {
		args[i] = pgLiteral(v)
	}
	var sixth string
	err := db.Connection(func(conn *gorm.DB) error {
		for _, stmt := range []string{`SET plan_cache_mode = force_custom_plan`, `PREPARE search AS ` + sql} {
			if err := conn.Exec(stmt).Error; err != nil {
				return err
			}
		}
		for i := 0; i < 6; i++ {
			if err := conn.Exec(`EXECUTE search(` + strings.Join(args, ", ") + `)`).Error; err != nil {
				return err
			}
		}
		sixth = explain(t, conn, `EXPLAIN EXECUTE search(`+strings.Join(args, ", ")+`)`)
		return conn.Exec(`DEALLOCATE search`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range big {
		if strings.Contains(sixth, "Seq Scan on "+table) {
			t.Errorf("sixth run of a prepared search: sequential scan of %s:\n%s", table, sixth)
		}
	}
	if !strings.Contains(sixth, "cases_ref_trgm") {
		t.Errorf("the sixth run of a prepared search does not use the trigram index:\n%s", sixth)
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
