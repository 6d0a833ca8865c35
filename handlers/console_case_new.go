package handlers

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// caseTypeChoice is a case type as the new-case page offers it: SPEC §1's line for each.
type caseTypeChoice struct {
	Type        cases.CaseType
	Label       string
	Description string
}

var caseTypeChoices = []caseTypeChoice{
	{cases.TypeWrongAccount, "Redeemed on the wrong account", "A card was redeemed onto the wrong account (work vs personal, a family member's)."},
	{cases.TypeUnactivatedCard, "Card not activated", "The store never activated the card at the register; redemption fails."},
	{cases.TypeRegionalMismatch, "Card of another marketplace", "A card of one marketplace (US) was tried on another (UK)."},
	{cases.TypeCodeProblem, "Code problem", "Unreadable or scratched code, serial number typed instead of the claim code, pasted spaces, O/0 confusion."},
	{cases.TypeScamVictim, "Scam victim", `The customer was told to pay a "fine", "tax" or "fee" in gift cards and sent the codes.`},
	{cases.TypePromoCredit, "Promotional credit", "Promotional (non-gift-card) credit expired or vanished."},
	{cases.TypeUnexpectedCharge, "Unexpected charge", "1-Click or the default payment charged a bank card although a balance existed, or digital purchases drained a balance the customer was saving."},
	{cases.TypeOther, "Something else", "Anything else."},
}

func caseTypeChoiceOf(t string) *caseTypeChoice {
	for i := range caseTypeChoices {
		if string(caseTypeChoices[i].Type) == t {
			return &caseTypeChoices[i]
		}
	}
	return nil
}

// cardSlots is how many cards the form offers: the first shown, the others folded away. A form
// without JavaScript cannot add rows, and a scam often takes several cards.
const cardSlots = 5

// newCaseView is the new-case page: the type chooser (Choice nil) or the form of one type.
type newCaseView struct {
	Chrome  chrome
	Types   []caseTypeChoice
	Choice  *caseTypeChoice
	Problem string // the chooser's error

	values  map[string]string
	Errors  formErrors
	Summary []summaryLine
	Cards   []cardSlot
}

// summaryLine is one problem in the summary at the top of the form, linking to its field.
type summaryLine struct{ ID, Label, Message string }

// cardSlot is one card's fieldset. A claim code is never written back into the page: Reenter says
// one was typed, and Hint is what the desk says about it (as the htmx hint would have).
type cardSlot struct {
	Index   int
	Reenter bool
	Hint    cases.CodeHint
}

// Path is the slot's JSON path, e.g. cards[1].
func (s cardSlot) Path() string { return fmt.Sprintf("cards[%d]", s.Index) }

// Number is the slot's number as people count: Card 1.
func (s cardSlot) Number() int { return s.Index + 1 }

// Needed reports whether the first card is required by the type (SPEC §1).
func (v newCaseView) Needed() bool { return v.Choice != nil && v.Choice.Type.NeedsCards() }

// HasCards reports whether the type's form asks for cards at all.
func (v newCaseView) HasCards() bool {
	return v.Choice != nil && v.Choice.Type != cases.TypePromoCredit && v.Choice.Type != cases.TypeUnexpectedCharge
}

// Is reports whether the chosen type is t.
func (v newCaseView) Is(t string) bool { return v.Choice != nil && string(v.Choice.Type) == t }

// MoreOpen reports whether the folded cards must show: one of them holds input or a problem.
func (v newCaseView) MoreOpen() bool {
	for _, s := range v.Cards[1:] {
		if s.Reenter || v.errorsUnder(s.Path()) {
			return true
		}
		for _, f := range []string{"serial", "face_value"} {
			if v.values[s.Path()+"."+f] != "" {
				return true
			}
		}
	}
	return false
}

func (v newCaseView) errorsUnder(prefix string) bool {
	for _, p := range v.Errors.Fields {
		if strings.HasPrefix(p.Field, prefix) {
			return true
		}
	}
	return false
}

