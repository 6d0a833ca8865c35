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

// tokenOrSession authenticates an operations route: with an Authorization header as the API does
// (401 problem without a valid token), else as the console does (to /login without a session).
func (s *Server) tokenOrSession(c *gin.Context) {
	if _, ok := c.Request.Header["Authorization"]; ok {
		s.authenticateToken(c)
		return
	}
	s.consoleSession(c)
}

// requireAdmin admits admins to an operations route by the rule of the desk's other admin
// routes (R13): a token needs the admin scope and an admin user, a console session an admin. A
// token is refused with a problem, a browser with the 403 page.
func (s *Server) requireAdmin(c *gin.Context) {
	p := principal(c)
	if err := p.RequireScope(cases.ScopeAdmin); err != nil {
		if p.ViaToken() {
			s.fail(c, err)
		} else {
			s.failPage(c, err)
		}
		return
	}
	c.Next()
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
