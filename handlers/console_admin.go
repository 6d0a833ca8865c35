package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// The admin console (issue 22 item 4): users and tokens.
const (
	pageAdminTokens  = "admin_tokens.html"
	pageAdminConfirm = "admin_confirm.html"
	pageAdminSecret  = "admin_secret.html"
)

// usersPage is /admin/users: the users, a form to add one, and what the last action did.
type usersPage struct {
	Chrome  chrome
	Users   []cases.UserView
	Roles   []cases.Role
	Notice  string
	Refused string // a row's action the desk refused, with the user it was about
	New     pageForm
	// NoticeUser is the user the notice is about.
	NoticeUser int64
}

// confirmPage asks before a destructive action: it restates what will happen and posts the same
// form again with confirm=yes. It works without JavaScript.
type confirmPage struct {
	Chrome       chrome
	Title        string
	Question     string
	Consequences []string
	Action       string
	Hidden       map[string]string
	Button       string
	Cancel       string
}

// secretPage shows a one-time password or a new token once: it is only ever the direct answer
// to the POST that made the secret, never a page a redirect or a reload can reach.
type secretPage struct {
	Chrome  chrome
	Title   string
	Label   string
	Secret  string
	Facts   [][2]string
	Advice  string
	Warning string
	Back    string
	BackTo  string
}

// tokensPage is /admin/tokens: every token, a form to create one, and what the last action did.
type tokensPage struct {
	Chrome   chrome
	Tokens   []tokenRow
	Next     string
	Owners   []cases.UserView
	Scopes   []cases.Scope
	Notice   string
	Refused  string
	New      pageForm
	Chosen   map[cases.Scope]bool
	MinDate  string
	NoOwners bool
}

// tokenRow is a listed token with its state in words (the badge repeats it in colour).
type tokenRow struct {
	cases.AdminToken
	State string // active, expired or revoked
}

var userNotices = map[string]string{
	"role":        "Role changed. It applies from their next request, their tokens included.",
	"deactivated": "Deactivated. Their sessions ended and their tokens were revoked.",
	"reactivated": "Reactivated. They can sign in again; their old tokens stay revoked, so create new ones if needed.",
}

// adminUsers serves GET /admin/users; ?done=WHAT&user=ID says what the last action did to whom.
func (s *Server) adminUsers(c *gin.Context) {
	v := usersPage{New: pageForm{Prefix: "new", Values: map[string]string{"role": string(cases.RoleAgent)}}}
	v.Notice = userNotices[c.Query("done")]
	v.NoticeUser = formInt(c.Query("user"))
	s.renderUsers(c, http.StatusOK, v)
}

func (s *Server) renderUsers(c *gin.Context, status int, v usersPage) {
	users, err := s.desk.ListUsers(c.Request.Context(), principal(c))
	if err != nil {
		s.failPage(c, err)
		return
	}
	v.Chrome, v.Users, v.Roles = chromeFor(c, "users"), users, cases.Roles
	for _, u := range users {
		if v.Notice != "" && u.ID == v.NoticeUser {
			v.Notice = u.Name + " (" + u.Email + "): " + v.Notice
		}
	}
	s.render(c, status, pageUsers, v)
}

// adminCreateUser serves POST /admin/users: the new user's one-time password is the answer.
func (s *Server) adminCreateUser(c *gin.Context) {
	in := cases.NewUser{Email: c.PostForm("email"), Name: c.PostForm("name"), Role: cases.Role(c.PostForm("role"))}
	u, pw, err := s.desk.AddUserWithOneTimePassword(c.Request.Context(), actor(c), in)
	if err != nil {
		errs, ok := formErrorsOf(err)
		if !ok {
			s.failPage(c, err)
			return
		}
		s.renderUsers(c, http.StatusUnprocessableEntity, usersPage{New: pageForm{Prefix: "new", Errors: errs,
			Values: postedValues(c, "email", "name", "role")}})
		return
	}
	s.renderSecret(c, secretPage{Title: "User added", Label: "One-time password of " + u.Email, Secret: pw,
		Facts:  [][2]string{{"Name", u.Name}, {"Email", u.Email}, {"Role", string(u.Role)}},
		Advice: "Give this password to " + u.Name + " by a channel only they read. They sign in with it once and must then choose their own.",
		Back:   "Back to users", BackTo: "/admin/users"})
}

