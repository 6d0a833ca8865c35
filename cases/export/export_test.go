package export_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/export"
	"giftdesk/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

// The claim codes the fixture's cases are created with, as a customer types them. No export may
// hold any of them, in any case or without its dashes.
var codes = []string{"AB12-CDEF34-GH56", "QW34-RTYU56-PL90", "ZX98-VBNM76-KJ54"}

const hostileExternalID = "=HYPERLINK(\"http://x\"), \"quoted\"\nsecond line"

type fixture struct {
	t          *testing.T
	db         *gorm.DB
	desk       *cases.Desk
	ex         *export.Exporter
	sup, agent cases.Principal
	sup2       cases.Principal
	refs       map[string]string // by name: transfer, promo, serial
}

func (f *fixture) actor(p cases.Principal) cases.Actor {
	return cases.ActorFor(p, "192.0.2.1", "test", "")
}

func mustAdd(t *testing.T, desk *cases.Desk, email string, role cases.Role) cases.Principal {
	t.Helper()
	ctx := context.Background()
	if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: email, Role: role, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	p, err := desk.PrincipalByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func i64(n int64) *int64 { return &n }

// newFixture creates, through the desk's own use cases: a wrong_account case with two coded
// cards, a hostile external id, a communication naming a code, and corrections applied, reversed
// and pending; a promo_credit case in JPY with no card, whose account id starts with "-"; an
// unactivated_card case whose card is known by its serial alone.
func newFixture(t *testing.T, db *gorm.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	f := &fixture{t: t, db: db, desk: desk, ex: export.New(desk, export.Config{TmpDir: t.TempDir()}), refs: map[string]string{}}
	f.sup = mustAdd(t, desk, "sup@example.com", cases.RoleSupervisor)
	f.sup2 = mustAdd(t, desk, "sup2@example.com", cases.RoleSupervisor)
	f.agent = mustAdd(t, desk, "agent@example.com", cases.RoleAgent)

	view, _, err := desk.CreateCase(ctx, f.agent, f.actor(f.agent), cases.NewCase{Type: "wrong_account",
		Summary:         "Pat says, \"it went to work\"; code " + strings.ToLower(codes[0]),
		Description:     "line one\nline two, with \"quotes\"",
		Customer:        cases.AccountInput{AccountID: "A1B2C3D4", Marketplace: "US", Email: "pat@example.com", Name: "Pat, \"Patty\"\nDoe"},
		IntendedAccount: &cases.AccountInput{AccountID: "Z9Y8X7W6", Marketplace: "US"},
		Cards: []cases.CardInput{
			{ClaimCode: codes[0], FaceValueMinor: i64(5000), Currency: "USD", Marketplace: "US", Status: "redeemed", RedeemedTo: "A1B2C3D4", RedeemedAt: "2026-11-20T10:00:00Z"},
			{ClaimCode: codes[1], FaceValueMinor: i64(2500), Currency: "USD", Marketplace: "US"},
		},
		External: &cases.ExternalInput{System: "zendesk", ID: hostileExternalID}})
	if err != nil {
		t.Fatal(err)
	}
	f.refs["transfer"] = view.Ref
	if _, err := desk.AddCommunication(ctx, f.agent, f.actor(f.agent), view.Ref, cases.NewCommunication{Channel: "phone", Direction: "inbound",
		OccurredAt: "2026-11-21T09:00:00Z", CounterpartName: "Pat", Body: "She read " + strings.ReplaceAll(codes[1], "-", " ") + " to me, twice"}); err != nil {
		t.Fatal(err)
	}
	// An entry naming a code before its card joins the case keeps it as typed (entries are
	// append-only): every read, the export's too, redacts it with the case's cards of today.
	if _, err := desk.AddCommunication(ctx, f.agent, f.actor(f.agent), view.Ref, cases.NewCommunication{Channel: "email", Direction: "inbound",
		OccurredAt: "2026-11-21T10:00:00Z", Body: "Another card: " + strings.ToLower(codes[2])}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := desk.AddCard(ctx, f.agent, f.actor(f.agent), view.Ref, cases.CardInput{ClaimCode: codes[2], FaceValueMinor: i64(1000), Currency: "USD", Marketplace: "US"}); err != nil {
		t.Fatal(err)
	}
	cardID := fmt.Sprint(view.Cards[0].ID)
	apply := func(amount int64) cases.CorrectionView {
		c, err := desk.RequestCorrection(ctx, f.agent, f.actor(f.agent), view.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: i64(amount),
			Currency: "USD", FromAccount: "A1B2C3D4", ToAccount: "Z9Y8X7W6", CardID: cardID, Reason: "landed on work account"})
		if err != nil {
			t.Fatal(err)
		}
		if c, err = desk.ApproveCorrection(ctx, f.sup, f.actor(f.sup), c.ID, "ok"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	apply(3000)
	undone := apply(1500)
	rev, err := desk.RequestCorrection(ctx, f.agent, f.actor(f.agent), view.Ref, cases.NewCorrection{Kind: "reversal", Reverses: fmt.Sprint(undone.ID), Reason: "wrong amount"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.ApproveCorrection(ctx, f.sup, f.actor(f.sup), rev.ID, "ok"); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.RequestCorrection(ctx, f.agent, f.actor(f.agent), view.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: i64(100),
		Currency: "USD", FromAccount: "A1B2C3D4", ToAccount: "Z9Y8X7W6", CardID: cardID, Reason: "still pending"}); err != nil {
		t.Fatal(err)
	}

	promo, _, err := desk.CreateCase(ctx, f.agent, f.actor(f.agent), cases.NewCase{Type: "promo_credit", Summary: "Points vanished",
		Customer: cases.AccountInput{AccountID: "-JP77", Marketplace: "JP"}})
	if err != nil {
		t.Fatal(err)
	}
	f.refs["promo"] = promo.Ref
	serial, _, err := desk.CreateCase(ctx, f.agent, f.actor(f.agent), cases.NewCase{Type: "unactivated_card", Summary: "Never activated",
		Customer: cases.AccountInput{AccountID: "DE-1", Marketplace: "DE"},
		Cards:    []cases.CardInput{{Serial: "6046123412349876", FaceValueMinor: i64(2599), Currency: "EUR", Marketplace: "DE"}}})
	if err != nil {
		t.Fatal(err)
	}
	f.refs["serial"] = serial.Ref
	if err := db.Exec(`UPDATE cases SET assignee_id = ? WHERE ref = ?`, f.sup.UserID, view.Ref).Error; err != nil {
		t.Fatal(err)
	}
	return f
}

// run exports as the supervisor and returns the bytes.
func (f *fixture) run(format export.Format, filter export.Filter) []byte {
	f.t.Helper()
	plan, err := export.Check(&f.sup, export.Request{Format: format, Filter: filter})
	if err != nil {
		f.t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.ex.Run(context.Background(), f.actor(f.sup), plan, &buf); err != nil {
		f.t.Fatal(err)
	}
	return buf.Bytes()
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("the export is no CSV: %v\n%s", err, b)
	}
	return records
}

func byRef(t *testing.T, records [][]string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, r := range records[1:] {
		row := map[string]string{}
		for i, col := range records[0] {
			row[col] = r[i]
		}
		out[r[0]] = row
	}
	return out
}

// TestCSVColumnsQuotingAndNeutralisation: SPEC 4.4's header in its order, RFC 4180 with CRLF, one
// row per case with several cards joined by ";", corrected_minor net of reversals, and cells that
// a spreadsheet would run as formulas prefixed with an apostrophe.
func TestCSVColumnsQuotingAndNeutralisation(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		raw := f.run(export.CSV, export.Filter{})
		want := "ref,type,status,resolution,priority,created_at,updated_at,customer_account,marketplace,card_last4,face_value_minor,currency,corrected_minor,assignee,external_system,external_id\r\n"
		if !bytes.HasPrefix(raw, []byte(want)) {
			t.Fatalf("header:\n%q", raw[:min(len(raw), len(want)+20)])
		}
		if bytes.Count(raw, []byte("\r\n")) < 4 {
			t.Errorf("rows are not CRLF-terminated: %q", raw)
		}
		records := readCSV(t, raw)
		if len(records) != 4 {
			t.Fatalf("%d records, want a header and 3 cases", len(records))
		}
		rows := byRef(t, records)
		tr := rows[f.refs["transfer"]]
		for col, want := range map[string]string{"type": "wrong_account", "status": "pending_approval", "resolution": "", "priority": "normal",
			"customer_account": "A1B2C3D4", "marketplace": "US", "card_last4": "GH56;PL90;KJ54", "face_value_minor": "5000;2500;1000", "currency": "USD",
			"corrected_minor": "3000", "assignee": "sup@example.com", "external_system": "zendesk", "external_id": "'" + hostileExternalID} {
			if tr[col] != want {
				t.Errorf("%s = %q, want %q", col, tr[col], want)
			}
		}
		if !strings.HasSuffix(tr["created_at"], "Z") || len(tr["created_at"]) != len("2026-11-29T23:00:00Z") {
			t.Errorf("created_at %q is not RFC 3339 UTC", tr["created_at"])
		}
		promo := rows[f.refs["promo"]]
		if promo["customer_account"] != "'-JP77" || promo["card_last4"] != "" || promo["currency"] != "JPY" || promo["corrected_minor"] != "0" {
			t.Errorf("promo row %v", promo)
		}
		serial := rows[f.refs["serial"]]
		// A card known by its serial only has no last4, in the export as in the API.
		if serial["card_last4"] != "" || serial["face_value_minor"] != "2599" || serial["currency"] != "EUR" {
			t.Errorf("serial row %v", serial)
		}
		if !slices.IsSortedFunc(records[1:], func(a, b []string) int { return strings.Compare(a[0], b[0]) }) {
			t.Errorf("rows are not in ref order")
		}
	})
}

// TestCurrencyFollowsEachCardAcrossMarketplaces: a case with a card of another marketplace than
// its customer's (R4's regional lock) lists each card's currency next to its face value, so no
// face value is read in the customer's currency; a case whose cards are all in that currency
// names it once.
func TestCurrencyFollowsEachCardAcrossMarketplaces(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		mixed, _, err := f.desk.CreateCase(context.Background(), f.agent, f.actor(f.agent), cases.NewCase{Type: "other", Summary: "Regional lock",
			Customer: cases.AccountInput{AccountID: "UK-1", Marketplace: "UK"},
			Cards: []cases.CardInput{{Serial: "6046000011112222", FaceValueMinor: i64(5000), Currency: "USD", Marketplace: "US"},
				{Serial: "6046000033334444", FaceValueMinor: i64(3000), Currency: "GBP", Marketplace: "UK"}}})
		if err != nil {
			t.Fatal(err)
		}
		rows := byRef(t, readCSV(t, f.run(export.CSV, export.Filter{})))
		if got := rows[mixed.Ref]; got["face_value_minor"] != "5000;3000" || got["currency"] != "USD;GBP" {
			t.Errorf("cross-marketplace row: face %q currency %q, want 5000;3000 and USD;GBP", got["face_value_minor"], got["currency"])
		}
		if got := rows[f.refs["serial"]]; got["currency"] != "EUR" {
			t.Errorf("single-currency row: currency %q, want EUR", got["currency"])
		}
	})
}

