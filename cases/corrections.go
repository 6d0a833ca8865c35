package cases

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// NewCorrection is the body of POST /api/v1/cases/{ref}/corrections (SPEC 4.2).
type NewCorrection struct {
	Kind        string `json:"kind"`
	AmountMinor *int64 `json:"amount_minor"`
	Currency    string `json:"currency"`
	FromAccount string `json:"from_account"`
	ToAccount   string `json:"to_account"`
	CardID      string `json:"card_id"`
	Reason      string `json:"reason"`
	Reverses    string `json:"reverses"`
}

// ApprovalView is one approval of a correction.
type ApprovalView struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Note string    `json:"note"`
	byID int64     // the approver, for R5 (decisionRefusal)
}

// CorrectionView is a correction as SPEC 4.2 shows it.
type CorrectionView struct {
	ID                int64          `json:"id,string"`
	Case              string         `json:"case"`
	Kind              string         `json:"kind"`
	Status            string         `json:"status"`
	AmountMinor       int64          `json:"amount_minor"`
	Currency          string         `json:"currency"`
	FromAccount       string         `json:"from_account"`
	ToAccount         string         `json:"to_account"`
	CardID            *string        `json:"card_id"`
	Reason            string         `json:"reason"`
	RequiredApprovals int            `json:"required_approvals"`
	Approvals         []ApprovalView `json:"approvals"`
	RequestedBy       string         `json:"requested_by"`
	requestedByID     int64          // the requester, for R5 (decisionRefusal)
	DenialReason      *string        `json:"denial_reason"`
	Reverses          *string        `json:"reverses"`
	ReversedBy        *string        `json:"reversed_by"`
	CreatedAt         time.Time      `json:"created_at"`
	DecidedAt         *time.Time     `json:"decided_at"`
}

func (d *Desk) correctionView(ctx context.Context, db *gorm.DB, c models.Correction) (CorrectionView, error) {
	views, err := d.correctionViews(ctx, db, []models.Correction{c})
	if err != nil {
		return CorrectionView{}, err
	}
	return views[0], nil
}

// correctionViews builds the views of many corrections in a fixed handful of statements: their
// cases, accounts, people, approvals and reversals are each loaded for all of them at once.
func (d *Desk) correctionViews(ctx context.Context, db *gorm.DB, list []models.Correction) ([]CorrectionView, error) {
	ids := make([]int64, 0, len(list))
	var caseIDs []int64
	for _, c := range list {
		ids = append(ids, c.ID)
		caseIDs = append(caseIDs, c.CaseID)
	}
	var parts correctionParts
	var err error
	if parts.refs, err = models.CaseRefsByID(ctx, db, caseIDs); err != nil {
		return nil, err
	}
	if parts.approvals, err = models.ApprovalsOfMany(ctx, db, ids); err != nil {
		return nil, err
	}
	if err := loadCorrectionPeople(ctx, db, list, &parts); err != nil {
		return nil, err
	}
	if parts.reversals, err = models.LiveReversalsOf(ctx, db, ids); err != nil {
		return nil, err
	}
	return assembleCorrectionViews(list, parts), nil
}

// correctionParts is what correction views show beside their rows: correctionViews reads it all,
// a decision knows its case's ref and the approvals it just counted (decidedView).
type correctionParts struct {
	refs      map[int64]string                 // case refs by case id
	accounts  map[int64]models.CustomerAccount // from and to accounts by row id
	approvals map[int64][]models.Approval      // by correction id, oldest first
	emails    map[int64]string                 // requesters and approvers by user id
	reversals map[int64]int64                  // live reversal by reversed correction id
}

// loadCorrectionPeople reads the accounts and the people (requesters, approvers of
// parts.approvals) the corrections of list show.
func loadCorrectionPeople(ctx context.Context, db *gorm.DB, list []models.Correction, parts *correctionParts) error {
	var accountIDs, userIDs []int64
	for _, c := range list {
		accountIDs = append(accountIDs, c.FromAccountID, c.ToAccountID)
		userIDs = append(userIDs, c.RequestedByID)
	}
	for _, aps := range parts.approvals {
		for _, ap := range aps {
			userIDs = append(userIDs, ap.ApproverID)
		}
	}
	var err error
	if parts.accounts, err = models.AccountsByID(ctx, db, accountIDs); err != nil {
		return err
	}
	parts.emails, err = models.UserEmails(ctx, db, userIDs)
	return err
}

