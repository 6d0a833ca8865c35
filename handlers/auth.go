package handlers

import (
	"strings"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

const principalKey = "giftdesk.principal"

// authenticateToken resolves the bearer token, answering 401 without one.
func (s *Server) authenticateToken(c *gin.Context) {
	raw, ok := bearer(c.GetHeader("Authorization"))
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="giftdesk"`)
		s.fail(c, &cases.RuleError{Code: cases.CodeUnauthenticated, Message: "send an API token as Authorization: Bearer <token>"})
		return
	}
	p, err := s.desk.AuthenticateToken(c.Request.Context(), raw)
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="giftdesk", error="invalid_token"`)
		s.fail(c, err)
		return
	}
	c.Set(principalKey, p)
	c.Next()
}

// requireScope applies R13 to an API route: scope first, then the user's role.
func (s *Server) requireScope(scope cases.Scope) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := principal(c).RequireScope(scope); err != nil {
			s.fail(c, err)
			return
		}
		c.Next()
	}
}

func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// principal returns who the request acts as; only routes behind authentication call it.
func principal(c *gin.Context) cases.Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(cases.Principal)
	return pr
}

// actor returns the audit actor of the request.
func actor(c *gin.Context) cases.Actor {
	return cases.ActorFor(principal(c), c.ClientIP(), c.Request.UserAgent(), requestID(c))
}
