package handlers

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func form(values map[string]string) *strings.Reader {
	v := url.Values{}
	for k, x := range values {
		v.Set(k, x)
	}
	return strings.NewReader(v.Encode())
}

func cookieFrom(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

func (h *harness) loginPost(email, password, next string, header map[string]string) *httptest.ResponseRecorder {
	if header == nil {
		header = sameOrigin
	}
	return h.do(request{method: http.MethodPost, path: "/login", header: header,
		body: form(map[string]string{"email": email, "password": password, "next": next})})
}

func TestLoginFlow(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		h.session("pat@example.com", cases.RoleAgent)
		w := h.do(request{method: http.MethodGet, path: "/login"})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="password"`) || !strings.Contains(w.Body.String(), `action="/login"`) {
			t.Fatalf("login page: %d", w.Code)
		}
		for _, bad := range [][2]string{{"pat@example.com", "wrong password!"}, {"nobody@example.com", "correct horse battery"}} {
			w := h.loginPost(bad[0], bad[1], "", nil)
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "The email or password is incorrect.") || cookieFrom(t, w) != nil {
				t.Fatalf("bad sign-in %s: %d", bad[0], w.Code)
			}
		}
		w = h.loginPost("pat@example.com", "correct horse battery", "/admin/users?x=1", nil)
		c := cookieFrom(t, w)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/users?x=1" || c == nil {
			t.Fatalf("sign-in: %d to %q", w.Code, w.Header().Get("Location"))
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
			t.Fatalf("cookie attributes: %+v", c)
		}
		home := h.do(request{method: http.MethodGet, path: "/", cookie: c.Value})
		if home.Code != http.StatusOK || !strings.Contains(home.Body.String(), "Test agent") || home.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("home: %d %q", home.Code, home.Header().Get("Cache-Control"))
		}
		// A second sign-in gets a new session id: an id planted before sign-in is never adopted.
		again := cookieFrom(t, h.do(request{method: http.MethodPost, path: "/login", header: sameOrigin, cookie: "planted-by-attacker",
			body: form(map[string]string{"email": "pat@example.com", "password": "correct horse battery"})}))
		if again == nil || again.Value == c.Value || again.Value == "planted-by-attacker" {
			t.Fatal("sign-in did not issue a fresh session id")
		}
		// Over TLS the cookie is Secure.
		req := httptest.NewRequest(http.MethodPost, "/login", form(map[string]string{"email": "pat@example.com", "password": "correct horse battery"}))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.TLS = &tls.ConnectionState{}
		tw := httptest.NewRecorder()
		h.srv.ServeHTTP(tw, req)
		if tc := cookieFrom(t, tw); tc == nil || !tc.Secure {
			t.Fatal("cookie over TLS is not Secure")
		}
		// Sign out ends the session and clears the cookie.
		out := h.do(request{method: http.MethodPost, path: "/logout", cookie: c.Value, header: sameOrigin})
		if out.Code != http.StatusSeeOther || out.Header().Get("Location") != "/login" {
			t.Fatalf("logout: %d", out.Code)
		}
		if cleared := cookieFrom(t, out); cleared == nil || cleared.MaxAge >= 0 {
			t.Fatal("logout did not clear the cookie")
		}
		if w := h.do(request{method: http.MethodGet, path: "/", cookie: c.Value}); w.Code != http.StatusSeeOther {
			t.Fatalf("old session after logout: %d", w.Code)
		}
		// Post-login redirects stay on this site.
		for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "/ok\r\nSet-Cookie: x=1",
			"/\t/evil.example", "/\n/evil.example", "/ /evil.example", "/%09/evil.example", "/\x7f/evil", "/a/../..//evil.example"} {
			w := h.loginPost("pat@example.com", "correct horse battery", next, nil)
			loc := w.Header().Get("Location")
			if u, err := url.Parse(loc); err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(loc, "/") ||
				strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\t\n\r \\") {
				t.Errorf("next=%q redirected off the site: %q", next, loc)
			}
		}
	})
}

func TestCrossSiteFormPostsAreRefused(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cookie := h.session("pat@example.com", cases.RoleAgent)
		crossSite := []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site"},
			{"Origin": "https://evil.example"},
		}
		for _, header := range crossSite {
			for _, path := range []string{"/logout", "/account/password", "/login"} {
				w := h.do(request{method: http.MethodPost, path: path, cookie: cookie, header: header,
					body: form(map[string]string{"email": "pat@example.com", "password": "correct horse battery",
						"current_password": "correct horse battery", "new_password": "hijacked password!", "confirm_password": "hijacked password!"})})
				if w.Code != http.StatusForbidden {
					t.Errorf("POST %s with %v: %d, want 403", path, header, w.Code)
				}
			}
		}
		if _, err := h.desk.Session(context.Background(), cookie); err != nil {
			t.Fatal("a refused cross-site logout ended the session")
		}
		if _, err := h.desk.SignIn(context.Background(), cases.SignInInput{Email: "pat@example.com", Password: "correct horse battery"}); err != nil {
			t.Fatal("a refused cross-site password change took effect")
		}
		// The same post from the site itself goes through.
		if w := h.do(request{method: http.MethodPost, path: "/logout", cookie: cookie, header: sameOrigin}); w.Code != http.StatusSeeOther {
			t.Fatalf("same-origin logout: %d", w.Code)
		}
	})
}

func TestLoginThrottlingOverHTTP(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		h.session("pat@example.com", cases.RoleAgent)
		for i := 0; i < cases.LoginFailureLimit; i++ {
			if w := h.loginPost("pat@example.com", "wrong password!", "", nil); w.Code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, w.Code)
			}
		}
		w := h.loginPost("pat@example.com", "correct horse battery", "", nil)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || cookieFrom(t, w) != nil {
			t.Fatalf("11th attempt: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
		if !strings.Contains(w.Body.String(), "Too many failed sign-ins") {
			t.Fatal("the throttled page does not say why")
		}
	})
}

func TestBootstrapAdminMustChooseAPassword(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		pw, created, err := h.desk.EnsureBootstrapAdmin(context.Background())
		if err != nil || !created {
			t.Fatal(err)
		}
		w := h.loginPost(cases.BootstrapAdminEmail, pw, "/admin/users", nil)
		c := cookieFrom(t, w)
		if w.Header().Get("Location") != "/account/password" || c == nil {
			t.Fatalf("first sign-in went to %q", w.Header().Get("Location"))
		}
		for _, path := range []string{"/", "/admin/users"} {
			if w := h.do(request{method: http.MethodGet, path: path, cookie: c.Value}); w.Header().Get("Location") != "/account/password" {
				t.Fatalf("%s before choosing a password: %d %q", path, w.Code, w.Header().Get("Location"))
			}
		}
		page := h.do(request{method: http.MethodGet, path: "/account/password", cookie: c.Value})
		if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "Choose your password") {
			t.Fatalf("password page: %d", page.Code)
		}
		change := func(current, next, confirm string) *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPost, path: "/account/password", cookie: c.Value, header: sameOrigin,
				body: form(map[string]string{"current_password": current, "new_password": next, "confirm_password": confirm})})
		}
		if w := change(pw, "a new admin passphrase", "a different one!!"); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "differ") {
			t.Fatalf("mismatched confirmation: %d", w.Code)
		}
		if w := change(pw, "short", "short"); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "at least 12") {
			t.Fatalf("short password: %d", w.Code)
		}
		if w := change(pw, "a new admin passphrase", "a new admin passphrase"); w.Header().Get("Location") != "/?password=changed" {
			t.Fatalf("change: %d %q", w.Code, w.Header().Get("Location"))
		}
		users := h.do(request{method: http.MethodGet, path: "/admin/users", cookie: c.Value})
		if users.Code != http.StatusOK || !strings.Contains(users.Body.String(), cases.BootstrapAdminEmail) {
			t.Fatalf("users page after the change: %d", users.Code)
		}
	})
}

// TestNoSecretReachesLogsOrAudit signs in, uses a token and a session, sends a claim code where
// people paste them by mistake, and then greps the server log and every audit row.
func TestNoSecretReachesLogsOrAudit(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		const password = "correct horse battery"
		const claimCode = "QW12-ER34-TY56-ZX90"
		cookie := h.session("pat@example.com", cases.RoleAdmin)
		token := h.token("pat@example.com", cases.RoleAdmin, cases.Scopes...)
		h.loginPost("pat@example.com", password, "", nil)
		h.loginPost(claimCode, password, "", nil)
		h.loginPost("pat@example.com", claimCode, "", nil)
		h.do(request{method: http.MethodGet, path: "/", cookie: cookie})
		h.do(request{method: http.MethodGet, path: "/api/v1/cases?q=" + url.QueryEscape(claimCode), token: token})
		audit := h.do(request{method: http.MethodGet, path: "/api/v1/audit?limit=100", token: token})
		if audit.Code != http.StatusOK || !strings.Contains(audit.Body.String(), "login.failed") {
			t.Fatalf("audit API: %d %s", audit.Code, audit.Body)
		}
		var rows []string
		modelstest.Scan(t, db, &rows, `SELECT COALESCE(CAST(before_state AS TEXT), '') || COALESCE(CAST(after_state AS TEXT), '') || entity_id || actor_label FROM audit_events`)
		haystacks := map[string]string{"log": h.logs.String(), "audit rows": strings.Join(rows, "\n"), "audit API": audit.Body.String()}
		needles := map[string]string{"password": password, "session id": cookie, "token": token,
			"token secret": token[len(cases.TokenPrefix):], "claim code": claimCode, "normalized claim code": cases.NormalizeClaimCode(claimCode)}
		for where, hay := range haystacks {
			for what, secret := range needles {
				if strings.Contains(hay, secret) {
					t.Errorf("the %s holds the %s", where, what)
				}
			}
		}
	})
}

// TestForwardedHeadersOnlyFromTrustedProxies: behind a load balancer the client's address (for the
// throttle and the audit trail) and HTTPS (for the cookie) come from forwarding headers, which are
// believed only from the configured proxies.
func TestForwardedHeadersOnlyFromTrustedProxies(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	h := newHarness(t, db)
	h.session("pat@example.com", cases.RoleAgent)
	trusting, err := New(Config{Desk: h.desk, TrustedProxies: []string{"192.0.2.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(srv http.Handler, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/login", form(map[string]string{"email": "pat@example.com", "password": "correct horse battery"}))
		req.RemoteAddr = remote
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-Forwarded-For", "203.0.113.5")
		req.Header.Set("X-Forwarded-Proto", "https")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w
	}
	lastIP := func() string {
		var ip string
		modelstest.Scan(t, db, &ip, `SELECT client_ip FROM audit_events WHERE action = 'login.succeeded' ORDER BY id DESC LIMIT 1`)
		return ip
	}
	if c := cookieFrom(t, post(trusting, "192.0.2.10:4000")); c == nil || !c.Secure || lastIP() != "203.0.113.5" {
		t.Fatalf("through a trusted proxy: cookie %+v, audited address %q", c, lastIP())
	}
	if c := cookieFrom(t, post(trusting, "198.51.100.7:4000")); c == nil || c.Secure || lastIP() != "198.51.100.7" {
		t.Fatalf("from an untrusted peer: cookie %+v, audited address %q", c, lastIP())
	}
	if c := cookieFrom(t, post(h.srv, "192.0.2.10:4000")); c == nil || c.Secure || lastIP() != "192.0.2.10" {
		t.Fatalf("with no trusted proxy configured: cookie %+v, audited address %q", c, lastIP())
	}
}
