package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"giftdesk/models"
)

// decision is what a decision holds locked. Lock order, everywhere a correction is decided or
// requested: the case, then the card, then the corrections by id (an original before its
// reversal). One order means two decisions never wait on each other in a circle.
type decision struct {
	kase models.Case
	card *models.GiftCard
	corr models.Correction
	orig *models.Correction // the reversed correction, for a reversal
}

func (d *Desk) lockDecision(ctx context.Context, tx *gorm.DB, id int64) (decision, error) {
	var dec decision
	plain, err := models.CorrectionByID(ctx, tx, id)
	if errors.Is(err, models.ErrNotFound) {
		return dec, NotFound("correction")
	}
	if err != nil {
		return dec, err
	}
	if dec.kase, err = models.CaseByIDForUpdate(ctx, tx, plain.CaseID); err != nil {
		return dec, err
	}
	if plain.CardID != nil {
		card, err := models.CardByIDForUpdate(ctx, tx, *plain.CardID)
		if err != nil {
			return dec, err
		}
		dec.card = &card
	}
	if plain.ReversesID != nil {
		orig, err := models.CorrectionByIDForUpdate(ctx, tx, *plain.ReversesID)
		if err != nil {
			return dec, err
		}
		dec.orig = &orig
	}
	dec.corr, err = models.CorrectionByIDForUpdate(ctx, tx, id)
	return dec, err
}

// lockPendingDecision locks a correction for a decision by p (R5) that would move it to status
// to: never its requester (four_eyes), only while pending (already_decided). It returns the
// case's redactor for notes when redacts (the decision carries a text), else one that has nothing to redact.
func (d *Desk) lockPendingDecision(ctx context.Context, tx *gorm.DB, p Principal, id int64, to CorrectionStatus, redacts bool) (decision, *Redactor, error) {
	dec, err := d.lockDecision(ctx, tx, id)
	if err != nil {
		return dec, nil, err
	}
	// Approvers are left to InsertApproval's unique key, which counts a supervisor once under
	// any concurrency.
	if err := decisionRefusal(p, CorrectionStatus(dec.corr.Status), dec.corr.RequestedByID, nil, dec.corr.RequiredApprovals, to); err != nil {
		return dec, nil, err
	}
	if !redacts {
		// No text to redact (an approval without a note): the case's cards are not read.
		return dec, NewRedactor(d.keys.ClaimCode, nil), nil
	}
	red, err := d.caseRedactor(ctx, tx, dec.corr.CaseID)
	return dec, red, err
}

// decisionRefusal is R5, the one check of who may move a correction of status to status to:
// a supervisor or an admin (role_required), never its requester (four_eyes), only while it is
// pending (already_decided), and for an approval once per approver (already_approved). Both the
// decisions and the console's offer of them (DecisionsFor) ask it.
func decisionRefusal(p Principal, status CorrectionStatus, requesterID int64, approverIDs []int64, required int, to CorrectionStatus) error {
	if err := p.RequireScope(ScopeCorrectionsDecide); err != nil {
		return err
	}
	if requesterID == p.UserID {
		return Forbidden(CodeFourEyes, "the requester of a correction cannot decide it")
	}
	if err := CheckCorrectionTransition(status, to); err != nil {
		return err
	}
	if to == CorrectionApplied && slices.Contains(approverIDs, p.UserID) {
		return errAlreadyApproved(required)
	}
	return nil
}

// ApprovalInput is the body of POST /api/v1/corrections/{id}/approve.
type ApprovalInput struct {
	Note string `json:"note"`
}

// DenialInput is the body of POST /api/v1/corrections/{id}/deny.
type DenialInput struct {
	Reason string `json:"reason"`
}

// checkApproval validates an approval's body and returns its trimmed note.
func checkApproval(in ApprovalInput) (string, error) {
	var f fieldErrors
	note := f.text("note", in.Note, 2000, false)
	return note, f.err()
}

// checkDenial validates a denial's body and returns its trimmed reason: a denial needs one (R5).
func checkDenial(in DenialInput) (string, error) {
	var f fieldErrors
	reason := f.text("reason", in.Reason, 2000, true)
	return reason, f.err()
}

