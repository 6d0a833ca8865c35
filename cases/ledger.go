package cases

import (
	"context"
	"errors"
	"strings"
	"time"

	"giftdesk/models"
)

// LedgerQuery pages an account's postings. Cursor leads to older postings, Prev back to newer
// ones; at most one of them is given. Limit "" means DefaultPageLimit.
type LedgerQuery struct {
	Limit, Cursor, Prev string
}

// Ledger is an account as the console's account page shows it: who it is, its balances and a
// page of its postings, newest first.
type Ledger struct {
	AccountID   string
	IsSystem    bool
	Marketplace *string
	Name, Email *string
	Balances    []Balance // by currency
	Postings    []LedgerPosting
	// NextCursor leads to older postings, PrevCursor back to newer ones; each empty at its end.
	NextCursor, PrevCursor string
}

// Balance is the sum of an account's postings in one currency.
type Balance struct {
	Currency    string
	AmountMinor int64
}

// LedgerPosting is one line of an account's ledger, with its correction and case.
type LedgerPosting struct {
	ID             int64
	CorrectionID   int64
	Kind           CorrectionKind
	Status         CorrectionStatus
	AmountMinor    int64
	Currency       string
	At             time.Time
	CounterAccount string
	Case           string
}

// Ledger returns an account's balances, computed from its postings, and a page of postings,
// newest first. Desk.Account is the same read as the API shows it.
func (d *Desk) Ledger(ctx context.Context, p Principal, accountID string, q LedgerQuery) (Ledger, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return Ledger{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return Ledger{}, err
	}
	before, err := DecodeCursor(q.Cursor)
	if err != nil {
		return Ledger{}, err
	}
	after, err := DecodeCursor(q.Prev)
	if err != nil {
		return Ledger{}, Invalid("prev", "is not a cursor this list returned")
	}
	if before > 0 && after > 0 {
		return Ledger{}, Invalid("prev", "goes without cursor: one page at a time")
	}
	acct, err := models.AccountByAccountID(ctx, d.db, strings.TrimSpace(accountID))
	if errors.Is(err, models.ErrNotFound) {
		return Ledger{}, NotFound("account")
	}
	if err != nil {
		return Ledger{}, storeErr(err)
	}
	balances, err := d.balances(ctx, d.db, acct.ID)
	if err != nil {
		return Ledger{}, err
	}
	rows, err := models.PostingsOf(ctx, d.db, acct.ID, before, after, limit+1)
	if err != nil {
		return Ledger{}, storeErr(err)
	}
	out := Ledger{AccountID: acct.AccountID, IsSystem: acct.IsSystem, Marketplace: acct.Marketplace, Name: acct.Name,
		Email: acct.Email, Balances: balances, Postings: make([]LedgerPosting, 0, len(rows))}
	rows, out.NextCursor, out.PrevCursor = keysetPage(rows, func(r models.PostingRow) int64 { return r.ID }, limit, before, after)
	for _, r := range rows {
		out.Postings = append(out.Postings, LedgerPosting{ID: r.ID, CorrectionID: r.CorrectionID, Kind: CorrectionKind(r.Kind),
			Status: CorrectionStatus(r.Status), AmountMinor: r.AmountMinor, Currency: r.Currency, At: r.CreatedAt,
			CounterAccount: r.CounterAccount, Case: r.CaseRef})
	}
	return out, nil
}

// keysetPage cuts rows, read newest first with one extra row, to a page and names the pages on
// either side. Paging forward (before) the extra row is the oldest; paging back (after) it is the
// newest. A page reached from another has that page on its other side.
func keysetPage[T any](rows []T, id func(T) int64, limit int, before, after int64) (page []T, next, prev string) {
	more := len(rows) > limit
	if after > 0 {
		if more {
			rows = rows[1:]
		}
		if len(rows) > 0 {
			next = EncodeCursor(id(rows[len(rows)-1]))
			if more {
				prev = EncodeCursor(id(rows[0]))
			}
		}
		return rows, next, prev
	}
	if more {
		rows = rows[:limit]
		next = EncodeCursor(id(rows[len(rows)-1]))
	}
	if before > 0 && len(rows) > 0 {
		prev = EncodeCursor(id(rows[0]))
	}
	return rows, next, prev
}