// renderSecret answers a POST with a secret, once: never stored by the browser or a proxy.
func (s *Server) renderSecret(c *gin.Context, v secretPage) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	v.Chrome = chromeFor(c, strings.TrimPrefix(v.BackTo, "/admin/"))
	s.render(c, http.StatusOK, pageAdminSecret, v)
}

// adminUser reads the :id of a user route, for an admin.
func (s *Server) adminUser(c *gin.Context) (cases.UserView, bool) {
	return pageByID(s, c, s.desk.UserForAdmin)
}

// pageByID loads what a console route's :id names, or answers the page of why it cannot.
func pageByID[T any](s *Server, c *gin.Context, load func(context.Context, cases.Principal, int64) (T, error)) (T, bool) {
	id, err := pathID(c)
	if err == nil {
		var v T
		if v, err = load(c.Request.Context(), principal(c), id); err == nil {
			return v, true
		}
	}
	s.failPage(c, err)
	var zero T
	return zero, false
}

// userActionDone ends a user action: back to the list with a notice, or the list with the
// refusal at its top.
func (s *Server) userActionDone(c *gin.Context, u cases.UserView, err error, done string) {
	if err == nil {
		redirectSeeOther(c, fmt.Sprintf("/admin/users?done=%s&user=%d#user-%d", done, u.ID, u.ID))
		return
	}
	msg, ok := refusalOf(err)
	if !ok {
		s.failPage(c, err)
		return
	}
	s.renderUsers(c, http.StatusUnprocessableEntity, usersPage{New: pageForm{Prefix: "new"},
		Refused: u.Name + " (" + u.Email + ") was not changed: " + msg + "."})
}

func (s *Server) confirm(c *gin.Context, v confirmPage) {
	v.Chrome = chromeFor(c, strings.TrimPrefix(v.Cancel, "/admin/"))
	s.render(c, http.StatusOK, pageAdminConfirm, v)
}

func confirmed(c *gin.Context) bool { return c.PostForm("confirm") == "yes" }

func (s *Server) isMe(c *gin.Context, u cases.UserView) bool { return principal(c).UserID == u.ID }

// adminUserRole serves POST /admin/users/{id}/role; a step down asks first.
func (s *Server) adminUserRole(c *gin.Context) {
	u, ok := s.adminUser(c)
	if !ok {
		return
	}
	role := cases.Role(c.PostForm("role"))
	if role.Valid() && !role.Includes(u.Role) && !confirmed(c) {
		v := confirmPage{Title: "Change role", Question: "Change " + u.Name + " (" + u.Email + ") from " + string(u.Role) + " to " + string(role) + "?",
			Consequences: []string{"From their next request they lose what " + string(u.Role) + "s may do, in the console and through their API tokens."},
			Action:       c.Request.URL.Path, Hidden: map[string]string{"role": string(role)}, Button: "Change role to " + string(role), Cancel: "/admin/users"}
		if s.isMe(c, u) {
			v.Consequences = append(v.Consequences, "This is you: you lose access to this page at once.")
		}
		s.confirm(c, v)
		return
	}
	_, err := s.desk.SetUserRole(c.Request.Context(), actor(c), u.Email, role)
	s.userActionDone(c, u, err, "role")
}

// adminUserDeactivate serves POST /admin/users/{id}/deactivate, after a confirmation.
func (s *Server) adminUserDeactivate(c *gin.Context) {
	u, ok := s.adminUser(c)
	if !ok {
		return
	}
	if !confirmed(c) {
		v := confirmPage{Title: "Deactivate user", Question: "Deactivate " + u.Name + " (" + u.Email + ")?",
			Consequences: []string{"Their sessions end at once and they can no longer sign in.",
				"Every API token of theirs is revoked for good; reactivating them does not bring tokens back."},
			Action: c.Request.URL.Path, Button: "Deactivate " + u.Name, Cancel: "/admin/users"}
		if s.isMe(c, u) {
			v.Consequences = append(v.Consequences, "This is you: you are signed out at once.")
		}
		s.confirm(c, v)
		return
	}
	_, err := s.desk.DeactivateUser(c.Request.Context(), actor(c), u.Email)
	s.userActionDone(c, u, err, "deactivated")
}