// decidedView is the view of a correction c just decided in tx on the case locked as kase, with
// approvals, its approvals as counted in tx: its case's ref and approvals are known, and a
// correction that was pending until now has no reversal (only an applied one is reversed), so
// only its accounts and people are read.
func (d *Desk) decidedView(ctx context.Context, tx *gorm.DB, c models.Correction, kase models.Case, approvals []models.Approval) (CorrectionView, error) {
	parts := correctionParts{refs: map[int64]string{kase.ID: kase.Ref}, approvals: map[int64][]models.Approval{c.ID: approvals}}
	list := []models.Correction{c}
	if err := loadCorrectionPeople(ctx, tx, list, &parts); err != nil {
		return CorrectionView{}, err
	}
	return assembleCorrectionViews(list, parts)[0], nil
}

// assembleCorrectionViews builds the views of list from their parts, without the database.
func assembleCorrectionViews(list []models.Correction, parts correctionParts) []CorrectionView {
	out := make([]CorrectionView, 0, len(list))
	for _, c := range list {
		v := CorrectionView{ID: c.ID, Case: parts.refs[c.CaseID], Kind: c.Kind, Status: c.Status, AmountMinor: c.AmountMinor, Currency: c.Currency,
			FromAccount: parts.accounts[c.FromAccountID].AccountID, ToAccount: parts.accounts[c.ToAccountID].AccountID,
			CardID: idString(c.CardID), Reason: c.Reason, RequiredApprovals: c.RequiredApprovals, RequestedBy: parts.emails[c.RequestedByID], requestedByID: c.RequestedByID,
			DenialReason: c.DenialReason, Reverses: idString(c.ReversesID), CreatedAt: c.CreatedAt, DecidedAt: c.DecidedAt,
			Approvals: []ApprovalView{}}
		for _, ap := range parts.approvals[c.ID] {
			v.Approvals = append(v.Approvals, ApprovalView{By: parts.emails[ap.ApproverID], At: ap.CreatedAt, Note: ap.Note, byID: ap.ApproverID})
		}
		if r, ok := parts.reversals[c.ID]; ok {
			v.ReversedBy = idString(&r)
		}
		out = append(out, v)
	}
	return out
}

// checkCorrection is the validation of a correction request that needs no database, every
// problem at once; it returns the kind and the trimmed reason. What needs the case (its accounts,
// its cards, the reversed correction) is checked when the request is recorded.
func checkCorrection(in NewCorrection) (kind CorrectionKind, reason string, err error) {
	var f fieldErrors
	kind = CorrectionKind(strings.TrimSpace(in.Kind))
	if !kind.Valid() {
		f.add("kind", "must be transfer, credit or reversal")
	}
	reason = f.text("reason", in.Reason, 2000, true)
	account := func(field, id string, required bool) {
		switch id = strings.TrimSpace(id); {
		case id == "" && required:
			f.add(field, "is required")
		case id == "":
		case !accountIDPattern.MatchString(id):
			f.add(field, "must be 1 to 64 letters, digits or . _ : -")
		case strings.HasPrefix(strings.ToLower(id), "system:"):
			f.add(field, "must be the case's customer or intended account, not one of the desk's")
		}
	}
	id := func(field, s, required string) {
		switch s = strings.TrimSpace(s); {
		case s == "" && required != "":
			f.add(field, required)
		case s == "":
		default:
			if n, err := strconv.ParseInt(s, 10, 64); err != nil || n <= 0 {
				f.add(field, "must be an id as the desk answers it, e.g. \"42\"")
			}
		}
	}
	switch kind {
	case CorrectionTransfer, CorrectionCredit:
		switch {
		case in.AmountMinor == nil:
			f.add("amount_minor", "is required")
		case *in.AmountMinor <= 0 || *in.AmountMinor > maxFaceValueMinor:
			f.add("amount_minor", "must be a positive amount in minor units")
		}
		if !Currency(strings.ToUpper(strings.TrimSpace(in.Currency))).Valid() {
			f.add("currency", "must be one of "+joinNames(Currencies()))
		}
		if kind == CorrectionCredit && strings.TrimSpace(in.FromAccount) != "" {
			f.add("from_account", "a credit comes from the desk's account for the case type; leave from_account out")
		} else {
			account("from_account", in.FromAccount, kind == CorrectionTransfer)
		}
		account("to_account", in.ToAccount, false)
		cardRequired := ""
		if kind == CorrectionTransfer {
			cardRequired = "is required: name the card this correction is about"
		}
		id("card_id", in.CardID, cardRequired)
		if strings.TrimSpace(in.Reverses) != "" {
			f.add("reverses", "only a reversal names the correction it reverses")
		}
	case CorrectionReversal:
		id("reverses", in.Reverses, "is required: the id of the applied correction to reverse")
		given := map[string]bool{"amount_minor": in.AmountMinor != nil, "currency": strings.TrimSpace(in.Currency) != "",
			"from_account": strings.TrimSpace(in.FromAccount) != "", "to_account": strings.TrimSpace(in.ToAccount) != "",
			"card_id": strings.TrimSpace(in.CardID) != ""}
		for _, field := range []string{"amount_minor", "currency", "from_account", "to_account", "card_id"} {
			if given[field] {
				f.add(field, "a reversal takes it from the correction it reverses; leave it out")
			}
		}
	}
	return kind, reason, f.err()
}

