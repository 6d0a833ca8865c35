package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// listCases serves GET /api/v1/cases.
func (s *Server) listCases(c *gin.Context) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		s.fail(c, err)
		return
	}
	page, err := s.desk.ListCases(c.Request.Context(), principal(c), cases.CaseQuery{
		Status: c.Query("status"), Type: c.Query("type"), Limit: limit, Cursor: c.Query("cursor"),
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// queryInt reads an optional integer query parameter, 0 when absent.
func queryInt(c *gin.Context, name string) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, cases.Invalid(name, "must be an integer")
	}
	return n, nil
}
