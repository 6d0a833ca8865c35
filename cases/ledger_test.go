package cases_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// ledgerIDs lists the correction ids of a ledger page, in its order.
func ledgerIDs(l cases.Ledger) string {
	var out []string
	for _, p := range l.Postings {
		out = append(out, strconv.FormatInt(p.CorrectionID, 10))
	}
	return strings.Join(out, ",")
}

// TestLedgerPagesBothWays pages an account's five postings two at a time to the oldest and back:
// each page has a link to the older one and, past the first, to the newer one.
func TestLedgerPagesBothWays(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		sup := supervisor(t, db, "sup@example.com")
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		var fix []string
		for i := 1; i <= 5; i++ {
			c := requestTransfer(t, desk, agent, v, int64(i*100))
			if _, err := desk.ApproveCorrection(ctx, sup, cases.ActorFor(sup, "", "", ""), c.ID, ""); err != nil {
				t.Fatal(err)
			}
			fix = append(fix, strconv.FormatInt(c.ID, 10))
		}
		read := func(q cases.LedgerQuery) cases.Ledger {
			t.Helper()
			q.Limit = "2"
			l, err := desk.Ledger(ctx, agent, "A1B2C3D4", q)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		p1 := read(cases.LedgerQuery{})
		p2 := read(cases.LedgerQuery{Cursor: p1.NextCursor})
		p3 := read(cases.LedgerQuery{Cursor: p2.NextCursor})
		back2 := read(cases.LedgerQuery{Prev: p3.PrevCursor})
		back1 := read(cases.LedgerQuery{Prev: back2.PrevCursor})
		for _, c := range []struct {
			name       string
			l          cases.Ledger
			want       string
			next, prev bool
		}{
			{"newest", p1, fix[4] + "," + fix[3], true, false},
			{"middle", p2, fix[2] + "," + fix[1], true, true},
			{"oldest", p3, fix[0], false, true},
			{"back to the middle", back2, fix[2] + "," + fix[1], true, true},
			{"back to the newest", back1, fix[4] + "," + fix[3], true, false},
		} {
			if ledgerIDs(c.l) != c.want || (c.l.NextCursor != "") != c.next || (c.l.PrevCursor != "") != c.prev {
				t.Errorf("%s: %s next=%q prev=%q, want %s next=%v prev=%v", c.name, ledgerIDs(c.l), c.l.NextCursor, c.l.PrevCursor, c.want, c.next, c.prev)
			}
		}
		if len(p1.Balances) != 1 || p1.Balances[0] != (cases.Balance{Currency: "USD", AmountMinor: -1500}) || p1.Marketplace == nil || *p1.Marketplace != "US" {
			t.Errorf("account: %+v %v", p1.Balances, p1.Marketplace)
		}
		if p := p1.Postings[0]; p.Kind != "transfer" || p.Status != "applied" || p.Case != v.Ref || p.CounterAccount != "Z9Y8X7W6" || p.AmountMinor != -500 {
			t.Errorf("posting: %+v", p)
		}
		for _, q := range []cases.LedgerQuery{{Cursor: "x"}, {Prev: "x"}, {Cursor: p1.NextCursor, Prev: p1.NextCursor}, {Limit: "0"}} {
			if _, err := desk.Ledger(ctx, agent, "A1B2C3D4", q); !errors.Is(err, cases.ErrInvalid) {
				t.Errorf("%+v: %v, want invalid", q, err)
			}
		}
		if _, err := desk.Ledger(ctx, agent, "NOBODY", cases.LedgerQuery{}); !errors.Is(err, cases.ErrNotFound) {
			t.Errorf("an unknown account: %v", err)
		}
	})
}

