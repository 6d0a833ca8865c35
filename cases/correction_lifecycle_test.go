package cases

import (
	"context"
	"errors"
	"slices"
	"testing"

	"giftdesk/models"
)

// TestCorrectionLifecycle walks every pair of correction statuses: a pending request is applied,
// denied or cancelled; an applied one may be reversed; nothing else moves. A refused move names
// why with the code SPEC 4.2 gives it.
func TestCorrectionLifecycle(t *testing.T) {
	allowed := map[CorrectionStatus][]CorrectionStatus{
		CorrectionPending: {CorrectionApplied, CorrectionDenied, CorrectionCancelled},
		CorrectionApplied: {CorrectionReversed},
	}
	if got, want := joinNames(CorrectionStatuses), "pending, applied, denied, cancelled, reversed"; got != want {
		t.Fatalf("statuses %s, want %s", got, want)
	}
	for _, from := range CorrectionStatuses {
		for _, to := range CorrectionStatuses {
			err := CheckCorrectionTransition(from, to)
			want := slices.Contains(allowed[from], to)
			if want != from.CanBecome(to) {
				t.Errorf("%s.CanBecome(%s) = %v", from, to, !want)
			}
			if want {
				if err != nil {
					t.Errorf("%s → %s refused: %v", from, to, err)
				}
				continue
			}
			code := CodeAlreadyDecided
			if to == CorrectionReversed {
				code = CodeAlreadyReversed
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Code != code {
				t.Errorf("%s → %s: err = %v, want %s", from, to, err, code)
			}
		}
	}
	if err := CheckCorrectionTransition(CorrectionPending, "approved"); err == nil {
		t.Error("an unknown status accepted")
	}
}

func TestCorrectionKinds(t *testing.T) {
	if got, want := joinNames(CorrectionKinds), "transfer, credit, reversal"; got != want {
		t.Fatalf("kinds %s, want %s", got, want)
	}
	for _, k := range CorrectionKinds {
		if !k.Valid() {
			t.Errorf("%s invalid", k)
		}
		// A reversal is final: it is never reversed in turn.
		if want := k != CorrectionReversal; k.Reversible() != want {
			t.Errorf("%s.Reversible() = %v", k, k.Reversible())
		}
	}
	if CorrectionKind("refund").Valid() || CorrectionStatus("approved").Valid() {
		t.Error("unknown values valid")
	}
}

// TestStatusChangesFollowTheLifecycle: the one writer of a correction's status refuses a move the
// table does not allow before it touches the database.
func TestStatusChangesFollowTheLifecycle(t *testing.T) {
	for _, from := range CorrectionStatuses {
		for _, to := range CorrectionStatuses {
			if from.CanBecome(to) {
				continue
			}
			ok, err := setCorrectionStatus(context.Background(), nil, models.Correction{ID: 1, Status: string(from), Version: 1}, to, map[string]any{})
			if ok || err == nil {
				t.Errorf("%s → %s written: %v, %v", from, to, ok, err)
			}
		}
	}
}