// TestFiltersSelectAndRefuse: status, type and the created_at day range each select their cases
// (both ends of the range included), and bad values are refused, every one at once, by name.
func TestFiltersSelectAndRefuse(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		set := func(ref, when string) {
			if err := db.Exec(`UPDATE cases SET created_at = ? WHERE ref = ?`, mustTime(t, when), ref).Error; err != nil {
				t.Fatal(err)
			}
		}
		set(f.refs["transfer"], "2026-03-01T00:00:00Z")
		set(f.refs["promo"], "2026-03-02T23:59:59Z")
		set(f.refs["serial"], "2026-03-03T00:00:00Z")
		refs := func(filter export.Filter) []string {
			var out []string
			for _, r := range readCSV(t, f.run(export.CSV, filter))[1:] {
				out = append(out, r[0])
			}
			return out
		}
		for name, c := range map[string]struct {
			filter export.Filter
			want   []string
		}{
			"status":     {export.Filter{Status: "pending_approval"}, []string{f.refs["transfer"]}},
			"status new": {export.Filter{Status: "new"}, []string{f.refs["promo"], f.refs["serial"]}},
			"type":       {export.Filter{Type: "promo_credit"}, []string{f.refs["promo"]}},
			"from":       {export.Filter{From: "2026-03-02"}, []string{f.refs["promo"], f.refs["serial"]}},
			"to":         {export.Filter{To: "2026-03-02"}, []string{f.refs["transfer"], f.refs["promo"]}},
			"one day":    {export.Filter{From: "2026-03-02", To: "2026-03-02"}, []string{f.refs["promo"]}},
			"all":        {export.Filter{Status: "new", Type: "unactivated_card", From: "2026-03-03", To: "2026-03-03"}, []string{f.refs["serial"]}},
			"none":       {export.Filter{Type: "other"}, nil},
		} {
			if got := refs(c.filter); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", name, got, c.want)
			}
		}
		_, err := export.Check(&f.sup, export.Request{Format: "pdf", Filter: export.Filter{Status: "open", Type: "fraud", From: "2026-02-30", To: "yesterday"}})
		var re *cases.RuleError
		if !errors.As(err, &re) || re.Code != "validation_failed" {
			t.Fatalf("bad filters: %v", err)
		}
		var fields []string
		for _, fe := range re.Fields {
			fields = append(fields, fe.Field)
		}
		if !slices.Equal(fields, []string{"format", "status", "type", "from", "to"}) {
			t.Errorf("fields %v", fields)
		}
		if _, err := export.Check(&f.sup, export.Request{Format: export.CSV, Filter: export.Filter{From: "2026-03-02", To: "2026-03-01"}}); !errors.As(err, &re) || re.Field != "to" {
			t.Errorf("to before from: %v", err)
		}
	})
}

