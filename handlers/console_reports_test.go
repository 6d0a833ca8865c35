package handlers

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// reportsDesk loads, by SQL with fixed times, a small desk whose reports for 1–2 October 2026
// (UTC) were worked out by hand (see the expectations in TestReportsNumbers).
func reportsDesk(t *testing.T, h *harness) {
	t.Helper()
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if err := h.db.Exec(q, args...).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	h.session("req@example.com", cases.RoleAgent)
	h.session("dec@example.com", cases.RoleSupervisor)
	var req, dec int64
	if err := h.db.Raw(`SELECT id FROM users WHERE email = 'req@example.com'`).Scan(&req).Error; err != nil {
		t.Fatal(err)
	}
	if err := h.db.Raw(`SELECT id FROM users WHERE email = 'dec@example.com'`).Scan(&dec).Error; err != nil {
		t.Fatal(err)
	}
	now := at("2026-09-01 00:00")
	exec(`INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('REPA0001', 'US', ?, ?), ('REPB0002', 'US', ?, ?)`, now, now, now, now)
	var acct []int64
	if err := h.db.Raw(`SELECT id FROM customer_accounts WHERE account_id IN ('REPA0001', 'REPB0002') ORDER BY account_id`).Scan(&acct).Error; err != nil {
		t.Fatal(err)
	}
	type kase struct {
		ref, typ, status, priority, created string
		responded, resolved, frDue, resDue  string
	}
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return at(s)
	}
	for _, c := range []kase{
		{"GD-1000001", "promo_credit", "resolved", "normal", "2026-10-01 09:00", "2026-10-01 10:00", "2026-10-01 15:00", "2026-10-01 17:00", "2026-10-04 09:00"},
		{"GD-1000002", "promo_credit", "resolved", "high", "2026-10-01 12:00", "2026-10-01 15:00", "2026-10-02 12:00", "2026-10-01 16:00", "2026-10-02 12:00"},
		{"GD-1000003", "promo_credit", "investigating", "urgent", "2026-10-02 08:00", "2026-10-02 18:00", "", "2026-10-02 09:00", "2026-10-02 16:00"},
		{"GD-1000004", "code_problem", "new", "low", "2026-10-02 10:00", "", "", "2026-10-03 10:00", "2026-10-09 10:00"},
		{"GD-1000005", "code_problem", "resolved", "normal", "2026-09-30 20:00", "2026-10-01 08:00", "2026-10-02 20:00", "2026-10-01 04:00", "2026-10-03 20:00"},
		{"GD-1000006", "promo_credit", "new", "normal", "2026-10-03 01:00", "", "", "2026-10-03 09:00", "2026-10-06 01:00"},
	} {
		var resolution any
		if c.status == "resolved" {
			resolution = "no_action"
		}
		exec(`INSERT INTO cases (ref, type, status, resolution, priority, customer_account_id, summary, first_response_due, resolution_due,
				first_responded_at, resolved_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'Report case', ?, ?, ?, ?, ?, ?)`,
			c.ref, c.typ, c.status, resolution, c.priority, acct[0], nullable(c.frDue), nullable(c.resDue), nullable(c.responded),
			nullable(c.resolved), at(c.created), at(c.created))
	}
	caseID := func(ref string) int64 {
		var id int64
		if err := h.db.Raw(`SELECT id FROM cases WHERE ref = ?`, ref).Scan(&id).Error; err != nil || id == 0 {
			t.Fatalf("case %s: %v", ref, err)
		}
		return id
	}
	addCard := func(last4, serial string, face int64) {
		t.Helper()
		g := models.GiftCard{Marketplace: "US", Currency: "USD", FaceValueMinor: face, Status: "unknown", CreatedAt: now, UpdatedAt: now, Version: 1}
		if last4 != "" {
			sum := sha256.Sum256([]byte(last4))
			g.ClaimCodeHMAC, g.ClaimCodeLast4 = sum[:], &last4
		} else {
			g.Serial = &serial
		}
		if err := models.InsertCard(context.Background(), h.db, &g); err != nil {
			t.Fatal(err)
		}
	}
	// A last 4 and a serial that a spreadsheet would read as formulas: the CSV must neutralise them.
	addCard("=A1B", "", 5000)
	addCard("", `@SUM(1,2)"`, 2500)
	addCard("9999", "", 1000)
	addCard("4444", "", 1000)
	card := func(q string) int64 {
		var id int64
		if err := h.db.Raw(`SELECT id FROM gift_cards WHERE ` + q).Scan(&id).Error; err != nil || id == 0 {
			t.Fatalf("card %s: %v", q, err)
		}
		return id
	}
	g1, g2, g3, g4 := card(`claim_code_last4 = '=A1B'`), card(`serial IS NOT NULL`), card(`claim_code_last4 = '9999'`), card(`claim_code_last4 = '4444'`)
	for _, l := range []struct {
		ref  string
		card int64
		at   string
	}{
		{"GD-1000001", g1, "2026-10-01 09:00"}, {"GD-1000002", g1, "2026-10-01 12:00"}, {"GD-1000003", g1, "2026-10-02 08:00"},
		{"GD-1000004", g2, "2026-10-02 10:00"}, {"GD-1000005", g2, "2026-10-01 07:00"},
		{"GD-1000001", g3, "2026-10-01 09:00"},
		{"GD-1000001", g4, "2026-10-01 09:00"}, {"GD-1000006", g4, "2026-10-03 01:00"},
	} {
		exec(`INSERT INTO case_cards (case_id, card_id, added_at) VALUES (?, ?, ?)`, caseID(l.ref), l.card, at(l.at))
	}
	c1 := caseID("GD-1000001")
	fix := func(kind, status string, amount int64, currency string, decided, reversed string, reverses any) {
		t.Helper()
		var denial any
		if status == "denied" {
			denial = "not ours"
		}
		var decider any
		if decided != "" {
			decider = dec
		}
		exec(`INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, reason, requested_by_id,
				required_approvals, reverses_id, denial_reason, decided_by_id, created_at, updated_at, decided_at, reversed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'report test', ?, 1, ?, ?, ?, ?, ?, ?, ?)`,
			c1, kind, status, amount, currency, acct[0], acct[1], req, reverses, denial, decider, now, now, nullable(decided), nullable(reversed))
	}
	fix("credit", "applied", 1250, "USD", "2026-10-01 11:00", "", nil)
	fix("credit", "reversed", 500, "USD", "2026-10-01 12:00", "2026-10-02 09:00", nil)
	var k2 int64
	if err := h.db.Raw(`SELECT id FROM corrections WHERE amount_minor = 500`).Scan(&k2).Error; err != nil {
		t.Fatal(err)
	}
	fix("reversal", "applied", 500, "USD", "2026-10-02 09:00", "", k2)
	fix("credit", "denied", 3000, "JPY", "2026-10-02 10:00", "", nil)
	fix("credit", "applied", 9999, "USD", "2026-09-30 10:00", "", nil)
	fix("credit", "pending", 700, "USD", "", "", nil)
	fix("credit", "reversed", 100, "EUR", "2026-09-20 10:00", "2026-10-01 13:00", nil)
}

