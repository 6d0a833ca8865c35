package handlers

import (
	"bytes"
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
	"giftdesk/templates"
)

// caseView is the case page (SPEC 4.5, issue 21 items 5 and 6).
type caseView struct {
	Chrome      chrome
	Page        cases.CasePage
	Preview     cases.CorrectionPreview
	Me          string
	Resolutions []cases.Resolution
	Priorities  []cases.Priority
	Replies     []templates.Reply
	Notice      string
	Forms       caseForms
	// Newest is true when the timeline shows the newest entries first.
	Newest bool
	Audit  cases.CaseAudit
}

// caseForms is the state of each form of the case page: empty on a plain visit, the refused
// input and its errors after a refusal. A claim code is never kept.
type caseForms struct {
	Update, Card, Freeze, Comm, Evidence, Verify, Correction, Cancel pageForm
	// Stale lists what changed since the agent opened the case, when a change was refused for it.
	Stale []string
	// FreezeCard, VerifyID and CancelID say which row's form was refused.
	FreezeCard, VerifyID, CancelID int64
	// Refused is a refusal that belongs to no field (four eyes, a role, a rule on the whole
	// request), shown at the top of the page.
	Refused string
}

// pageForm is one form: its field ids carry its prefix, so that two forms of the page may both
// have an amount without sharing an id.
type pageForm struct {
	Prefix string
	Errors formErrors
	Values map[string]string
}

// ID is the HTML id of a field of the form.
func (f pageForm) ID(field string) string { return fieldID(f.Prefix + "." + field) }

// Val is the kept value of a field.
func (f pageForm) Val(field string) string { return f.Values[field] }

// Err is the message of a field (or of an item of it: tags[2]), "" when it has none.
func (f pageForm) Err(field string) string {
	for _, p := range f.Errors.Fields {
		if p.Field == field || strings.HasPrefix(p.Field, field+"[") {
			return p.Message
		}
	}
	return ""
}

// FieldErr is what the field-error markup of the page needs.
func (f pageForm) FieldErr(field string) fieldMessage {
	return fieldMessage{ID: f.ID(field) + "-error", Message: f.Err(field)}
}

type fieldMessage struct{ ID, Message string }

// flagExplanations say in one line why a case carries a flag.
var flagExplanations = map[string]string{
	cases.FlagPossibleDuplicate:  "A card, file or POS transaction of this case is also on another case: read the duplicates before any money moves.",
	cases.FlagCrossMarketplace:   "A card or the intended account belongs to another marketplace than the customer's: balances never cross marketplaces.",
	cases.FlagCardLast4Unmatched: "The last 4 printed on this receipt match no card of the case: check the number, or add the card (its claim code or serial) it belongs to.",
}

// FlagText explains a flag.
func (v caseView) FlagText(flag string) string {
	if s, ok := flagExplanations[flag]; ok {
		return s
	}
	return "Flagged " + flag + "."
}

// Mine reports whether the signed-in user is the case's assignee.
func (v caseView) Mine() bool { return v.Page.Case.Assignee != nil && *v.Page.Case.Assignee == v.Me }

// Currency is the currency of the customer's marketplace: the forms' default.
func (v caseView) Currency() string {
	return string(cases.Marketplace(v.Page.Case.Customer.Marketplace).Currency())
}

// Tags is the case's tags as the tags field shows them.
func (v caseView) Tags() string { return strings.Join(v.Page.Case.Tags, ", ") }

// AssigneeEmail is the assignee's email, "" when none.
func (v caseView) AssigneeEmail() string {
	if v.Page.Case.Assignee == nil {
		return ""
	}
	return *v.Page.Case.Assignee
}

// caseNotices are the messages shown after a change went through (post/redirect/get).
var caseNotices = map[string]string{
	"updated": "The case is updated.", "card": "The card is added.", "frozen": "The card is frozen.",
	"unfrozen": "The card is unfrozen.", "comm": "The communication is recorded.", "evidence": "The evidence is uploaded.",
	"verified": "Your verdict on the evidence is recorded.", "correction": "The correction is requested: a supervisor decides it.",
	"cancelled": "The correction request is cancelled.", "decided": "Your decision on the correction is recorded.",
}

