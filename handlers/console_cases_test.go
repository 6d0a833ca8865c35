package handlers

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// consoleDesk is a harness with an agent who has both a console session and an API token, to set
// cases up through the API and read them in the console.
type consoleDesk struct {
	*harness
	token, cookie string
}

func newConsoleDesk(t *testing.T, h *harness) consoleDesk {
	token := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
	return consoleDesk{harness: h, token: token, cookie: h.session("agent@example.com", cases.RoleAgent)}
}

// caseWith creates a case of the given priority with no card (nothing links it to another).
func (d consoleDesk) caseWith(priority, account string) cases.CaseView {
	d.t.Helper()
	body := fmt.Sprintf(`{"type":"promo_credit","priority":%q,"summary":"Promo credit vanished","customer":{"account_id":%q,"marketplace":"US"}}`,
		priority, account)
	w := d.do(request{method: http.MethodPost, path: "/api/v1/cases", token: d.token, body: strings.NewReader(body)})
	var v cases.CaseView
	if w.Code != http.StatusCreated {
		d.t.Fatalf("case: %d %s", w.Code, w.Body)
	}
	mustUnmarshal(d.t, w.Body.Bytes(), &v)
	return v
}

func (d consoleDesk) patch(v cases.CaseView, body string) cases.CaseView {
	d.t.Helper()
	w := d.do(request{method: http.MethodPatch, path: "/api/v1/cases/" + v.Ref, token: d.token, body: strings.NewReader(body),
		header: map[string]string{"If-Match": v.ETag()}})
	if w.Code != http.StatusOK {
		d.t.Fatalf("patch %s: %d %s", v.Ref, w.Code, w.Body)
	}
	var out cases.CaseView
	mustUnmarshal(d.t, w.Body.Bytes(), &out)
	return out
}

func (d consoleDesk) page(path string) string {
	d.t.Helper()
	w := d.do(request{method: http.MethodGet, path: path, cookie: d.cookie})
	if w.Code != http.StatusOK {
		d.t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

var rowRef = regexp.MustCompile(`<th scope="row"><a href="/cases/(GD-\d+)">`)

// rowsOf are the refs of a page's case rows, in order.
func rowsOf(body string) []string {
	var out []string
	for _, m := range rowRef.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestHomeQueues: the home page counts every queue and lists one at a time, each row with its
// ref, type, customer, summary, status, priority, age and SLA state in words, times in the user's
// zone (issue 21).
func TestHomeQueues(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newConsoleDesk(t, newHarness(t, db))
		mine := d.caseWith("normal", "MINE0001")
		d.patch(mine, `{"assignee":"agent@example.com"}`)
		late := d.caseWith("normal", "LATE0001") // unassigned; made late below
		soon := d.caseWith("urgent", "SOON0001") // first response due within the hour: at risk
		waiting := d.patch(d.caseWith("low", "WAIT0001"), `{"status":"waiting_on_customer"}`)
		done := d.patch(d.caseWith("normal", "DONE0001"), `{"assignee":"agent@example.com","status":"resolved","resolution":"no_action"}`)
		if err := db.Exec(`UPDATE cases SET first_response_due = ? WHERE ref = ?`, time.Now().Add(-time.Hour).UTC(), late.Ref).Error; err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			"mine":       {mine.Ref},
			"unassigned": {waiting.Ref, soon.Ref, late.Ref},
			"sla":        {soon.Ref, late.Ref},
			"waiting":    {waiting.Ref},
			"approval":   nil,
		}
		for queue, refs := range want {
			body := d.page("/?queue=" + queue)
			if got := rowsOf(body); strings.Join(got, " ") != strings.Join(refs, " ") {
				t.Errorf("queue %s lists %v, want %v", queue, got, refs)
			}
			for other, orefs := range want {
				count := fmt.Sprintf(`href="/?queue=%s"%s><strong>%d</strong>`, other, map[bool]string{true: ` aria-current="true"`}[other == queue], len(orefs))
				if !strings.Contains(body, count) {
					t.Errorf("queue %s: the count of %s is not %d:\n%s", queue, other, len(orefs), body)
				}
			}
			if strings.Contains(body, done.Ref) {
				t.Errorf("queue %s shows the resolved case", queue)
			}
		}
		sla := d.page("/?queue=sla")
		for _, want := range []string{`<span class="badge danger">Breached</span>`, `<span class="badge warn">At risk</span>`, "promo credit", "SOON0001",
			"Promo credit vanished", "<strong>urgent</strong>", `<time datetime="`, `data-row tabindex="0"`, "<caption", `scope="col"`} {
			if !strings.Contains(sla, want) {
				t.Errorf("the SLA queue lacks %q", want)
			}
		}
		if home := d.page("/"); strings.Join(rowsOf(home), " ") != mine.Ref || !strings.Contains(home, `<span class="badge ok">On track</span>`) {
			t.Errorf("home opens on my cases: %v", rowsOf(home))
		}
		// Times are shown in the user's zone.
		if w := d.do(request{method: http.MethodPost, path: "/account", cookie: d.cookie, header: sameOrigin,
			body: form(map[string]string{"time_zone": "Asia/Tokyo", "shortcuts": "on"})}); w.Code != http.StatusSeeOther {
			t.Fatalf("zone: %d", w.Code)
		}
		if body := d.page("/"); !strings.Contains(body, " JST\">") {
			t.Errorf("times are not shown in the user's zone: %s", body)
		}
		if w := d.do(request{method: http.MethodGet, path: "/?queue=everything", cookie: d.cookie}); w.Code != http.StatusNotFound {
			t.Errorf("an unknown queue: %d", w.Code)
		}
		if w := d.do(request{method: http.MethodGet, path: "/?queue=mine&cursor=nonsense", cookie: d.cookie}); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("a cursor this list never wrote: %d", w.Code)
		}
	})
}