// TestReportsNumbers: every report of the hand-made desk above, as CSV files and on the page, on
// both databases. The expectations were counted by hand from the rows, not by another query.
func TestReportsNumbers(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		reportsDesk(t, h)
		sup := h.session("sup@example.com", cases.RoleSupervisor)
		csvOf := func(name, query string) string {
			t.Helper()
			w := h.do(request{method: http.MethodGet, path: "/reports/" + name + ".csv?" + query, cookie: sup})
			if w.Code != http.StatusOK {
				t.Fatalf("%s.csv: %d %s", name, w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("%s.csv: Content-Type %q", name, ct)
			}
			if cd := w.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="giftdesk-`+name+`-`) {
				t.Errorf("%s.csv: Content-Disposition %q", name, cd)
			}
			return w.Body.String()
		}
		const oct = "from=2026-10-01&to=2026-10-02"
		want := map[string]string{
			"volume": "day,opened,resolved\r\n2026-10-01,2,1\r\n2026-10-02,2,2\r\n",
			"volume-by-type": "type,opened,resolved\r\nwrong_account,0,0\r\nunactivated_card,0,0\r\nregional_mismatch,0,0\r\n" +
				"code_problem,1,1\r\nscam_victim,0,0\r\npromo_credit,3,2\r\nunexpected_charge,0,0\r\nother,0,0\r\n",
			"volume-by-day-and-type": "day,type,opened,resolved\r\n2026-10-01,promo_credit,2,1\r\n2026-10-02,code_problem,1,1\r\n" +
				"2026-10-02,promo_credit,1,1\r\n",
			// First responses: promo 1 h, 3 h, 10 h (p90 = 3 h + 0.8 × 7 h = 8 h 36 min); code 12 h.
			// Resolutions: promo 6 h, 24 h (median 15 h, p90 = 6 h + 0.9 × 18 h = 22 h 12 min); code 48 h.
			"times": "type,first_responses,first_response_median_seconds,first_response_p90_seconds,resolutions,resolution_median_seconds,resolution_p90_seconds\r\n" +
				"wrong_account,0,,,0,,\r\nunactivated_card,0,,,0,,\r\nregional_mismatch,0,,,0,,\r\n" +
				"code_problem,1,43200,43200,1,172800,172800\r\nscam_victim,0,,,0,,\r\n" +
				"promo_credit,3,10800,30960,2,54000,79920\r\nunexpected_charge,0,,,0,,\r\nother,0,,,0,,\r\n",
			"sla": "priority,first_responses_due,first_responses_missed,resolutions_due,resolutions_missed\r\n" +
				"urgent,1,1,1,1\r\nhigh,1,0,1,0\r\nnormal,2,1,0,0\r\nlow,0,0,0,0\r\n",
			"corrections": "currency,applied,applied_amount,denied,denied_amount,reversed,reversed_amount\r\n" +
				"EUR,0,0.00,0,0.00,1,1.00\r\nJPY,0,0,1,3000,0,0\r\nUSD,2,17.50,0,0.00,1,5.00\r\n",
			"cards": "card,marketplace,currency,face_value,cases,case_refs\r\n" +
				"'=A1B,US,USD,50.00,3,GD-1000001 GD-1000002 GD-1000003\r\n" +
				`"'@SUM(1,2)""",US,USD,25.00,2,GD-1000004 GD-1000005` + "\r\n",
		}
		for name, body := range want {
			if got := csvOf(name, oct); got != body {
				t.Errorf("%s.csv:\n got %q\nwant %q", name, got, body)
			}
		}
		// Days are cut in the reader's zone: in Tokyo (UTC+9) GD-1000001's 09:00 UTC is 18:00 on 1
		// October, GD-1000005's 20:00 UTC on 30 September is 05:00 on 1 October, and so on.
		if w := h.do(request{method: http.MethodPost, path: "/account", cookie: sup, header: sameOrigin,
			body: form(map[string]string{"time_zone": "Asia/Tokyo"})}); w.Code != http.StatusSeeOther {
			t.Fatalf("zone: %d", w.Code)
		}
		if got, body := csvOf("volume", oct), "day,opened,resolved\r\n2026-10-01,3,0\r\n2026-10-02,2,2\r\n"; got != body {
			t.Errorf("volume.csv in Tokyo:\n got %q\nwant %q", got, body)
		}
		// The page, still in Tokyo: GD-1000003's first response (18:00 UTC on 2 October) falls on 3
		// October there, leaving promo credit's 1 h and 3 h (median 2 h, p90 1 h + 0.9 × 2 h).
		page := h.do(request{method: http.MethodGet, path: "/reports?" + oct, cookie: sup})
		if page.Code != http.StatusOK {
			t.Fatalf("page: %d %s", page.Code, page.Body)
		}
		body := page.Body.String()
		for _, s := range []string{`<svg class="chart-svg"`, `role="img" aria-labelledby="chart-volume-title chart-volume-desc"`,
			`<th scope="row">promo credit</th><td class="num">2</td><td class="num">2 h</td><td class="num">2 h 48 min</td><td class="num">2</td><td class="num">15 h</td><td class="num">22 h 12 min</td>`,
			`<th scope="row">JPY</th><td class="num">0</td><td class="num">0</td><td class="num">1</td><td class="num">3000</td>`,
			`<a href="/cases/GD-1000001">GD-1000001</a>, <a href="/cases/GD-1000002">GD-1000002</a>`, "50.00 USD",
			`href="/reports/cards.csv?from=2026-10-01&amp;to=2026-10-02"`, reportsDefinitionFirstWords, "days in Asia/Tokyo"} {
			if !strings.Contains(body, s) {
				t.Errorf("the page lacks %q", s)
			}
		}
	})
}

