package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// formErrors are a console form's problems: each under its field (named as the API names it,
// cards[0].claim_code) and all of them in a summary at the top that links to the fields.
type formErrors struct {
	Fields []fieldProblem
	Other  string // a problem that belongs to no field
}

type fieldProblem struct{ Field, Message string }

// formErrorsOf turns a refusal into form errors; ok is false for an error no form can show (a
// database outage, a missing page), which the caller hands to failPage.
func formErrorsOf(err error) (formErrors, bool) {
	var re *cases.RuleError
	if !errors.As(err, &re) || statusOf(err) >= http.StatusInternalServerError || errors.Is(err, cases.ErrNotFound) {
		return formErrors{}, false
	}
	var f formErrors
	for _, fe := range re.Fields {
		f.Fields = append(f.Fields, fieldProblem{Field: fe.Field, Message: fe.Message})
	}
	if len(f.Fields) == 0 {
		if re.Field != "" {
			f.Fields = append(f.Fields, fieldProblem{Field: re.Field, Message: re.Message})
		} else {
			f.Other = re.Message
		}
	}
	return f, true
}

// refusalOf is the one sentence a page shows above its content when an action on a row was
// refused (no form field to put it next to); ok is false for errors that are not refusals, which
// go to failPage.
func refusalOf(err error) (string, bool) {
	errs, ok := formErrorsOf(err)
	if !ok {
		return "", false
	}
	msg := errs.Other
	for _, f := range errs.Fields {
		msg = f.Message
	}
	return msg, true
}

// Any reports whether there is a problem to show.
func (f formErrors) Any() bool { return len(f.Fields) > 0 || f.Other != "" }

// For is the message of one field, "" when it has none.
func (f formErrors) For(field string) string {
	for _, p := range f.Fields {
		if p.Field == field {
			return p.Message
		}
	}
	return ""
}

// fieldID is the HTML id of a form field named as the API names it: cards[0].claim_code becomes
// f-cards-0-claim_code, an id the summary links to and aria-describedby names.
func fieldID(field string) string {
	r := strings.NewReplacer("[", "-", "]", "", ".", "-", " ", "-")
	return "f-" + r.Replace(field)
}

// redirectSeeOther ends a console POST the post/redirect/get way.
func redirectSeeOther(c *gin.Context, to string) { c.Redirect(http.StatusSeeOther, to) }

// preferencesForm reads the account form.
func preferencesForm(c *gin.Context) cases.Preferences {
	return cases.Preferences{TimeZone: c.PostForm("time_zone"), Shortcuts: c.PostForm("shortcuts") == "on"}
}
