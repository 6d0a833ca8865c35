package cases

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"giftdesk/models"
)

// CorrectionKind is what a correction does (SPEC 4.2).
type CorrectionKind string

// The correction kinds of SPEC 4.2, as stored.
const (
	CorrectionTransfer CorrectionKind = models.CorrectionTransfer
	CorrectionCredit   CorrectionKind = models.CorrectionCredit
	CorrectionReversal CorrectionKind = models.CorrectionReversal
)

// CorrectionKinds lists every correction kind.
var CorrectionKinds = []CorrectionKind{CorrectionTransfer, CorrectionCredit, CorrectionReversal}

// Valid reports whether k is a known correction kind.
func (k CorrectionKind) Valid() bool { return slices.Contains(CorrectionKinds, k) }

// Reversible reports whether an applied correction of kind k may be reversed: a reversal is final.
func (k CorrectionKind) Reversible() bool { return k != CorrectionReversal }

// CorrectionStatus is where a correction is in its lifecycle (SPEC 4.2, R5).
type CorrectionStatus string

// The correction statuses of SPEC 4.2, as stored.
const (
	CorrectionPending   CorrectionStatus = models.CorrectionPending
	CorrectionApplied   CorrectionStatus = models.CorrectionApplied
	CorrectionDenied    CorrectionStatus = models.CorrectionDenied
	CorrectionCancelled CorrectionStatus = models.CorrectionCancelled
	CorrectionReversed  CorrectionStatus = models.CorrectionReversed
)

// CorrectionStatuses lists every correction status in lifecycle order.
var CorrectionStatuses = []CorrectionStatus{
	CorrectionPending, CorrectionApplied, CorrectionDenied, CorrectionCancelled, CorrectionReversed,
}

// Valid reports whether s is a known correction status.
func (s CorrectionStatus) Valid() bool { return slices.Contains(CorrectionStatuses, s) }

// correctionTransitions is a correction's lifecycle: a request is pending until a supervisor
// applies or denies it or its requester cancels it; an applied correction may later be reversed
// (by an applied reversal). Every other status is final. Every status change goes through it
// (setCorrectionStatus); a correction is born pending.
var correctionTransitions = map[CorrectionStatus][]CorrectionStatus{
	CorrectionPending: {CorrectionApplied, CorrectionDenied, CorrectionCancelled},
	CorrectionApplied: {CorrectionReversed},
}

// CanBecome reports whether a correction in status s may move to status to.
func (s CorrectionStatus) CanBecome(to CorrectionStatus) bool {
	return slices.Contains(correctionTransitions[s], to)
}

// CheckCorrectionTransition refuses a move the lifecycle does not allow, with the code SPEC 4.2
// gives it: already_reversed for reversing a correction that is not applied, already_decided for
// deciding or cancelling one that is no longer pending.
func CheckCorrectionTransition(from, to CorrectionStatus) error {
	switch {
	case from.CanBecome(to):
		return nil
	case !to.Valid():
		return fmt.Errorf("correction status %q is unknown", to)
	case to == CorrectionReversed:
		return &RuleError{Code: CodeAlreadyReversed, Message: "this correction is " + string(from) + ": only an applied correction is reversed"}
	}
	return &RuleError{Code: CodeAlreadyDecided, Message: "this correction is already " + string(from)}
}

// setCorrectionStatus moves a locked correction to status to, writing changes with it, if the
// lifecycle allows the move and the correction is still at the version read. It reports whether
// the row was written.
func setCorrectionStatus(ctx context.Context, tx *gorm.DB, c models.Correction, to CorrectionStatus, changes map[string]any) (bool, error) {
	if err := CheckCorrectionTransition(CorrectionStatus(c.Status), to); err != nil {
		return false, err
	}
	changes["status"] = string(to)
	return models.UpdateCorrection(ctx, tx, c.ID, c.Version, changes)
}