// formField is what a template needs to draw one control: its name (the API's JSON path), id,
// label, input type, value, message and the line under its label.
type formField struct {
	Name, ID, Label, Type, Value, Error, Hint string
	Required                                  bool
	Options                                   []option
	Blank                                     string // a select's empty choice; "" for none
}

// As is the field drawn as an input of type typ (email, url, datetime-local, ...).
func (f formField) As(typ string) formField { f.Type = typ; return f }

// Must is the field marked required.
func (f formField) Must() formField { f.Required = true; return f }

type option struct{ Value, Label string }

// DescribedBy is the control's aria-describedby: its hint, then its error.
func (f formField) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// Field is the control named name; hint, when given, is the line under its label.
func (v newCaseView) Field(name, label string, hint ...string) formField {
	f := formField{Name: name, ID: fieldID(name), Label: label, Type: "text", Value: v.values[name], Error: v.Errors.For(name)}
	if len(hint) > 0 {
		f.Hint = hint[0]
	}
	return f
}

// Select is Field with the options of a select: "marketplace", "card-marketplace" (may be left
// to the account's), "priority" or "status".
func (v newCaseView) Select(name, label, kind string, hint ...string) formField {
	f := v.Field(name, label, hint...)
	switch kind {
	case "marketplace", "card-marketplace":
		f.Blank = "Choose…"
		if kind == "card-marketplace" && !v.Is(string(cases.TypeRegionalMismatch)) {
			f.Blank = "Same as the account's"
		}
		for _, m := range cases.Marketplaces() {
			f.Options = append(f.Options, option{string(m), fmt.Sprintf("%s · %s", m, m.Currency())})
		}
	case "priority":
		for _, p := range cases.Priorities {
			f.Options = append(f.Options, option{string(p), string(p)})
		}
	case "status":
		for _, s := range []option{{"unknown", "not known"}, {"active", "active"}, {"not_activated", "not activated"}, {"redeemed", "redeemed"}} {
			f.Options = append(f.Options, s)
		}
	}
	return f
}

// Checked reports whether a checkbox or radio button named name holds value.
func (v newCaseView) Checked(name, value string) bool { return v.values[name] == value }

// newCaseFields are the form's fields other than the cards', by the API's JSON paths. Claim codes
// are not among them: they are read on their own and never kept.
var newCaseFields = []string{"priority", "summary", "description",
	"customer.account_id", "customer.marketplace", "customer.email", "customer.name",
	"intended_account.account_id", "intended_account.marketplace", "intended_account.email", "intended_account.name",
	"tags", "external.system", "external.id", "external.url", "freeze", "frozen_reason", "reported", "told_to_report", "assign_to_me"}

var newCaseCardFields = []string{"serial", "face_value", "marketplace", "status", "redeemed_to", "redeemed_at"}

func (s *Server) newCaseView(c *gin.Context, typ string) newCaseView {
	v := newCaseView{Chrome: chromeFor(c, "new"), Types: caseTypeChoices, Choice: caseTypeChoiceOf(typ), values: map[string]string{}}
	for i := 0; i < cardSlots; i++ {
		v.Cards = append(v.Cards, cardSlot{Index: i})
	}
	return v
}

// newCasePage serves GET /cases/new: the type chooser, or with ?type= that type's form.
func (s *Server) newCasePage(c *gin.Context) {
	typ := c.Query("type")
	v := s.newCaseView(c, typ)
	switch {
	case typ == "":
		s.render(c, http.StatusOK, pageCaseNew, v)
		return
	case v.Choice == nil:
		v.Problem = "Choose one of the types below."
		s.render(c, http.StatusBadRequest, pageCaseNew, v)
		return
	}
	v.values["priority"] = string(cases.PriorityNormal)
	v.values["freeze"], v.values["frozen_reason"] = "on", "Codes given to a scammer"
	v.values["assign_to_me"] = "on"
	for i := 0; i < cardSlots; i++ {
		p := fmt.Sprintf("cards[%d].", i)
		switch v.Choice.Type {
		case cases.TypeWrongAccount:
			v.values[p+"status"], v.values[p+"redeemed_to"] = "redeemed", "customer"
		case cases.TypeUnactivatedCard:
			v.values[p+"status"] = "not_activated"
		default:
			v.values[p+"status"] = "unknown"
		}
	}
	s.render(c, http.StatusOK, pageCaseNew, v)
}

