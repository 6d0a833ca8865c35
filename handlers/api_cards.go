package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// addCard serves POST /api/v1/cases/{ref}/cards.
func (s *Server) addCard(c *gin.Context) {
	var in cases.CardInput
	if err := s.bindJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	reply(s, c, cardAdditionAnswer, func(ctx context.Context) (cases.CardAddition, error) {
		view, added, err := s.desk.AddCard(ctx, principal(c), actor(c), c.Param("ref"), in)
		return cases.CardAddition{View: view, Added: added}, err
	})
}

// cardAdditionAnswer is 201 with the case when the card was added, 200 when it was on the case
// already and nothing changed.
func cardAdditionAnswer(r cases.CardAddition) (cases.StoredAnswer, error) {
	if r.Added {
		return caseAnswer(http.StatusCreated)(r.View)
	}
	return caseAnswer(http.StatusOK)(r.View)
}

// getCard serves GET /api/v1/cards/{id}.
func (s *Server) getCard(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	card, err := s.desk.GetCard(c.Request.Context(), principal(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, card)
}

// lookupCard serves POST /api/v1/cards/lookup: a POST, so that a claim code never sits in a URL.
func (s *Server) lookupCard(c *gin.Context) {
	var in cases.CardLookup
	if err := s.bindJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	card, err := s.desk.LookupCard(c.Request.Context(), principal(c), actor(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, card)
}

// updateCard serves PATCH /api/v1/cards/{id}.
func (s *Server) updateCard(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var patch cases.CardPatch
	if err := s.bindJSON(c, &patch); err != nil {
		s.fail(c, err)
		return
	}
	card, err := s.desk.UpdateCard(c.Request.Context(), principal(c), actor(c), id, patch)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, card)
}

// pathID reads the {id} of a route: ids are positive integers sent as strings.
func pathID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, cases.NotFound("resource")
	}
	return id, nil
}
