package handlers

import (
	"fmt"
	"html/template"
	"strings"

	"giftdesk/cases"
)

// caseFieldView is one text field of a case page form (the case-text template).
type caseFieldView struct {
	Form                          pageForm
	Name, Label, ErrorField, Hint string
}

// timelineItemView is one timeline entry with the page it is on.
type timelineItemView struct {
	Entry cases.TimelineEntry
	View  caseView
}

// accountChoiceView is the options of an account select of the correction form.
type accountChoiceView struct {
	Accounts []string
	Selected string
}

// formFieldOf names the input a use case's field error belongs to, where the console's form
// takes a value differently (a decimal amount rather than minor units).
var formFieldOf = map[string]string{"amount_minor": "amount", "face_value_minor": "face_value"}

// casePageLabels are the case page's field labels, for its error summaries.
var casePageLabels = map[string]string{"amount_minor": "Amount", "amount": "Amount", "face_value_minor": "Face value",
	"purchased_at": "Purchased on", "duration_seconds": "Duration (seconds)", "occurred_at": "When it happened",
	"store_name": "Store", "store_location": "Store location", "card_last4": "Card last 4", "pos_transaction_id": "POS transaction",
	"counterpart_name": "Counterpart", "representative_name": "Representative name", "card_id": "Card",
	"from_account": "From account", "to_account": "To account", "frozen_reason": "Reason", "claim_code": "Claim code"}

// casePageFuncs are the case page's presentation helpers.
func casePageFuncs() template.FuncMap {
	return template.FuncMap{
		"caseField": func(f pageForm, name, label, errorField, hint string) caseFieldView {
			return caseFieldView{Form: f, Name: name, Label: label, ErrorField: errorField, Hint: hint}
		},
		// fieldLabel names a field in an error summary as its form's label does.
		"fieldLabel": func(field string) string {
			if l, ok := casePageLabels[field]; ok {
				return l
			}
			return strings.ReplaceAll(field, "_", " ")
		},
		"formField": func(field string) string {
			if n, ok := formFieldOf[field]; ok {
				return n
			}
			return field
		},
		// accountChoice offers the case's accounts: the customer first for the from side, the
		// intended account first for the to side.
		"accountChoice": func(c cases.CaseView, selected string, from bool) accountChoiceView {
			accounts := []string{c.Customer.AccountID}
			if c.IntendedAccount != nil {
				if from {
					accounts = append(accounts, c.IntendedAccount.AccountID)
				} else {
					accounts = append([]string{c.IntendedAccount.AccountID}, accounts...)
				}
			}
			if selected == "" {
				selected = accounts[0]
			}
			return accountChoiceView{Accounts: accounts, Selected: selected}
		},
		"cardStatuses":    func() []string { return []string{"unknown", "active", "not_activated", "redeemed"} },
		"evidenceKinds":   func() []string { return []string{"receipt", "activation_slip", "card_photo", "screenshot", "other"} },
		"correctionKinds": func() []string { return []string{"transfer", "credit", "reversal"} },
		"channels":        func() []string { return []string{"phone", "email", "chat", "in_person", "internal_note"} },
		"directions":      func() []string { return []string{"inbound", "outbound", "internal"} },
		"previewable":     previewable,
		"timelineItem": func(e cases.TimelineEntry, v caseView) timelineItemView {
			return timelineItemView{Entry: e, View: v}
		},
		"timelineLabel": cases.TimelineLabel,
		"changeValue":   cases.TimelineChangeText,
		"deref":         func(p *int64) int64 { return *p },
		"derefs":        func(p *string) string { return *p },
		"duration": func(p *int64) string {
			if p == nil {
				return ""
			}
			if *p < 60 {
				return fmt.Sprintf("%d s", *p)
			}
			return fmt.Sprintf("%d min %d s", *p/60, *p%60)
		},
	}
}
