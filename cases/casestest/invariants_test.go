package casestest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

// TestViolationsCatchEachBrokenRule builds a small desk through its use cases (applied single and
// dual approvals, a reversal, a pending, a denied and a cancelled correction, a communication),
// finds it clean, then breaks one rule at a time in a transaction it rolls back, and wants the
// check that guards that rule to name it: a check that cannot fail guards nothing.
func TestViolationsCatchEachBrokenRule(t *testing.T) {
	ctx := context.Background()
	db := modelstest.Open(t, models.Postgres)
	desk := cases.New(cases.Config{DB: db, Keys: Keys})
	who := map[string]cases.Principal{}
	for _, u := range []struct {
		name string
		role cases.Role
	}{{"agent", cases.RoleAgent}, {"sup1", cases.RoleSupervisor}, {"sup2", cases.RoleSupervisor}} {
		email := u.name + "@example.com"
		if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: u.name, Role: u.role, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		p, err := desk.PrincipalByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		who[u.name] = p
	}
	// Each change is made by its user, as through the API: the audit trail names who approved.
	as := func(name string) cases.Actor { return cases.ActorFor(who[name], "127.0.0.1", "invariants test", "") }
	const code = "CRQW7-ZXK4V-BNM9"
	face := int64(100000)
	kase, _, err := desk.CreateCase(ctx, who["agent"], as("agent"), cases.NewCase{Type: "wrong_account", Summary: "invariants",
		Description: "the code " + code, Customer: cases.AccountInput{AccountID: "INV1", Marketplace: "US"},
		IntendedAccount: &cases.AccountInput{AccountID: "INV2", Marketplace: "US"},
		Cards:           []cases.CardInput{{ClaimCode: code, FaceValueMinor: &face, Currency: "USD", Marketplace: "US", Status: "redeemed", RedeemedTo: "INV1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.AddCommunication(ctx, who["agent"], as("agent"), kase.Ref, cases.NewCommunication{Channel: "phone",
		Direction: "inbound", Body: "the customer read " + code}); err != nil {
		t.Fatal(err)
	}
	request := func(amount int64) int64 {
		t.Helper()
		c, err := desk.RequestCorrection(ctx, who["agent"], as("agent"), kase.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount,
			Currency: "USD", FromAccount: "INV1", ToAccount: "INV2", CardID: fmt.Sprint(kase.Cards[0].ID), Reason: "moving it"})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	approve := func(id int64, by ...string) {
		t.Helper()
		for _, b := range by {
			if _, err := desk.ApproveCorrection(ctx, who[b], as(b), id, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	single, dual, pending, denied, cancelled := request(1000), request(60000), request(2000), request(3000), request(4000)
	approve(single, "sup1")
	approve(dual, "sup1", "sup2")
	if _, err := desk.DenyCorrection(ctx, who["sup2"], as("sup2"), denied, "not proven"); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.CancelCorrection(ctx, who["agent"], as("agent"), cancelled); err != nil {
		t.Fatal(err)
	}
	reversal, err := desk.RequestCorrection(ctx, who["agent"], as("agent"), kase.Ref, cases.NewCorrection{Kind: "reversal",
		Reverses: fmt.Sprint(single), Reason: "in error"})
	if err != nil {
		t.Fatal(err)
	}
	approve(reversal.ID, "sup2")

	th := cases.DefaultThresholds()
	clean, err := Violations(ctx, db, th)
	if err != nil {
		t.Fatal(err)
	}
	if len(clean) > 0 {
		t.Fatalf("a desk written through its use cases breaks rules:\n%s", strings.Join(clean, "\n"))
	}
	if leaks, err := RowsHoldingCodes(ctx, db, []string{code}); err != nil || len(leaks) > 0 {
		t.Fatalf("redacted desk: %v %v", leaks, err)
	}

	for _, tt := range []struct {
		name      string
		unguarded []string // append-only tables the breakage writes to
		stmts     []string
		want      string // the check that must name it
	}{
		{"one posting of an applied correction skipped", []string{"postings"},
			[]string{fmt.Sprintf(`DELETE FROM postings WHERE id = (SELECT max(id) FROM postings WHERE correction_id = %d)`, dual)},
			"R8 applied correction without exactly its postings"},
		{"postings of a pending correction", nil,
			[]string{fmt.Sprintf(`INSERT INTO postings (correction_id, account_id, amount_minor, currency, created_at)
				SELECT id, from_account_id, -amount_minor, currency, now() FROM corrections WHERE id = %[1]d
				UNION ALL SELECT id, to_account_id, amount_minor, currency, now() FROM corrections WHERE id = %[1]d`, pending)},
			"R8 posting without an applied correction"},
		{"a posting's amount off by one", []string{"postings"},
			[]string{fmt.Sprintf(`UPDATE postings SET amount_minor = amount_minor + 1 WHERE id = (SELECT max(id) FROM postings WHERE correction_id = %d)`, dual)},
			"ledger postings do not sum to zero"},
		{"a dual-approval correction applied on one approval", []string{"correction_approvals"},
			[]string{fmt.Sprintf(`DELETE FROM correction_approvals WHERE correction_id = %d AND approver_id = %d`, dual, who["sup2"].UserID)},
			"R5 approvals"},
		{"a correction over the threshold requiring one approval", nil,
			[]string{fmt.Sprintf(`UPDATE corrections SET required_approvals = 1 WHERE id = %d`, dual)},
			"R5 thresholds"},
		{"a card carrying more than its face value", nil,
			[]string{`UPDATE gift_cards SET face_value_minor = 50000`},
			"R7 card over its face value"},
		{"a reversed correction applied again", nil,
			[]string{fmt.Sprintf(`UPDATE corrections SET status = 'applied' WHERE id = %d`, single)},
			"R7 reversal not paired"},
		{"an application without its audit event", []string{"audit_events"},
			[]string{fmt.Sprintf(`DELETE FROM audit_events WHERE action = 'correction.applied' AND entity_id = '%d'`, dual)},
			"correction applied: "},
		{"a communication without its outbox row", nil,
			[]string{`DELETE FROM outbox WHERE event_type = 'communication.created'`},
			"communication: "},
		{"an outbox row announcing a denial that is not there", nil,
			[]string{`INSERT INTO outbox (event_type, payload, created_at) VALUES ('correction.denied', '{"id": "999999"}', now())`},
			"correction denied: 999999: not there"},
		{"a claim code stored in clear", nil,
			[]string{fmt.Sprintf(`INSERT INTO communications (case_id, channel, direction, occurred_at, body, author_id, recorded_at)
				SELECT id, 'phone', 'inbound', now(), 'read %s', %d, now() FROM cases`, code, who["agent"].UserID),
				// with its audit event and outbox row, so that only the leak is wrong
				`INSERT INTO audit_events (occurred_at, actor_type, action, entity_type, entity_id, after_state)
				SELECT now(), 'cli', 'communication.created', 'case', 'x', jsonb_build_object('id', max(id)::text) FROM communications`,
				`INSERT INTO outbox (event_type, payload, created_at)
				SELECT 'communication.created', jsonb_build_object('communication', jsonb_build_object('id', max(id)::text)), now() FROM communications`},
			"communications: a row holds claim code 0"},
		{"a claim code in a stored answer (bytea)", nil,
			[]string{`INSERT INTO idempotency_keys (owner, key, request_hash, state, status_code, response_body, created_at, completed_at)
				VALUES ('token:1', 'k', decode(repeat('00', 32), 'hex'), 'done', 201, convert_to('{"code":"CRQW7ZXK4VBNM9"}', 'UTF8'), now(), now())`},
			"idempotency_keys: a row holds claim code 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tx := db.Begin()
			defer tx.Rollback()
			for _, table := range tt.unguarded {
				modelstest.DisableAppendOnly(t, tx, table)
			}
			for _, s := range tt.stmts {
				modelstest.Exec(t, tx, s)
			}
			got, err := Violations(ctx, tx, th)
			if err != nil {
				t.Fatal(err)
			}
			leaks, err := RowsHoldingCodes(ctx, tx, []string{code})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, leaks...)
			for _, line := range got {
				if strings.Contains(line, tt.want) {
					t.Logf("caught: %s", line)
					return
				}
			}
			t.Fatalf("no violation names %q; found:\n%s", tt.want, strings.Join(got, "\n"))
		})
	}
}

// TestFilesHoldingCodes finds a code in a file in either of its forms, and nothing in a file
// without it.
func TestFilesHoldingCodes(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"clean.log": "nothing here", "sub/dashed": "code CRQW7-ZXK4V-BNM9 here",
		"plain.bin": "\x00CRQW7ZXK4VBNM9\x00"} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := FilesHoldingCodes(dir, []string{"CRQW7-ZXK4V-BNM9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || strings.Contains(strings.Join(got, " "), "clean") {
		t.Fatalf("found %v, want plain.bin and sub/dashed", got)
	}
}