// TestJSONLinesAreTheAPICaseWithHistory: every line parses on its own and is the case as GET
// /api/v1/cases/{ref} shows it, with communications and corrections.
func TestJSONLinesAreTheAPICaseWithHistory(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		raw := f.run(export.JSONL, export.Filter{})
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			n++
			var line map[string]json.RawMessage
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			var comms, corrections []map[string]any
			if err := json.Unmarshal(line["communications"], &comms); err != nil || comms == nil {
				t.Fatalf("line %d communications %s: %v", n, line["communications"], err)
			}
			if err := json.Unmarshal(line["corrections"], &corrections); err != nil || corrections == nil {
				t.Fatalf("line %d corrections %s: %v", n, line["corrections"], err)
			}
			var ref string
			if err := json.Unmarshal(line["ref"], &ref); err != nil {
				t.Fatal(err)
			}
			if ref == f.refs["transfer"] && (len(comms) != 2 || len(corrections) != 4) {
				t.Errorf("%s: %d communications, %d corrections", ref, len(comms), len(corrections))
			}
			view, err := f.desk.GetCase(context.Background(), f.sup, ref)
			if err != nil {
				t.Fatal(err)
			}
			api, err := json.Marshal(view)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]json.RawMessage
			if err := json.Unmarshal(api, &want); err != nil {
				t.Fatal(err)
			}
			// "corrections" is the list of the case's corrections here, where the API's case has
			// their counts by status under that name (derivable from the list).
			delete(line, "communications")
			delete(line, "corrections")
			delete(want, "corrections")
			for k, v := range want {
				if k == "sla" {
					continue // breached is computed at read time
				}
				if !bytes.Equal(line[k], v) {
					t.Errorf("%s %s: export %s, API %s", ref, k, line[k], v)
				}
			}
			if len(line) != len(want) {
				t.Errorf("%s: %d keys besides communications and corrections, the API has %d", ref, len(line), len(want))
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 3 || !bytes.HasSuffix(raw, []byte("}\n")) {
			t.Errorf("%d lines", n)
		}
	})
}

