package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// listEvidence serves GET /api/v1/cases/{ref}/evidence: the case's uploads, oldest first.
func (s *Server) listEvidence(c *gin.Context) {
	page, err := s.desk.ListEvidence(c.Request.Context(), principal(c), c.Param("ref"), c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// getEvidence serves GET /api/v1/evidence/{id}: one upload's metadata, verification and flags.
func (s *Server) getEvidence(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	view, err := s.desk.GetEvidence(c.Request.Context(), principal(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view)
}
