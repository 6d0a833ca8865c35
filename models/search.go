package models

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// CaseSearch is what the case list's q looks for, already sorted by shape in cases
// (cases.SearchFor): each non-empty field is one probe of the index that fits it, and the cases
// any probe finds are the answer. Only free text (Contains) reads the trigram indexes.
type CaseSearch struct {
	// Refs are exact refs, upper case (the unique index of cases.ref).
	Refs []string
	// AccountPrefix, EmailPrefix and SerialPrefix match the start of an account id, an email or
	// a serial in any letter case (the lower(...) text_pattern_ops indexes of migration 0014).
	AccountPrefix, EmailPrefix, SerialPrefix string
	// Last4 is the last four characters of a claim code, upper case (gift_cards_last4).
	Last4 string
	// SerialFragment is a run of digits looked for inside serials (trigram), only when every
	// probe above finds nothing: a serial read off a damaged card, or its middle.
	SerialFragment string
	// Contains is free text looked for inside refs, account ids, emails and serials (trigram).
	Contains string
}

// searchCondition returns the condition "cases.id is a case s finds" and its arguments: a union
// of candidate ids, each branch served by its own index, rather than an OR that the planner can
// only answer by filtering every case.
//
// On PostgreSQL each step from a match to its cases is "= ANY(ARRAY(subquery))": the subquery
// runs first, once, and its ids are looked up in the next index, whatever the planner believes
// about row counts. With joins, a planner without statistics (autovacuum off, a freshly loaded
// table) chose hash joins over sequential scans of cases and case_cards. SQLite joins by nested
// loops over the indexes anyway and has no ARRAY.
func searchCondition(db *gorm.DB, s *CaseSearch) (string, []any) {
	pg := DialectOf(db) == Postgres
	viaAccount := func(cond string) string {
		if pg {
			return "SELECT id FROM cases WHERE customer_account_id = ANY(ARRAY(SELECT a.id FROM customer_accounts a WHERE " + cond + "))"
		}
		return "SELECT c.id FROM cases c JOIN customer_accounts a ON a.id = c.customer_account_id WHERE " + cond
	}
	viaCard := func(cond string) string {
		if pg {
			return "SELECT case_id FROM case_cards WHERE card_id = ANY(ARRAY(SELECT g.id FROM gift_cards g WHERE " + cond + "))"
		}
		return "SELECT cc.case_id FROM case_cards cc JOIN gift_cards g ON g.id = cc.card_id WHERE " + cond
	}
	var branches []string
	var args []any
	add := func(sql string, arg ...any) {
		branches = append(branches, sql)
		args = append(args, arg...)
	}
	if len(s.Refs) > 0 {
		add("SELECT id FROM cases WHERE ref IN ?", s.Refs)
	}
	if s.AccountPrefix != "" {
		cond, arg := PrefixFold(db, "a.account_id", s.AccountPrefix)
		add(viaAccount(cond), arg...)
	}
	if s.EmailPrefix != "" {
		cond, arg := PrefixFold(db, "a.email", s.EmailPrefix)
		add(viaAccount(cond), arg...)
	}
	if s.SerialPrefix != "" {
		cond, arg := PrefixFold(db, "g.serial", s.SerialPrefix)
		add(viaCard(cond), arg...)
	}
	if s.Last4 != "" {
		add(viaCard("g.claim_code_last4 = ?"), s.Last4)
	}
	if s.Contains != "" {
		cond, arg := ContainsFold(db, "ref", s.Contains)
		add("SELECT id FROM cases WHERE "+cond, arg)
		cond, arg = ContainsFold(db, "a.account_id", s.Contains)
		add(viaAccount(cond), arg)
		cond, arg = ContainsFold(db, "a.email", s.Contains)
		add(viaAccount(cond), arg)
		cond, arg = ContainsFold(db, "g.serial", s.Contains)
		add(viaCard(cond), arg)
	}
	if len(branches) == 0 && s.SerialFragment == "" {
		return "1 = 0", nil // a search that looks for nothing finds nothing, never everything
	}
	union := strings.Join(branches, " UNION ")
	if s.SerialFragment != "" {
		// The fragment's trigram scan runs only when the probes found nothing: hit is read twice,
		// so both databases materialise it once, and PostgreSQL makes NOT EXISTS a one-time filter
		// that skips the scan (EXPLAIN ANALYZE shows it never executed).
		cond, arg := ContainsFold(db, "g.serial", s.SerialFragment)
		if len(branches) == 0 {
			union = viaCard(cond)
			args = []any{arg}
		} else {
			union = "WITH hit AS (" + union + ") SELECT * FROM hit UNION ALL SELECT * FROM (" + viaCard(cond) +
				") fragment WHERE NOT EXISTS (SELECT 1 FROM hit)"
			args = append(args, arg)
		}
	}
	if pg {
		return "cases.id = ANY(ARRAY(" + union + "))", args
	}
	return "cases.id IN (" + union + ")", args
}

// listWithCustomPlan runs q, a list query, so that PostgreSQL plans it for its own arguments, in
// one round trip. The driver's default caches a prepared statement per SQL text, and after five
// runs PostgreSQL may switch it to a generic plan, which cannot read a LIKE pattern's prefix off
// a parameter nor know how few rows a trigram condition keeps, and scans instead (issue 14 saw a
// 5 ms search become a 500 ms scan). pgx's QueryExecModeExec, given as the first argument,
// sends the statement unnamed: parsed, bound and run in one round trip and planned anew each
// time, without the transaction and SET LOCAL plan_cache_mode it took before. SQLite plans
// every statement anew.
func listWithCustomPlan(ctx context.Context, db *gorm.DB, q *gorm.DB, dest any) error {
	if DialectOf(db) != Postgres {
		return q.WithContext(ctx).Find(dest).Error
	}
	dry := q.Session(&gorm.Session{DryRun: true, Logger: logger.Discard}).Find(dest).Statement
	return unnamed(ctx, db, dry).Find(dest).Error
}

// unnamed is the statement dry rendered, ready to run on PostgreSQL as an unnamed statement,
// planned for its own values (see listWithCustomPlan).
func unnamed(ctx context.Context, db *gorm.DB, dry *gorm.Statement) *gorm.DB {
	run := db.WithContext(ctx).Raw("")
	// Past gorm's prepared statements too (PrepareStmt), which would prepare it named.
	switch p := run.Statement.ConnPool.(type) {
	case *gorm.PreparedStmtDB:
		run.Statement.ConnPool = p.ConnPool
	case *gorm.PreparedStmtTX:
		run.Statement.ConnPool = p.Tx
	}
	run.Statement.SQL.WriteString(dry.SQL.String())
	run.Statement.Vars = append([]any{pgx.QueryExecModeExec}, dry.Vars...)
	return run
}
