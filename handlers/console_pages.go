package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// chrome is what the layout needs on every page. Held is set while the user must choose a
// password: the navigation would only lead back. Section marks the navigation entry of the page;
// Zone and Shortcuts are the user's preferences.
type chrome struct {
	User         *cases.Principal
	IsAdmin      bool
	IsSupervisor bool
	Held         bool
	Section      string
	Zone         *time.Location
	Shortcuts    bool
}

func chromeOf(c *gin.Context) chrome { return chromeFor(c, "") }

// chromeFor is chromeOf for a page of a navigation section ("home", "cases", "new", "users").
func chromeFor(c *gin.Context, section string) chrome {
	p, ok := c.Get(principalKey)
	if !ok {
		return chrome{Zone: time.UTC, Section: section}
	}
	pr := p.(cases.Principal)
	return chrome{User: &pr, IsAdmin: pr.Role.Includes(cases.RoleAdmin), IsSupervisor: pr.Role.Includes(cases.RoleSupervisor),
		Held: c.GetBool(mustChangeKey), Section: section, Zone: pr.Preferences.Location(), Shortcuts: pr.Preferences.Shortcuts}
}

// The console's pages. New parses each one at start: a missing or broken page stops the start.
const (
	pageAccount  = "account.html"
	pageAudit    = "audit.html"
	pageLedger   = "ledger.html"
	pageCase     = "case.html"
	pageCaseNew  = "case_new.html"
	pageCases    = "cases.html"
	pageError    = "error.html"
	pageHome     = "home.html"
	pageLogin    = "login.html"
	pagePassword = "password.html"
	pageReports  = "reports.html"
	pageUsers    = "users.html"
)

// The approval queue's pages (issue 22).
const (
	pageApprovals      = "approvals.html"
	pageApprovalDecide = "approval_decide.html"
)

// consolePages lists every page the server renders.
var consolePages = []string{pageAccount, pageApprovals, pageApprovalDecide, pageAudit, pageLedger, pageCase, pageCaseNew, pageCases,
	pageError, pageHome, pageLogin, pagePassword, pageReports, pageUsers, pageAdminTokens, pageAdminConfirm, pageAdminSecret,
	pageAdminWebhooks, pageAdminWebhook}

type errorPage struct {
	Chrome                      chrome
	Heading, Message, RequestID string
}

type loginPage struct {
	Chrome             chrome
	Email, Error, Next string
}

type homePage struct {
	Chrome           chrome
	Notice           string
	Queues           []queueView
	Current          queueView
	Table            caseTable
	NextURL, PrevURL string
}

type passwordPage struct {
	Chrome   chrome
	Required bool
	Error    string
}

func (s *Server) loginForm(c *gin.Context) {
	if _, err := s.desk.Session(c.Request.Context(), sessionToken(c)); err == nil {
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	s.render(c, http.StatusOK, pageLogin, loginPage{Next: safeNext(c.Query("next"))})
}

func (s *Server) login(c *gin.Context) {
	email, next := c.PostForm("email"), safeNext(c.PostForm("next"))
	signed, err := s.desk.SignIn(c.Request.Context(), cases.SignInInput{Email: email, Password: c.PostForm("password"),
		ClientIP: c.ClientIP(), UserAgent: c.Request.UserAgent(), RequestID: requestID(c)})
	var throttled *cases.ThrottledError
	switch {
	case errors.As(err, &throttled):
		c.Header("Retry-After", retryAfter(err))
		minutes := int(math.Ceil(throttled.RetryAfter.Minutes()))
		s.render(c, http.StatusTooManyRequests, pageLogin, loginPage{Email: email, Next: next,
			Error: fmt.Sprintf("Too many failed sign-ins. Try again in %d minute(s).", minutes)})
	case errors.Is(err, cases.ErrUnauthenticated):
		s.render(c, http.StatusUnauthorized, pageLogin, loginPage{Email: email, Next: next,
			Error: "The email or password is incorrect."})
	case err != nil:
		s.failPage(c, err)
	default:
		s.setSessionCookie(c, signed.Token)
		if signed.MustChangePassword {
			next = "/account/password"
		}
		c.Redirect(http.StatusSeeOther, next)
	}
}

func (s *Server) logout(c *gin.Context) {
	if err := s.desk.SignOut(c.Request.Context(), actor(c), sessionToken(c)); err != nil {
		s.failPage(c, err)
		return
	}
	s.clearSessionCookie(c)
	c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) passwordForm(c *gin.Context) {
	s.render(c, http.StatusOK, pagePassword, passwordPage{Chrome: chromeOf(c), Required: c.GetBool(mustChangeKey)})
}

func (s *Server) changePassword(c *gin.Context) {
	page := passwordPage{Chrome: chromeOf(c), Required: c.GetBool(mustChangeKey)}
	if c.PostForm("new_password") != c.PostForm("confirm_password") {
		page.Error = "The two new passwords differ."
		s.render(c, http.StatusUnprocessableEntity, pagePassword, page)
		return
	}
	err := s.desk.ChangePassword(c.Request.Context(), actor(c), sessionToken(c), c.PostForm("current_password"), c.PostForm("new_password"))
	var re *cases.RuleError
	if errors.As(err, &re) && re.Code == cases.CodeValidationFailed {
		page.Error = fieldLabel(re.Field) + " " + re.Message + "."
		s.render(c, http.StatusUnprocessableEntity, pagePassword, page)
		return
	}
	if err != nil {
		s.failPage(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/?password=changed")
}

func fieldLabel(field string) string {
	switch field {
	case "current_password":
		return "The current password"
	case "new_password":
		return "The new password"
	}
	return field
}

// failPage is fail for people: the status of the error with a page instead of a problem.
func (s *Server) failPage(c *gin.Context, err error) {
	status := statusOf(err)
	switch status {
	case http.StatusForbidden:
		s.renderError(c, status, "Not allowed", "Your role does not give access to this page. Ask an administrator if you need it.")
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", "5")
		s.renderError(c, status, "The desk is unavailable", "The database does not answer. Try again in a moment.")
	case http.StatusTooManyRequests:
		c.Header("Retry-After", retryAfter(err))
		s.renderError(c, status, "Too many attempts", err.Error()+".")
	case http.StatusNotFound:
		s.renderError(c, status, "Not found", "There is nothing here.")
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		// A hand-edited or stale address: a paging cursor or limit the page cannot read.
		s.renderError(c, status, "This page link is not valid", err.Error()+". Open the page again from the menu.")
	case http.StatusConflict, http.StatusPreconditionFailed:
		s.renderError(c, status, "Changed meanwhile", err.Error()+". Reload the page to see it as it is now.")
	default:
		s.log.ErrorContext(c.Request.Context(), "page failed", slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
		s.renderServerError(c)
	}
	c.Abort()
}

// renderServerError is the page of an error the person cannot fix; the caller has logged it.
func (s *Server) renderServerError(c *gin.Context) {
	s.renderError(c, http.StatusInternalServerError, "Something went wrong", "The error was logged. Quote the request id below when you report it.")
}

func (s *Server) renderError(c *gin.Context, status int, heading, message string) {
	s.render(c, status, pageError, errorPage{Chrome: chromeOf(c), Heading: heading, Message: message, RequestID: requestID(c)})
}