// casePageView builds the page of ref; ?order= and ?after= page its timeline.
func (s *Server) casePageView(c *gin.Context, ref string) (caseView, error) {
	page, err := s.desk.GetCasePage(c.Request.Context(), principal(c), ref, c.Query("order"), c.Query("after"))
	if err != nil {
		return caseView{}, err
	}
	v := caseView{Chrome: chromeFor(c, "cases"), Page: page, Me: principal(c).Email, Resolutions: cases.Resolutions, Newest: c.Query("order") == "desc",
		Priorities: cases.Priorities, Preview: cases.CorrectionPreview{Cards: page.Cards}}
	// Without JavaScript the preview cannot follow the form: it says what each kind needs.
	for _, kind := range []cases.CorrectionKind{cases.CorrectionTransfer, cases.CorrectionCredit} {
		for _, need := range cases.CorrectionNeeds(page.Case, kind, cases.NewCorrection{}) {
			v.Preview.Needs = append(v.Preview.Needs, "a "+string(kind)+" "+need)
		}
	}
	for _, r := range s.replies {
		if r.Type == page.Case.Type || r.Type == "any" {
			v.Replies = append(v.Replies, r)
		}
	}
	v.Forms = caseForms{Update: pageForm{Prefix: "upd"}, Card: pageForm{Prefix: "card"}, Freeze: pageForm{Prefix: "frz"},
		Comm:     pageForm{Prefix: "comm", Values: map[string]string{"channel": "phone", "direction": "inbound"}},
		Evidence: pageForm{Prefix: "ev", Values: map[string]string{"kind": "receipt", "currency": v.Currency()}},
		Verify:   pageForm{Prefix: "ver"}, Cancel: pageForm{Prefix: "cancel"},
		Correction: pageForm{Prefix: "corr", Values: map[string]string{"kind": "transfer", "currency": v.Currency()}}}
	v.Forms.Card.Values = map[string]string{"currency": v.Currency(), "marketplace": page.Case.Customer.Marketplace, "status": "unknown"}
	if v.Audit, err = s.desk.CaseAudit(c.Request.Context(), principal(c), page.Case.Ref); err != nil {
		return caseView{}, err
	}
	return v, nil
}

