package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// caseFilters are the /cases filters as the URL carries them, so that a view can be bookmarked
// and shared. A claim code is never one of them (see search).
type caseFilters struct {
	Status, Type, Priority, Marketplace, Flag, Assignee, Q, Card string
}

// filterKeys are the query parameters of caseFilters, in the order links write them.
var filterKeys = []string{"status", "type", "priority", "marketplace", "flag", "assignee", "q", "card"}

func filtersOf(v url.Values) caseFilters {
	return caseFilters{Status: v.Get("status"), Type: v.Get("type"), Priority: v.Get("priority"), Marketplace: v.Get("marketplace"),
		Flag: v.Get("flag"), Assignee: v.Get("assignee"), Q: v.Get("q"), Card: v.Get("card")}
}

func (f caseFilters) values() url.Values {
	v := url.Values{}
	for i, x := range []string{f.Status, f.Type, f.Priority, f.Marketplace, f.Flag, f.Assignee, f.Q, f.Card} {
		if x != "" {
			v.Set(filterKeys[i], x)
		}
	}
	return v
}

func (f caseFilters) query() cases.CaseQuery {
	return cases.CaseQuery{Status: f.Status, Type: f.Type, Priority: f.Priority, Marketplace: f.Marketplace, Flag: f.Flag,
		Assignee: f.Assignee, Q: f.Q, Card: f.Card}
}

// Any reports whether a filter is set.
func (f caseFilters) Any() bool { return len(f.values()) > 0 }

// caseTable is the list of cases both pages show; Selectable adds the bulk checkboxes.
type caseTable struct {
	Caption    string
	Rows       []cases.CaseRow
	Selectable bool
	Chrome     chrome
}

// filterOptions are the choices of the filter and bulk forms.
type filterOptions struct {
	Statuses     []cases.Status
	Types        []cases.CaseType
	Priorities   []cases.Priority
	Marketplaces []cases.Marketplace
	Flags        []string
	Targets      []cases.Status
	Resolutions  []cases.Resolution
}

var caseOptions = filterOptions{Statuses: cases.Statuses, Types: cases.CaseTypes, Priorities: cases.Priorities,
	Marketplaces: cases.Marketplaces(), Flags: []string{cases.FlagPossibleDuplicate, cases.FlagCrossMarketplace},
	Targets: cases.UserTargets(), Resolutions: cases.Resolutions}

type refusalView struct{ Ref, Reason string }

type casesView struct {
	Chrome       chrome
	Filters      caseFilters
	Options      filterOptions
	Table        caseTable
	Card         *cases.CardDetail
	Notice       string // a sentence of the desk's own, never the search term
	NextURL      string
	PrevURL      string
	Return       string // the filters the bulk form comes back to
	Applied      []string
	Refused      []refusalView
	Errors       formErrors
	SearchAnswer bool // the page answers a search: its rows stand alone, without paging
}

// casesPage serves GET /cases.
func (s *Server) casesPage(c *gin.Context) {
	v := c.Request.URL.Query()
	view := casesView{Applied: splitRefs(v["applied"]), Refused: refusalsOf(v["refused"])}
	q := filtersOf(v).query()
	q.Cursor, q.Prev = v.Get("cursor"), v.Get("prev")
	s.renderCases(c, http.StatusOK, filtersOf(v), q, view)
}

// renderCases lists the cases q selects under filters (what the page's links and forms repeat).
func (s *Server) renderCases(c *gin.Context, status int, filters caseFilters, q cases.CaseQuery, view casesView) {
	ctx := c.Request.Context()
	view.Chrome, view.Filters, view.Options = chromeFor(c, "cases"), filters, caseOptions
	view.Return = filters.values().Encode()
	page, err := s.desk.ListCases(ctx, principal(c), q)
	if err != nil {
		errs, ok := formErrorsOf(err)
		if !ok {
			s.failPage(c, err)
			return
		}
		view.Errors, status = errs, http.StatusUnprocessableEntity
	}
	if filters.Card != "" && err == nil {
		id, _ := strconv.ParseInt(filters.Card, 10, 64)
		card, err := s.desk.GetCard(ctx, principal(c), id)
		if err != nil && !errors.Is(err, cases.ErrNotFound) {
			s.failPage(c, err)
			return
		}
		if err == nil {
			view.Card = &card
		}
	}
	view.Table = caseTable{Caption: "Cases", Rows: page.Data, Selectable: true, Chrome: view.Chrome}
	if !view.SearchAnswer {
		view.NextURL, view.PrevURL = pageURLs("/cases", filters.values(), page)
	}
	s.render(c, status, pageCases, view)
}