var reportsDefinitionFirstWords = "Time to first response runs from a case&#39;s creation to the first outbound communication"

// TestReportsAccessAndRange: agents get 403 on the page and on every file; supervisors and admins
// see the nav link; the range defaults to the last 30 days in the user's zone; bad, reversed and
// too long ranges are refused next to their field.
func TestReportsAccessAndRange(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.session("agent@example.com", cases.RoleAgent)
		sup := h.session("sup@example.com", cases.RoleSupervisor)
		admin := h.session("admin@example.com", cases.RoleAdmin)
		var files []string
		for _, rt := range h.srv.routes() {
			if strings.HasPrefix(rt.path, "/reports") {
				files = append(files, rt.path)
			}
		}
		if len(files) != 8 {
			t.Fatalf("report routes: %v", files)
		}
		for _, path := range files {
			if w := h.do(request{method: http.MethodGet, path: path, cookie: agent}); w.Code != http.StatusForbidden {
				t.Errorf("an agent GET %s: %d", path, w.Code)
			}
			for _, who := range []string{sup, admin} {
				if w := h.do(request{method: http.MethodGet, path: path, cookie: who}); w.Code != http.StatusOK {
					t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
				}
			}
		}
		if w := h.do(request{method: http.MethodGet, path: "/", cookie: agent}); strings.Contains(w.Body.String(), `href="/reports"`) {
			t.Error("an agent is offered the reports")
		}
		if w := h.do(request{method: http.MethodGet, path: "/", cookie: sup}); !strings.Contains(w.Body.String(), `<a href="/reports">Reports</a>`) {
			t.Error("a supervisor has no link to the reports")
		}
		today := time.Now().UTC()
		page := h.do(request{method: http.MethodGet, path: "/reports", cookie: sup}).Body.String()
		for _, s := range []string{`name="from" type="date" value="` + today.AddDate(0, 0, -29).Format("2006-01-02") + `"`,
			`name="to" type="date" value="` + today.Format("2006-01-02") + `"`, `<a href="/reports" aria-current="page">Reports</a>`} {
			if !strings.Contains(page, s) {
				t.Errorf("the default page lacks %q", s)
			}
		}
		for _, c := range []struct{ query, field, message string }{
			{"from=2026-13-01&to=2026-10-01", "from", "must be a date written like 2026-11-01"},
			{"from=2026-10-01&to=yesterday", "to", "must be a date written like 2026-11-29"},
			{"from=2026-10-05&to=2026-10-01", "to", "must be on or after the start date"},
			{"from=2026-07-01&to=2026-10-01", "from", "the range may span at most 92 days"},
		} {
			w := h.do(request{method: http.MethodGet, path: "/reports?" + c.query, cookie: sup})
			body := w.Body.String()
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `<p class="field-error" id="f-`+c.field+`-error">`+c.message+`</p>`) ||
				!strings.Contains(body, `aria-describedby="f-`+c.field+`-error"`) || strings.Contains(body, "<svg") {
				t.Errorf("%s: %d, no error next to %s: %s", c.query, w.Code, c.field, body)
			}
			if w := h.do(request{method: http.MethodGet, path: "/reports/sla.csv?" + c.query, cookie: sup}); w.Code != http.StatusUnprocessableEntity {
				t.Errorf("sla.csv?%s: %d", c.query, w.Code)
			}
		}
		// 92 days is the longest range.
		if w := h.do(request{method: http.MethodGet, path: "/reports?from=2026-07-02&to=2026-10-01", cookie: sup}); w.Code != http.StatusOK {
			t.Errorf("92 days: %d", w.Code)
		}
	})
}

// TestReportsPageStatements: the page costs the same statements whatever the range holds: a report
// is a fixed handful of aggregates, and the clusters' cases come in one batch.
func TestReportsPageStatements(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		reportsDesk(t, h)
		sup := h.session("sup@example.com", cases.RoleSupervisor)
		_, small, one := h.statementsOf(counter, request{method: http.MethodGet, path: "/reports?from=2026-10-01&to=2026-10-01", cookie: sup})
		reportsSpread(t, h)
		_, large, many := h.statementsOf(counter, request{method: http.MethodGet, path: "/reports?from=2026-09-20&to=2026-10-19", cookie: sup})
		if strings.Count(string(one), `<a href="/cases/GD-`) >= strings.Count(string(many), `<a href="/cases/GD-`) {
			t.Fatal("the larger range links no more cases")
		}
		if small != large {
			t.Errorf("a day took %d statements, a month with more clusters %d", small, large)
		}
	})
}
