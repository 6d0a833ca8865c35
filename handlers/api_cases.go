package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// listCases serves GET /api/v1/cases.
func (s *Server) listCases(c *gin.Context) {
	page, err := s.desk.ListCases(c.Request.Context(), principal(c), cases.CaseQuery{
		Status: c.Query("status"), Type: c.Query("type"), Limit: c.Query("limit"), Cursor: c.Query("cursor"),
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}
