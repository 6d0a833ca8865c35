package models_test

import (
	"strings"
	"testing"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestChangeFeedReadsOneIndexRangeOnSQLite checks that a poll of the change feed reads one range
// of the cases_change_seq index in its order, and its horizon one end of it, on a table too big
// to scan (PostgreSQL's plan is checked at 100k rows in TestListPlansUseIndexesAt100k).
func TestChangeFeedReadsOneIndexRangeOnSQLite(t *testing.T) {
	db := modelstest.Open(t, models.SQLite)
	f := newFixture(t, db)
	modelstest.Exec(t, db, `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 5000)
		INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, tags, flags, created_at, updated_at, version)
		SELECT 'GD-X' || printf('%06d', n), 'other', 'new', 'normal', ?, 'case', '[]', '[]', datetime('now'), datetime('now'), 1 FROM g`, f.account)
	modelstest.Exec(t, db, `ANALYZE`)
	if n := modelstest.Count(t, db, `SELECT count(DISTINCT change_seq) FROM cases`); n < 5000 {
		t.Fatalf("%d distinct change sequences for 5001 cases: the insert trigger did not draw one each", n)
	}
	plan := func(stmt string) string {
		var rows []struct {
			ID, Parent, Notused int
			Detail              string
		}
		if err := db.Raw("EXPLAIN QUERY PLAN " + stmt).Scan(&rows).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		var lines []string
		for _, r := range rows {
			lines = append(lines, r.Detail)
		}
		return strings.Join(lines, "\n")
	}
	feed := plan(models.CaseListSQL(db, models.CaseFilter{Changes: &models.ChangeRange{AfterSeq: 2500, AfterID: 2500, Horizon: 4000}, Limit: 101}))
	if !strings.Contains(feed, "SEARCH cases USING INDEX cases_change_seq") || strings.Contains(feed, "TEMP B-TREE") {
		t.Errorf("the feed does not read a range of cases_change_seq in its order:\n%s", feed)
	}
	horizon := plan(models.SQLiteChangeHorizon)
	if !strings.Contains(horizon, "cases_change_seq") {
		t.Errorf("the horizon does not read the index:\n%s", horizon)
	}
}
