package cases

import (
	"errors"
	"strings"
)

// BodyProblems runs on a decoded request body the checks its use case runs before it touches the
// database, and returns their problems. A handler whose decoding already found problems (unknown
// fields, values of the wrong type) calls it so that one 422 lists every problem of the body
// (SPEC 4.2) instead of one round per kind of mistake. A body type it does not know has none.
func (d *Desk) BodyProblems(body any) []FieldError {
	var err error
	switch in := body.(type) {
	case *NewCase:
		_, err = d.validateNewCase(*in)
	case *CardInput:
		_, err = d.checkCard(*in)
	case *CasePatch:
		err = checkCasePatch(*in)
	case *CardPatch:
		_, _, err = checkCardPatch(*in, d.now())
	case *NewCommunication:
		_, err = checkCommunication(*in, d.now())
	case *NewCorrection:
		_, _, err = checkCorrection(*in)
	case *ApprovalInput:
		_, err = checkApproval(*in)
	case *DenialInput:
		_, err = checkDenial(*in)
	case *VerdictInput:
		_, err = checkVerdict(*in)
	case selfChecking:
		return in.BodyProblems()
	}
	var re *RuleError
	if errors.As(err, &re) {
		return re.Fields
	}
	return nil
}

// InvalidBody returns the validation_failed error of a body whose decoding found problems: those
// first, in the body's order, then the problems its checks found in the rest. A check's problem
// at or under a path the decoding named is left out: the value it saw there was not the client's.
func InvalidBody(decoding, checks []FieldError) *RuleError {
	all := append([]FieldError(nil), decoding...)
	for _, c := range checks {
		covered := false
		for _, d := range decoding {
			if c.Field == d.Field || strings.HasPrefix(c.Field, d.Field+".") || strings.HasPrefix(c.Field, d.Field+"[") {
				covered = true
				break
			}
		}
		if !covered {
			all = append(all, c)
		}
	}
	return InvalidFields(all)
}

// selfChecking is a body of a sub-package's use case (webhooks) that lists its own problems, as
// BodyProblems does for the bodies of cases.
type selfChecking interface {
	BodyProblems() []FieldError
}
