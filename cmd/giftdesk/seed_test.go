package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

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
			if r := c.run("", "seed"); r.code != 2 {
				t.Fatalf("seed without --cases: %+v", r)
			}
		})
	}
}

var codeLike = regexp.MustCompile(`[A-Za-z0-9]{10,}|[A-Za-z0-9]{4}[-\s][A-Za-z0-9]{6}[-\s][A-Za-z0-9]{4}`)