// adminUserReactivate serves POST /admin/users/{id}/reactivate.
func (s *Server) adminUserReactivate(c *gin.Context) {
	u, ok := s.adminUser(c)
	if !ok {
		return
	}
	_, err := s.desk.ReactivateUser(c.Request.Context(), actor(c), u.Email)
	s.userActionDone(c, u, err, "reactivated")
}

// adminUserPassword serves POST /admin/users/{id}/password, after a confirmation: the new
// one-time password is the answer.
func (s *Server) adminUserPassword(c *gin.Context) {
	u, ok := s.adminUser(c)
	if !ok {
		return
	}
	if !confirmed(c) {
		v := confirmPage{Title: "Reset password", Question: "Reset the password of " + u.Name + " (" + u.Email + ")?",
			Consequences: []string{"Their current password stops working and their sessions end at once.",
				"The next page shows a one-time password, once: they must choose their own at their next sign-in.",
				"Their API tokens keep working."},
			Action: c.Request.URL.Path, Button: "Reset the password", Cancel: "/admin/users"}
		if s.isMe(c, u) {
			v.Consequences = append(v.Consequences, "This is you: you are signed out at once.")
		}
		s.confirm(c, v)
		return
	}
	u2, pw, err := s.desk.ResetOneTimePassword(c.Request.Context(), actor(c), u.Email)
	if err != nil {
		s.userActionDone(c, u, err, "")
		return
	}
	s.renderSecret(c, secretPage{Title: "Password reset", Label: "One-time password of " + u2.Email, Secret: pw,
		Facts:  [][2]string{{"Name", u2.Name}, {"Email", u2.Email}, {"Role", string(u2.Role)}},
		Advice: "Give this password to " + u2.Name + " by a channel only they read. Their sessions have ended; they must choose their own password at their next sign-in.",
		Back:   "Back to users", BackTo: "/admin/users"})
}

var tokenNotices = map[string]string{
	"revoked": "The token is revoked: it is refused from now on.",
}

func (s *Server) adminTokens(c *gin.Context) {
	v := tokensPage{New: pageForm{Prefix: "tok", Values: map[string]string{"email": c.Query("owner")}},
		Chosen: map[cases.Scope]bool{cases.ScopeCasesRead: true}, Notice: tokenNotices[c.Query("done")]}
	s.renderTokens(c, http.StatusOK, v)
}

func (s *Server) renderTokens(c *gin.Context, status int, v tokensPage) {
	ctx := c.Request.Context()
	page, err := s.desk.ListTokenPage(ctx, principal(c), cases.TokenQuery{Cursor: c.Query("cursor"), Limit: c.Query("limit")})
	if err != nil {
		s.failPage(c, err)
		return
	}
	users, err := s.desk.ListUsers(ctx, principal(c))
	if err != nil {
		s.failPage(c, err)
		return
	}
	for _, u := range users {
		if u.Active {
			v.Owners = append(v.Owners, u)
		}
	}
	now := time.Now()
	for _, t := range page.Data {
		row := tokenRow{AdminToken: t, State: "active"}
		switch {
		case t.RevokedAt != nil:
			row.State = "revoked"
		case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
			row.State = "expired"
		}
		v.Tokens = append(v.Tokens, row)
	}
	v.Chrome, v.Next, v.Scopes = chromeFor(c, "tokens"), page.NextCursor, cases.Scopes
	v.MinDate = now.In(v.Chrome.Zone).Format(time.DateOnly)
	s.render(c, status, pageAdminTokens, v)
}

// expiryOf reads the token form's date: the token works until the end of that day in the
// admin's zone. "" is no expiry.
func expiryOf(raw string, zone *time.Location) (*time.Time, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	day, err := time.ParseInLocation(time.DateOnly, raw, zone)
	if err != nil {
		return nil, cases.Invalid("expires_at", "must be a date such as 2027-03-31")
	}
	end := day.AddDate(0, 0, 1)
	return &end, nil
}