// createCaseForm serves POST /cases/new: Desk.CreateCase, the API's use case, then 303 to the
// case. A scam case's cards are frozen in the same unit of work, so that the case and its freezes
// commit together or not at all. A refusal re-renders the form (422) with every problem next to
// its field; claim codes are never written back.
func (s *Server) createCaseForm(c *gin.Context) {
	v := s.newCaseView(c, c.PostForm("type"))
	if v.Choice == nil {
		v.Problem = "Choose one of the types below."
		s.render(c, http.StatusBadRequest, pageCaseNew, v)
		return
	}
	codes := readNewCaseForm(v, postedForm(c))
	in, slots, local := newCaseInput(v, codes, v.Chrome.Zone)
	var ref string
	var known bool
	err := s.desk.Do(c.Request.Context(), actor(c), func(w *cases.Work) error {
		view, created, err := s.desk.CreateCase(w.Context(), principal(c), actor(c), in)
		if err != nil || !created {
			ref, known = view.Ref, true
			return err
		}
		ref = view.Ref
		// The agent who takes the call works the case, unless they say otherwise.
		if v.values["assign_to_me"] == "on" {
			me := principal(c).Email
			if view, err = s.desk.UpdateCase(w.Context(), principal(c), actor(c), view.Ref, view.ETag(),
				cases.CasePatch{Assignee: cases.Nullable{Set: true, Value: me}}); err != nil {
				return err
			}
		}
		if !v.Is(string(cases.TypeScamVictim)) || v.values["freeze"] != "on" {
			return nil
		}
		frozen := true
		for _, card := range view.Cards {
			if card.Frozen {
				continue
			}
			if _, err := s.desk.UpdateCard(w.Context(), principal(c), actor(c), card.ID,
				cases.CardPatch{Frozen: &frozen, FrozenReason: v.values["frozen_reason"]}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		if known {
			redirectSeeOther(c, "/cases/"+ref+"?known=1")
			return
		}
		redirectSeeOther(c, "/cases/"+ref)
		return
	}
	errs, ok := formErrorsOf(err)
	if !ok {
		s.failPage(c, err)
		return
	}
	v.Errors = formFieldsOfCase(errs, slots, local)
	for i, code := range codes {
		if strings.TrimSpace(code) == "" {
			continue
		}
		v.Cards[i].Reenter = true
		if v.Cards[i].Hint, err = s.desk.HintClaimCode(c.Request.Context(), principal(c), actor(c), code); err != nil {
			s.failPage(c, err)
			return
		}
		// R2's refusal is the field's error already: say it once, in the hint's words.
		name := v.Cards[i].Path() + ".claim_code"
		for j := range v.Errors.Fields {
			if v.Errors.Fields[j].Field == name && v.Cards[i].Hint.Refusal != "" {
				v.Errors.Fields[j].Message, v.Cards[i].Hint.Refusal = v.Cards[i].Hint.Refusal, ""
			}
		}
	}
	v.Summary = summaryOf(v)
	s.render(c, http.StatusUnprocessableEntity, pageCaseNew, v)
}

// readNewCaseForm copies the posted fields into v's values and returns the cards' claim codes,
// read on their own: they are never kept in the values a refused form shows again.
func readNewCaseForm(v newCaseView, form url.Values) []string {
	for _, name := range newCaseFields {
		v.values[name] = form.Get(name)
	}
	codes := make([]string, cardSlots)
	for i := range codes {
		p := fmt.Sprintf("cards[%d].", i)
		for _, f := range newCaseCardFields {
			v.values[p+f] = form.Get(p + f)
		}
		codes[i] = form.Get(p + "claim_code")
	}
	return codes
}

// newCaseInput reads the form into the API's body. slots[i] is the form's slot of in.Cards[i]
// (empty optional slots are left out); local holds the problems found reading the form itself
// (an amount or a time the use case would only call missing), by the form's field names.
func newCaseInput(v newCaseView, codes []string, zone *time.Location) (cases.NewCase, []int, map[string]string) {
	val := func(name string) string { return strings.TrimSpace(v.values[name]) }
	local := map[string]string{}
	in := cases.NewCase{Priority: val("priority"), Summary: v.values["summary"], Description: v.values["description"],
		Customer: cases.AccountInput{AccountID: val("customer.account_id"), Marketplace: val("customer.marketplace"),
			Email: val("customer.email"), Name: val("customer.name")},
		External: &cases.ExternalInput{System: val("external.system"), ID: val("external.id"), URL: val("external.url")}}
	if v.Choice != nil {
		in.Type = string(v.Choice.Type)
	}
	if v.Is(string(cases.TypeWrongAccount)) {
		in.IntendedAccount = &cases.AccountInput{AccountID: val("intended_account.account_id"),
			Marketplace: val("intended_account.marketplace"), Email: val("intended_account.email"), Name: val("intended_account.name")}
	}
	for _, t := range strings.Split(v.values["tags"], ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.Tags = append(in.Tags, t)
		}
	}
	if v.Is(string(cases.TypeScamVictim)) {
		if v.values["reported"] != "" {
			in.Tags = append(in.Tags, "reported_to_fraud_team")
		}
		if v.values["told_to_report"] != "" {
			in.Tags = append(in.Tags, "customer_told_to_report")
		}
	}
	var slots []int
	for i := 0; v.HasCards() && i < cardSlots; i++ {
		p := fmt.Sprintf("cards[%d].", i)
		if strings.TrimSpace(codes[i]) == "" && val(p+"serial") == "" && val(p+"face_value") == "" && (i > 0 || !v.Needed()) {
			continue
		}
		card := cases.CardInput{ClaimCode: codes[i], Serial: val(p + "serial"), Marketplace: val(p + "marketplace"), Status: val(p + "status")}
		if card.Marketplace == "" && !v.Is(string(cases.TypeRegionalMismatch)) {
			card.Marketplace = in.Customer.Marketplace
		}
		card.Currency = string(cases.Marketplace(strings.ToUpper(card.Marketplace)).Currency())
		if fv := val(p + "face_value"); fv != "" {
			if minor, err := cases.ParseMajorUnits(fv, cases.Currency(card.Currency)); err != nil {
				local[p+"face_value"] = err.Error()
			} else {
				card.FaceValueMinor = &minor
			}
		}
		if v.Is(string(cases.TypeWrongAccount)) {
			switch val(p + "redeemed_to") {
			case "customer":
				card.RedeemedTo = in.Customer.AccountID
			case "intended":
				card.RedeemedTo = in.IntendedAccount.AccountID
			}
			if at := val(p + "redeemed_at"); at != "" {
				t, err := time.ParseInLocation("2006-01-02T15:04", at, zone)
				if err != nil {
					local[p+"redeemed_at"] = "must be a date and time"
					card.RedeemedAt = at
				} else {
					card.RedeemedAt = t.UTC().Format(time.RFC3339)
				}
			}
		}
		in.Cards = append(in.Cards, card)
		slots = append(slots, i)
	}
	return in, slots, local
}

var cardPath = regexp.MustCompile(`^cards\[(\d+)\]`)

// formFieldsOfCase names the use case's problems by the form's fields: a card by its slot, the
// currency (which follows the marketplace) by the marketplace, and the form's own reading of an
// amount or a time instead of the use case's "is required".
func formFieldsOfCase(errs formErrors, slots []int, local map[string]string) formErrors {
	var out formErrors
	out.Other = errs.Other
	for _, p := range errs.Fields {
		field := p.Field
		if m := cardPath.FindStringSubmatch(field); m != nil {
			i, _ := strconv.Atoi(m[1])
			if i < len(slots) {
				field = fmt.Sprintf("cards[%d]", slots[i]) + field[len(m[0]):]
			}
			if !strings.Contains(field, ".") {
				field += ".claim_code" // the same card twice
			}
			if rest, ok := strings.CutSuffix(field, ".currency"); ok {
				field = rest + ".marketplace"
			}
			if rest, ok := strings.CutSuffix(field, ".face_value_minor"); ok {
				field = rest + ".face_value"
			}
		}
		msg := p.Message
		if l, ok := local[field]; ok {
			msg = l
		}
		if field == "cards" {
			field = "cards[0].claim_code"
		}
		out.Fields = append(out.Fields, fieldProblem{Field: field, Message: msg})
	}
	return out
}

// summaryOf lists the form's problems in the order of the page, each with its field's label, and
// a line for every claim code to type again.
func summaryOf(v newCaseView) []summaryLine {
	var out []summaryLine
	for _, p := range v.Errors.Fields {
		out = append(out, summaryLine{ID: fieldID(p.Field), Label: fieldLabelOf(p.Field), Message: p.Message})
	}
	for _, s := range v.Cards {
		name := s.Path() + ".claim_code"
		if s.Reenter && v.Errors.For(name) == "" {
			out = append(out, summaryLine{ID: fieldID(name), Label: fieldLabelOf(name),
				Message: "re-enter the claim code: codes are never written back into a page"})
		}
	}
	return out
}

var fieldLabels = map[string]string{
	"type": "Type", "priority": "Priority", "summary": "Summary", "description": "Description", "tags": "Tags",
	"customer.account_id": "Customer account id", "customer.marketplace": "Customer marketplace",
	"customer.email": "Customer email", "customer.name": "Customer name",
	"intended_account": "Intended account", "intended_account.account_id": "Intended account id",
	"intended_account.marketplace": "Intended account marketplace", "intended_account.email": "Intended account email",
	"intended_account.name": "Intended account name", "external.system": "Ticketing system",
	"external.id": "Ticket id", "external.url": "Ticket URL", "frozen_reason": "Why freeze the cards",
	"claim_code": "claim code", "serial": "serial number", "face_value": "face value", "marketplace": "marketplace",
	"status": "status", "redeemed_to": "redeemed to", "redeemed_at": "redeemed at",
}

// fieldLabelOf is a field's label for the error summary: "Card 2: claim code".
func fieldLabelOf(field string) string {
	if m := cardPath.FindStringSubmatch(field); m != nil {
		i, _ := strconv.Atoi(m[1])
		rest := strings.TrimPrefix(field[len(m[0]):], ".")
		if l, ok := fieldLabels[rest]; ok {
			rest = l
		}
		return fmt.Sprintf("Card %d: %s", i+1, rest)
	}
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	if strings.HasPrefix(field, "tags[") {
		return "Tags"
	}
	return field
}

var claimCodeField = regexp.MustCompile(`^cards\[\d+\]\.claim_code$`)

// codeHint serves POST /cases/new/code-hint, which htmx calls as the agent leaves a claim-code
// field: a fragment saying what the desk makes of the code (Desk.HintClaimCode). A POST, so that
// the code never sits in a URL or an access log; the answer never repeats it.
func (s *Server) codeHint(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		s.failPage(c, cases.Invalid("claim_code", "the form could not be read"))
		return
	}
	var raw string
	for name, vals := range c.Request.PostForm {
		if claimCodeField.MatchString(name) && len(vals) > 0 {
			raw = vals[0]
			break
		}
	}
	hint, err := s.desk.HintClaimCode(c.Request.Context(), principal(c), actor(c), raw)
	if err != nil {
		s.failPage(c, err)
		return
	}
	var buf bytes.Buffer
	if err := s.pages.Page(pageCaseNew).ExecuteTemplate(&buf, "code-hint", hint); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render fragment", slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
		c.Status(http.StatusInternalServerError)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}
