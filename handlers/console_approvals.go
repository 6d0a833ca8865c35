package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// approvalsView is the approval queue (SPEC 4.5, issue 22 item 1): pending corrections, oldest
// first, each with what R5, R6 and R7 weigh, and the decision panel the reader may use.
type approvalsView struct {
	Chrome chrome
	Rows   []cases.PendingApproval
	// Decided is the correction the reader just decided (?decided=ID), with its outcome.
	Decided          *decisionOutcome
	NextURL, HomeURL string
}

// Panel is the decision panel of a row of the queue.
func (v approvalsView) Panel(a cases.PendingApproval) decisionPanel {
	return decisionPanel{Correction: a.CorrectionView, Rights: a.Rights, Deny: pageForm{Prefix: "deny-" + strconv.FormatInt(a.ID, 10)}}
}

// decisionOutcome is a decided correction and the balances of its two accounts now, in its
// currency: what the supervisor checks after deciding.
type decisionOutcome struct {
	A           cases.PendingApproval
	FromBalance string
	ToBalance   string
	Message     string
}

// decisionPanel is the partial "decision": a correction's decision controls, on the queue and
// on the case page. Back is "case" when the panel sits on the case page, so that a decision
// returns there.
type decisionPanel struct {
	Correction cases.CorrectionView
	Rights     cases.DecisionRights
	Back       string
	Deny       pageForm
}

// DenyOpen reports whether the deny form starts open: after a refusal, to show its error.
func (p decisionPanel) DenyOpen() bool { return p.Deny.Errors.Any() }

// Decision is the decision panel of a correction of the case page.
func (v caseView) Decision(c cases.CorrectionView) decisionPanel {
	var p cases.Principal
	if v.Chrome.User != nil {
		p = *v.Chrome.User
	}
	return decisionPanel{Correction: c, Rights: cases.DecisionsFor(p, c), Back: "case", Deny: pageForm{Prefix: "deny-" + strconv.FormatInt(c.ID, 10)}}
}

// approvalDecideView is the confirmation step of an approval (WCAG 3.3.4: it restates amount,
// currency, accounts and card before money moves), and the page a refused decision comes back
// to, with the refusal said in words.
type approvalDecideView struct {
	Chrome  chrome
	A       cases.PendingApproval
	Back    string
	BackURL string
	Approve pageForm
	Deny    pageForm
	// FromBalance and ToBalance are the accounts' balances now, FromAfter and ToAfter once the
	// correction is applied.
	FromBalance, ToBalance, FromAfter, ToAfter string
	// Refused says why the decision was not recorded; Outcome is set when the correction is no
	// longer pending (someone decided it first).
	Refused string
	Outcome bool
	// Denying is set when the page answers a refused denial: it offers the denial alone.
	Denying bool
}

// Heading names what the page asks: a decision still open to the reader, or the correction.
func (v approvalDecideView) Heading() string {
	switch {
	case !v.Outcome && v.Denying && v.A.Rights.Deny:
		return fmt.Sprintf("Deny correction #%d?", v.A.ID)
	case !v.Outcome && !v.Denying && v.A.Rights.Approve:
		return fmt.Sprintf("Approve correction #%d?", v.A.ID)
	}
	return fmt.Sprintf("Correction #%d", v.A.ID)
}

// DenyPanel is the decision panel of the page: denying only, since the page itself approves.
func (v approvalDecideView) DenyPanel() decisionPanel {
	return decisionPanel{Correction: v.A.CorrectionView, Rights: cases.DecisionRights{Deny: v.A.Rights.Deny}, Back: v.Back, Deny: v.Deny}
}

// Facts is what the partial approval-facts restates.
func (v approvalDecideView) Facts() approvalFacts { return approvalFacts{A: v.A, Zone: v.Chrome.Zone} }

// approvalFacts is the partial approval-facts: a correction and the reader's zone.
type approvalFacts struct {
	A    cases.PendingApproval
	Zone *time.Location
}

// Facts is what the partial approval-facts shows of a row of the queue.
func (v approvalsView) Facts(a cases.PendingApproval) approvalFacts {
	return approvalFacts{A: a, Zone: v.Chrome.Zone}
}

