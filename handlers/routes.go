package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// access is what a route demands. Every route names one; there is no default.
type access struct {
	public bool        // no authentication (health, the OpenAPI document, login)
	scope  cases.Scope // API: the token scope; the user's role must reach scope.MinimumRole()
}

func public() access               { return access{public: true} }
func api(scope cases.Scope) access { return access{scope: scope} }

// route is one entry of the route table.
type route struct {
	method string
	path   string
	access access
	handle gin.HandlerFunc
}

// routes is the one table of everything the desk serves.
func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/api/v1/health", public(), s.health},
		{http.MethodGet, "/api/v1/cases", api(cases.ScopeCasesRead), s.listCases},
	}
}

// register mounts the table, putting each route behind what its access demands. A route without
// a scope that is not explicitly public is a programming error and stops the start.
func (s *Server) register(r *gin.Engine) {
	registerRoutes(r, s, s.routes())
}

func registerRoutes(r *gin.Engine, s *Server, table []route) {
	apiGroup := r.Group("/api/v1", limitJSONBody)
	for _, rt := range table {
		var chain []gin.HandlerFunc
		switch {
		case rt.access.public:
		case rt.access.scope.Valid():
			chain = append(chain, s.authenticateToken, s.requireScope(rt.access.scope))
		default:
			panic("handlers: route " + rt.method + " " + rt.path + " has no access rule")
		}
		chain = append(chain, rt.handle)
		rel, ok := cutPrefix(rt.path, "/api/v1")
		if !ok {
			panic("handlers: route " + rt.path + " is outside /api/v1")
		}
		apiGroup.Handle(rt.method, rel, chain...)
	}
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}
