package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

const (
	sessionCookie   = "giftdesk_session"
	sessionTokenKey = "giftdesk.session_token"
	mustChangeKey   = "giftdesk.must_change_password"
	maxFormBody     = 64 << 10
)

// consoleSession admits a request with a valid session cookie. Without one, the browser is sent
// to /login with the page it asked for; a user who must choose a password is sent there first.
func (s *Server) consoleSession(c *gin.Context) {
	token := sessionToken(c)
	sess, err := s.desk.Session(c.Request.Context(), token)
	if err != nil {
		if errors.Is(err, cases.ErrUnauthenticated) {
			s.clearSessionCookie(c)
			if c.GetHeader("HX-Request") == "true" {
				// An htmx request would follow a redirect and swap the sign-in page into a corner of
				// the page: HX-Redirect sends the whole window there instead, back to the page after.
				c.Header("HX-Redirect", loginURLFor(c.GetHeader("HX-Current-URL"), c.Request))
				c.AbortWithStatus(http.StatusUnauthorized)
				return
			}
			c.Redirect(http.StatusSeeOther, loginURL(c.Request))
			c.Abort()
			return
		}
		s.failPage(c, err)
		return
	}
	c.Set(principalKey, sess.Principal)
	c.Set(sessionTokenKey, token)
	c.Set(mustChangeKey, sess.MustChangePassword)
	if sess.MustChangePassword && c.FullPath() != "/account/password" && c.FullPath() != "/logout" {
		c.Redirect(http.StatusSeeOther, "/account/password")
		c.Abort()
		return
	}
	c.Next()
}

// requireRole answers a signed-in user without the page's role with a 403 page (R13).
func (s *Server) requireRole(role cases.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := principal(c).RequireRole(role); err != nil {
			s.failPage(c, err)
			return
		}
		c.Next()
	}
}

// crossOrigin refuses state-changing requests a browser sent from another site (Go's
// CrossOriginProtection: Sec-Fetch-Site, else Origin against Host).
func (s *Server) crossOrigin(c *gin.Context) {
	if err := s.cop.Check(c.Request); err != nil {
		s.renderError(c, http.StatusForbidden, "Request refused",
			"This form was sent from another site, so it was not carried out. Open giftdesk directly and try again.")
		c.Abort()
		return
	}
	if c.FullPath() == consoleUploadPath {
		c.Next() // a multipart upload: limitUpload bounds it, and readUpload streams it
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBody)
	// Parse now, so that an oversized or broken form is refused as such rather than read as empty.
	if err := c.Request.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.renderError(c, http.StatusRequestEntityTooLarge, "Form too large", "The form sent more than 64 KiB. Nothing was saved.")
		} else {
			s.renderError(c, http.StatusBadRequest, "Bad request", "The form could not be read. Nothing was saved.")
		}
		c.Abort()
		return
	}
	c.Next()
}

// noStore keeps console pages, which show customer data, out of shared and browser caches.
// noStoreButAssets marks every answer but the static assets no-store, refusals and answers no
// route gives included: API answers hold customer data or say who may do what, console pages
// hold cases, and neither belongs in a browser's or a proxy's cache.
func noStoreButAssets(c *gin.Context) {
	if !strings.HasPrefix(c.Request.URL.Path, "/static/") {
		c.Header("Cache-Control", "no-store")
	}
	c.Next()
}

func sessionToken(c *gin.Context) string {
	v, err := c.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return v
}

func (s *Server) setSessionCookie(c *gin.Context, token string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.overTLS(c.Request), MaxAge: int(cases.SessionAbsoluteTimeout.Seconds())})
}

func (s *Server) clearSessionCookie(c *gin.Context) {
	if _, err := c.Cookie(sessionCookie); err != nil {
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.overTLS(c.Request), MaxAge: -1})
}

func loginURL(r *http.Request) string {
	if r.Method != http.MethodGet || r.URL.Path == "/" {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(r.URL.RequestURI())
}

// loginURLFor is the sign-in page that leads back to the page an htmx request came from (its
// HX-Current-URL), kept on this site; else to the request itself.
func loginURLFor(current string, r *http.Request) string {
	if u, err := url.Parse(current); err == nil && current != "" {
		if next := safeNext(u.RequestURI()); next != "/" {
			return "/login?next=" + url.QueryEscape(next)
		}
		return "/login"
	}
	return loginURL(r)
}

// safeNext keeps a post-login redirect on this site: a local path, never //host or a scheme.
// Browsers drop tabs and newlines from URLs and read a backslash as a slash, so "/\t/evil" or
// "/\\evil" would leave the site: any control character, space or backslash refuses the value.
func safeNext(next string) string {
	if len(next) > 2000 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if next[i] <= ' ' || next[i] == 0x7f || next[i] == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}