// pageURLs are the next and previous links of a page of rows under the query base.
func pageURLs(path string, base url.Values, page cases.Page[cases.CaseRow]) (next, prev string) {
	link := func(key, cursor string) string {
		if cursor == "" {
			return ""
		}
		v := url.Values{}
		for k, x := range base {
			v[k] = x
		}
		v.Set(key, cursor)
		return path + "?" + v.Encode()
	}
	return link("cursor", page.NextCursor), link("prev", page.PrevCursor)
}

// bulkCases serves POST /cases/bulk: one change to every selected row, each through UpdateCase
// with the version the list showed; the answer is a redirect back to the same filtered list with
// what was applied and what was refused, by ref and reason (post/redirect/get).
func (s *Server) bulkCases(c *gin.Context) {
	back, _ := url.ParseQuery(c.PostForm("return"))
	filters := filtersOf(back)
	var targets []cases.BulkTarget
	for _, sel := range c.PostFormArray("case") {
		ref, version, ok := strings.Cut(sel, ":")
		n, err := strconv.ParseInt(version, 10, 64)
		if !ok || err != nil {
			continue // not a row this page wrote: nothing to change
		}
		targets = append(targets, cases.BulkTarget{Ref: ref, Version: n})
	}
	change := cases.BulkChange{Status: c.PostForm("status"), Resolution: c.PostForm("resolution")}
	switch c.PostForm("assign") {
	case "me", "none":
		change.Assignee = c.PostForm("assign")
	case "email":
		change.Assignee = c.PostForm("assignee_email")
	}
	res, err := s.desk.BulkUpdate(c.Request.Context(), principal(c), actor(c), targets, change)
	if err != nil {
		errs, ok := formErrorsOf(err)
		if !ok {
			s.failPage(c, err)
			return
		}
		for i := range errs.Fields { // the bulk form's fields, not the filters' of the same name
			errs.Fields[i].Field = "bulk." + errs.Fields[i].Field
		}
		s.renderCases(c, http.StatusUnprocessableEntity, filters, filters.query(), casesView{Errors: errs})
		return
	}
	v := filters.values()
	for _, ref := range res.Applied {
		v.Add("applied", ref)
	}
	for _, r := range res.Refused {
		v.Add("refused", r.Ref+":"+refusalKey(r.Err))
	}
	redirectSeeOther(c, "/cases?"+v.Encode())
}

// refusalReasons are the sentences a refused bulk row is reported with. The URL carries only
// their keys, so that a crafted link cannot put words of its own on the page.
var refusalReasons = map[string]string{
	"stale":      "it changed since the list was loaded: look at it again before changing it",
	"transition": "its current status does not allow this change (closed cases are final; pending approval is left by the system)",
	"resolution": "resolving needs a resolution, and a resolution goes only with resolved",
	"assignee":   "the assignee is not an active user of the desk",
	"gone":       "there is no such case",
	"refused":    "the change was refused",
}

func refusalKey(re *cases.RuleError) string {
	switch {
	case re.Code == cases.CodeStaleVersion:
		return "stale"
	case re.Code == cases.CodeInvalidTransition && re.Field == "resolution":
		return "resolution"
	case re.Code == cases.CodeInvalidTransition:
		return "transition"
	case re.Code == cases.CodeNotFound:
		return "gone"
	case re.Field == "assignee":
		return "assignee"
	}
	return "refused"
}

func refusalsOf(raw []string) []refusalView {
	var out []refusalView
	for _, r := range raw {
		ref, key, _ := strings.Cut(r, ":")
		reason, ok := refusalReasons[key]
		if !ok || !looksLikeRef(ref) {
			continue
		}
		out = append(out, refusalView{Ref: ref, Reason: reason})
	}
	return out
}

func splitRefs(raw []string) []string {
	var out []string
	for _, r := range raw {
		if looksLikeRef(r) {
			out = append(out, r)
		}
	}
	return out
}