// TestCaseAuditAndAuditTrail reads a case's trail (its own events and its correction's, not
// another case's) and the administrators' trail with its filters and chain state, which only
// administrators may read or verify.
func TestCaseAuditAndAuditTrail(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		agent := agentPrincipal(t, db)
		admin := cases.Principal{UserID: agent.UserID, Email: "admin@example.com", Role: cases.RoleAdmin}
		v := create(t, desk, agent, wrongAccountCase(testCode, ""))
		second := wrongAccountCase("ZZZZ-YYYY-XXXX-9999", "other")
		second.Cards[0].Serial = "6046999999999999"
		other := create(t, desk, agent, second)
		c := requestTransfer(t, desk, agent, v, 100)
		trail, err := desk.CaseAudit(ctx, agent, strings.ToLower(v.Ref))
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range trail.Entries {
			if e.EntityType == "case" && e.EntityID == other.Ref {
				t.Errorf("the trail of %s holds an event of %s", v.Ref, other.Ref)
			}
			actions = append(actions, e.Action)
		}
		if got := strings.Join(actions, " "); !strings.Contains(got, "correction.requested") || !strings.HasSuffix(got, "case.created") || trail.More {
			t.Errorf("trail: %s (more %v)", got, trail.More)
		}
		for _, e := range trail.Entries {
			for _, ch := range e.Changes {
				if strings.Contains(ch.Before+ch.After, "CDEF34") {
					t.Fatalf("%s shows the claim code in %s", e.Action, ch.Field)
				}
			}
		}

		for name, call := range map[string]func(cases.Principal) error{
			"trail": func(p cases.Principal) error { _, err := desk.AuditTrail(ctx, p, cases.AuditQuery{}); return err },
			"chain": func(p cases.Principal) error { _, err := desk.AuditChainState(ctx, p); return err },
			"verify": func(p cases.Principal) error {
				_, err := desk.VerifyAuditFor(ctx, p)
				return err
			},
		} {
			for _, p := range []cases.Principal{agent, {UserID: agent.UserID, Role: cases.RoleSupervisor}} {
				if err := call(p); !errors.Is(err, cases.ErrForbidden) {
					t.Errorf("%s as %s: %v", name, p.Role, err)
				}
			}
			if err := call(admin); err != nil {
				t.Errorf("%s as admin: %v", name, err)
			}
		}

		list := func(q cases.AuditQuery) []cases.AuditEntry {
			t.Helper()
			page, err := desk.AuditTrail(ctx, admin, q)
			if err != nil {
				t.Fatal(err)
			}
			return page.Data
		}
		if got := list(cases.AuditQuery{Case: v.Ref}); len(got) != len(trail.Entries) {
			t.Errorf("the case filter: %d events, the case page %d", len(got), len(trail.Entries))
		}
		if got := list(cases.AuditQuery{EntityType: "correction", EntityID: strconv.FormatInt(c.ID, 10)}); len(got) != 1 || got[0].Action != "correction.requested" {
			t.Errorf("the entity filter: %+v", got)
		}
		if got := list(cases.AuditQuery{Actor: " AGENT@example.com ", Action: "case.created"}); len(got) != 2 {
			t.Errorf("actor and action: %d events, want the two creations", len(got))
		}
		tokyo, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			t.Fatal(err)
		}
		today := time.Now().In(tokyo).Format(time.DateOnly)
		if got := list(cases.AuditQuery{From: today, To: today, Zone: tokyo}); len(got) == 0 {
			t.Error("today in Tokyo holds no event")
		}
		yesterday := time.Now().In(tokyo).AddDate(0, 0, -1).Format(time.DateOnly)
		if got := list(cases.AuditQuery{To: yesterday, Zone: tokyo}); len(got) != 0 {
			t.Errorf("up to yesterday in Tokyo: %d events", len(got))
		}
		_, err = desk.AuditTrail(ctx, admin, cases.AuditQuery{From: "2026-02-30", To: "tomorrow", Cursor: "x"})
		var re *cases.RuleError
		if !errors.As(err, &re) || len(re.Fields) != 3 {
			t.Fatalf("bad days and cursor: %v", err)
		}
		chain, err := desk.AuditChainState(ctx, admin)
		if err != nil || chain.HeadSeq != 0 || chain.Unsealed == 0 {
			t.Fatalf("before sealing: %+v %v", chain, err)
		}
		if _, err := desk.SealPass(ctx); err != nil {
			t.Fatal(err)
		}
		chain, err = desk.AuditChainState(ctx, admin)
		report, verr := desk.VerifyAuditFor(ctx, admin)
		if err != nil || verr != nil || chain.Unsealed != 0 || chain.HeadSeq != report.HeadSeq || chain.HeadHash != report.HeadHash || chain.SealedAt == nil {
			t.Fatalf("after sealing: %+v %v; report %+v %v", chain, err, report, verr)
		}
	})
}
