package cases

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"giftdesk/models"
)

// PendingApproval is one correction of the approval queue with everything a supervisor weighs
// before deciding it: its case's type, its card and what is already applied on that card across
// every case it is on (R7), the evidence R6 looks at, and what the reader may decide (R5).
type PendingApproval struct {
	CorrectionView
	CaseType string
	// Card is nil for a correction that names no card.
	Card     *ApprovalCard
	Evidence EvidenceCheck
	Rights   DecisionRights
}

// ApprovalCard is the card of a correction: its face value and what transfers and credits take
// from it across all its cases, applied and pending (this correction among the pending).
type ApprovalCard struct {
	Label, Currency        string
	Face, Applied, Pending int64
	Frozen                 bool
	RedeemedTo             string
}

// EvidenceCheck is R6 on one correction: whether the rule asks evidence of it, whether the case
// holds it, and what the case holds, in one sentence.
type EvidenceCheck struct {
	Applies, Met bool
	Detail       string
}

// DecisionRights says what a principal may do with a correction now, by R5: the console offers
// only the decisions the server would accept. Why says why a decision is not offered.
type DecisionRights struct {
	Approve, Deny bool
	// Approved: the reader's approval is among those of this pending correction.
	Approved bool
	Why      string
}

// Decides reports whether any decision is offered.
func (r DecisionRights) Decides() bool { return r.Approve || r.Deny }

// DecisionsFor is R5 as the console shows it: a pending correction is decided by a supervisor or
// an admin who did not request it, and approved once by each. ApproveCorrection and
// DenyCorrection enforce the same under lock; this only says what to offer.
func DecisionsFor(p Principal, c CorrectionView) DecisionRights {
	status := CorrectionStatus(c.Status)
	if status != CorrectionPending {
		return DecisionRights{Why: "Already decided: " + c.Status + "."}
	}
	approvers := make([]int64, len(c.Approvals))
	for i, a := range c.Approvals {
		approvers[i] = a.byID
	}
	approve := decisionRefusal(p, status, c.requestedByID, approvers, c.RequiredApprovals, CorrectionApplied)
	deny := decisionRefusal(p, status, c.requestedByID, approvers, c.RequiredApprovals, CorrectionDenied)
	r := DecisionRights{Approve: approve == nil, Deny: deny == nil}
	var refusal *RuleError
	if !errors.As(cmp.Or(approve, deny), &refusal) {
		return r
	}
	switch refusal.Code {
	case CodeFourEyes:
		r.Why = "You requested this correction: another supervisor decides it (four eyes)."
	case CodeAlreadyApproved:
		r.Approved = true
		r.Why = fmt.Sprintf("You approved it; it needs %d approvals, so another supervisor's approval applies it.", c.RequiredApprovals)
	case CodeRoleRequired, CodeScopeRequired:
		r.Why = "A supervisor or an admin decides corrections."
	default:
		r.Why = refusal.Message + "."
	}
	return r
}

// PendingApprovals reads the approval queue, oldest first, a keyset page at a time (cursor from
// the previous page's NextCursor), in a fixed handful of statements whatever the page holds.
// Every signed-in role reads it; Rights says what p may decide.
func (d *Desk) PendingApprovals(ctx context.Context, p Principal, limitRaw, cursor string) (Page[PendingApproval], error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return Page[PendingApproval]{}, err
	}
	limit, err := pageLimit(limitRaw)
	if err != nil {
		return Page[PendingApproval]{}, err
	}
	after, err := DecodeCursor(cursor)
	if err != nil {
		return Page[PendingApproval]{}, err
	}
	rows, err := models.PendingCorrections(ctx, d.db, after, limit+1)
	if err != nil {
		return Page[PendingApproval]{}, storeErr(err)
	}
	var page Page[PendingApproval]
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = EncodeCursor(rows[len(rows)-1].ID)
	}
	page.Data, err = d.pendingApprovals(ctx, d.db, p, rows)
	return page, storeErr(err)
}

// ApprovalOf reads one correction as the approval queue shows it, whatever its status now: the
// confirmation step restates it, and says so when it was decided meanwhile.
func (d *Desk) ApprovalOf(ctx context.Context, p Principal, id int64) (PendingApproval, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return PendingApproval{}, err
	}
	c, err := models.CorrectionByID(ctx, d.db, id)
	if errors.Is(err, models.ErrNotFound) {
		return PendingApproval{}, NotFound("correction")
	}
	if err != nil {
		return PendingApproval{}, storeErr(err)
	}
	list, err := d.pendingApprovals(ctx, d.db, p, []models.Correction{c})
	if err != nil {
		return PendingApproval{}, storeErr(err)
	}
	return list[0], nil
}

