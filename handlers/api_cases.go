package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// listCases serves GET /api/v1/cases.
func (s *Server) listCases(c *gin.Context) {
	page, err := s.desk.ListCases(c.Request.Context(), principal(c), cases.CaseQuery{
		Status: c.Query("status"), Type: c.Query("type"), Priority: c.Query("priority"), Marketplace: c.Query("marketplace"),
		Flag: c.Query("flag"), Assignee: c.Query("assignee"), Q: c.Query("q"),
		ExternalSystem: c.Query("external_system"), ExternalID: c.Query("external_id"), UpdatedSince: c.Query("updated_since"),
		Limit: c.Query("limit"), Cursor: c.Query("cursor"), ChangedAfter: c.Query("changed_after"),
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// createCase serves POST /api/v1/cases: 201 with the new case, or 200 with the case an already
// known external reference names.
func (s *Server) createCase(c *gin.Context) {
	var in cases.NewCase
	if err := s.bindJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	reply(s, c, caseCreationAnswer, func(ctx context.Context) (cases.CaseCreation, error) {
		view, created, err := s.desk.CreateCase(ctx, principal(c), actor(c), in)
		return cases.CaseCreation{View: view, Created: created}, err
	})
}

// caseCreationAnswer is 201 with the new case and its Location, or 200 with the known one.
func caseCreationAnswer(r cases.CaseCreation) (cases.StoredAnswer, error) {
	if !r.Created {
		return caseAnswer(http.StatusOK)(r.View)
	}
	return jsonAnswer(http.StatusCreated, map[string]string{"ETag": r.View.ETag(), "Location": "/api/v1/cases/" + r.View.Ref}, r.View)
}

// caseAnswer answers the whole case with its ETag (R12).
func caseAnswer(status int) answer[cases.CaseView] {
	return func(v cases.CaseView) (cases.StoredAnswer, error) {
		return jsonAnswer(status, map[string]string{"ETag": v.ETag()}, v)
	}
}

// getCase serves GET /api/v1/cases/{ref} with the case's ETag (R12).
func (s *Server) getCase(c *gin.Context) {
	view, err := s.desk.GetCase(c.Request.Context(), principal(c), c.Param("ref"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("ETag", view.ETag())
	c.JSON(http.StatusOK, view)
}

// updateCase serves PATCH /api/v1/cases/{ref}: the caller's If-Match must hold the case's ETag.
func (s *Server) updateCase(c *gin.Context) {
	var patch cases.CasePatch
	if err := s.bindJSON(c, &patch); err != nil {
		s.fail(c, err)
		return
	}
	view, err := s.desk.UpdateCase(c.Request.Context(), principal(c), actor(c), c.Param("ref"), c.GetHeader("If-Match"), patch)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("ETag", view.ETag())
	c.JSON(http.StatusOK, view)
}