var pagerLink = regexp.MustCompile(`<a href="([^"]+)" rel="(prev|next)">`)

func pagerLinks(body string) map[string]string {
	out := map[string]string{}
	for _, m := range pagerLink.FindAllStringSubmatch(body, -1) {
		out[m[2]] = html.UnescapeString(m[1])
	}
	return out
}

// TestCaseListFiltersAndPaging: /cases keeps its filters in the URL, in its form and in its next
// and previous links, and pages both ways by keyset (issue 21).
func TestCaseListFiltersAndPaging(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newConsoleDesk(t, newHarness(t, db))
		var refs []string // newest first
		for i := 0; i < cases.DefaultPageLimit+2; i++ {
			refs = append([]string{d.caseWith("high", fmt.Sprintf("PAGE%04d", i)).Ref}, refs...)
		}
		other := d.caseWith("low", "OTHER001")
		first := d.page("/cases?priority=high&marketplace=US&assignee=none")
		if rows := rowsOf(first); len(rows) != cases.DefaultPageLimit || rows[0] != refs[0] || strings.Contains(first, other.Ref) {
			t.Fatalf("first page: %v", rows)
		}
		for _, want := range []string{`<option value="high" selected>`, `<option value="US" selected>`, `name="assignee" type="text" list="assignee-choices" value="none"`,
			`<label for="sel-` + refs[0] + `" class="visually-hidden">Select ` + refs[0] + `</label>`, `<label for="f-status">Status</label>`} {
			if !strings.Contains(first, want) {
				t.Errorf("the filtered page lacks %q", want)
			}
		}
		links := pagerLinks(first)
		if links["prev"] != "" || !strings.Contains(links["next"], "priority=high") || !strings.Contains(links["next"], "assignee=none") {
			t.Fatalf("first page links: %v", links)
		}
		second := d.page(links["next"])
		if rows := rowsOf(second); strings.Join(rows, " ") != strings.Join(refs[cases.DefaultPageLimit:], " ") {
			t.Fatalf("second page: %v", rows)
		}
		links = pagerLinks(second)
		if links["next"] != "" || !strings.Contains(links["prev"], "priority=high") {
			t.Fatalf("second page links: %v", links)
		}
		back := d.page(links["prev"])
		if rows := rowsOf(back); len(rows) != cases.DefaultPageLimit || rows[0] != refs[0] || pagerLinks(back)["prev"] != "" {
			t.Fatalf("back on the first page: %v %v", rows, pagerLinks(back))
		}
		if body := d.page("/cases?q=other00"); strings.Join(rowsOf(body), " ") != other.Ref || !strings.Contains(body, `value="other00"`) {
			t.Errorf("text search: %v", rowsOf(body))
		}
		w := d.do(request{method: http.MethodGet, path: "/cases?status=asleep", cookie: d.cookie})
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `href="#f-status"`) || !strings.Contains(w.Body.String(), `id="f-status-error"`) {
			t.Fatalf("a bad filter: %d %s", w.Code, w.Body)
		}
	})
}

