package main

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestExportCommand: `giftdesk export` writes the matching cases to standard output, without a
// claim code, audits itself and leaves the chain intact; a bad value exits 2 with one line naming
// its flag.
func TestExportCommand(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := newCLI(t, emptyDatabase(t, d))
			c.vars["GIFTDESK_SECRET_KEY"] = hex.EncodeToString(modelstest.MasterKey)
			if r := c.run("", "migrate"); r.code != 0 {
				t.Fatalf("migrate: %+v", r)
			}
			url := c.vars["GIFTDESK_DATABASE_URL"]
			if url == "" {
				url = "sqlite:" + filepath.Join(c.vars["GIFTDESK_DATA_DIR"], "giftdesk.db")
			}
			ctx := context.Background()
			db, err := models.Open(ctx, models.Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = models.Close(db) }()
			desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
			if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: "pat@example.com", Name: "Pat", Role: cases.RoleAgent, Password: "correct horse battery"}); err != nil {
				t.Fatal(err)
			}
			p, err := desk.PrincipalByEmail(ctx, "pat@example.com")
			if err != nil {
				t.Fatal(err)
			}
			face := int64(5000)
			for _, typ := range []string{"code_problem", "promo_credit"} {
				nc := cases.NewCase{Type: typ, Summary: "export me", Customer: cases.AccountInput{AccountID: "A1B2C3D4", Marketplace: "US"}}
				if typ == "code_problem" {
					nc.Cards = []cases.CardInput{{ClaimCode: "AB12-CDEF34-GH56", FaceValueMinor: &face, Currency: "USD", Marketplace: "US"}}
				}
				if _, _, err := desk.CreateCase(ctx, p, cases.ActorFor(p, "", "", ""), nc); err != nil {
					t.Fatal(err)
				}
			}
			r := c.run("", "export", "--format", "csv", "--type", "code_problem")
			if r.code != 0 || !strings.Contains(r.stderr, "exported 1 cases") {
				t.Fatalf("export: %+v", r)
			}
			records, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
			if err != nil || len(records) != 2 || records[0][0] != "ref" || records[1][9] != "GH56" {
				t.Fatalf("csv %q: %v", r.stdout, err)
			}
			for _, code := range []string{"AB12-CDEF34-GH56", "AB12CDEF34GH56", "ab12cdef34gh56"} {
				if strings.Contains(strings.ToUpper(r.stdout+r.stderr), strings.ToUpper(code)) {
					t.Fatalf("output holds the claim code")
				}
			}
			for _, format := range []string{"jsonl", "xlsx"} {
				if r := c.run("", "export", "--format", format); r.code != 0 || !strings.Contains(r.stderr, "exported 2 cases") || r.stdout == "" {
					t.Fatalf("%s: code %d, stderr %q", format, r.code, r.stderr)
				}
			}
			var n int64
			if err := db.Raw(`SELECT count(*) FROM audit_events WHERE action = 'cases.exported' AND actor_type = 'cli'`).Scan(&n).Error; err != nil || n != 3 {
				t.Fatalf("%d export events: %v", n, err)
			}
			if r := c.run("", "audit", "verify"); r.code != 0 {
				t.Fatalf("audit verify: %+v", r)
			}
			for _, bad := range []struct {
				args    []string
				mention []string
			}{
				{[]string{"export"}, []string{"--format"}},
				{[]string{"export", "--format", "pdf"}, []string{"--format"}},
				{[]string{"export", "--format", "csv", "--status", "open", "--from", "2026-13-01", "--to", "soon"}, []string{"--status", "--from", "--to"}},
				{[]string{"export", "--format", "csv", "--type", "fraud"}, []string{"--type"}},
			} {
				r := c.run("", bad.args...)
				if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
					t.Errorf("%v: exit %d, stderr %q", bad.args, r.code, r.stderr)
				}
				for _, m := range bad.mention {
					if !strings.Contains(r.stderr, m) {
						t.Errorf("%v: %q does not name %s", bad.args, r.stderr, m)
					}
				}
			}
		})
	}
}
