package handlers

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// adminDesk is a harness with an admin signed in.
type adminDesk struct {
	*harness
	cookie  string
	adminID int64
}

func newAdminDesk(t *testing.T, db *gorm.DB) adminDesk {
	h := newHarness(t, db)
	cookie := h.session("boss@example.com", cases.RoleAdmin)
	var id int64
	modelstest.Scan(t, db, &id, `SELECT id FROM users WHERE email = 'boss@example.com'`)
	return adminDesk{harness: h, cookie: cookie, adminID: id}
}

func (a adminDesk) post(path string, values url.Values) *httptest.ResponseRecorder {
	a.t.Helper()
	return a.do(request{method: http.MethodPost, path: path, cookie: a.cookie, header: sameOrigin, body: strings.NewReader(values.Encode())})
}

func (a adminDesk) get(path string) *httptest.ResponseRecorder {
	a.t.Helper()
	return a.do(request{method: http.MethodGet, path: path, cookie: a.cookie})
}

func (a adminDesk) userID(email string) int64 {
	a.t.Helper()
	var id int64
	modelstest.Scan(a.t, a.db, &id, `SELECT id FROM users WHERE email = ?`, email)
	return id
}

func (a adminDesk) user(email string) models.User {
	a.t.Helper()
	u, err := models.UserByEmail(context.Background(), a.db, email)
	if err != nil {
		a.t.Fatal(err)
	}
	return u
}

var secretValue = regexp.MustCompile(`id="secret" type="text" value="([^"]+)"`)

// shownOnce reads the secret of a "shown once" answer and checks that nothing may keep it.
func shownOnce(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("shown-once answer: %d %s", w.Code, w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on a page holding a secret", cc)
	}
	if loc := w.Header().Get("Location"); loc != "" {
		t.Errorf("a secret answered with a redirect to %q", loc)
	}
	m := secretValue.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no secret on the page: %s", w.Body)
	}
	return html.UnescapeString(m[1])
}

// auditActions returns the actions audited on an entity, oldest first, with the acting user.
func auditActions(t *testing.T, db *gorm.DB, entityType string, entityID int64) []string {
	t.Helper()
	var rows []struct {
		Action      string
		ActorUserID *int64
	}
	modelstest.Scan(t, db, &rows, `SELECT action, actor_user_id FROM audit_events WHERE entity_type = ? AND entity_id = ? ORDER BY id`,
		entityType, fmt.Sprint(entityID))
	var out []string
	for _, r := range rows {
		by := "nobody"
		if r.ActorUserID != nil {
			by = fmt.Sprint(*r.ActorUserID)
		}
		out = append(out, r.Action+" by "+by)
	}
	return out
}

func hasAction(actions []string, want string) bool {
	for _, a := range actions {
		if a == want {
			return true
		}
	}
	return false
}