// approvalsPage serves GET /approvals: the queue, a keyset page at a time (?cursor=).
func (s *Server) approvalsPage(c *gin.Context) {
	ctx := c.Request.Context()
	page, err := s.desk.PendingApprovals(ctx, principal(c), c.Query("limit"), c.Query("cursor"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	v := approvalsView{Chrome: chromeFor(c, "approvals"), Rows: page.Data}
	if page.NextCursor != "" {
		q := url.Values{"cursor": {page.NextCursor}}
		if l := c.Query("limit"); l != "" {
			q.Set("limit", l)
		}
		v.NextURL = "/approvals?" + q.Encode()
	}
	if c.Query("cursor") != "" {
		v.HomeURL = "/approvals"
	}
	if id := formInt(c.Query("decided")); id > 0 {
		out, err := s.outcomeOf(c, id)
		if err != nil && !errors.Is(err, cases.ErrNotFound) {
			s.failPage(c, err)
			return
		}
		if err == nil {
			v.Decided = &out
		}
	}
	s.render(c, http.StatusOK, pageApprovals, v)
}

// outcomeOf reads a decided correction with its accounts' balances in its currency.
func (s *Server) outcomeOf(c *gin.Context, id int64) (decisionOutcome, error) {
	a, err := s.desk.ApprovalOf(c.Request.Context(), principal(c), id)
	if err != nil {
		return decisionOutcome{}, err
	}
	out := decisionOutcome{A: a}
	from, to, err := s.balancesOf(c, a.CorrectionView)
	if err != nil {
		return decisionOutcome{}, err
	}
	cur := cases.Currency(a.Currency)
	out.FromBalance, out.ToBalance = cases.FormatMinor(from, cur), cases.FormatMinor(to, cur)
	switch cases.CorrectionStatus(a.Status) {
	case cases.CorrectionApplied:
		out.Message = fmt.Sprintf("Correction #%d is applied: %s moved from %s to %s.", a.ID, cases.FormatMinor(a.AmountMinor, cases.Currency(a.Currency)), a.FromAccount, a.ToAccount)
	case cases.CorrectionDenied:
		out.Message = fmt.Sprintf("Correction #%d is denied; no money moved.", a.ID)
	case cases.CorrectionPending:
		if a.Rights.Approved {
			out.Message = fmt.Sprintf("Your approval of correction #%d is recorded: %d of %d approvals. Another supervisor's approval applies it.",
				a.ID, len(a.Approvals), a.RequiredApprovals)
		} else {
			out.Message = fmt.Sprintf("Correction #%d is still pending: %d of %d approvals.", a.ID, len(a.Approvals), a.RequiredApprovals)
		}
	default:
		out.Message = fmt.Sprintf("Correction #%d is %s.", a.ID, a.Status)
	}
	return out, nil
}

// balancesOf is the balance of a correction's two accounts in its currency, as the ledger
// computes it (an account with no posting yet holds nothing).
func (s *Server) balancesOf(c *gin.Context, v cases.CorrectionView) (from, to int64, err error) {
	read := func(account string) (int64, error) {
		balances, err := s.desk.AccountBalances(c.Request.Context(), principal(c), account)
		if errors.Is(err, cases.ErrNotFound) {
			return 0, nil
		}
		return balances[v.Currency], err
	}
	if from, err = read(v.FromAccount); err != nil {
		return 0, 0, err
	}
	to, err = read(v.ToAccount)
	return from, to, err
}

// approvalConfirm serves GET /approvals/{id}/confirm: the confirmation step of an approval, as a
// page, or (?inline=1 from htmx) as the fragment the queue swaps in place of the row's panel.
func (s *Server) approvalConfirm(c *gin.Context) {
	v, err := s.decideView(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	if v.Outcome {
		v.Refused = decidedMeanwhile(v.A)
	} else if !v.A.Rights.Approve {
		v.Refused = v.A.Rights.Why
	}
	if c.Query("inline") == "1" && c.GetHeader("HX-Request") == "true" {
		s.renderFragment(c, http.StatusOK, pageApprovalDecide, "approval-confirm-inline", v)
		return
	}
	s.render(c, http.StatusOK, pageApprovalDecide, v)
}

// decideView reads the correction of the route with what its page shows.
func (s *Server) decideView(c *gin.Context) (approvalDecideView, error) {
	id, err := pathID(c)
	if err != nil {
		return approvalDecideView{}, err
	}
	a, err := s.desk.ApprovalOf(c.Request.Context(), principal(c), id)
	if err != nil {
		return approvalDecideView{}, err
	}
	back := c.Query("back")
	if c.Request.Method == http.MethodPost {
		back = c.PostForm("back")
	}
	v := approvalDecideView{Chrome: chromeFor(c, "approvals"), A: a, BackURL: "/approvals",
		Approve: pageForm{Prefix: "approve-" + strconv.FormatInt(a.ID, 10)}, Deny: pageForm{Prefix: "deny-" + strconv.FormatInt(a.ID, 10)},
		Outcome: cases.CorrectionStatus(a.Status) != cases.CorrectionPending}
	if back == "case" {
		v.Back, v.BackURL = "case", "/cases/"+url.PathEscape(a.Case)+"#corrections"
	}
	from, to, err := s.balancesOf(c, a.CorrectionView)
	if err != nil {
		return approvalDecideView{}, err
	}
	cur := cases.Currency(a.Currency)
	v.FromBalance, v.ToBalance = cases.FormatMinor(from, cur), cases.FormatMinor(to, cur)
	v.FromAfter, v.ToAfter = cases.FormatMinor(from-a.AmountMinor, cur), cases.FormatMinor(to+a.AmountMinor, cur)
	return v, nil
}

// decidedMeanwhile says that a correction is no longer pending, and how it ended.
func decidedMeanwhile(a cases.PendingApproval) string {
	return fmt.Sprintf("Correction #%d is no longer pending: it is %s. Your decision was not recorded and nothing was applied twice.", a.ID, a.Status)
}

// approvalApprove serves POST /approvals/{id}/approve: the approval, with its optional note.
func (s *Server) approvalApprove(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	_, err = s.desk.ApproveCorrection(c.Request.Context(), principal(c), actor(c), id, c.PostForm("note"))
	s.decisionDone(c, err, func(v *approvalDecideView, errs formErrors) {
		v.Approve.Errors, v.Approve.Values = errs, postedValues(c, "note")
	})
}

// approvalDeny serves POST /approvals/{id}/deny: the denial, which needs a reason (R5).
func (s *Server) approvalDeny(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	_, err = s.desk.DenyCorrection(c.Request.Context(), principal(c), actor(c), id, c.PostForm("reason"))
	s.decisionDone(c, err, func(v *approvalDecideView, errs formErrors) {
		if errs.For("reason") != "" && strings.TrimSpace(c.PostForm("reason")) == "" {
			errs.Fields = []fieldProblem{{Field: "reason", Message: "Write why you deny it: a denial needs a reason, and the requester reads it."}}
		}
		v.Deny.Errors, v.Deny.Values, v.Denying = errs, postedValues(c, "reason"), true
	})
}

// decisionDone ends a decision POST: on success a redirect to where the decision was made, which
// shows its outcome (PRG); on a refusal the decision page again, saying why in words, with the
// form's input and errors; when someone decided first, the outcome they reached.
func (s *Server) decisionDone(c *gin.Context, err error, refill func(*approvalDecideView, formErrors)) {
	if err == nil {
		id, _ := pathID(c)
		if c.PostForm("back") == "case" {
			a, rerr := s.desk.ApprovalOf(c.Request.Context(), principal(c), id)
			if rerr != nil {
				s.failPage(c, rerr)
				return
			}
			redirectSeeOther(c, "/cases/"+url.PathEscape(a.Case)+"?done=decided#corrections")
			return
		}
		redirectSeeOther(c, "/approvals?decided="+strconv.FormatInt(id, 10))
		return
	}
	errs, ok := formErrorsOf(err)
	if !ok {
		s.failPage(c, err)
		return
	}
	v, verr := s.decideView(c)
	if verr != nil {
		s.failPage(c, verr)
		return
	}
	refill(&v, errs)
	v.Refused = errs.Other
	if v.Outcome {
		v.Refused = decidedMeanwhile(v.A)
	}
	status := statusOf(err)
	if status < 400 || status >= 500 {
		status = http.StatusUnprocessableEntity
	}
	s.log.InfoContext(c.Request.Context(), "decision refused", slog.String("request_id", requestID(c)), slog.Int("status", status),
		slog.String("code", ruleCode(err)))
	s.render(c, status, pageApprovalDecide, v)
}
