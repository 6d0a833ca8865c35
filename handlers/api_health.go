package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// health answers 200 when the database answers, 503 otherwise; load balancers poll it.
func (s *Server) health(c *gin.Context) {
	if err := s.desk.Ping(c.Request.Context()); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
