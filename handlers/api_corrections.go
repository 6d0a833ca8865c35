package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// requestCorrection serves POST /api/v1/cases/{ref}/corrections.
func (s *Server) requestCorrection(c *gin.Context) {
	var in cases.NewCorrection
	if err := s.bindJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	reply(s, c, created[cases.CorrectionView], func(ctx context.Context) (cases.CorrectionView, error) {
		return s.desk.RequestCorrection(ctx, principal(c), actor(c), c.Param("ref"), in)
	})
}

// cancelCorrection serves POST /api/v1/corrections/{id}/cancel.
func (s *Server) cancelCorrection(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	// Cancelling takes no fields; a body, when sent, must say nothing the desk would drop.
	var in struct{}
	if err := s.bindOptionalJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	reply(s, c, ok[cases.CorrectionView], func(ctx context.Context) (cases.CorrectionView, error) {
		return s.desk.CancelCorrection(ctx, principal(c), actor(c), id)
	})
}

// getCorrection serves GET /api/v1/corrections/{id}.
func (s *Server) getCorrection(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	view, err := s.desk.GetCorrection(c.Request.Context(), principal(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view)
}

// listCorrections serves GET /api/v1/corrections.
func (s *Server) listCorrections(c *gin.Context) {
	page, err := s.desk.ListCorrections(c.Request.Context(), principal(c), c.Query("status"), c.Query("case"), c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// decideCorrection serves POST /api/v1/corrections/{id}/approve and /deny.
func (s *Server) decideCorrection(approve bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := pathID(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		// Each decision has its own body: a note on an approval, a reason on a denial. No body
		// is an empty one: an approval needs no note, and a denial without a reason is told so.
		if approve {
			var in cases.ApprovalInput
			if err := s.bindOptionalJSON(c, &in); err != nil {
				s.fail(c, err)
				return
			}
			reply(s, c, ok[cases.CorrectionView], func(ctx context.Context) (cases.CorrectionView, error) {
				return s.desk.ApproveCorrection(ctx, principal(c), actor(c), id, in.Note)
			})
			return
		}
		var in cases.DenialInput
		if err := s.bindOptionalJSON(c, &in); err != nil {
			s.fail(c, err)
			return
		}
		reply(s, c, ok[cases.CorrectionView], func(ctx context.Context) (cases.CorrectionView, error) {
			return s.desk.DenyCorrection(ctx, principal(c), actor(c), id, in.Reason)
		})
	}
}

// account serves GET /api/v1/accounts/{id} and /postings.
func (s *Server) account(c *gin.Context) {
	ledger, err := s.desk.Account(c.Request.Context(), principal(c), c.Param("id"), c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ledger)
}

// postings serves GET /api/v1/accounts/{id}/postings: all postings, newest first, paginated.
func (s *Server) postings(c *gin.Context) {
	ledger, err := s.desk.Account(c.Request.Context(), principal(c), c.Param("id"), c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	page := cases.Page[cases.PostingView]{Data: ledger.Postings}
	if ledger.NextCursor != nil {
		page.NextCursor = *ledger.NextCursor
	}
	c.JSON(http.StatusOK, page) // a list: no next_cursor on the last page (SPEC 4.2)
}
