package handlers

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestEveryRouteEnforcesItsAccess walks the route table (R13): anonymous callers get 401, a token
// without the route's scope 403 scope_required, a token whose user's role is too low 403
// role_required, and a token with scope and role gets past access control.
func TestEveryRouteEnforcesItsAccess(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		routes := h.srv.routes()
		if len(routes) == 0 {
			t.Fatal("empty route table")
		}
		allBut := func(s cases.Scope) []cases.Scope {
			var out []cases.Scope
			for _, sc := range cases.Scopes {
				if sc != s {
					out = append(out, sc)
				}
			}
			return out
		}
		agentAll := h.token("agent@example.com", cases.RoleAgent, cases.Scopes...)
		adminAll := h.token("admin@example.com", cases.RoleAdmin, cases.Scopes...)
		for _, rt := range routes {
			path := concretePath(rt.path)
			name := rt.method + " " + rt.path
			if rt.access.public {
				if w := h.do(request{method: rt.method, path: path}); w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
					t.Errorf("%s is public but answered %d", name, w.Code)
				}
				continue
			}
			w := h.do(request{method: rt.method, path: path})
			if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s anonymous: %d, want 401 with WWW-Authenticate", name, w.Code)
			} else {
				expectProblem(t, w, http.StatusUnauthorized, cases.CodeUnauthenticated)
			}
			if w := h.do(request{method: rt.method, path: path, token: "gdk_forged"}); w.Code != http.StatusUnauthorized {
				t.Errorf("%s forged token: %d, want 401", name, w.Code)
			}
			without := h.token("without-"+strings.ReplaceAll(string(rt.access.scope), ":", "-")+"@example.com", cases.RoleAdmin, allBut(rt.access.scope)...)
			w = h.do(request{method: rt.method, path: path, token: without})
			if w.Code != http.StatusForbidden {
				t.Errorf("%s without %s: %d, want 403", name, rt.access.scope, w.Code)
			} else {
				expectProblem(t, w, http.StatusForbidden, cases.CodeScopeRequired)
			}
			if rt.access.scope.MinimumRole() != cases.RoleAgent {
				w = h.do(request{method: rt.method, path: path, token: agentAll})
				if w.Code != http.StatusForbidden {
					t.Errorf("%s as agent: %d, want 403 role_required", name, w.Code)
				} else {
					expectProblem(t, w, http.StatusForbidden, cases.CodeRoleRequired)
				}
			}
			if w := h.do(request{method: rt.method, path: path, token: adminAll}); w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
				t.Errorf("%s with every scope as admin: %d", name, w.Code)
			}
		}
	})
}

// A route registered without an access rule must stop the start, not serve unprotected.
func TestRouteWithoutAccessRulePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering a route with no access rule did not panic")
		}
	}()
	s := &Server{}
	bad := []route{{http.MethodGet, "/api/v1/leak", access{}, nil}}
	registerRoutes(gin.New(), s, bad)
}

func TestScopesCoverEveryRoleRequirement(t *testing.T) {
	for _, s := range cases.Scopes {
		if !slices.Contains(cases.Roles, s.MinimumRole()) {
			t.Errorf("scope %s has no minimum role", s)
		}
	}
}
