package handlers

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// reportsSpread adds 240 cases over the 30 days from 20 September 2026, of every type and priority,
// most answered and resolved at varied speeds: enough for the charts to show their shape.
func reportsSpread(t *testing.T, h *harness) {
	t.Helper()
	var account int64
	if err := h.db.Raw(`SELECT id FROM customer_accounts WHERE account_id = 'REPA0001'`).Scan(&account).Error; err != nil || account == 0 {
		t.Fatalf("account: %v", err)
	}
	start := time.Date(2026, 9, 20, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 240; i++ {
		created := start.Add(time.Duration(i) * 3 * time.Hour)
		typ := cases.CaseTypes[(i*i+i/3)%len(cases.CaseTypes)]
		status, resolution, resolved := "investigating", any(nil), any(nil)
		if i%4 != 0 {
			status, resolution, resolved = "resolved", "no_action", created.Add(time.Duration((i*53)%4000+30)*time.Minute)
		}
		var responded any
		if i%10 != 0 {
			responded = created.Add(time.Duration((i*37)%600+5) * time.Minute)
		}
		if err := h.db.Exec(`INSERT INTO cases (ref, type, status, resolution, priority, customer_account_id, intended_account_id, summary, first_response_due,
				resolution_due, first_responded_at, resolved_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'Spread case', ?, ?, ?, ?, ?, ?)`,
			fmt.Sprintf("GD-2%06d", i), string(typ), status, resolution, string(cases.Priorities[i%4]), account, account, created.Add(8*time.Hour),
			created.Add(72*time.Hour), responded, resolved, created, created).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowserReports opens /reports as a supervisor: the five charts are SVG images named by their
// titles, each table is there, and a CSV link downloads its file. Screenshots in both themes.
func TestBrowserReports(t *testing.T) {
	p := newPage(t)
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	reportsDesk(t, h)
	reportsSpread(t, h)
	sup := h.session("sup@example.com", cases.RoleSupervisor)
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	p.do(chromedp.Navigate(ts.URL+"/login"), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: sup, URL: ts.URL})
		return err
	}), chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`nav a[href="/reports"]`)))
	p.do(leaveBy(`nav a[href="/reports"]`), chromedp.WaitVisible(chromedp.CSS("#f-from")))
	// The range form: from and to, then the page for them.
	p.do(chromedp.SetValue(chromedp.CSS("#f-from"), "2026-09-20"), chromedp.SetValue(chromedp.CSS("#f-to"), "2026-10-19"),
		leaveBy(`form.report-range button[type="submit"]`), chromedp.WaitVisible(chromedp.CSS("#cards")))
	if at := p.value(chromedp.Location()); !strings.Contains(at, "from=2026-09-20&to=2026-10-19") {
		t.Fatalf("the form led to %s", at)
	}
	charts := p.value(chromedp.Evaluate[string](`[...document.querySelectorAll('svg[role=img]')].map(s =>
		document.getElementById(s.getAttribute('aria-labelledby').split(' ')[0]).textContent + ':' + s.querySelectorAll('rect').length).join('|')`))
	for _, want := range []string{"Cases opened and resolved per day:60", "Time to resolution per type:16", "SLA breaches per priority:8",
		"Corrections per currency:9", "Cases per card, for the cards on the most cases:3"} {
		if !strings.Contains(charts, want) {
			t.Errorf("charts %q lack %q", charts, want)
		}
	}
	tables := p.value(chromedp.Evaluate[string](`[...document.querySelectorAll('table caption')].map(c => c.firstChild.textContent.trim()).join('|')`))
	if tables != "Cases opened and resolved per day|Cases opened and resolved per type over the range|Time to first response and to resolution per type|"+
		"SLA targets due and missed per priority|Corrections applied, denied and reversed per currency|Cards added to the most cases" {
		t.Errorf("tables: %s", tables)
	}
	if w := p.value(chromedp.Evaluate[string](`String(document.querySelector('svg.chart-svg').getBoundingClientRect().width > 900)`)); w != "true" {
		t.Errorf("the day chart is not as wide as the page: %s", w)
	}
	got := p.value(chromedp.Evaluate[string](`fetch(document.querySelector('#sla a.csv').href).then(async r =>
		r.status + ' ' + r.headers.get('content-disposition') + '\n' + await r.text())`, chromedp.EvalAwaitPromise))
	if !strings.HasPrefix(got, `200 attachment; filename="giftdesk-sla-2026-09-20-to-2026-10-19.csv"`+"\npriority,first_responses_due") {
		t.Errorf("the SLA CSV link answered %q", got)
	}
	for _, scheme := range []string{"light", "dark"} {
		p.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		}))
		p.screenshot("reports-" + scheme)
	}
}