// casePage serves GET /cases/{ref}. ?reply=NAME fills the communication form with a reply
// template and ?amend=ID with an entry to amend; ?done=WHAT says what the last change did.
func (s *Server) casePage(c *gin.Context) {
	v, err := s.casePageView(c, c.Param("ref"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	v.Notice = caseNotices[c.Query("done")]
	s.prefillCommunication(c, &v)
	s.render(c, http.StatusOK, pageCase, v)
}

// prefillCommunication fills the communication form from ?reply= or ?amend=.
func (s *Server) prefillCommunication(c *gin.Context, v *caseView) {
	if name := c.Query("reply"); name != "" {
		for _, r := range v.Replies {
			if r.Name == name {
				v.Forms.Comm.Values = map[string]string{"channel": "email", "direction": "outbound", "body": fillReply(r.Body, *v)}
			}
		}
	}
	if id := c.Query("amend"); id != "" {
		for _, e := range v.Page.Communications {
			if strconv.FormatInt(e.ID, 10) == id {
				vals := map[string]string{"channel": e.Channel, "direction": e.Direction, "supersedes": id,
					"occurred_at": e.OccurredAt.In(v.Chrome.Zone).Format(localLayout), "counterpart_name": e.CounterpartName,
					"representative_name": e.RepresentativeName, "reference": e.Reference, "body": e.Body,
					"occurred_exact": e.OccurredAt.UTC().Format(time.RFC3339Nano)}
				if e.DurationSeconds != nil {
					vals["duration_seconds"] = strconv.FormatInt(*e.DurationSeconds, 10)
				}
				v.Forms.Comm.Values = vals
			}
		}
	}
}

// fillReply fills a reply template's placeholders.
func fillReply(body string, v caseView) string {
	name := "there"
	if v.Page.Case.Customer.Name != nil && *v.Page.Case.Customer.Name != "" {
		name = *v.Page.Case.Customer.Name
	}
	return strings.NewReplacer("{customer_name}", name, "{ref}", v.Page.Case.Ref, "{agent_name}", v.Chrome.User.Name).Replace(body)
}

// caseReplyForm serves GET /cases/{ref}/reply: the communication form filled with a reply
// template, the fragment htmx swaps in place of the form.
func (s *Server) caseReplyForm(c *gin.Context) {
	v, err := s.casePageView(c, c.Param("ref"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.prefillCommunication(c, &v)
	s.renderFragment(c, http.StatusOK, pageCase, "comm-form", v)
}

// caseVersion serves GET /cases/{ref}/version?v=N: nothing while the case is at version N, a
// notice to reload once someone changed it.
func (s *Server) caseVersion(c *gin.Context) {
	version, err := s.desk.CaseVersion(c.Request.Context(), principal(c), c.Param("ref"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	changed := strconv.FormatInt(version, 10) != c.Query("v")
	s.renderFragment(c, http.StatusOK, pageCase, "case-version", map[string]any{"Changed": changed, "Ref": c.Param("ref")})
}

// caseCorrectionPreview serves GET /cases/{ref}/corrections/preview: what R4, R6 and R7 will
// decide on the correction form's values, the fragment htmx swaps in as the agent fills it.
func (s *Server) caseCorrectionPreview(c *gin.Context) {
	in, _ := correctionForm(c.Request.URL.Query())
	pv, err := s.desk.PreviewCorrection(c.Request.Context(), principal(c), c.Param("ref"), in)
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.renderFragment(c, http.StatusOK, pageCase, "correction-preview", pv)
}

// caseUpdate serves POST /cases/{ref}/update: status, resolution, assignee, priority, tags, each
// only when its field is posted, always with the version the form was opened at (R12).
func (s *Server) caseUpdate(c *gin.Context) {
	ref := c.Param("ref")
	patch := casePatchForm(postedForm(c))
	_, err := s.desk.UpdateCase(c.Request.Context(), principal(c), actor(c), ref, cases.CaseETag(formInt(c.PostForm("version"))), patch)
	var re *cases.RuleError
	if errors.As(err, &re) && re.Code == cases.CodeStaleVersion {
		seen := cases.CaseSeen{Status: c.PostForm("seen_status"), Priority: c.PostForm("seen_priority"),
			Assignee: c.PostForm("seen_assignee"), Tags: c.PostForm("seen_tags")}
		s.caseRefused(c, http.StatusConflict, err, func(v *caseView) {
			v.Forms.Stale = cases.ChangesSince(seen, v.Page.Case)
		})
		return
	}
	s.caseDone(c, err, "updated", "summary", func(v *caseView, errs formErrors) {
		v.Forms.Update.Errors = errs
		v.Forms.Update.Values = postedValues(c, "status", "resolution", "priority", "tags")
	})
}

// caseAddCard serves POST /cases/{ref}/cards. The claim code is never written back into the page.
func (s *Server) caseAddCard(c *gin.Context) {
	in, err := cardForm(postedForm(c), chromeOf(c).Zone)
	if err == nil {
		_, _, err = s.desk.AddCard(c.Request.Context(), principal(c), actor(c), c.Param("ref"), in)
	}
	s.caseDone(c, err, "card", "cards", func(v *caseView, errs formErrors) {
		if errs.For("claim_code") == "" && in.ClaimCode != "" {
			errs.Fields = append(errs.Fields, fieldProblem{Field: "claim_code", Message: "was not kept: re-enter it"})
		}
		v.Forms.Card.Errors = errs
		v.Forms.Card.Values = postedValues(c, "serial", "face_value", "currency", "marketplace", "status", "redeemed_to", "redeemed_at")
	})
}

// caseFreezeCard serves POST /cases/{ref}/cards/{id}/freeze: frozen=true|false with a reason.
func (s *Server) caseFreezeCard(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	frozen := c.PostForm("frozen") == "true"
	_, err = s.desk.UpdateCard(c.Request.Context(), principal(c), actor(c), id, cases.CardPatch{Frozen: &frozen, FrozenReason: c.PostForm("frozen_reason")})
	done := "frozen"
	if !frozen {
		done = "unfrozen"
	}
	s.caseDone(c, err, done, "cards", func(v *caseView, errs formErrors) {
		v.Forms.Freeze.Errors, v.Forms.FreezeCard = errs, id
		v.Forms.Freeze.Values = postedValues(c, "frozen_reason")
	})
}

// caseAddCommunication serves POST /cases/{ref}/communications, an amendment when supersedes is set.
func (s *Server) caseAddCommunication(c *gin.Context) {
	in, err := communicationForm(postedForm(c), chromeOf(c).Zone)
	if err == nil {
		_, err = s.desk.AddCommunication(c.Request.Context(), principal(c), actor(c), c.Param("ref"), in)
	}
	s.caseDone(c, err, "comm", "timeline", func(v *caseView, errs formErrors) {
		v.Forms.Comm.Errors = errs
		v.Forms.Comm.Values = postedValues(c, "channel", "direction", "occurred_at", "counterpart_name", "representative_name",
			"reference", "duration_seconds", "body", "supersedes", "occurred_exact")
	})
}

// caseAddEvidence serves POST /cases/{ref}/evidence: the same multipart reader and use case as
// the API's upload; the amount is typed as a decimal and sent on in minor units.
func (s *Server) caseAddEvidence(c *gin.Context) {
	fields, file, err := s.readUpload(c, consoleUploadFields)
	defer closeSpooled(file)
	typedAmount := fields["amount"]
	if err == nil {
		var amount *int64
		if amount, err = amountField(fields["amount"], fields["currency"], "amount_minor"); err == nil {
			delete(fields, "amount")
			if amount != nil {
				fields["amount_minor"] = strconv.FormatInt(*amount, 10)
			}
			_, err = s.desk.AddEvidence(c.Request.Context(), principal(c), actor(c), c.Param("ref"), evidenceFields(fields), file)
		}
	}
	s.caseDone(c, err, "evidence", "evidence", func(v *caseView, errs formErrors) {
		v.Forms.Evidence.Errors = errs
		kept := map[string]string{}
		for _, k := range []string{"kind", "store_name", "store_location", "purchased_at", "amount", "currency", "card_last4", "pos_transaction_id", "note"} {
			kept[k] = fields[k]
		}
		kept["amount"] = typedAmount
		v.Forms.Evidence.Values = kept
		// A browser never refills a file input: say so, or the agent sends the form without one.
		if errs.For("file") == "" {
			v.Forms.Evidence.Errors.Fields = append(v.Forms.Evidence.Errors.Fields,
				fieldProblem{Field: "file", Message: "choose the file again: a refused upload is not kept"})
		}
	})
}

// consoleUploadFields are the API's upload fields, but the amount, which the console's form
// takes as a decimal ("amount") rather than in minor units.
var consoleUploadFields = func() map[string]bool {
	m := map[string]bool{"amount": true}
	for k := range uploadFields {
		m[k] = k != "amount_minor"
	}
	return m
}()

// holdsCodeLikeWord reports whether a word of prose could be a claim code (cases.MayHoldClaimCode
// word by word: prose breaks words with spaces, which in a code are only separators).
func holdsCodeLikeWord(s string) bool {
	for _, w := range strings.Fields(s) {
		if cases.MayHoldClaimCode(strings.Trim(w, ".,;:!?()[]{}\"'")) {
			return true
		}
	}
	return false
}

// loadReplies reads the reply templates and refuses one holding a word that could be a claim
// code (ten or more letters and digits with a digit): a team edits them, and a code pasted into
// one would be sent to every customer it is used for.
func loadReplies() ([]templates.Reply, error) {
	replies, err := templates.Replies()
	if err != nil {
		return nil, err
	}
	for _, r := range replies {
		if holdsCodeLikeWord(r.Title + "\n" + r.Body) {
			return nil, fmt.Errorf("reply template %s holds what could be a claim code: take it out", r.Name)
		}
	}
	return replies, nil
}

// caseVerifyEvidence serves POST /cases/{ref}/evidence/{id}/verify.
func (s *Server) caseVerifyEvidence(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	_, err = s.desk.VerifyEvidence(c.Request.Context(), principal(c), actor(c), id, c.PostForm("verdict"), c.PostForm("note"))
	s.caseDone(c, err, "verified", "evidence", func(v *caseView, errs formErrors) {
		v.Forms.Verify.Errors, v.Forms.VerifyID = errs, id
		v.Forms.Verify.Values = postedValues(c, "note")
	})
}

// caseRequestCorrection serves POST /cases/{ref}/corrections.
func (s *Server) caseRequestCorrection(c *gin.Context) {
	in, err := correctionForm(c.Request.PostForm)
	if err == nil {
		_, err = s.desk.RequestCorrection(c.Request.Context(), principal(c), actor(c), c.Param("ref"), in)
	}
	s.caseDone(c, err, "correction", "corrections", func(v *caseView, errs formErrors) {
		v.Forms.Correction.Errors = errs
		v.Forms.Correction.Values = postedValues(c, "kind", "amount", "currency", "from_account", "to_account", "card_id", "reverses", "reason")
		if pv, perr := s.desk.PreviewCorrection(c.Request.Context(), principal(c), c.Param("ref"), in); perr == nil {
			v.Preview = pv
		}
	})
}

// caseCancelCorrection serves POST /cases/{ref}/corrections/{id}/cancel.
func (s *Server) caseCancelCorrection(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	_, err = s.desk.CancelCorrection(c.Request.Context(), principal(c), actor(c), id)
	s.caseDone(c, err, "cancelled", "corrections", func(v *caseView, errs formErrors) {
		v.Forms.Cancel.Errors, v.Forms.CancelID = errs, id
	})
}

// evidencePreview serves GET /evidence/{id}/preview: an image shown inline, only when its
// sniffed type is JPEG, PNG or WebP, under a sandbox CSP and nosniff. A PDF is only downloaded.
func (s *Server) evidencePreview(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	content, err := s.desk.OpenEvidence(c.Request.Context(), principal(c), id)
	if err != nil {
		s.failPage(c, err)
		return
	}
	if !previewable(content.ContentType) {
		c.Header("Content-Security-Policy", "sandbox; default-src 'none'")
		s.renderError(c, http.StatusUnsupportedMediaType, "No preview", "Only images are previewed. Download the file to open it.")
		return
	}
	serveEvidence(c, content, "inline")
}

// previewable reports whether an upload of this sniffed type is shown inline.
func previewable(contentType string) bool {
	switch contentType {
	case "image/jpeg", "image/png", "image/webp":
		return true
	}
	return false
}

// evidenceDownload serves GET /evidence/{id}/download: the file as an attachment.
func (s *Server) evidenceDownload(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	content, err := s.desk.OpenEvidence(c.Request.Context(), principal(c), id)
	if err != nil {
		s.failPage(c, err)
		return
	}
	serveEvidence(c, content, "attachment")
}

// caseDone ends a case page POST: on success a redirect back to the page's section (PRG); on a
// refusal the page again, with the form's errors and its input (refill keeps it).
func (s *Server) caseDone(c *gin.Context, err error, done, anchor string, refill func(*caseView, formErrors)) {
	if err == nil {
		redirectSeeOther(c, "/cases/"+url.PathEscape(c.Param("ref"))+"?done="+done+"#"+anchor)
		return
	}
	errs, ok := formErrorsOf(err)
	if !ok {
		s.failPage(c, err)
		return
	}
	status := statusOf(err)
	if status < 400 || status >= 500 {
		status = http.StatusUnprocessableEntity
	}
	s.caseRefused(c, status, err, func(v *caseView) {
		refill(v, errs)
		v.Forms.Refused = errs.Other
	})
}

// caseRefused renders the case page as it is now, with a refused form's state.
func (s *Server) caseRefused(c *gin.Context, status int, cause error, state func(*caseView)) {
	v, err := s.casePageView(c, c.Param("ref"))
	if err != nil {
		s.failPage(c, err)
		return
	}
	state(&v)
	s.log.InfoContext(c.Request.Context(), "case form refused", slog.String("request_id", requestID(c)), slog.Int("status", status),
		slog.String("code", ruleCode(cause)))
	s.render(c, status, pageCase, v)
}

func ruleCode(err error) string {
	var re *cases.RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}

// renderFragment writes one named template of a page: what htmx swaps in.
func (s *Server) renderFragment(c *gin.Context, status int, page, name string, view any) {
	var buf bytes.Buffer
	if err := s.pages.Page(page).ExecuteTemplate(&buf, name, view); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render fragment", slog.String("fragment", name),
			slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("Something went wrong.\n"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// correctionForm reads the correction form (posted, or the preview's query). The amount is typed
// as a decimal in the form's currency.
func correctionForm(form url.Values) (cases.NewCorrection, error) {
	in := cases.NewCorrection{Kind: form.Get("kind"), Currency: form.Get("currency"), FromAccount: form.Get("from_account"),
		ToAccount: form.Get("to_account"), CardID: form.Get("card_id"), Reason: form.Get("reason"), Reverses: form.Get("reverses")}
	if in.Kind == string(cases.CorrectionReversal) {
		// A reversal takes these from its original: the form's defaults must not be refused.
		in.Currency, in.FromAccount, in.ToAccount, in.CardID = "", "", "", ""
		return in, nil
	}
	if in.Kind == string(cases.CorrectionCredit) {
		in.FromAccount = ""
	}
	amount, err := amountField(form.Get("amount"), in.Currency, "amount_minor")
	in.AmountMinor = amount
	return in, err
}

// postedForm is the request's posted form, as c.PostForm reads it (gin parses it on first use).
func postedForm(c *gin.Context) url.Values {
	c.PostForm("")
	return c.Request.PostForm
}

// casePatchForm reads the case page's update form: status, resolution and priority as posted,
// assignee and tags only when their field is posted (an empty assignee unassigns).
func casePatchForm(form url.Values) cases.CasePatch {
	patch := cases.CasePatch{Status: form.Get("status"), Resolution: form.Get("resolution"), Priority: form.Get("priority")}
	if _, ok := form["assignee"]; ok {
		a := form.Get("assignee")
		patch.Assignee = cases.Nullable{Set: true, Null: strings.TrimSpace(a) == "", Value: a}
	}
	if _, ok := form["tags"]; ok {
		tags := []string{}
		for _, tag := range strings.Split(form.Get("tags"), ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				tags = append(tags, tag)
			}
		}
		patch.Tags = &tags
	}
	return patch
}

// cardForm reads the add-card form: the face value typed as a decimal in the card's currency,
// the redemption time in the user's zone.
func cardForm(form url.Values, zone *time.Location) (cases.CardInput, error) {
	in := cases.CardInput{ClaimCode: form.Get("claim_code"), Serial: form.Get("serial"), Currency: form.Get("currency"),
		Marketplace: form.Get("marketplace"), Status: form.Get("status"), RedeemedTo: form.Get("redeemed_to"),
		RedeemedAt: localToRFC3339(form.Get("redeemed_at"), zone)}
	amount, err := amountField(form.Get("face_value"), in.Currency, "face_value_minor")
	in.FaceValueMinor = amount
	return in, err
}

// communicationForm reads the communication form, an amendment when supersedes is set.
func communicationForm(form url.Values, zone *time.Location) (cases.NewCommunication, error) {
	in := cases.NewCommunication{Channel: form.Get("channel"), Direction: form.Get("direction"),
		OccurredAt: amendedTime(form.Get("occurred_at"), form.Get("occurred_exact"), zone), CounterpartName: form.Get("counterpart_name"),
		RepresentativeName: form.Get("representative_name"), Reference: form.Get("reference"), Body: form.Get("body"),
		Supersedes: form.Get("supersedes")}
	if d := strings.TrimSpace(form.Get("duration_seconds")); d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return in, cases.Invalid("duration_seconds", "must be a whole number of seconds")
		}
		in.DurationSeconds = &n
	}
	return in, nil
}

// amountField reads a decimal amount field into minor units; "" is nil.
func amountField(raw, currency, field string) (*int64, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	cur := cases.Currency(strings.ToUpper(strings.TrimSpace(currency)))
	if !cur.Valid() {
		var codes []string
		for _, c := range cases.Currencies() {
			codes = append(codes, string(c))
		}
		return nil, cases.Invalid("currency", "must be a three-letter currency code: "+strings.Join(codes, ", "))
	}
	n, err := cases.ParseMajorUnits(raw, cur)
	if err != nil {
		return nil, cases.Invalid(field, err.Error())
	}
	return &n, nil
}

// localLayout is the value of a datetime-local input.
const localLayout = "2006-01-02T15:04"

// localToRFC3339 reads a datetime-local value in the user's zone; any other text is passed on
// for the use case to judge.
func localToRFC3339(s string, zone *time.Location) string {
	if t, err := time.ParseInLocation(localLayout, strings.TrimSpace(s), zone); err == nil {
		return t.Format(time.RFC3339)
	}
	return s
}

// amendedTime is the occurred_at of a posted communication. The amend form shows the entry's
// time to the minute (a datetime-local input) and carries the exact time beside it: left as
// shown, the amendment keeps the exact time, so that it is not moved back up to 59 seconds,
// before its own original.
func amendedTime(local, exact string, zone *time.Location) string {
	if t, err := time.Parse(time.RFC3339Nano, exact); err == nil && t.In(zone).Format(localLayout) == strings.TrimSpace(local) {
		return t.Format(time.RFC3339Nano)
	}
	return localToRFC3339(local, zone)
}

// postedValues keeps the named fields of a refused form.
func postedValues(c *gin.Context, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = c.PostForm(n)
	}
	return out
}

// formInt reads a positive integer field; 0 when it is not one.
func formInt(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
