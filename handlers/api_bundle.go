package handlers

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases/bundle"
)

// caseBundle serves GET /api/v1/cases/{ref}/bundle.zip: the case's evidence bundle (issue 24).
func (s *Server) caseBundle(c *gin.Context) {
	b, err := bundle.Build(c.Request.Context(), s.desk, principal(c), actor(c), c.Param("ref"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.sendBundle(c, b)
}

// consoleCaseBundle serves GET /cases/{ref}/bundle.zip, the case page's "Download bundle".
func (s *Server) consoleCaseBundle(c *gin.Context) {
	b, err := bundle.Build(c.Request.Context(), s.desk, principal(c), actor(c), c.Param("ref"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.sendBundle(c, b)
}

// sendBundle streams a built bundle. Everything that can be refused was refused while building
// it; a failure past the first byte (the database gone, a stored file that no longer matches its
// hash) drops the connection, so that the client sees a broken download, never a short archive.
func (s *Server) sendBundle(c *gin.Context, b *bundle.Bundle) {
	h := c.Writer.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+b.FileName()+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	c.Status(http.StatusOK)
	if err := b.WriteTo(c.Request.Context(), c.Writer); err != nil {
		if c.Request.Context().Err() == nil {
			s.log.ErrorContext(c.Request.Context(), "bundle stream stopped", slog.String("request_id", requestID(c)),
				slog.String("error", err.Error()))
		}
		panic(http.ErrAbortHandler)
	}
}
