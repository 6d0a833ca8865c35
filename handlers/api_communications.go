package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// addCommunication serves POST /api/v1/cases/{ref}/communications.
func (s *Server) addCommunication(c *gin.Context) {
	var in cases.NewCommunication
	if err := s.bindJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	reply(s, c, created[cases.CommunicationView], func(ctx context.Context) (cases.CommunicationView, error) {
		return s.desk.AddCommunication(ctx, principal(c), actor(c), c.Param("ref"), in)
	})
}

// listCommunications serves GET /api/v1/cases/{ref}/communications.
func (s *Server) listCommunications(c *gin.Context) {
	page, err := s.desk.ListCommunications(c.Request.Context(), principal(c), c.Param("ref"), c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// caseTimeline serves GET /api/v1/cases/{ref}/timeline.
func (s *Server) caseTimeline(c *gin.Context) {
	page, err := s.desk.Timeline(c.Request.Context(), principal(c), c.Param("ref"),
		cases.TimelineQuery{Order: c.Query("order"), Limit: c.Query("limit"), Cursor: c.Query("cursor")})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}
