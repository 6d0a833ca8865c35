package handlers

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// auditView is the audit page (issue 22 item 5): the trail, filtered, and the chain's state.
type auditView struct {
	Chrome           chrome
	Filters          auditFilters
	Errors           formErrors
	Entries          []cases.AuditEntry
	NextURL, PrevURL string
	// Paged is true past the first page, which the page then links back to.
	Paged bool
	Chain cases.AuditChain
	// Verdict is the outcome of the verification just run, nil on a plain visit.
	Verdict *cases.AuditReport
}

// auditFilters are the audit page's filters as the query string gave them.
type auditFilters struct {
	EntityType, EntityID, Case, Actor, Action, From, To string
}

func (f auditFilters) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"entity_type": f.EntityType, "entity_id": f.EntityID, "case": f.Case,
		"actor": f.Actor, "action": f.Action, "from": f.From, "to": f.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Any reports whether a filter is set.
func (f auditFilters) Any() bool { return len(f.values()) > 0 }

// auditEntityTypes are the entity types audit events name, offered by the filter.
var auditEntityTypes = []string{"case", "correction", "evidence", "card", "account", "user", "api_token", "login", "card_lookup"}

// EntityTypes lists the entity types the filter offers.
func (auditView) EntityTypes() []string { return auditEntityTypes }

// auditPage serves GET /audit: filters by entity, case, actor, action and days, newest first.
func (s *Server) auditPage(c *gin.Context) {
	s.renderAudit(c, nil)
}

// auditVerify serves POST /audit/verify: the verification of `giftdesk audit verify`, its verdict
// shown on the audit page. It changes nothing, so the page is answered directly rather than
// through a redirect, which would have to carry the verdict in the URL where anyone could forge it.
func (s *Server) auditVerify(c *gin.Context) {
	report, err := s.desk.VerifyAuditFor(c.Request.Context(), principal(c))
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.renderAudit(c, &report)
}

func (s *Server) renderAudit(c *gin.Context, verdict *cases.AuditReport) {
	ctx, p := c.Request.Context(), principal(c)
	ch := chromeFor(c, "audit")
	v := auditView{Chrome: ch, Verdict: verdict, Filters: auditFilters{EntityType: c.Query("entity_type"), EntityID: c.Query("entity_id"),
		Case: c.Query("case"), Actor: c.Query("actor"), Action: c.Query("action"), From: c.Query("from"), To: c.Query("to")}}
	chain, err := s.desk.AuditChainState(ctx, p)
	if err != nil {
		s.failPage(c, err)
		return
	}
	v.Chain = chain
	f := v.Filters
	page, err := s.desk.AuditTrail(ctx, p, cases.AuditQuery{EntityType: f.EntityType, EntityID: f.EntityID, Case: f.Case,
		Actor: f.Actor, Action: f.Action, From: f.From, To: f.To, Zone: ch.Zone, Limit: c.Query("limit"), Cursor: c.Query("cursor"), Prev: c.Query("prev")})
	if err != nil {
		errs, ok := formErrorsOf(err)
		if !ok {
			s.failPage(c, err)
			return
		}
		v.Errors = errs
		s.render(c, http.StatusUnprocessableEntity, pageAudit, v)
		return
	}
	v.Entries, v.Paged = page.Data, page.PrevCursor != ""
	link := func(key, cursor string) string {
		if cursor == "" {
			return ""
		}
		q := f.values()
		q.Set(key, cursor)
		if lim := c.Query("limit"); lim != "" {
			q.Set("limit", lim)
		}
		return "/audit?" + q.Encode()
	}
	v.NextURL, v.PrevURL = link("cursor", page.NextCursor), link("prev", page.PrevCursor)
	s.render(c, http.StatusOK, pageAudit, v)
}

// FirstURL is the first page under the same filters.
func (v auditView) FirstURL() string {
	if q := v.Filters.values().Encode(); q != "" {
		return "/audit?" + q
	}
	return "/audit"
}

// auditList is what the audit-entries template shows.
type auditList struct {
	Entries []cases.AuditEntry
	Zone    *time.Location
	Caption string
}

// AuditList is the case page's audit trail as the audit-entries template reads it.
func (v caseView) AuditList() auditList {
	return auditList{Entries: v.Audit.Entries, Zone: v.Chrome.Zone, Caption: "Audit trail of " + v.Page.Case.Ref + ", newest first"}
}

// AuditList is the audit page's events as the audit-entries template reads it.
func (v auditView) AuditList() auditList {
	return auditList{Entries: v.Entries, Zone: v.Chrome.Zone, Caption: "Audit events, newest first"}
}

// auditField is one text filter of the audit page.
type auditField struct {
	Name, Label, Hint, Value string
	Errors                   formErrors
}

// Fields are the audit page's text filters, in the order of the form.
func (v auditView) Fields() []auditField {
	f := v.Filters
	fields := []auditField{
		{Name: "entity_id", Label: "Entity id or ref", Hint: "e.g. GD-000042, or a correction's number", Value: f.EntityID},
		{Name: "case", Label: "Case ref", Hint: "with its corrections, evidence and cards", Value: f.Case},
		{Name: "actor", Label: "Actor", Hint: "a user's email, or cli", Value: f.Actor},
		{Name: "action", Label: "Action", Hint: "e.g. correction.approved", Value: f.Action},
		{Name: "from", Label: "From day", Hint: "YYYY-MM-DD", Value: f.From},
		{Name: "to", Label: "To day (included)", Hint: "YYYY-MM-DD", Value: f.To},
	}
	for i := range fields {
		fields[i].Errors = v.Errors
	}
	return fields
}

// ShortHead is the start of the head's hash: enough to compare with a noted anchor at a glance.
func (v auditView) ShortHead() string {
	if len(v.Chain.HeadHash) > 12 {
		return v.Chain.HeadHash[:12]
	}
	return v.Chain.HeadHash
}