// TestAdminPagesAreForAdminsOnly: every GET and POST of the admin console answers 403 to agents
// and supervisors and changes nothing; anonymous browsers go to the sign-in page; a form sent
// from another site is refused.
func TestAdminPagesAreForAdminsOnly(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		a := newAdminDesk(t, db)
		victim := a.session("victim@example.com", cases.RoleAgent)
		token := a.token("victim@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		var tokenID int64
		modelstest.Scan(t, db, &tokenID, `SELECT MAX(id) FROM api_tokens`)
		victimID := a.userID("victim@example.com")
		values := url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"admin"}, "confirm": {"yes"},
			"scopes": {"admin"}}
		seen := 0
		for _, rt := range a.srv.routes() {
			if !strings.HasPrefix(rt.path, "/admin/") {
				continue
			}
			seen++
			if rt.access.role != cases.RoleAdmin {
				t.Errorf("%s %s is not for admins only", rt.method, rt.path)
			}
			path := strings.ReplaceAll(rt.path, ":id", fmt.Sprint(victimID))
			if strings.HasPrefix(rt.path, "/admin/tokens/") {
				path = strings.ReplaceAll(rt.path, ":id", fmt.Sprint(tokenID))
			}
			for _, role := range []cases.Role{cases.RoleAgent, cases.RoleSupervisor} {
				cookie := a.session(string(role)+"@example.com", role)
				w := a.do(request{method: rt.method, path: path, cookie: cookie, header: sameOrigin, body: strings.NewReader(values.Encode())})
				if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Not allowed") {
					t.Errorf("%s %s as %s: %d, want 403", rt.method, path, role, w.Code)
				}
			}
			w := a.do(request{method: rt.method, path: path, header: sameOrigin, body: strings.NewReader(values.Encode())})
			if !strings.HasPrefix(w.Header().Get("Location"), "/login") {
				t.Errorf("%s %s anonymous: %d %q", rt.method, path, w.Code, w.Header().Get("Location"))
			}
			if rt.method == http.MethodPost {
				w := a.do(request{method: rt.method, path: path, cookie: a.cookie, header: map[string]string{"Sec-Fetch-Site": "cross-site"},
					body: strings.NewReader(values.Encode())})
				if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "another site") {
					t.Errorf("%s %s from another site: %d", rt.method, path, w.Code)
				}
			}
		}
		if seen != 15 {
			t.Errorf("%d admin routes, want 15: add the new one to this test's checks", seen)
		}
		var changes int64
		modelstest.Scan(t, db, &changes, `SELECT COUNT(*) FROM audit_events WHERE action IN ('user.role_changed', 'user.deactivated', 'user.reactivated', 'user.password_reset', 'token.created', 'token.revoked')`)
		if changes != 1 { // the victim's token, made by the harness
			t.Errorf("%d admin changes were audited after refused requests", changes-1)
		}
		if u := a.user("victim@example.com"); !u.Active || u.Role != "agent" || u.MustChangePassword {
			t.Errorf("the victim changed: %+v", u)
		}
		if _, err := a.desk.Session(context.Background(), victim); err != nil {
			t.Errorf("the victim's session ended: %v", err)
		}
		if w := a.do(request{method: http.MethodGet, path: "/api/v1/cases", token: token}); w.Code != http.StatusOK {
			t.Errorf("the victim's token stopped: %d", w.Code)
		}
		if _, err := models.UserByEmail(context.Background(), db, "new@example.com"); err == nil {
			t.Error("a refused request created a user")
		}
	})
}