// RequestCorrection records a pending correction on a case after every request-time guard:
// R4 marketplace_mismatch, R6 evidence_required, R7 exceeds_face_value (pending requests count,
// so two requests cannot together promise more than the card holds), already_reversed and
// card_frozen. The case moves to pending_approval. No money moves until a supervisor approves.
func (d *Desk) RequestCorrection(ctx context.Context, p Principal, a Actor, ref string, in NewCorrection) (CorrectionView, error) {
	if err := p.RequireScope(ScopeCorrectionsWrite); err != nil {
		return CorrectionView{}, err
	}
	kind, reason, err := checkCorrection(in)
	if err != nil {
		return CorrectionView{}, err
	}
	var view CorrectionView
	err = d.inTxAnswering(ctx, func() any { return view }, func(tx *gorm.DB) error {
		kase, err := lockOpenCase(ctx, tx, ref)
		if err != nil {
			return err
		}
		if !Status(kase.Status).Open() {
			return &RuleError{Code: CodeInvalidTransition, Field: "status", Message: "corrections are requested on open cases; reopen it first"}
		}
		red, err := d.caseRedactor(ctx, tx, kase.ID)
		if err != nil {
			return err
		}
		c := models.Correction{CaseID: kase.ID, Kind: string(kind), Status: string(CorrectionPending), Reason: red.Redact(reason), RequestedByID: p.UserID,
			CreatedAt: d.now(), UpdatedAt: d.now()}
		if kind == CorrectionReversal {
			err = d.reversalRequest(ctx, tx, kase, in, &c)
		} else {
			err = d.moneyRequest(ctx, tx, kase, in, &c)
		}
		if err != nil {
			return err
		}
		c.RequiredApprovals = d.thresholds.RequiredApprovals(c.AmountMinor, Currency(c.Currency))
		if err := models.InsertCorrection(ctx, tx, &c); err != nil {
			if models.IsUniqueViolation(err) {
				return &RuleError{Code: CodeAlreadyReversed, Field: "reverses", Message: "this correction already has a reversal"}
			}
			return err
		}
		if err := d.moveBySystem(ctx, tx, a, kase, StatusPendingApproval); err != nil {
			return err
		}
		if view, err = d.correctionView(ctx, tx, c); err != nil {
			return err
		}
		if err := d.audit(ctx, tx, a, "correction.requested", "correction", c.ID, nil, view); err != nil {
			return err
		}
		return d.outbox(ctx, tx, "correction.requested", view)
	})
	return view, err
}