// TestNoClaimCodeInAnyFormat: codes created through the cases API appear in no export, in upper
// or lower case, with or without dashes.
func TestNoClaimCodeInAnyFormat(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		for _, format := range export.Formats {
			raw := f.run(format, export.Filter{})
			texts := [][]byte{raw}
			if format == export.XLSX {
				texts = append(texts, xlsxText(t, raw))
			}
			for _, text := range texts {
				for _, code := range codes {
					for _, form := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""), strings.ToLower(strings.ReplaceAll(code, "-", ""))} {
						if bytes.Contains(text, []byte(form)) {
							t.Errorf("%s export holds claim code %s", format, form)
						}
					}
				}
			}
			if format == export.JSONL && (!bytes.Contains(raw, []byte("[claim code ••••PL90]")) || !bytes.Contains(raw, []byte("[claim code ••••KJ54]"))) {
				t.Errorf("the communication's code was not redacted: %s", raw)
			}
		}
	})
}

// TestExportAccess (cases.RequireExport): in the console an agent is refused and a supervisor or
// admin may export; through the API a token needs the export scope, whatever its user's role; the
// command line (no principal) may export.
func TestExportAccess(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		req := export.Request{Format: export.CSV}
		code := func(p *cases.Principal) string {
			_, err := export.Check(p, req)
			var re *cases.RuleError
			if errors.As(err, &re) {
				return re.Code
			}
			if err != nil {
				t.Fatal(err)
			}
			return ""
		}
		agentToken := f.agent
		agentToken.TokenID, agentToken.Scopes = 9, []cases.Scope{cases.ScopeExport}
		supNoScope := f.sup
		supNoScope.TokenID, supNoScope.Scopes = 9, []cases.Scope{cases.ScopeCasesRead}
		supToken := f.sup
		supToken.TokenID, supToken.Scopes = 9, []cases.Scope{cases.ScopeExport}
		admin := cases.Principal{UserID: f.sup.UserID, Role: cases.RoleAdmin}
		for name, c := range map[string]struct {
			p    *cases.Principal
			want string
		}{
			"agent":                {&f.agent, "role_required"},
			"agent token":          {&agentToken, ""}, // the scope is the API's grant (cases.RequireExport)
			"supervisor, no scope": {&supNoScope, "scope_required"},
			"supervisor token":     {&supToken, ""},
			"supervisor":           {&f.sup, ""},
			"admin":                {&admin, ""},
			"command line":         {nil, ""},
		} {
			if got := code(c.p); got != c.want {
				t.Errorf("%s: %q, want %q", name, got, c.want)
			}
		}
	})
}

func mustTime(t *testing.T, s string) any {
	t.Helper()
	v, err := cases.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// xlsxText is the text of every part of a spreadsheet, unzipped.
func xlsxText(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zr, err := zipReader(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range zr.File {
		rc, err := file.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(&out, rc); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}
