package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// listAudit serves GET /api/v1/audit.
func (s *Server) listAudit(c *gin.Context) {
	page, err := s.desk.ListAudit(c.Request.Context(), principal(c), cases.AuditQuery{
		EntityType: c.Query("entity_type"), EntityID: c.Query("entity_id"), Limit: c.Query("limit"), Cursor: c.Query("cursor"),
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}
