package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestSeedCommand: `giftdesk seed --cases N` fills a desk that has users but no cases, reports on
// standard error only (never a claim code), leaves `audit verify` passing, and refuses a second
// run without --force with one line.
func TestSeedCommand(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			url := modelstest.URL(t, d)
			c := newCLI(t, url)
			c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
			if d == models.SQLite {
				if r := c.run("", "migrate"); r.code != 0 {
					t.Fatal(r)
				}
			}
			if r := c.run("correct horse battery\n", "user", "add", "--email", "lead@example.com", "--name", "Lead", "--role", "admin"); r.code != 0 {
				t.Fatal(r)
			}
			r := c.run("", "seed", "--cases", "150", "--seed", "42")
			if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "seed: done") || !strings.Contains(r.stderr, "rows/s") {
				t.Fatalf("seed: %+v", r)
			}
			// Seeded codes are 14 letters and digits, printed on cards as AB12-CDEF34-GH56; the
			// seed's own tests search its output for each code it drew (cases/seed).
			for _, m := range codeLike.FindAllString(r.stderr, -1) {
				if strings.ContainsAny(m, "0123456789") && strings.ContainsAny(strings.ToUpper(m), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
					t.Fatalf("the seed's output holds %q, which may be a claim code", m)
				}
			}
			if v := c.run("", "audit", "verify"); v.code != 0 {
				t.Fatalf("audit verify after the seed: %+v", v)
			}
			oneLineError(t, c.run("", "seed", "--cases", "5"), 1, "already has cases")
			if r := c.run("", "seed", "--cases", "20", "--force"); r.code != 0 {
				t.Fatalf("forced seed: %+v", r)
			}
			if v := c.run("", "audit", "verify"); v.code != 0 {
				t.Fatalf("audit verify after the forced seed: %+v", v)
			}
			// Usage mistakes are one line, without the whole usage text (SPEC 4.1).
			for _, args := range [][]string{{"seed"}, {"seed", "--cases", "0"}, {"seed", "--cases", "-3"}} {
				r := c.run("", args...)
				if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "--cases") || strings.Contains(r.stderr, "usage:") {
					t.Fatalf("%v: %+v", args, r)
				}
			}
		})
	}
}

// TestSeedOnAFreshDesk: `giftdesk migrate` then `giftdesk seed` leaves a desk someone can sign in
// to: the seed creates admin@localhost as serve would, printing its password once on standard
// error, before it adds staff whose passwords nobody knows.
func TestSeedOnAFreshDesk(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := newCLI(t, emptyDatabase(t, d))
			c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
			if r := c.run("", "migrate"); r.code != 0 {
				t.Fatal(r)
			}
			r := c.run("", "seed", "--cases", "40")
			if r.code != 0 || r.stdout != "" {
				t.Fatalf("seed: %+v", r)
			}
			m := bootstrapLine.FindAllStringSubmatch(r.stderr, -1)
			if len(m) != 1 {
				t.Fatalf("the seed printed the first admin's password %d times: %s", len(m), r.stderr)
			}
			url := c.vars["GIFTDESK_DATABASE_URL"]
			if url == "" {
				url = "sqlite:" + filepath.Join(c.vars["GIFTDESK_DATA_DIR"], "giftdesk.db")
			}
			db, err := models.Open(context.Background(), models.Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			in, err := cases.New(cases.Config{DB: db, Keys: casestest.Keys}).SignIn(context.Background(),
				cases.SignInInput{Email: "admin@localhost", Password: m[0][1], ClientIP: "127.0.0.1"})
			if err != nil || !in.MustChangePassword || in.Principal.Role != cases.RoleAdmin {
				t.Fatalf("sign-in with the printed password: %+v %v", in.Principal, err)
			}
			// A second seed finds users and prints no password.
			if r := c.run("", "seed", "--cases", "5", "--force"); r.code != 0 || strings.Contains(r.stderr, "password") {
				t.Fatalf("forced seed: %+v", r)
			}
		})
	}
}

var bootstrapLine = regexp.MustCompile(`created the first admin: sign in as admin@localhost with password (\S+) `)

var codeLike = regexp.MustCompile(`[A-Za-z0-9]{10,}|[A-Za-z0-9]{4}[-\s][A-Za-z0-9]{6}[-\s][A-Za-z0-9]{4}`)