// looksLikeRef keeps what a summary link may show to a case reference (GD- and digits).
func looksLikeRef(s string) bool {
	digits, ok := strings.CutPrefix(s, "GD-")
	if !ok || len(digits) < 6 || len(digits) > 17 {
		return false
	}
	return strings.Trim(digits, "0123456789") == ""
}

// search serves POST /search, the header's search box. A claim code is looked up by its HMAC and
// never goes into a URL, a page or a log: a card that has it leads to its cases; when none does,
// the list is answered here (not redirected) with the text search run on the posted term and a
// notice, the term itself echoed nowhere. Any other term is a text search in the URL.
func (s *Server) search(c *gin.Context) {
	term := c.PostForm("q")
	ans, err := s.desk.Search(c.Request.Context(), principal(c), actor(c), term)
	switch {
	case err != nil:
		s.failPage(c, err)
	case ans.CardID != 0:
		redirectSeeOther(c, "/cases?"+caseFilters{Card: strconv.FormatInt(ans.CardID, 10)}.values().Encode())
	case ans.NoCard:
		s.renderCases(c, http.StatusOK, caseFilters{}, cases.CaseQuery{Q: term},
			casesView{Notice: "No card has this claim code. Cases matching it as text are listed below.", SearchAnswer: true})
	case ans.Private:
		s.renderCases(c, http.StatusOK, caseFilters{}, cases.CaseQuery{Q: term},
			casesView{Notice: "Cases matching your search are listed below. It looked like a claim code, so it is kept out of the address bar; a claim code is found by typing it whole.", SearchAnswer: true})
	case ans.Query == "":
		redirectSeeOther(c, "/cases")
	default:
		redirectSeeOther(c, "/cases?"+caseFilters{Q: ans.Query}.values().Encode())
	}
}

// queueView is one queue's tab on the home page.
type queueView struct {
	Queue   cases.Queue
	Label   string
	Count   string // "12", or "1,000+" past cases.QueueCountLimit
	Current bool
}

// queueCountText writes a queue's count as its tab shows it.
func queueCountText(qc cases.QueueCount) string {
	n := strconv.FormatInt(qc.Count, 10)
	if len(n) > 3 {
		n = n[:len(n)-3] + "," + n[len(n)-3:]
	}
	if qc.More {
		n += "+"
	}
	return n
}

// queueLabels name the queues on the page.
var queueLabels = map[cases.Queue]string{
	cases.QueueMine:       "My open cases",
	cases.QueueUnassigned: "Unassigned",
	cases.QueueSLA:        "SLA at risk or breached",
	cases.QueueWaiting:    "Waiting on customer",
	cases.QueueVerify:     "Evidence to verify",
	cases.QueueApproval:   "Pending approval",
}

// home serves GET /: the queues with their counts, one of them listed.
func (s *Server) home(c *gin.Context) {
	ctx := c.Request.Context()
	page := homePage{Chrome: chromeFor(c, "home")}
	if c.Query("password") == "changed" {
		page.Notice = "Your password is changed. Your other sessions were signed out."
	}
	current := cases.Queue(c.DefaultQuery("queue", string(cases.QueueMine)))
	counts, err := s.desk.QueueCounts(ctx, principal(c))
	if err != nil {
		s.failPage(c, err)
		return
	}
	for _, qc := range counts {
		qv := queueView{Queue: qc.Queue, Label: queueLabels[qc.Queue], Count: queueCountText(qc), Current: qc.Queue == current}
		if qv.Current {
			page.Current = qv
		}
		page.Queues = append(page.Queues, qv)
	}
	if page.Current.Queue == "" {
		s.renderError(c, http.StatusNotFound, "No such queue", "Pick one of the queues on the home page.")
		return
	}
	rows, err := s.desk.ListCases(ctx, principal(c), cases.CaseQuery{Queue: string(current), Cursor: c.Query("cursor"), Prev: c.Query("prev")})
	if _, invalid := formErrorsOf(err); invalid {
		s.renderError(c, http.StatusUnprocessableEntity, "Not a page of this queue", "The link's page marker is not one this queue wrote. Open the queue from its tab.")
		return
	}
	if err != nil {
		s.failPage(c, err)
		return
	}
	page.Table = caseTable{Caption: page.Current.Label, Rows: rows.Data, Chrome: page.Chrome}
	page.NextURL, page.PrevURL = pageURLs("/", url.Values{"queue": {string(current)}}, rows)
	s.render(c, http.StatusOK, pageHome, page)
}