// moneyRequest fills a transfer or credit and applies its request-time guards, its card locked
// so that two requests on one card are checked one after the other (R7).
func (d *Desk) moneyRequest(ctx context.Context, tx *gorm.DB, kase models.Case, in NewCorrection, c *models.Correction) error {
	from, to, card, err := resolveMoney(ctx, tx, kase, in, c, models.CardByIDForUpdate)
	if err != nil {
		return err
	}
	return moneyGuards(ctx, tx, kase, *c, from, to, card)
}

// resolveMoney fills a transfer's or credit's amount, currency, accounts and card from the
// request, refusing accounts and cards that are not the case's. loadCard reads the card: locked
// when the request is recorded, plainly for a preview.
func resolveMoney(ctx context.Context, tx *gorm.DB, kase models.Case, in NewCorrection, c *models.Correction,
	loadCard func(context.Context, *gorm.DB, int64) (models.GiftCard, error)) (from, to models.CustomerAccount, card *models.GiftCard, err error) {
	c.AmountMinor, c.Currency = *in.AmountMinor, strings.ToUpper(in.Currency)
	account := func(field, id string) (models.CustomerAccount, error) {
		acct, err := models.AccountByAccountID(ctx, tx, strings.TrimSpace(id))
		if errors.Is(err, models.ErrNotFound) || (err == nil && acct.ID != kase.CustomerAccountID && (kase.IntendedAccountID == nil || acct.ID != *kase.IntendedAccountID)) {
			return acct, Invalid(field, "must be the case's customer or intended account")
		}
		return acct, err
	}
	toID := strings.TrimSpace(in.ToAccount)
	if toID == "" {
		customer, err := models.AccountByID(ctx, tx, kase.CustomerAccountID)
		if err != nil {
			return from, to, nil, err
		}
		toID = customer.AccountID
	}
	if to, err = account("to_account", toID); err != nil {
		return from, to, nil, err
	}
	if CorrectionKind(c.Kind) == CorrectionCredit {
		if strings.TrimSpace(in.FromAccount) != "" {
			return from, to, nil, Invalid("from_account", "a credit comes from the desk's account for the case type; leave from_account out")
		}
		if from, err = models.AccountByAccountID(ctx, tx, CaseType(kase.Type).CreditSource()); err != nil {
			return from, to, nil, err
		}
	} else if from, err = account("from_account", in.FromAccount); err != nil {
		return from, to, nil, err
	}
	if from.ID == to.ID || to.IsSystem {
		return from, to, nil, Invalid("to_account", "must be a customer account other than from_account")
	}
	c.FromAccountID, c.ToAccountID = from.ID, to.ID
	cards, err := models.CardsOfCase(ctx, tx, kase.ID)
	if err != nil {
		return from, to, nil, err
	}
	if s := strings.TrimSpace(in.CardID); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return from, to, nil, Invalid("card_id", "must be the id of a card on the case")
		}
		loaded, err := loadCard(ctx, tx, id)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return from, to, nil, err // an outage is no answer about the card
		}
		onCase := false
		for _, k := range cards {
			onCase = onCase || k.ID == id
		}
		if err != nil || !onCase {
			return from, to, nil, Invalid("card_id", "must be the id of a card on the case")
		}
		card = &loaded
		c.CardID = &loaded.ID
	} else if CorrectionKind(c.Kind) == CorrectionTransfer || len(cards) > 0 {
		return from, to, nil, Invalid("card_id", "name the card this correction is about")
	}
	return from, to, card, nil
}

// moneyGuards applies the request-time guards of a transfer or credit whose accounts and card are
// resolved: R4 marketplace_mismatch, card_frozen, R6 evidence_required and R7 exceeds_face_value.
// RequestCorrection and PreviewCorrection both call it, so that what the console announces before
// submit is what the request meets.
func moneyGuards(ctx context.Context, db *gorm.DB, kase models.Case, c models.Correction, from, to models.CustomerAccount, card *models.GiftCard) error {
	if err := marketplaceRule(c, from, to, card); err != nil {
		return err
	}
	if card != nil {
		if card.Frozen && !(CorrectionKind(c.Kind) == CorrectionCredit && kase.Type == string(TypeScamVictim)) {
			return &RuleError{Code: CodeCardFrozen, Field: "card_id", Message: "this card is frozen: only a credit on a scam_victim case may name it"}
		}
	}
	if err := checkEvidence(ctx, db, kase, c, card); err != nil {
		return err
	}
	// R7: what the card is promised, pending requests included, never exceeds its face value.
	if card != nil {
		committed, err := models.CommittedOnCard(ctx, db, card.ID)
		if err != nil {
			return err
		}
		if err := faceValueRule(*card, committed, c.AmountMinor); err != nil {
			return err
		}
	}
	return nil
}

