package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// ledgerView is the account page (SPEC 4.5, issue 22 item 2): an account's balances and its
// postings, newest first.
type ledgerView struct {
	Chrome           chrome
	Ledger           cases.Ledger
	NextURL, PrevURL string
}

// ledgerPage serves GET /accounts/{id}; ?cursor= pages to older postings, ?prev= back to newer.
func (s *Server) ledgerPage(c *gin.Context) {
	id := c.Param("id")
	l, err := s.desk.Ledger(c.Request.Context(), principal(c), id,
		cases.LedgerQuery{Limit: c.Query("limit"), Cursor: c.Query("cursor"), Prev: c.Query("prev")})
	if errors.Is(err, cases.ErrInvalid) {
		s.renderError(c, http.StatusBadRequest, "This page link is not valid",
			"The link names a page of postings the desk did not make. Open the account from its newest postings.")
		return
	}
	if errors.Is(err, cases.ErrNotFound) {
		s.renderError(c, http.StatusNotFound, "No such account", "No customer or system account has the id "+id+".")
		return
	}
	if err != nil {
		s.failPage(c, err)
		return
	}
	v := ledgerView{Chrome: chromeOf(c), Ledger: l}
	base := "/accounts/" + url.PathEscape(l.AccountID)
	keep := url.Values{}
	if lim := c.Query("limit"); lim != "" {
		keep.Set("limit", lim)
	}
	link := func(key, cursor string) string {
		if cursor == "" {
			return ""
		}
		q := url.Values{key: {cursor}}
		for k, vs := range keep {
			q[k] = vs
		}
		return base + "?" + q.Encode()
	}
	v.NextURL, v.PrevURL = link("cursor", l.NextCursor), link("prev", l.PrevCursor)
	s.render(c, http.StatusOK, pageLedger, v)
}
