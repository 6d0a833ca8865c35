package handlers

import (
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
	entry, err := s.desk.AddCommunication(c.Request.Context(), principal(c), actor(c), c.Param("ref"), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, entry)
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