// faceValueRule is R7 at request time: what a card is already promised (committed: applied and
// pending) plus amount never exceeds its face value.
func faceValueRule(card models.GiftCard, committed, amount int64) error {
	if committed+amount > card.FaceValueMinor {
		return &RuleError{Code: CodeExceedsFaceValue, Field: "amount_minor", Message: fmt.Sprintf("the card's face value is %s and %s is already applied or requested on it",
			FormatMinor(card.FaceValueMinor, Currency(card.Currency)), FormatMinor(committed, Currency(card.Currency)))}
	}
	return nil
}

// reversalRequest fills a reversal from its original: same card, amount and currency, accounts
// swapped. It is never refused by R7's sum; a correction is reversed at most once.
func (d *Desk) reversalRequest(ctx context.Context, tx *gorm.DB, kase models.Case, in NewCorrection, c *models.Correction) error {
	id, err := strconv.ParseInt(strings.TrimSpace(in.Reverses), 10, 64)
	if err != nil || id <= 0 {
		return Invalid("reverses", "must be the id of an applied correction of this case")
	}
	orig, err := models.CorrectionByIDForUpdate(ctx, tx, id)
	if errors.Is(err, models.ErrNotFound) || (err == nil && orig.CaseID != kase.ID) {
		return Invalid("reverses", "must be the id of an applied correction of this case")
	}
	if err != nil {
		return err
	}
	_, err = models.LiveReversal(ctx, tx, orig.ID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	live := err == nil
	if CorrectionStatus(orig.Status) == CorrectionReversed || live {
		return &RuleError{Code: CodeAlreadyReversed, Field: "reverses", Message: "this correction is already reversed, or its reversal is pending"}
	}
	if !CorrectionStatus(orig.Status).CanBecome(CorrectionReversed) || !CorrectionKind(orig.Kind).Reversible() {
		return Invalid("reverses", "only an applied transfer or credit can be reversed")
	}
	if orig.CardID != nil {
		card, err := models.CardByIDForUpdate(ctx, tx, *orig.CardID)
		if err != nil {
			return err
		}
		if card.Frozen {
			return &RuleError{Code: CodeCardFrozen, Field: "reverses", Message: "the card of this correction is frozen: nothing moves on it"}
		}
	}
	c.ReversesID, c.CardID = &orig.ID, orig.CardID
	c.AmountMinor, c.Currency = orig.AmountMinor, orig.Currency
	c.FromAccountID, c.ToAccountID = orig.ToAccountID, orig.FromAccountID
	return nil
}

// CancelCorrection withdraws a pending correction; only its requester may (SPEC 4.2). When no
// correction of the case is pending any more, the case goes back to investigating (R11).
func (d *Desk) CancelCorrection(ctx context.Context, p Principal, a Actor, id int64) (CorrectionView, error) {
	if err := p.RequireScope(ScopeCorrectionsWrite); err != nil {
		return CorrectionView{}, err
	}
	var view CorrectionView
	err := d.inTxAnswering(ctx, func() any { return view }, func(tx *gorm.DB) error {
		dec, err := d.lockDecision(ctx, tx, id)
		if err != nil {
			return err
		}
		c := dec.corr
		if c.RequestedByID != p.UserID {
			return Forbidden(CodeRequesterOnly, "only the requester can cancel a correction")
		}
		if err := CheckCorrectionTransition(CorrectionStatus(c.Status), CorrectionCancelled); err != nil {
			return err
		}
		before, err := d.correctionView(ctx, tx, c)
		if err != nil {
			return err
		}
		if _, err := setCorrectionStatus(ctx, tx, c, CorrectionCancelled, map[string]any{"updated_at": d.now()}); err != nil {
			return err
		}
		c.Status = string(CorrectionCancelled)
		if err := d.leavePendingApproval(ctx, tx, a, dec.kase); err != nil {
			return err
		}
		if view, err = d.correctionView(ctx, tx, c); err != nil {
			return err
		}
		return d.audit(ctx, tx, a, "correction.cancelled", "correction", c.ID, before, view)
	})
	return view, err
}

// leavePendingApproval moves a case back to investigating once none of its corrections is
// pending (R11: the system enters and leaves pending_approval). kase is the case as the caller
// locked it in this transaction (lockDecision), unchanged since: it is not read again.
func (d *Desk) leavePendingApproval(ctx context.Context, tx *gorm.DB, a Actor, kase models.Case) error {
	if kase.Status != string(StatusPendingApproval) {
		return nil
	}
	n, err := models.PendingOnCase(ctx, tx, kase.ID)
	if err != nil || n > 0 {
		return err
	}
	return d.moveBySystem(ctx, tx, a, kase, StatusInvestigating)
}

// moveBySystem is R11's system move into or out of pending_approval, on a case locked by the
// caller: the status, a new version, and an audit event that says so (the case's timeline shows
// it), done on behalf of the actor whose request caused it.
func (d *Desk) moveBySystem(ctx context.Context, tx *gorm.DB, a Actor, kase models.Case, to Status) error {
	if kase.Status == string(to) {
		return nil
	}
	now := d.now()
	moved, err := models.UpdateCaseVersioned(ctx, tx, kase.ID, kase.Version, map[string]any{"status": string(to), "updated_at": now})
	if err != nil {
		return err
	}
	if !moved {
		return fmt.Errorf("case %s changed under its lock", kase.Ref)
	}
	// The row as just written, not read back: the lock held since kase was read keeps the rest.
	after := kase
	after.Status, after.Version, after.UpdatedAt = string(to), kase.Version+1, now
	if err := d.announceCase(ctx, tx, after); err != nil {
		return err
	}
	return d.audit(ctx, tx, a, "case.updated", "case", kase.Ref,
		map[string]any{"status": kase.Status}, map[string]any{"status": string(to), "by": "system"})
}

// GetCorrection returns a correction.
func (d *Desk) GetCorrection(ctx context.Context, p Principal, id int64) (CorrectionView, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CorrectionView{}, err
	}
	c, err := models.CorrectionByID(ctx, d.db, id)
	if errors.Is(err, models.ErrNotFound) {
		return CorrectionView{}, NotFound("correction")
	}
	if err != nil {
		return CorrectionView{}, storeErr(err)
	}
	v, err := d.correctionView(ctx, d.db, c)
	return v, storeErr(err)
}