// TestBulkActions: a bulk change on selected rows applies to each row through UpdateCase with
// the version the list showed: a stale row and a row R11 refuses are reported by ref with their
// reason, the rest applied and audited, and the answer leads back to the same filtered list.
func TestBulkActions(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newConsoleDesk(t, newHarness(t, db))
		fresh, stale, resolved := d.caseWith("normal", "BULK0001"), d.caseWith("normal", "BULK0002"), d.caseWith("normal", "BULK0003")
		resolved = d.patch(resolved, `{"status":"resolved","resolution":"no_action"}`)
		list := d.page("/cases?priority=normal")
		for _, v := range []cases.CaseView{fresh, stale, resolved} {
			if !strings.Contains(list, fmt.Sprintf(`value="%s:%d"`, v.Ref, v.Version)) {
				t.Fatalf("the row of %s does not carry its version", v.Ref)
			}
		}
		d.patch(stale, `{"priority":"normal","tags":["changed elsewhere"]}`) // someone else, after the list was loaded
		audits := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'case.updated'`)
		post := url.Values{"case": {fresh.Ref + ":1", stale.Ref + ":1", fmt.Sprintf("%s:%d", resolved.Ref, resolved.Version)},
			"assign": {"me"}, "status": {"waiting_on_customer"}, "return": {"priority=normal&cursor=ignored"}}
		w := d.do(request{method: http.MethodPost, path: "/cases/bulk", cookie: d.cookie, header: sameOrigin, body: strings.NewReader(post.Encode())})
		loc, err := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusSeeOther || err != nil || loc.Path != "/cases" {
			t.Fatalf("bulk: %d %q", w.Code, w.Header().Get("Location"))
		}
		q := loc.Query()
		if q.Get("priority") != "normal" || q.Get("cursor") != "" || strings.Join(q["applied"], ",") != fresh.Ref ||
			strings.Join(q["refused"], ",") != stale.Ref+":stale,"+resolved.Ref+":transition" {
			t.Fatalf("back to %v", q)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'case.updated'`); n != audits+1 {
			t.Fatalf("%d audit events for one applied row", n-audits)
		}
		page := d.page(loc.String())
		for _, want := range []string{"Changed 1 case", "2 cases were left unchanged", stale.Ref + `</a>: it changed since the list was loaded`,
			resolved.Ref + `</a>: its current status does not allow this change`, `<option value="normal" selected>`} {
			if !strings.Contains(page, want) {
				t.Errorf("the summary lacks %q", want)
			}
		}
		var got cases.CaseView
		mustUnmarshal(t, d.do(request{method: http.MethodGet, path: "/api/v1/cases/" + fresh.Ref, token: d.token}).Body.Bytes(), &got)
		if got.Status != "waiting_on_customer" || got.Assignee == nil || *got.Assignee != "agent@example.com" {
			t.Fatalf("the applied row: %s %v", got.Status, got.Assignee)
		}
		// A summary link cannot put words of its own on the page.
		if body := d.page("/cases?refused=GD-000001:call+us+at+555&applied=<script>"); strings.Contains(body, "call us") || strings.Contains(body, "&lt;script") {
			t.Error("a crafted summary was shown")
		}
		// Nothing selected, or nothing to do: the list again, with the problem at the top.
		for _, bad := range []url.Values{{"assign": {"me"}}, {"case": {fresh.Ref + ":2"}}} {
			bad.Set("return", "priority=normal")
			w := d.do(request{method: http.MethodPost, path: "/cases/bulk", cookie: d.cookie, header: sameOrigin, body: strings.NewReader(bad.Encode())})
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `role="alert"`) || len(rowsOf(w.Body.String())) != 3 {
				t.Errorf("%v: %d %s", bad, w.Code, w.Body)
			}
		}
	})
}