// ApproveCorrection records a supervisor's approval (R5): never the requester's (four_eyes), only
// a supervisor's or admin's (role_required), once per supervisor (already_approved). At the
// deciding approval every guard is checked again under lock and the correction is applied in the
// same transaction (R7, R8): status, postings, audit event and outbox row. However many approve
// at once, it applies once.
func (d *Desk) ApproveCorrection(ctx context.Context, p Principal, a Actor, id int64, note string) (CorrectionView, error) {
	if err := p.RequireScope(ScopeCorrectionsDecide); err != nil {
		return CorrectionView{}, err
	}
	note, err := checkApproval(ApprovalInput{Note: note})
	if err != nil {
		return CorrectionView{}, err
	}
	var view CorrectionView
	err = d.inTxAnswering(ctx, func() any { return view }, func(tx *gorm.DB) error {
		dec, red, err := d.lockPendingDecision(ctx, tx, p, id, CorrectionApplied, note != "")
		if err != nil {
			return err
		}
		c := dec.corr
		inserted, err := models.InsertApproval(ctx, tx, &models.Approval{CorrectionID: c.ID, RequestedByID: c.RequestedByID,
			ApproverID: p.UserID, Note: red.Redact(note), CreatedAt: d.now()})
		if err != nil {
			return err
		}
		if !inserted {
			// R5 counts a supervisor once; saying so beats a silent 200, and a no-op is not an
			// action: returning rolls back, so no audit event records it.
			return errAlreadyApproved(c.RequiredApprovals)
		}
		approvals, err := models.ApprovalsOf(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if len(approvals) < c.RequiredApprovals {
			if view, err = d.decidedView(ctx, tx, c, dec.kase, approvals); err != nil {
				return err
			}
			return d.audit(ctx, tx, a, "correction.approved", "correction", c.ID, nil, view)
		}
		if c, err = d.apply(ctx, tx, a, dec, p); err != nil {
			return err
		}
		if view, err = d.decidedView(ctx, tx, c, dec.kase, approvals); err != nil {
			return err
		}
		event := "correction.applied"
		if CorrectionKind(c.Kind) == CorrectionReversal {
			event = "correction.reversed"
		}
		return d.auditAndAnnounce(ctx, tx, a, "correction.applied", "correction", c.ID, event, view)
	})
	return view, err
}

// errAlreadyApproved refuses a supervisor's second approval of a dual-approval correction (R5,
// SPEC 4.2: 409 already_approved).
func errAlreadyApproved(required int) error {
	return &RuleError{Code: CodeAlreadyApproved, Message: fmt.Sprintf("you have already approved this correction; it needs %d approvals, "+
		"so another supervisor's approval is needed to apply it", required)}
}

// apply moves the money of a locked, approved correction and returns the correction as it wrote
// it (the caller answers with it instead of reading it back).
func (d *Desk) apply(ctx context.Context, tx *gorm.DB, a Actor, dec decision, p Principal) (models.Correction, error) {
	c, now := dec.corr, d.now()
	if CorrectionKind(c.Kind) == CorrectionReversal {
		if dec.orig == nil || !CorrectionStatus(dec.orig.Status).CanBecome(CorrectionReversed) {
			return c, &RuleError{Code: CodeAlreadyReversed, Message: "the reversed correction is no longer applied"}
		}
	} else if dec.card != nil {
		// R7 again, under lock: what is applied plus this never exceeds the face value. Pending
		// requests are not counted here: this one is among them.
		applied, err := models.AppliedOnCard(ctx, tx, dec.card.ID)
		if err != nil {
			return c, err
		}
		if applied+c.AmountMinor > dec.card.FaceValueMinor {
			return c, &RuleError{Code: CodeExceedsFaceValue, Message: fmt.Sprintf("applying it would take %s from a card of %s",
				FormatMinor(applied+c.AmountMinor, Currency(c.Currency)), FormatMinor(dec.card.FaceValueMinor, Currency(c.Currency)))}
		}
	}
	// Checked again under lock: the card may have been frozen, or its facts changed, since the request.
	if dec.card != nil && dec.card.Frozen && !(CorrectionKind(c.Kind) == CorrectionCredit && dec.kase.Type == string(TypeScamVictim)) {
		return c, &RuleError{Code: CodeCardFrozen, Message: "the card was frozen after the request"}
	}
	if err := checkEvidence(ctx, tx, dec.kase, c, dec.card); err != nil {
		return c, err
	}
	if ok, err := setCorrectionStatus(ctx, tx, c, CorrectionApplied, map[string]any{"decided_by_id": p.UserID,
		"decided_at": now, "updated_at": now}); err != nil || !ok {
		if err == nil {
			err = &RuleError{Code: CodeAlreadyDecided, Message: "this correction was decided meanwhile"}
		}
		return c, err
	}
	if err := models.InsertPostings(ctx, tx, []models.Posting{
		{CorrectionID: c.ID, AccountID: c.FromAccountID, AmountMinor: -c.AmountMinor, Currency: c.Currency, CreatedAt: now},
		{CorrectionID: c.ID, AccountID: c.ToAccountID, AmountMinor: c.AmountMinor, Currency: c.Currency, CreatedAt: now},
	}); err != nil {
		return c, err
	}
	if dec.orig != nil {
		if ok, err := setCorrectionStatus(ctx, tx, *dec.orig, CorrectionReversed, map[string]any{"reversed_at": now, "updated_at": now}); err != nil || !ok {
			if err == nil {
				err = &RuleError{Code: CodeAlreadyReversed, Message: "the reversed correction changed meanwhile"}
			}
			return c, err
		}
	}
	if err := d.leavePendingApproval(ctx, tx, a, dec.kase); err != nil {
		return c, err
	}
	c.Status, c.DecidedByID, c.DecidedAt, c.UpdatedAt, c.Version = string(CorrectionApplied), &p.UserID, &now, now, c.Version+1
	return c, nil
}

// DenyCorrection refuses a pending correction with a reason (R5).
func (d *Desk) DenyCorrection(ctx context.Context, p Principal, a Actor, id int64, reason string) (CorrectionView, error) {
	if err := p.RequireScope(ScopeCorrectionsDecide); err != nil {
		return CorrectionView{}, err
	}
	reason, err := checkDenial(DenialInput{Reason: reason})
	if err != nil {
		return CorrectionView{}, err
	}
	var view CorrectionView
	err = d.inTxAnswering(ctx, func() any { return view }, func(tx *gorm.DB) error {
		dec, red, err := d.lockPendingDecision(ctx, tx, p, id, CorrectionDenied, true)
		if err != nil {
			return err
		}
		c := dec.corr
		now := d.now()
		if _, err := setCorrectionStatus(ctx, tx, c, CorrectionDenied, map[string]any{"denial_reason": red.Redact(reason),
			"decided_by_id": p.UserID, "decided_at": now, "updated_at": now}); err != nil {
			return err
		}
		if err := d.leavePendingApproval(ctx, tx, a, dec.kase); err != nil {
			return err
		}
		if c, err = models.CorrectionByID(ctx, tx, c.ID); err != nil {
			return err
		}
		if view, err = d.correctionView(ctx, tx, c); err != nil {
			return err
		}
		if err := d.audit(ctx, tx, a, "correction.denied", "correction", c.ID, nil, view); err != nil {
			return err
		}
		return d.outbox(ctx, tx, "correction.denied", view)
	})
	return view, err
}

// AccountLedger is an account with its balances and newest postings (SPEC 4.2).
type AccountLedger struct {
	AccountID   string           `json:"account_id"`
	Marketplace *string          `json:"marketplace"`
	Balances    map[string]int64 `json:"balances"`
	Postings    []PostingView    `json:"postings"`
	NextCursor  *string          `json:"next_cursor"` // null on the last page
}

// PostingView is one ledger line, with the other account of its correction and its case's ref.
type PostingView struct {
	CorrectionID   string `json:"correction_id"`
	AmountMinor    int64  `json:"amount_minor"`
	Currency       string `json:"currency"`
	At             string `json:"at"`
	CounterAccount string `json:"counter_account"`
	Case           string `json:"case"`
}

// Account returns an account's balances, computed from its postings, and a page of postings
// (Desk.Ledger, as the API shows it).
func (d *Desk) Account(ctx context.Context, p Principal, accountID, limitRaw, cursor string) (AccountLedger, error) {
	l, err := d.Ledger(ctx, p, accountID, LedgerQuery{Limit: limitRaw, Cursor: cursor})
	if err != nil {
		return AccountLedger{}, err
	}
	out := AccountLedger{AccountID: l.AccountID, Marketplace: l.Marketplace, Balances: make(map[string]int64, len(l.Balances)),
		Postings: make([]PostingView, 0, len(l.Postings))}
	for _, b := range l.Balances {
		out.Balances[b.Currency] = b.AmountMinor
	}
	if l.NextCursor != "" {
		out.NextCursor = &l.NextCursor
	}
	for _, r := range l.Postings {
		out.Postings = append(out.Postings, PostingView{CorrectionID: fmt.Sprint(r.CorrectionID), AmountMinor: r.AmountMinor,
			Currency: r.Currency, At: canonicalTime(r.At), CounterAccount: r.CounterAccount, Case: r.Case})
	}
	return out, nil
}