// ListCorrections returns corrections, newest first, by status (pending: the approval queue) and case.
func (d *Desk) ListCorrections(ctx context.Context, p Principal, status, caseRef, limitRaw, cursor string) (Page[CorrectionView], error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return Page[CorrectionView]{}, err
	}
	limit, err := pageLimit(limitRaw)
	if err != nil {
		return Page[CorrectionView]{}, err
	}
	if status != "" && !CorrectionStatus(status).Valid() {
		return Page[CorrectionView]{}, Invalid("status", "must be pending, applied, denied, cancelled or reversed")
	}
	before, err := DecodeCursor(cursor)
	if err != nil {
		return Page[CorrectionView]{}, err
	}
	f := models.CorrectionFilter{Status: status, BeforeID: before, Limit: limit + 1}
	if caseRef != "" {
		kase, err := models.CaseByRef(ctx, d.db, caseRef)
		if errors.Is(err, models.ErrNotFound) {
			return Page[CorrectionView]{}, Invalid("case", "no case has this ref")
		}
		if err != nil {
			return Page[CorrectionView]{}, storeErr(err)
		}
		f.CaseID = kase.ID
	}
	rows, err := models.ListCorrections(ctx, d.db, f)
	if err != nil {
		return Page[CorrectionView]{}, storeErr(err)
	}
	page := Page[CorrectionView]{Data: make([]CorrectionView, 0, len(rows))}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = EncodeCursor(rows[len(rows)-1].ID)
	}
	if page.Data, err = d.correctionViews(ctx, d.db, rows); err != nil {
		return Page[CorrectionView]{}, storeErr(err)
	}
	return page, nil
}

