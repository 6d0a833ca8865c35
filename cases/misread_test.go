package cases_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// failReadsOf makes every read of table whose WHERE names the id (alone or in a list) fail with
// errInjected while armed is true, before it runs: by one row (Take, Find) or by many (Scan).
func failReadsOf(t *testing.T, db *gorm.DB, table string, id int64, armed *atomic.Bool) {
	t.Helper()
	fail := func(tx *gorm.DB) {
		if armed.Load() && tx.Statement.Table == table && whereNames(tx.Statement, id) {
			_ = tx.AddError(errInjected)
		}
	}
	if err := db.Callback().Query().Before("gorm:query").Register("test:fail_query_"+table, fail); err != nil {
		t.Fatal(err)
	}
	if err := db.Callback().Row().Before("gorm:row").Register("test:fail_row_"+table, fail); err != nil {
		t.Fatal(err)
	}
}

// whereNames reports whether a statement's WHERE clause holds the int64 id as a value.
func whereNames(stmt *gorm.Statement, id int64) bool {
	where, ok := stmt.Clauses["WHERE"].Expression.(clause.Where)
	if !ok {
		return false
	}
	var names func(v any) bool
	names = func(v any) bool {
		if n, ok := v.(int64); ok {
			return n == id
		}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
			for i := 0; i < rv.Len(); i++ {
				if names(rv.Index(i).Interface()) {
					return true
				}
			}
		}
		return false
	}
	for _, e := range where.Exprs {
		if expr, ok := e.(clause.Expr); ok && slices.ContainsFunc(expr.Vars, names) {
			return true
		}
	}
	return false
}

// TestFailedReadIsNoAuditBefore: when the previous assignee cannot be read, the patch fails; it
// is not audited as if the case had had no assignee.
func TestFailedReadIsNoAuditBefore(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		v, err := desk.UpdateCase(ctx, p, a, v.Ref, v.ETag(), patchJSON(t, `{"assignee":"agent@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		var armed atomic.Bool
		failReadsOf(t, db, "users", p.UserID, &armed)
		armed.Store(true)
		_, err = desk.UpdateCase(ctx, p, a, v.Ref, v.ETag(), patchJSON(t, `{"assignee":"`+sup.Email+`"}`))
		armed.Store(false)
		if !errors.Is(err, errInjected) {
			t.Fatalf("patch with the previous assignee unreadable: %v", err)
		}
		if n := audited(t, db, "case.updated", v.Ref); n != 1 {
			t.Fatalf("%d case.updated events, want only the first assignment's", n)
		}
	})
}

// TestFailedReadOfAnApproverIsAnError: a correction whose approver cannot be read is an error, not
// an approval by nobody.
func TestFailedReadOfAnApproverIsAnError(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		in := wrongAccountCase(testCode, "")
		in.Cards[0].FaceValueMinor = i64(80000)
		v := create(t, desk, agent, in)
		c := requestTransfer(t, desk, agent, v, 60000) // two approvals: the first leaves it pending
		if _, err := desk.ApproveCorrection(ctx, sup, cases.ActorFor(sup, "", "", ""), c.ID, ""); err != nil {
			t.Fatal(err)
		}
		var armed atomic.Bool
		failReadsOf(t, db, "users", sup.UserID, &armed)
		armed.Store(true)
		got, err := desk.GetCorrection(ctx, agent, c.ID)
		armed.Store(false)
		if !errors.Is(err, errInjected) {
			t.Fatalf("approver unreadable: approvals %+v, err %v", got.Approvals, err)
		}
	})
}

// TestAddCardDuringAnOutageIsUnavailable: the database going away while a card's redeemed_to
// account is looked up answers 503 database_unavailable, not 422 on the account.
func TestAddCardDuringAnOutageIsUnavailable(t *testing.T) {
	ctx := context.Background()
	proxy, url := modelstest.NewProxy(t, modelstest.URL(t, models.Postgres))
	db, err := models.Open(ctx, models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	desk := newDesk(db)
	p := agentPrincipal(t, db)
	v := create(t, desk, p, wrongAccountCase(testCode, ""))
	var armed atomic.Bool
	if err := db.Callback().Query().Before("gorm:query").Register("test:cut", func(tx *gorm.DB) {
		if tx.Statement.Table == "customer_accounts" && armed.CompareAndSwap(true, false) {
			proxy.Cut()
		}
	}); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	_, _, err = desk.AddCard(ctx, p, cases.ActorFor(p, "", "", ""), v.Ref, cases.CardInput{ClaimCode: "QWER-TYUI-OPAS",
		FaceValueMinor: i64(2500), Currency: "USD", Marketplace: "US", RedeemedTo: "A1B2C3D4"})
	if armed.Load() {
		t.Fatal("the account was never looked up")
	}
	if !errors.Is(err, cases.ErrUnavailable) || errors.Is(err, cases.ErrInvalid) {
		t.Fatalf("outage while adding a card: %v", err)
	}
}

// TestValidationErrorsInAFixedOrder: every problem of a request is named, always in the same
// order, so that clients and their tests can rely on it.
func TestValidationErrorsInAFixedOrder(t *testing.T) {
	desk := cases.New(cases.Config{Keys: casestest.Keys})
	p := cases.Principal{UserID: 1, Email: "agent@example.com", Role: cases.RoleAgent}
	a := cases.ActorFor(p, "", "", "")
	fields := func(err error) []string {
		t.Helper()
		var re *cases.RuleError
		if !errors.As(err, &re) {
			t.Fatalf("want a validation error, got %v", err)
		}
		var out []string
		for _, f := range re.Fields {
			out = append(out, f.Field)
		}
		return out
	}
	// Both accounts hold the case's claim code.
	in := wrongAccountCase(testCode, "")
	in.Customer.AccountID, in.IntendedAccount.AccountID = "AB12CDEF34GH56", "AB12-CDEF34-GH56"
	in.Cards[0].RedeemedTo = ""
	// A receipt without its amount, currency and purchase date.
	receipt := cases.EvidenceFields{Kind: "receipt"}
	for i := 0; i < 30; i++ {
		_, _, err := desk.CreateCase(context.Background(), p, a, in)
		if got, want := fields(err), []string{"customer.account_id", "intended_account.account_id"}; !slices.Equal(got, want) {
			t.Fatalf("case fields %v, want %v", got, want)
		}
		_, err = desk.AddEvidence(context.Background(), p, a, "GD-000001", receipt, pngFile(t, "receipt"))
		if got, want := fields(err), []string{"amount_minor", "currency", "purchased_at"}; !slices.Equal(got, want) {
			t.Fatalf("receipt fields %v, want %v", got, want)
		}
	}
}
