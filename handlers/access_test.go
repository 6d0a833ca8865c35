package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// sameOrigin is what a browser sends with a form of this site; the walk below is about access,
// the cross-origin test about forgery.
var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

// TestEveryRouteEnforcesItsAccess walks the route table (R13). API: anonymous callers get 401, a
// token without the route's scope 403 scope_required, a token whose user's role is too low 403
// role_required. Console: anonymous browsers are sent to /login, a user below the page's role
// gets a 403 page. With scope and role, every route gets past access control.
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
			call := func(r request) *httptest.ResponseRecorder {
				r.method, r.path, r.header = rt.method, path, sameOrigin
				return h.do(r)
			}
			switch {
			case rt.access.public:
				w := call(request{})
				if w.Code == http.StatusForbidden || strings.HasPrefix(w.Header().Get("Location"), "/login") ||
					(w.Code == http.StatusUnauthorized && rt.path != "/login") {
					t.Errorf("%s is public but answered %d", name, w.Code)
				}
			case rt.access.admin:
				// An operations route: a token as the API checks it, a browser as the console does.
				if w := call(request{}); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
					t.Errorf("%s anonymous: %d, want a redirect to /login", name, w.Code)
				}
				if w := call(request{token: "gdk_forged"}); w.Code != http.StatusUnauthorized {
					t.Errorf("%s forged token: %d, want 401", name, w.Code)
				}
				without := h.token("without-admin@example.com", cases.RoleAdmin, allBut(cases.ScopeAdmin)...)
				if w := call(request{token: without}); w.Code != http.StatusForbidden {
					t.Errorf("%s without admin: %d, want 403", name, w.Code)
				} else {
					expectProblem(t, w, http.StatusForbidden, cases.CodeScopeRequired)
				}
				if w := call(request{token: agentAll}); w.Code != http.StatusForbidden {
					t.Errorf("%s as agent: %d, want 403", name, w.Code)
				} else {
					expectProblem(t, w, http.StatusForbidden, cases.CodeRoleRequired)
				}
				if w := call(request{token: adminAll}); w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
					t.Errorf("%s with every scope as admin: %d", name, w.Code)
				}
				for _, role := range cases.Roles {
					w := call(request{cookie: h.session(string(role)+"-page@example.com", role)})
					if allowed := role == cases.RoleAdmin; allowed != (w.Code != http.StatusForbidden && w.Code != http.StatusSeeOther) {
						t.Errorf("%s as %s: %d", name, role, w.Code)
					}
				}
			case strings.HasPrefix(rt.path, "/api/"):
				w := call(request{})
				if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s anonymous: %d, want 401 with WWW-Authenticate", name, w.Code)
				} else {
					expectProblem(t, w, http.StatusUnauthorized, cases.CodeUnauthenticated)
				}
				if w := call(request{token: "gdk_forged"}); w.Code != http.StatusUnauthorized {
					t.Errorf("%s forged token: %d, want 401", name, w.Code)
				}
				without := h.token("without-"+strings.ReplaceAll(string(rt.access.scope), ":", "-")+"@example.com", cases.RoleAdmin, allBut(rt.access.scope)...)
				if w := call(request{token: without}); w.Code != http.StatusForbidden {
					t.Errorf("%s without %s: %d, want 403", name, rt.access.scope, w.Code)
				} else {
					expectProblem(t, w, http.StatusForbidden, cases.CodeScopeRequired)
				}
				if rt.access.scope.MinimumRole() != cases.RoleAgent {
					if w := call(request{token: agentAll}); w.Code != http.StatusForbidden {
						t.Errorf("%s as agent: %d, want 403 role_required", name, w.Code)
					} else {
						expectProblem(t, w, http.StatusForbidden, cases.CodeRoleRequired)
					}
				}
				if w := call(request{token: adminAll}); w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
					t.Errorf("%s with every scope as admin: %d", name, w.Code)
				}
			default:
				for _, r := range []request{{}, {cookie: "forged-session"}, {token: adminAll}} {
					w := call(r)
					if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
						t.Errorf("%s without a session (%+v): %d to %q, want a redirect to /login", name, r.cookie, w.Code, w.Header().Get("Location"))
					}
				}
				for _, role := range cases.Roles {
					cookie := h.session(string(role)+"-page@example.com", role)
					w := call(request{cookie: cookie})
					allowed := role.Includes(rt.access.role)
					if rt.path == "/logout" {
						// Signing out also ends on /login: that it ran shows in the session being gone.
						if _, err := h.desk.Session(context.Background(), cookie); err == nil {
							t.Errorf("%s as %s did not end the session", name, role)
						}
						continue
					}
					switch {
					case allowed && (w.Code == http.StatusForbidden || strings.HasPrefix(w.Header().Get("Location"), "/login")):
						t.Errorf("%s as %s: %d, want access", name, role, w.Code)
					case !allowed && (w.Code != http.StatusForbidden || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html")):
						t.Errorf("%s as %s: %d %q, want a 403 page", name, role, w.Code, w.Header().Get("Content-Type"))
					}
				}
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

// TestNoRouteChangesHistory: R9 has no endpoint that updates or deletes communications,
// postings, approvals or audit events.
func TestNoRouteChangesHistory(t *testing.T) {
	s := &Server{}
	for _, rt := range s.routes() {
		if rt.method == http.MethodGet || rt.method == http.MethodPost {
			continue
		}
		for _, history := range []string{"communications", "postings", "approvals", "audit"} {
			if strings.Contains(rt.path, history) {
				t.Errorf("%s %s changes append-only history", rt.method, rt.path)
			}
		}
	}
}

// TestEveryAPIAnswerIsNoStore walks the route table: every answer of an authenticated API route,
// success or error (401, 403 included), carries Cache-Control: no-store, so that no browser or
// proxy keeps customer data or a refusal (issue 19).
func TestEveryAPIAnswerIsNoStore(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		adminAll := h.token("admin@example.com", cases.RoleAdmin, cases.Scopes...)
		none := h.token("none@example.com", cases.RoleAdmin, cases.ScopeExport)
		agentAll := h.token("agent@example.com", cases.RoleAgent, cases.Scopes...)
		ref := h.newCase(adminAll, "nostore")
		for _, rt := range h.srv.routes() {
			if rt.access.public || !strings.HasPrefix(rt.path, "/api/") {
				continue
			}
			for _, r := range []request{{}, {token: "gdk_forged"}, {token: none}, {token: agentAll}, {token: adminAll}} {
				r.method = rt.method
				r.path = strings.ReplaceAll(strings.ReplaceAll(concretePath(rt.path), "/cases/x1", "/cases/"+ref), "x1", "1")
				if r.method != http.MethodGet {
					r.body = strings.NewReader(`{}`)
				}
				w := h.do(r)
				if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
					t.Errorf("%s %s answered %d with Cache-Control %q, want no-store", rt.method, r.path, w.Code, cc)
				}
			}
		}
		// So is every answer that no route gives: an unknown path, a method a path lacks, and a
		// path refused before routing (a NUL byte in it).
		for _, r := range []request{{method: http.MethodGet, path: "/api/v1/nothing"}, {method: http.MethodDelete, path: "/api/v1/cases"},
			{method: http.MethodGet, path: "/api/v1/cases/GD-%00"}, {method: http.MethodGet, path: "/no-such-page"}} {
			r.token = adminAll
			w := h.do(r)
			if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("%s %s answered %d with Cache-Control %q, want no-store", r.method, r.path, w.Code, cc)
			}
		}
		// Static assets alone may be cached.
		if w := h.do(request{method: http.MethodGet, path: "/static/giftdesk.css"}); strings.Contains(w.Header().Get("Cache-Control"), "no-store") {
			t.Errorf("a static asset is no-store")
		}
	})
}