// TestAdminCreatesAUser: the one-time password is the direct, no-store answer to the POST,
// works once and must be changed; it reaches no log, no audit row and no later page. Bad input
// comes back next to its field.
func TestAdminCreatesAUser(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		a := newAdminDesk(t, db)
		w := a.post("/admin/users", url.Values{"email": {" Robin@Example.com "}, "name": {"Robin Park"}, "role": {"supervisor"}})
		pw := shownOnce(t, w)
		if len(pw) < cases.MinPasswordRunes || !strings.Contains(w.Body.String(), "robin@example.com") || !strings.Contains(w.Body.String(), `data-copy="secret"`) {
			t.Fatalf("created page: %s", w.Body)
		}
		u := a.user("robin@example.com")
		if u.Role != "supervisor" || !u.Active || !u.MustChangePassword {
			t.Fatalf("created user: %+v", u)
		}
		if got := auditActions(t, db, "user", u.ID); !hasAction(got, fmt.Sprintf("user.created by %d", a.adminID)) {
			t.Errorf("audit of the new user: %v", got)
		}
		list := a.get("/admin/users")
		var audit []string
		modelstest.Scan(t, db, &audit, `SELECT COALESCE(CAST(before_state AS TEXT), '') || COALESCE(CAST(after_state AS TEXT), '') FROM audit_events`)
		for where, hay := range map[string]string{"users page": list.Body.String(), "log": a.logs.String(), "audit": strings.Join(audit, "\n")} {
			if strings.Contains(hay, pw) {
				t.Errorf("the one-time password is in the %s", where)
			}
		}
		login := a.loginPost("robin@example.com", pw, "/", nil)
		if login.Header().Get("Location") != "/account/password" {
			t.Errorf("first sign-in with the one-time password went to %q (%d)", login.Header().Get("Location"), login.Code)
		}

		for _, bad := range []struct {
			values       url.Values
			field, words string
		}{
			{url.Values{"email": {"ROBIN@example.com"}, "name": {"Twin"}, "role": {"agent"}}, "email", "already exists"},
			{url.Values{"email": {"not an email"}, "name": {"X"}, "role": {"agent"}}, "email", ""},
			{url.Values{"email": {"x@example.com"}, "name": {"X"}, "role": {"owner"}}, "role", "agent, supervisor, admin"},
			{url.Values{"email": {"y@example.com"}, "name": {""}, "role": {"agent"}}, "name", ""},
		} {
			w := a.post("/admin/users", bad.values)
			body := w.Body.String()
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="`+fieldID(bad.field)+`-error"`) || !strings.Contains(body, bad.words) {
				t.Errorf("%v: %d, want 422 with an error under %s saying %q", bad.values, w.Code, bad.field, bad.words)
			}
			if !strings.Contains(body, `aria-invalid="true" aria-describedby="`+fieldID(bad.field)+`-error"`) {
				t.Errorf("%v: the field %s is not marked invalid", bad.values, bad.field)
			}
			if secretValue.MatchString(body) {
				t.Errorf("%v: a refused form shows a secret", bad.values)
			}
		}
		var n int64
		modelstest.Scan(t, db, &n, `SELECT COUNT(*) FROM users`)
		if n != 2 {
			t.Errorf("%d users after refused forms, want 2", n)
		}
	})
}

// TestAdminChangesUsers: role, deactivation, reactivation and password reset, each audited; the
// destructive ones ask first and change nothing until confirmed; the last active admin stays.
func TestAdminChangesUsers(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		a := newAdminDesk(t, db)
		pat := a.session("pat@example.com", cases.RoleSupervisor)
		token := a.token("pat@example.com", cases.RoleSupervisor, cases.ScopeCasesRead)
		id := a.userID("pat@example.com")
		base := fmt.Sprintf("/admin/users/%d", id)
		by := fmt.Sprintf(" by %d", a.adminID)
		done := func(w *httptest.ResponseRecorder, want string) {
			t.Helper()
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != fmt.Sprintf("/admin/users?done=%s&user=%d#user-%d", want, id, id) {
				t.Fatalf("want a redirect with done=%s: %d %q %s", want, w.Code, w.Header().Get("Location"), w.Body)
			}
			page := a.get(strings.Split(w.Header().Get("Location"), "#")[0])
			if !strings.Contains(page.Body.String(), "(pat@example.com): "+html.EscapeString(userNotices[want])) {
				t.Errorf("no notice %q after the redirect: %s", want, regexp.MustCompile(`class="notice"[^<]*`).FindString(page.Body.String()))
			}
		}
		asks := func(w *httptest.ResponseRecorder, action string) {
			t.Helper()
			body := w.Body.String()
			if w.Code != http.StatusOK || !strings.Contains(body, `name="confirm" value="yes"`) || !strings.Contains(body, `action="`+action+`"`) {
				t.Fatalf("want a confirmation posting to %s: %d %s", action, w.Code, body)
			}
		}

		// Up a role: no question.
		done(a.post(base+"/role", url.Values{"role": {"admin"}}), "role")
		// Down a role: a question first, then the change.
		w := a.post(base+"/role", url.Values{"role": {"agent"}})
		asks(w, base+"/role")
		if !strings.Contains(w.Body.String(), `name="role" value="agent"`) || a.user("pat@example.com").Role != "admin" {
			t.Fatalf("the confirmation changed the role or lost it: %s", w.Body)
		}
		done(a.post(base+"/role", url.Values{"role": {"agent"}, "confirm": {"yes"}}), "role")
		if r := a.user("pat@example.com").Role; r != "agent" {
			t.Fatalf("role %s, want agent", r)
		}
		if w := a.post(base+"/role", url.Values{"role": {"owner"}, "confirm": {"yes"}}); w.Code != http.StatusUnprocessableEntity ||
			!strings.Contains(w.Body.String(), "must be one of agent, supervisor, admin") {
			t.Errorf("bad role: %d", w.Code)
		}

		// Deactivate: asked, then done; sessions end and tokens stop.
		asks(a.post(base+"/deactivate", nil), base+"/deactivate")
		if !a.user("pat@example.com").Active {
			t.Fatal("deactivated before the confirmation")
		}
		done(a.post(base+"/deactivate", url.Values{"confirm": {"yes"}}), "deactivated")
		if w := a.do(request{method: http.MethodGet, path: "/", cookie: pat}); !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("the deactivated user's session still works: %d", w.Code)
		}
		if w := a.do(request{method: http.MethodGet, path: "/api/v1/cases", token: token}); w.Code != http.StatusUnauthorized {
			t.Errorf("the deactivated user's token: %d", w.Code)
		}
		done(a.post(base+"/reactivate", nil), "reactivated")
		if !a.user("pat@example.com").Active {
			t.Fatal("not reactivated")
		}

		// Reset: asked, then a new one-time password shown once; the old password and sessions end.
		pat = a.session("pat@example.com", cases.RoleAgent)
		asks(a.post(base+"/password", nil), base+"/password")
		if a.user("pat@example.com").MustChangePassword {
			t.Fatal("reset before the confirmation")
		}
		pw := shownOnce(t, a.post(base+"/password", url.Values{"confirm": {"yes"}}))
		if w := a.do(request{method: http.MethodGet, path: "/", cookie: pat}); !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("a session survived the reset: %d", w.Code)
		}
		if w := a.loginPost("pat@example.com", "correct horse battery", "/", nil); w.Code != http.StatusUnauthorized {
			t.Errorf("the old password still works: %d", w.Code)
		}
		if w := a.loginPost("pat@example.com", pw, "/", nil); w.Header().Get("Location") != "/account/password" {
			t.Errorf("sign-in with the reset password went to %q", w.Header().Get("Location"))
		}
		if strings.Contains(a.logs.String(), pw) {
			t.Error("the reset password is in the log")
		}

		got := auditActions(t, db, "user", id)
		for _, want := range []string{"user.role_changed", "user.deactivated", "user.reactivated", "user.password_reset"} {
			if !hasAction(got, want+by) {
				t.Errorf("no %s by the admin in %v", want, got)
			}
		}

		// The last active admin can neither leave nor step down.
		done(a.post(base+"/role", url.Values{"role": {"agent"}, "confirm": {"yes"}}), "role")
		me := fmt.Sprintf("/admin/users/%d", a.adminID)
		for path, values := range map[string]url.Values{me + "/deactivate": {"confirm": {"yes"}}, me + "/role": {"role": {"supervisor"}, "confirm": {"yes"}}} {
			w := a.post(path, values)
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "at least one active admin") {
				t.Errorf("%s on the last admin: %d %s", path, w.Code, w.Body)
			}
		}
		if u := a.user("boss@example.com"); !u.Active || u.Role != "admin" {
			t.Errorf("the last admin changed: %+v", u)
		}
		if w := a.post("/admin/users/999999/deactivate", url.Values{"confirm": {"yes"}}); w.Code != http.StatusNotFound {
			t.Errorf("unknown user: %d", w.Code)
		}
	})
}

// TestAdminManagesTokens: the list shows every token with its owner; a new token is shown once,
// works, and is audited; bad input comes back next to its field; revoking asks first and the
// token is refused afterwards.
func TestAdminManagesTokens(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		a := newAdminDesk(t, db)
		a.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead)
		list := a.get("/admin/tokens")
		if list.Code != http.StatusOK || !strings.Contains(list.Body.String(), "agent@example.com") || !strings.Contains(list.Body.String(), `aria-current="page">Tokens`) {
			t.Fatalf("token list: %d %s", list.Code, list.Body)
		}
		if w := a.get("/admin/tokens?owner=agent@example.com"); !strings.Contains(w.Body.String(), `<option value="agent@example.com" selected>`) {
			t.Errorf("the link from a user's row does not choose them as the owner")
		}
		tomorrow := time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
		w := a.post("/admin/tokens", url.Values{"email": {"agent@example.com"}, "name": {"zendesk"},
			"scopes": {"cases:read", "cases:write", "corrections:decide"}, "expires_at": {tomorrow}})
		raw := shownOnce(t, w)
		if !strings.HasPrefix(raw, cases.TokenPrefix) || !strings.Contains(w.Body.String(), `data-copy="secret"`) {
			t.Fatalf("token page: %s", w.Body)
		}
		if !strings.Contains(w.Body.String(), "cannot use corrections:decide") {
			t.Errorf("no word about the scope beyond the agent's role")
		}
		if got := a.do(request{method: http.MethodGet, path: "/api/v1/cases", token: raw}); got.Code != http.StatusOK {
			t.Fatalf("the new token: %d", got.Code)
		}
		var id int64
		var expires time.Time
		modelstest.Scan(t, db, &id, `SELECT MAX(id) FROM api_tokens`)
		modelstest.Scan(t, db, &expires, `SELECT expires_at FROM api_tokens WHERE id = ?`, id)
		if d := time.Until(expires); d < 47*time.Hour || d > 73*time.Hour {
			t.Errorf("expiry %v is not the end of the chosen day", expires)
		}
		by := fmt.Sprintf(" by %d", a.adminID)
		if got := auditActions(t, db, "api_token", id); !hasAction(got, "token.created"+by) {
			t.Errorf("token audit: %v", got)
		}
		list = a.get("/admin/tokens")
		if strings.Contains(list.Body.String(), raw) || strings.Contains(a.logs.String(), raw) {
			t.Error("the token is on the list page or in the log")
		}
		for _, want := range []string{"zendesk", "cases:write", "role: corrections:decide", "never"} {
			if !strings.Contains(list.Body.String(), want) {
				t.Errorf("the list lacks %q", want)
			}
		}

		a.session("gone@example.com", cases.RoleAgent)
		if _, err := a.desk.DeactivateUser(context.Background(), cases.CLIActor, "gone@example.com"); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []struct {
			values       url.Values
			field, words string
		}{
			{url.Values{"email": {"nobody@example.com"}, "name": {"x"}, "scopes": {"cases:read"}}, "email", "no user has this email"},
			{url.Values{"email": {"gone@example.com"}, "name": {"x"}, "scopes": {"cases:read"}}, "email", "deactivated"},
			{url.Values{"email": {"agent@example.com"}, "name": {"x"}}, "scopes", "at least one scope"},
			{url.Values{"email": {"agent@example.com"}, "name": {"x"}, "scopes": {"everything"}}, "scopes", "unknown scope"},
			{url.Values{"email": {"agent@example.com"}, "name": {"x"}, "scopes": {"cases:read"}, "expires_at": {"2020-01-01"}}, "expires_at", "in the future"},
			{url.Values{"email": {"agent@example.com"}, "name": {"x"}, "scopes": {"cases:read"}, "expires_at": {"soon"}}, "expires_at", "must be a date"},
			{url.Values{"email": {"agent@example.com"}, "name": {""}, "scopes": {"cases:read"}}, "name", ""},
		} {
			w := a.post("/admin/tokens", bad.values)
			body := w.Body.String()
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="`+fieldID(bad.field)+`-error"`) || !strings.Contains(body, bad.words) {
				t.Errorf("%v: %d, want 422 with an error under %s saying %q", bad.values, w.Code, bad.field, bad.words)
			}
			if strings.Contains(body, cases.TokenPrefix) && secretValue.MatchString(body) {
				t.Errorf("%v: a refused form shows a token", bad.values)
			}
		}
		// Every problem at once: no owner and no scope are both said, each under its field.
		if body := a.post("/admin/tokens", url.Values{"email": {""}, "name": {"x"}}).Body.String(); !strings.Contains(body, `id="`+fieldID("email")+`-error"`) ||
			!strings.Contains(body, `id="`+fieldID("scopes")+`-error"`) {
			t.Error("a token form without owner and scopes does not say both")
		}
		var n int64
		modelstest.Scan(t, db, &n, `SELECT COUNT(*) FROM api_tokens`)
		if n != 2 {
			t.Errorf("%d tokens after refused forms, want 2", n)
		}

		// Revoke: asked first, then refused on the API, marked on the list, audited.
		path := fmt.Sprintf("/admin/tokens/%d/revoke", id)
		ask := a.post(path, nil)
		if ask.Code != http.StatusOK || !strings.Contains(ask.Body.String(), `name="confirm" value="yes"`) || !strings.Contains(ask.Body.String(), "zendesk") {
			t.Fatalf("revoke confirmation: %d %s", ask.Code, ask.Body)
		}
		if got := a.do(request{method: http.MethodGet, path: "/api/v1/cases", token: raw}); got.Code != http.StatusOK {
			t.Fatalf("revoked before the confirmation: %d", got.Code)
		}
		w = a.post(path, url.Values{"confirm": {"yes"}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/tokens?done=revoked" {
			t.Fatalf("revoke: %d %q", w.Code, w.Header().Get("Location"))
		}
		if got := a.do(request{method: http.MethodGet, path: "/api/v1/cases", token: raw}); got.Code != http.StatusUnauthorized {
			t.Errorf("the revoked token: %d", got.Code)
		}
		list = a.get("/admin/tokens?done=revoked")
		if !strings.Contains(list.Body.String(), tokenNotices["revoked"]) || !regexp.MustCompile(`(?s)id="token-`+fmt.Sprint(id)+`".*?badge danger">revoked`).MatchString(list.Body.String()) {
			t.Errorf("the list does not mark the token revoked")
		}
		if got := auditActions(t, db, "api_token", id); !hasAction(got, "token.revoked"+by) {
			t.Errorf("token audit: %v", got)
		}
		if w := a.post(path, url.Values{"confirm": {"yes"}}); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "already revoked") {
			t.Errorf("revoking twice: %d", w.Code)
		}
		if w := a.post("/admin/tokens/999999/revoke", url.Values{"confirm": {"yes"}}); w.Code != http.StatusNotFound {
			t.Errorf("unknown token: %d", w.Code)
		}
	})
}
