package models_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// searchShape is one shape of q as cases.SearchFor sorts it (cases/search_shape_test.go checks
// that SearchFor gives these same probes for q), with the indexes its plan must use on the data
// of TestListPlansUseIndexesAt100k.
type searchShape struct {
	name, q string
	search  models.CaseSearch
	indexes []string
	// skipped are indexes in the plan that must not run: the serial fragment's trigram scan when
	// a probe found the case.
	skipped []string
}

var searchShapes = []searchShape{
	{"ref", "gd-012345", models.CaseSearch{Refs: []string{"GD-012345"}}, []string{"cases_ref_key"}, nil},
	{"number", "12345", models.CaseSearch{Refs: []string{"GD-012345"}, AccountPrefix: "12345"},
		[]string{"cases_ref_key", "customer_accounts_account_prefix"}, nil},
	{"four digits", "4321", models.CaseSearch{Refs: []string{"GD-004321"}, AccountPrefix: "4321", Last4: "4321"},
		[]string{"cases_ref_key", "customer_accounts_account_prefix", "gift_cards_last4"}, nil},
	{"serial", "6000000000012345", models.CaseSearch{Refs: []string{"GD-6000000000012345"}, AccountPrefix: "6000000000012345",
		SerialPrefix: "6000000000012345", SerialFragment: "6000000000012345"},
		[]string{"gift_cards_serial_prefix"}, []string{"gift_cards_serial_trgm"}},
	{"serial fragment found nowhere else", "98765432", models.CaseSearch{Refs: []string{"GD-98765432"}, AccountPrefix: "98765432",
		SerialPrefix: "98765432", SerialFragment: "98765432"},
		[]string{"gift_cards_serial_prefix", "gift_cards_serial_trgm"}, nil},
	{"email", "user4321@", models.CaseSearch{EmailPrefix: "user4321@"}, []string{"customer_accounts_email_prefix"}, nil},
	{"account id", "acct4321", models.CaseSearch{AccountPrefix: "acct4321", SerialPrefix: "acct4321"},
		[]string{"customer_accounts_account_prefix", "gift_cards_serial_prefix"}, nil},
	{"last 4", "c4ca", models.CaseSearch{AccountPrefix: "c4ca", Last4: "C4CA"},
		[]string{"gift_cards_last4", "customer_accounts_account_prefix"}, nil},
	{"text", "ct4321 x", models.CaseSearch{Contains: "ct4321 x"},
		[]string{"cases_ref_trgm", "customer_accounts_account_trgm", "customer_accounts_email_trgm", "gift_cards_serial_trgm"}, nil},
}

// planNode is one node of EXPLAIN (ANALYZE, FORMAT JSON).
type planNode struct {
	Type     string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Loops    int64      `json:"Actual Loops"`
	Plans    []planNode `json:"Plans"`
}

// checkSearchPlan runs the list query of sh with EXPLAIN (ANALYZE, FORMAT JSON), as PostgreSQL
// plans it for its arguments (ListCases sends it unnamed), and checks that every index of sh is in
// the plan, that its skipped ones never run, and that no big table is read sequentially.
func checkSearchPlan(t *testing.T, db *gorm.DB, name string, sh searchShape, big []string) {
	t.Helper()
	search := sh.search
	sql := models.CaseListSQL(db, models.CaseFilter{Search: &search, Limit: 51})
	var raw string
	if err := db.Raw("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).Row().Scan(&raw); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var root []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(raw), &root); err != nil || len(root) != 1 {
		t.Fatalf("%s: %v %s", name, err, raw)
	}
	loops := map[string]int64{} // index → runs
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Type == "Seq Scan" && strings.Contains(" "+strings.Join(big, " ")+" ", " "+n.Relation+" ") {
			t.Errorf("%s: sequential scan of %s:\n%s", name, n.Relation, raw)
		}
		if n.Index != "" {
			loops[n.Index] += n.Loops
			if !strings.Contains(n.Type, "Index") {
				t.Errorf("%s: %s read by %s", name, n.Index, n.Type)
			}
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(root[0].Plan)
	for _, index := range sh.indexes {
		if _, ok := loops[index]; !ok {
			t.Errorf("%s: the plan does not use %s:\n%s", name, index, raw)
		}
	}
	for _, index := range sh.skipped {
		if loops[index] != 0 {
			t.Errorf("%s: %s ran %d times, want never:\n%s", name, index, loops[index], raw)
		}
	}
}

// checkRepeatedSearchUsesIndex runs an email search through ListCases eight times on one
// connection and reads the index and table counters around: every run reads the email index and
// none scans the accounts, so the sixth and later runs, where PostgreSQL may switch a prepared
// statement to a generic plan, are planned like the first. It also checks that the search was
// never prepared as a named statement, and that each run is one statement.
func checkRepeatedSearchUsesIndex(t *testing.T, db *gorm.DB) {
	t.Helper()
	ctx := context.Background()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1) // the search and the counters on one backend
	counters := func() (idx, seq int64) {
		t.Helper()
		// A backend sends its counters at most once a second; this makes the next statement's end
		// send them (PostgreSQL 15).
		var sink any
		if err := db.Raw(`SELECT pg_stat_force_next_flush()`).Row().Scan(&sink); err != nil {
			t.Fatal(err)
		}
		if err := db.Raw(`SELECT (SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'customer_accounts_email_prefix'),
				(SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'customer_accounts')`).Row().Scan(&idx, &seq); err != nil {
			t.Fatal(err)
		}
		return idx, seq
	}
	idx0, seq0 := counters()
	counter := modelstest.NewStatementCounter()
	counted := db.Session(&gorm.Session{Logger: counter})
	const runs = 8
	for i := 0; i < runs; i++ {
		before := counter.N.Load()
		rows, err := models.ListCases(ctx, counted, models.CaseFilter{Search: &models.CaseSearch{EmailPrefix: "user4321@"}, Limit: 51})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("run %d: %d cases, want 1", i+1, len(rows))
		}
		if n := counter.N.Load() - before; n != 1 {
			t.Errorf("run %d: %d statements, want 1", i+1, n)
		}
	}
	idx1, seq1 := counters()
	if idx1-idx0 < runs || seq1 != seq0 {
		t.Errorf("%d runs of a search: %d reads of the email index, %d sequential scans of accounts; want %d and 0",
			runs, idx1-idx0, seq1-seq0, runs)
	}
	var named []string
	modelstest.Scan(t, db, &named, `SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%lower(a.email) LIKE $%' AND statement NOT LIKE '%pg_prepared_statements%'`)
	if len(named) != 0 {
		t.Errorf("the search was prepared as a named statement: %q", named)
	}
}

// TestEmptySearchFindsNothing: a search that looks for nothing finds no case, rather than
// dropping its condition and listing every case.
func TestEmptySearchFindsNothing(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		newFixture(t, db)
		all, err := models.ListCases(context.Background(), db, models.CaseFilter{Limit: 10})
		if err != nil || len(all) == 0 {
			t.Fatalf("the fixture's cases: %d, %v", len(all), err)
		}
		found, err := models.ListCases(context.Background(), db, models.CaseFilter{Search: &models.CaseSearch{}, Limit: 10})
		if err != nil || len(found) != 0 {
			t.Errorf("an empty search: %d cases, %v", len(found), err)
		}
	})
}
