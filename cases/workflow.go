package cases

import (
	"fmt"
	"slices"
	"strings"
)

// CaseType is one of SPEC §1's case types.
type CaseType string

// The case types of SPEC §1.
const (
	TypeWrongAccount     CaseType = "wrong_account"
	TypeUnactivatedCard  CaseType = "unactivated_card"
	TypeRegionalMismatch CaseType = "regional_mismatch"
	TypeCodeProblem      CaseType = "code_problem"
	TypeScamVictim       CaseType = "scam_victim"
	TypePromoCredit      CaseType = "promo_credit"
	TypeUnexpectedCharge CaseType = "unexpected_charge"
	TypeOther            CaseType = "other"
)

// CaseTypes lists every case type in SPEC order.
var CaseTypes = []CaseType{
	TypeWrongAccount, TypeUnactivatedCard, TypeRegionalMismatch, TypeCodeProblem,
	TypeScamVictim, TypePromoCredit, TypeUnexpectedCharge, TypeOther,
}

// Valid reports whether t is a known case type.
func (t CaseType) Valid() bool { return slices.Contains(CaseTypes, t) }

// NeedsCards reports whether a case of this type must name at least one gift card (SPEC §1).
func (t CaseType) NeedsCards() bool {
	switch t {
	case TypePromoCredit, TypeUnexpectedCharge, TypeScamVictim, TypeOther:
		return false
	}
	return true
}

// CreditSource is the system account a `credit` on a case of this type is paid from (SPEC 4.2).
func (t CaseType) CreditSource() string {
	switch t {
	case TypeUnactivatedCard, TypeCodeProblem:
		return SystemActivationLiability
	}
	return SystemGoodwill
}

// The system accounts of SPEC §2; they exist from the first migration and hold every currency.
const (
	SystemActivationLiability = "system:activation_liability"
	SystemGoodwill            = "system:goodwill"
	SystemSuspense            = "system:suspense"
)

// SystemAccounts lists the system accounts.
var SystemAccounts = []string{SystemActivationLiability, SystemGoodwill, SystemSuspense}

// Status is a case status (R11).
type Status string

// The case statuses of R11.
const (
	StatusNew               Status = "new"
	StatusInvestigating     Status = "investigating"
	StatusWaitingOnCustomer Status = "waiting_on_customer"
	StatusPendingApproval   Status = "pending_approval"
	StatusResolved          Status = "resolved"
	StatusClosed            Status = "closed"
)

// Statuses lists every case status in workflow order.
var Statuses = []Status{
	StatusNew, StatusInvestigating, StatusWaitingOnCustomer, StatusPendingApproval, StatusResolved, StatusClosed,
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Open reports whether a case in status s is still being worked (so a correction may move it
// to pending_approval).
func (s Status) Open() bool {
	switch s {
	case StatusNew, StatusInvestigating, StatusWaitingOnCustomer, StatusPendingApproval:
		return true
	}
	return false
}

// Resolution is how a resolved case ended (R11).
type Resolution string

// The resolutions of R11.
const (
	ResolutionCorrected Resolution = "corrected"
	ResolutionDenied    Resolution = "denied"
	ResolutionNoAction  Resolution = "no_action"
	ResolutionDuplicate Resolution = "duplicate"
	ResolutionReferred  Resolution = "referred"
)

// Resolutions lists every resolution.
var Resolutions = []Resolution{
	ResolutionCorrected, ResolutionDenied, ResolutionNoAction, ResolutionDuplicate, ResolutionReferred,
}

// Valid reports whether r is a known resolution.
func (r Resolution) Valid() bool { return slices.Contains(Resolutions, r) }

// Priority is a case priority; it sets the SLA targets.
type Priority string

// The priorities of SPEC §2.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Priorities lists every priority from lowest to highest.
var Priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool { return slices.Contains(Priorities, p) }

// userTransitions is R11's table of the moves a user may ask for. pending_approval is absent on
// purpose: only the system enters and leaves it.
var userTransitions = map[Status][]Status{
	StatusNew:               {StatusInvestigating, StatusWaitingOnCustomer, StatusResolved},
	StatusInvestigating:     {StatusWaitingOnCustomer, StatusResolved},
	StatusWaitingOnCustomer: {StatusInvestigating, StatusResolved},
	StatusResolved:          {StatusInvestigating, StatusClosed},
	StatusClosed:            nil,
	StatusPendingApproval:   nil,
}

// AllowedTransitions returns the statuses a user may move a case in status from to (R11's table):
// the workflow buttons of the case page, from the same table CheckTransition reads.
func AllowedTransitions(from Status) []Status { return slices.Clone(userTransitions[from]) }

// UserTargets lists, in Statuses order, every status R11 lets a user move some case to: what a
// bulk status change may offer.
func UserTargets() []Status {
	var out []Status
	for _, s := range Statuses {
		for _, targets := range userTransitions {
			if slices.Contains(targets, s) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// CheckTransition applies R11 to a user's request to move a case from `from` to `to` with
// resolution `res` ("" for none). A same-status request is not a transition and is refused
// unless it only sets nothing new; callers skip the check when the status is unchanged.
func CheckTransition(from, to Status, res Resolution) error {
	if !to.Valid() {
		return Invalid("status", fmt.Sprintf("must be one of %s", joinNames(Statuses)))
	}
	if res != "" && !res.Valid() {
		return Invalid("resolution", fmt.Sprintf("must be one of %s", joinNames(Resolutions)))
	}
	allowed := userTransitions[from]
	if !slices.Contains(allowed, to) {
		if len(allowed) == 0 {
			return &RuleError{Code: CodeInvalidTransition, Field: "status",
				Message: fmt.Sprintf("a %s case cannot be moved by hand", from)}
		}
		return &RuleError{Code: CodeInvalidTransition, Field: "status",
			Message: fmt.Sprintf("a %s case can move to %s, not %s", from, joinNames(allowed), to)}
	}
	if to == StatusResolved && res == "" {
		return &RuleError{Code: CodeInvalidTransition, Field: "resolution",
			Message: "resolving a case needs a resolution: " + joinNames(Resolutions)}
	}
	if to != StatusResolved && res != "" {
		return &RuleError{Code: CodeInvalidTransition, Field: "resolution",
			Message: "a resolution is only accepted together with status resolved"}
	}
	return nil
}

// joinNames renders a list of enumeration values for a message: "a, b, c".
func joinNames[T ~string](values []T) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}
