package cases_test

import (
	"context"
	"testing"

	"giftdesk/cases"
)

// mustGetCase reads a case, failing the test when it cannot: a zero view would pass checks by accident.
func mustGetCase(t *testing.T, desk *cases.Desk, p cases.Principal, ref string) cases.CaseView {
	t.Helper()
	v, err := desk.GetCase(context.Background(), p, ref)
	if err != nil {
		t.Fatalf("get case %s: %v", ref, err)
	}
	return v
}

// mustGetCorrection reads a correction, failing the test when it cannot.
func mustGetCorrection(t *testing.T, desk *cases.Desk, p cases.Principal, id int64) cases.CorrectionView {
	t.Helper()
	c, err := desk.GetCorrection(context.Background(), p, id)
	if err != nil {
		t.Fatalf("get correction %d: %v", id, err)
	}
	return c
}

// mustAccount reads an account's ledger, failing the test when it cannot.
func mustAccount(t *testing.T, desk *cases.Desk, p cases.Principal, accountID, limit, cursor string) cases.AccountLedger {
	t.Helper()
	a, err := desk.Account(context.Background(), p, accountID, limit, cursor)
	if err != nil {
		t.Fatalf("account %s: %v", accountID, err)
	}
	return a
}