// adminCreateToken serves POST /admin/tokens: the new token is the answer, once.
func (s *Server) adminCreateToken(c *gin.Context) {
	ctx := c.Request.Context()
	in := cases.NewToken{Email: c.PostForm("email"), Name: c.PostForm("name")}
	for _, sc := range c.PostFormArray("scopes") {
		in.Scopes = append(in.Scopes, cases.Scope(sc))
	}
	expires, err := expiryOf(c.PostForm("expires_at"), chromeOf(c).Zone)
	var raw string
	var view cases.TokenView
	if err == nil {
		in.ExpiresAt = expires
		raw, view, err = s.desk.CreateToken(ctx, actor(c), in)
	}
	if err != nil {
		errs, ok := formErrorsOf(err)
		if !ok {
			s.failPage(c, err)
			return
		}
		chosen := map[cases.Scope]bool{}
		for _, sc := range in.Scopes {
			chosen[sc] = true
		}
		s.renderTokens(c, http.StatusUnprocessableEntity, tokensPage{Chosen: chosen,
			New: pageForm{Prefix: "tok", Errors: errs, Values: postedValues(c, "email", "name", "expires_at")}})
		return
	}
	t, err := s.desk.TokenForAdmin(ctx, principal(c), view.ID)
	if err != nil {
		s.failPage(c, err)
		return
	}
	scopes := make([]string, len(t.Scopes))
	for i, sc := range t.Scopes {
		scopes[i] = string(sc)
	}
	expiry := "never"
	if t.ExpiresAt != nil {
		expiry = t.ExpiresAt.In(chromeOf(c).Zone).Format("Mon 2 Jan 2006 15:04 MST")
	}
	v := secretPage{Title: "Token created", Label: "API token " + t.Name + " of " + t.UserEmail, Secret: raw,
		Facts: [][2]string{{"Owner", t.OwnerName + " (" + t.UserEmail + ", " + string(t.OwnerRole) + ")"}, {"Name", t.Name},
			{"Scopes", strings.Join(scopes, ", ")}, {"Expires", expiry}, {"Starts with", t.Prefix + "…"}},
		Advice: "Copy it into the integration now: it is shown only this once, and only its hash is kept. Send it as Authorization: Bearer <token>.",
		Back:   "Back to tokens", BackTo: "/admin/tokens"}
	if len(t.BeyondRole) > 0 {
		names := make([]string, len(t.BeyondRole))
		for i, sc := range t.BeyondRole {
			names[i] = string(sc)
		}
		v.Warning = "A " + string(t.OwnerRole) + " cannot use " + strings.Join(names, ", ") + ": calls needing it are refused (role_required) until the owner's role allows it."
	}
	s.renderSecret(c, v)
}

// adminRevokeToken serves POST /admin/tokens/{id}/revoke, after a confirmation.
func (s *Server) adminRevokeToken(c *gin.Context) {
	id, err := pathID(c)
	var t cases.AdminToken
	if err == nil {
		t, err = s.desk.TokenForAdmin(c.Request.Context(), principal(c), id)
	}
	if err != nil {
		s.failPage(c, err)
		return
	}
	if !confirmed(c) {
		s.confirm(c, confirmPage{Title: "Revoke token",
			Question: "Revoke the token " + t.Name + " (" + t.Prefix + "…) of " + t.OwnerName + " (" + t.UserEmail + ")?",
			Consequences: []string{"Every request made with it is refused from now on (401).",
				"A revoked token cannot be restored: the integration needs a new one."},
			Action: c.Request.URL.Path, Button: "Revoke " + t.Name, Cancel: "/admin/tokens"})
		return
	}
	err = s.desk.RevokeToken(c.Request.Context(), actor(c), id)
	if err == nil {
		redirectSeeOther(c, "/admin/tokens?done=revoked")
		return
	}
	msg, ok := refusalOf(err)
	if !ok {
		s.failPage(c, err)
		return
	}
	s.renderTokens(c, http.StatusUnprocessableEntity, tokensPage{New: pageForm{Prefix: "tok"}, Chosen: map[cases.Scope]bool{},
		Refused: "The token " + t.Name + " (" + t.Prefix + "…) was not revoked: " + msg + "."})
}