// TestHeaderSearchNeverEchoesAClaimCode: the header's search box looks a claim code up by its
// HMAC and leads to the card's cases; the code appears in no answer header, no page and no log,
// whether a card has it or not. Other terms become a text search in the URL (issue 21).
func TestHeaderSearchNeverEchoesAClaimCode(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newConsoleDesk(t, newHarness(t, db))
		ref := d.newCase(d.token, "search-1") // card AB12-CDEF34-GH56
		d.caseWith("normal", "NOCARD01")
		search := func(term string) *http.Response {
			t.Helper()
			w := d.do(request{method: http.MethodPost, path: "/search", cookie: d.cookie, header: sameOrigin,
				body: strings.NewReader(url.Values{"q": {term}}.Encode())})
			return w.Result()
		}
		secrets := []string{"AB12-CDEF34-GH56", "AB12CDEF34GH56", "ab12 cdef34 gh56", "QQQQ-WWWW-EEEE", "QQQQWWWWEEEE", "qqqq wwww eeee",
			"PQ7X-2MZK-4HTV", "PQ7X2MZK4HTV"}
		check := func(what string, r *http.Response, body string) {
			t.Helper()
			for _, s := range secrets {
				for _, form := range []string{s, url.QueryEscape(s), strings.ToLower(s)} {
					if strings.Contains(body, form) || strings.Contains(fmt.Sprint(r.Header), form) {
						t.Errorf("%s: the answer carries the claim code %q", what, form)
					}
				}
			}
		}
		found := search("ab12 cdef34 gh56")
		loc, err := url.Parse(found.Header.Get("Location"))
		if found.StatusCode != http.StatusSeeOther || err != nil || loc.Path != "/cases" || loc.Query().Get("card") == "" {
			t.Fatalf("a known code: %d %q", found.StatusCode, found.Header.Get("Location"))
		}
		check("known code", found, "")
		cards := d.page(loc.String())
		check("the card's cases", found, cards)
		if strings.Join(rowsOf(cards), " ") != ref || !strings.Contains(cards, "with the card ending GH56") {
			t.Fatalf("the card's cases: %v", rowsOf(cards))
		}
		missed := search("QQQQ-WWWW-EEEE")
		body, err := io.ReadAll(missed.Body)
		if err != nil {
			t.Fatal(err)
		}
		if missed.StatusCode != http.StatusOK || missed.Header.Get("Location") != "" || !strings.Contains(string(body), "No card has this claim code") ||
			strings.Contains(string(body), `rel="next"`) || !strings.Contains(string(body), `id="q" name="q" type="search" placeholder`) {
			t.Fatalf("an unknown code: %d %s", missed.StatusCode, body)
		}
		check("unknown code", missed, string(body))
		// A code pasted with a stray full stop is no code, but is kept out of the URL all the same.
		near := search("PQ7X-2MZK-4HTV.")
		nearBody, err := io.ReadAll(near.Body)
		if err != nil {
			t.Fatal(err)
		}
		if near.StatusCode != http.StatusOK || near.Header.Get("Location") != "" {
			t.Fatalf("a near code: %d %q", near.StatusCode, near.Header.Get("Location"))
		}
		check("near code", near, string(nearBody))
		if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action IN ('card.looked_up', 'card.lookup_missed')`); n != 2 {
			t.Fatalf("%d look-ups audited, want 2", n)
		}
		for _, s := range secrets {
			if strings.Contains(d.logs.String(), s) {
				t.Errorf("the log carries %q", s)
			}
		}
		for term, want := range map[string]string{"6046123412341234": "/cases?q=6046123412341234", "pat@example.com": "/cases?q=pat%40example.com",
			ref: "/cases?q=" + ref, "  ": "/cases"} {
			if r := search(term); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
				t.Errorf("%q: %d %q, want %q", term, r.StatusCode, r.Header.Get("Location"), want)
			}
		}
	})
}

// TestAgentSeesNoSupervisorOrAdminActions: an agent's queues and case list offer the agent's work
// only: no decision, no administration (R13).
func TestAgentSeesNoSupervisorOrAdminActions(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		d := newConsoleDesk(t, newHarness(t, db))
		kase := d.newCase(d.token, "agent-view")
		var v cases.CaseView
		mustUnmarshal(t, d.do(request{method: http.MethodGet, path: "/api/v1/cases/" + kase, token: d.token}).Body.Bytes(), &v)
		w := d.do(request{method: http.MethodPost, path: "/api/v1/cases/" + kase + "/corrections", token: d.token, body: strings.NewReader(
			`{"kind":"transfer","amount_minor":1000,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"` + idText(v.Cards[0].ID) + `","reason":"wrong account"}`)})
		if w.Code != http.StatusCreated {
			t.Fatalf("correction: %d %s", w.Code, w.Body)
		}
		for _, path := range []string{"/", "/?queue=approval", "/cases", "/cases?status=pending_approval"} {
			body := d.page(path)
			if path == "/?queue=approval" && strings.Join(rowsOf(body), " ") != kase {
				t.Errorf("the approval queue: %v", rowsOf(body))
			}
			for _, never := range []string{"/admin/", "approve", "Approve", "/deny", "Deny"} {
				if strings.Contains(body, never) {
					t.Errorf("%s shows an agent %q", path, never)
				}
			}
		}
	})
}

// TestQueuePagesCostTheSameStatementsWhateverTheirRows: the home queue and the case list load
// their rows' details in batches: a page of six rows sends as many statements as a page of one.
func TestQueuePagesCostTheSameStatementsWhateverTheirRows(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		d := newConsoleDesk(t, h)
		assign := func() {
			d.patch(d.caseWith("urgent", fmt.Sprintf("COST%04d", len(rowsOf(d.page("/?queue=mine"))))), `{"assignee":"agent@example.com"}`)
		}
		assign()
		paths := []string{"/", "/?queue=sla", "/cases?assignee=me"}
		one := map[string]int64{}
		for _, p := range paths {
			h.statementsOf(counter, request{method: http.MethodGet, path: p, cookie: d.cookie}) // the session's first touch
			_, n, _ := h.statementsOf(counter, request{method: http.MethodGet, path: p, cookie: d.cookie})
			one[p] = n
		}
		for i := 0; i < 5; i++ {
			assign()
		}
		if rows := rowsOf(d.page("/")); len(rows) != 6 {
			t.Fatalf("%d rows in my queue", len(rows))
		}
		for _, p := range paths {
			_, six, _ := h.statementsOf(counter, request{method: http.MethodGet, path: p, cookie: d.cookie})
			if six != one[p] {
				t.Errorf("%s: %d statements with one row, %d with six", p, one[p], six)
			}
		}
	})
}