// pendingApprovals builds the queue's rows: the corrections' views, then their cases' types,
// cards, what is applied on those cards, the cases' verified receipts and the accounts the cards
// were redeemed to, each loaded for all rows at once.
func (d *Desk) pendingApprovals(ctx context.Context, db *gorm.DB, p Principal, rows []models.Correction) ([]PendingApproval, error) {
	views, err := d.correctionViews(ctx, db, rows)
	if err != nil {
		return nil, err
	}
	var caseIDs, cardIDs []int64
	for _, c := range rows {
		caseIDs = append(caseIDs, c.CaseID)
		if c.CardID != nil {
			cardIDs = append(cardIDs, *c.CardID)
		}
	}
	types, err := models.CaseTypesByID(ctx, db, caseIDs)
	if err != nil {
		return nil, err
	}
	cards, err := models.CardsByID(ctx, db, cardIDs)
	if err != nil {
		return nil, err
	}
	money, err := models.CardMoneyOf(ctx, db, cardIDs)
	if err != nil {
		return nil, err
	}
	receipts, err := models.LargestVerifiedReceipts(ctx, db, caseIDs)
	if err != nil {
		return nil, err
	}
	var redeemedIDs []int64
	for _, card := range cards {
		if card.RedeemedToAccountID != nil {
			redeemedIDs = append(redeemedIDs, *card.RedeemedToAccountID)
		}
	}
	accounts, err := models.AccountsByID(ctx, db, redeemedIDs)
	if err != nil {
		return nil, err
	}
	out := make([]PendingApproval, 0, len(rows))
	for i, c := range rows {
		a := PendingApproval{CorrectionView: views[i], CaseType: types[c.CaseID], Rights: DecisionsFor(p, views[i])}
		facts := evidenceFacts{caseType: CaseType(a.CaseType), correction: c}
		facts.receipt, facts.hasReceipt = receipts[c.CaseID][c.Currency]
		if c.CardID != nil {
			if card, ok := cards[*c.CardID]; ok {
				m := money[card.ID]
				ac := &ApprovalCard{Label: cardLabelOf(card), Currency: card.Currency, Face: card.FaceValueMinor,
					Applied: m.Applied, Pending: m.Pending, Frozen: card.Frozen}
				if card.RedeemedToAccountID != nil {
					ac.RedeemedTo = accounts[*card.RedeemedToAccountID].AccountID
				}
				a.Card = ac
				facts.redeemedTo = card.RedeemedToAccountID
				facts.redeemedToName = ac.RedeemedTo
			}
		}
		facts.fromName = views[i].FromAccount
		a.Evidence = facts.describe()
		out = append(out, a)
	}
	return out, nil
}

// cardLabelOf names a stored card without its code, as cardLabel names a card view.
func cardLabelOf(card models.GiftCard) string {
	return cardLabel(CardView{ID: card.ID, Last4: card.ClaimCodeLast4, Serial: card.Serial})
}

// evidenceFacts is what R6 looks at for one correction: its case's type, the correction, the
// largest verified receipt of the case in the correction's currency and where its card was
// redeemed. check is R6 itself: every path that moves money calls it through checkEvidence,
// and the approval queue describes the same facts.
type evidenceFacts struct {
	caseType   CaseType
	correction models.Correction
	receipt    int64
	hasReceipt bool
	redeemedTo *int64
	// fromName and redeemedToName are the account ids shown to people.
	fromName, redeemedToName string
}

func (f evidenceFacts) needsReceipt() bool {
	return CorrectionKind(f.correction.Kind) == CorrectionCredit && f.caseType == TypeUnactivatedCard
}

func (f evidenceFacts) needsRedemption() bool {
	return CorrectionKind(f.correction.Kind) == CorrectionTransfer && f.caseType == TypeWrongAccount
}

func (f evidenceFacts) check() error {
	switch {
	case f.needsReceipt() && !(f.hasReceipt && f.receipt >= f.correction.AmountMinor):
		return &RuleError{Code: CodeEvidenceRequired, Message: "a credit on an unactivated card needs a verified receipt on the case for at least this amount"}
	case f.needsRedemption() && (f.redeemedTo == nil || *f.redeemedTo != f.correction.FromAccountID):
		return &RuleError{Code: CodeEvidenceRequired, Message: "a transfer needs its card recorded as redeemed to the from_account"}
	}
	return nil
}

func (f evidenceFacts) describe() EvidenceCheck {
	c := f.correction
	cur := Currency(c.Currency)
	out := EvidenceCheck{Applies: f.needsReceipt() || f.needsRedemption(), Met: f.check() == nil}
	switch {
	case f.needsReceipt() && f.hasReceipt:
		rel := "covers"
		if !out.Met {
			rel = "is less than"
		}
		out.Detail = fmt.Sprintf("Largest verified receipt %s %s the credit of %s.", FormatMinor(f.receipt, cur), rel, FormatMinor(c.AmountMinor, cur))
	case f.needsReceipt():
		out.Detail = fmt.Sprintf("No verified receipt in %s on the case: the credit of %s needs one.", c.Currency, FormatMinor(c.AmountMinor, cur))
	case f.needsRedemption() && f.redeemedTo == nil:
		out.Detail = "The card's redemption is not recorded: a transfer needs it redeemed to the from account."
	case f.needsRedemption() && out.Met:
		out.Detail = fmt.Sprintf("The card was redeemed to %s, the from account.", f.redeemedToName)
	case f.needsRedemption():
		out.Detail = fmt.Sprintf("The card was redeemed to %s, not to the from account %s.", f.redeemedToName, f.fromName)
	default:
		out.Detail = fmt.Sprintf("R6 asks no evidence of a %s on a %s case.", c.Kind, strings.ReplaceAll(string(f.caseType), "_", " "))
	}
	return out
}