// checkEvidence applies R6 (evidence before money) when a correction is requested and again when
// it is applied: a credit on an unactivated card needs a verified receipt covering it, a transfer
// on a wrong_account case needs its card redeemed to the from account.
func checkEvidence(ctx context.Context, tx *gorm.DB, kase models.Case, c models.Correction, card *models.GiftCard) error {
	facts := evidenceFacts{caseType: CaseType(kase.Type), correction: c}
	if card != nil {
		facts.redeemedTo = card.RedeemedToAccountID
	}
	if facts.needsReceipt() {
		receipts, err := models.LargestVerifiedReceipts(ctx, tx, []int64{kase.ID})
		if err != nil {
			return err
		}
		facts.receipt, facts.hasReceipt = receipts[kase.ID][c.Currency]
	}
	return facts.check()
}

// marketplaceRule is R4 for a transfer or a credit: a transfer never joins accounts of two
// marketplaces, and the correction's currency is the currency of each customer account's
// marketplace and of its card's. System accounts hold every currency. A refusal names both sides,
// each with its marketplace and currency, so the agent sees what does not match what.
func marketplaceRule(c models.Correction, from, to models.CustomerAccount, card *models.GiftCard) error {
	market := func(a models.CustomerAccount) (Marketplace, bool) {
		if a.IsSystem || a.Marketplace == nil {
			return "", false
		}
		return Marketplace(*a.Marketplace), true
	}
	fm, fromOK := market(from)
	tm, toOK := market(to)
	if CorrectionKind(c.Kind) == CorrectionTransfer && fromOK && toOK && fm != tm {
		return &RuleError{Code: CodeMarketplaceMismatch, Field: "to_account", Message: fmt.Sprintf(
			"a transfer never crosses marketplaces: account %s is in marketplace %s (%s), account %s in marketplace %s (%s)",
			from.AccountID, fm, fm.Currency(), to.AccountID, tm, tm.Currency())}
	}
	cur := Currency(c.Currency)
	for _, a := range []models.CustomerAccount{from, to} {
		if m, ok := market(a); ok && m.Currency() != cur {
			return &RuleError{Code: CodeMarketplaceMismatch, Field: "currency", Message: fmt.Sprintf(
				"the correction is in %s, the currency of %s, but account %s is in marketplace %s, whose currency is %s",
				cur, marketplacesOf(cur), a.AccountID, m, m.Currency())}
		}
	}
	if card != nil && Currency(card.Currency) != cur {
		return &RuleError{Code: CodeMarketplaceMismatch, Field: "currency", Message: fmt.Sprintf(
			"the correction is in %s, the currency of %s, but the card is from marketplace %s, whose currency is %s",
			cur, marketplacesOf(cur), card.Marketplace, card.Currency)}
	}
	// The regional lock (R4): a card of one marketplace moves no money on an account of another,
	// even when both use the same currency (a French card on a German account, both EUR).
	for _, a := range []models.CustomerAccount{from, to} {
		if m, ok := market(a); ok && card != nil && Marketplace(card.Marketplace) != m {
			return &RuleError{Code: CodeMarketplaceMismatch, Field: "card_id", Message: fmt.Sprintf(
				"balances never cross marketplaces: the card is from marketplace %s, account %s is in marketplace %s",
				card.Marketplace, a.AccountID, m)}
		}
	}
	return nil
}

// marketplacesOf names the marketplaces whose currency is c: "marketplace US", "marketplaces DE, ES, FR, IT, NL".
func marketplacesOf(c Currency) string {
	var names []string
	for _, m := range Marketplaces() {
		if m.Currency() == c {
			names = append(names, string(m))
		}
	}
	if len(names) == 1 {
		return "marketplace " + names[0]
	}
	return "marketplaces " + strings.Join(names, ", ")
}
