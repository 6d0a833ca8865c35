package cases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// CardDetail is a card with the refs of its cases.
type CardDetail struct {
	CardView
	Cases []string `json:"cases"`
}

// CorrectionsSummary counts a case's corrections by status (SPEC 4.2's corrections summary).
type CorrectionsSummary struct {
	Pending   int64 `json:"pending"`
	Applied   int64 `json:"applied"`
	Denied    int64 `json:"denied"`
	Cancelled int64 `json:"cancelled"`
	Reversed  int64 `json:"reversed"`
}

// cardView shows a card; redeemedTo and frozenBy are the account id and the email its ids name.
func cardView(card models.GiftCard, redeemedTo, frozenBy *string) CardView {
	return CardView{ID: card.ID, Last4: card.ClaimCodeLast4, Serial: card.Serial, FaceValueMinor: card.FaceValueMinor,
		Currency: card.Currency, Marketplace: card.Marketplace, Status: card.Status, Frozen: card.Frozen,
		FrozenBy: frozenBy, FrozenAt: card.FrozenAt, FrozenReason: card.FrozenReason,
		RedeemedTo: redeemedTo, RedeemedAt: card.RedeemedAt, Hints: orEmpty(card.ClaimCodeHints)}
}

// freezers returns the emails of the users who froze the given cards, in one statement.
func freezers(ctx context.Context, db *gorm.DB, cards []models.GiftCard) (map[int64]string, error) {
	var ids []int64
	for _, c := range cards {
		if c.FrozenByID != nil {
			ids = append(ids, *c.FrozenByID)
		}
	}
	return models.UserEmails(ctx, db, ids)
}

// frozenBy is the email of who froze card, from freezers' answer.
func frozenBy(card models.GiftCard, emails map[int64]string) *string {
	if card.FrozenByID == nil {
		return nil
	}
	e := emails[*card.FrozenByID]
	return &e
}

// checkCard is the validation of a card added to a case that needs no database. The body is the
// card itself: its fields are named from the top (face_value_minor).
func (d *Desk) checkCard(in CardInput) (parsedCard, error) {
	var f fieldErrors
	pc := f.card("", in, d.keys.ClaimCode, d.now())
	return pc, f.err()
}

// CardAddition is what AddCard answers: the case, and whether the card was added (false: it was
// on the case already, and nothing changed).
type CardAddition struct {
	View  CaseView
	Added bool
}

// AddCard puts a card on a case (R1–R3): matched to its one record, flagged as a duplicate when
// another case has it, and its code redacted from the case's editable texts. A card already on
// the case changes nothing, and added is false.
func (d *Desk) AddCard(ctx context.Context, p Principal, a Actor, ref string, in CardInput) (view CaseView, added bool, err error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return CaseView{}, false, err
	}
	pc, err := d.checkCard(in)
	if err != nil {
		return CaseView{}, false, err
	}
	for attempt := 0; ; attempt++ {
		var res CardAddition
		err := d.inTxAnswering(ctx, func() any { return res }, func(tx *gorm.DB) error {
			view, added, err := d.addCardTx(ctx, tx, a, ref, pc)
			if models.IsUniqueViolation(err) {
				return errRaceLost
			}
			res = CardAddition{View: view, Added: added}
			return err
		})
		if errors.Is(err, errRaceLost) && attempt < 3 {
			continue
		}
		return res.View, res.Added, err
	}
}

func (d *Desk) addCardTx(ctx context.Context, tx *gorm.DB, a Actor, ref string, pc parsedCard) (CaseView, bool, error) {
	c, err := lockOpenCase(ctx, tx, ref)
	if err != nil {
		return CaseView{}, false, err
	}
	var redeemedTo *int64
	if pc.in.RedeemedTo != "" {
		acct, err := models.AccountByAccountID(ctx, tx, pc.in.RedeemedTo)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return CaseView{}, false, err // an outage is no answer about the account
		}
		if err != nil || (acct.ID != c.CustomerAccountID && (c.IntendedAccountID == nil || acct.ID != *c.IntendedAccountID)) {
			return CaseView{}, false, Invalid("redeemed_to", "must be the customer's or the intended account's id")
		}
		redeemedTo = &acct.ID
	}
	now := d.now()
	card, _, err := d.matchCard(ctx, tx, pc, redeemedTo, now)
	if err != nil {
		return CaseView{}, false, err
	}
	on, err := models.CasesOfCard(ctx, tx, card.ID, 0)
	if err != nil {
		return CaseView{}, false, err
	}
	if slices.Contains(on, c.ID) {
		v, err := d.caseView(ctx, tx, c) // already on the case: nothing changes
		return v, false, err
	}
	others := on
	if err := models.LinkCard(ctx, tx, c.ID, card.ID, now); err != nil {
		return CaseView{}, false, err
	}
	changes := map[string]any{"updated_at": now}
	flags := []string(c.Flags)
	crosses, err := d.caseCrossesMarketplaces(ctx, tx, c)
	if err != nil {
		return CaseView{}, false, err
	}
	if crosses {
		flags = withFlag(flags, FlagCrossMarketplace)
	}
	if len(flags) != len(c.Flags) {
		changes["flags"] = models.StringList(flags)
	}
	if _, err := models.UpdateCaseVersioned(ctx, tx, c.ID, c.Version, changes); err != nil {
		return CaseView{}, false, err
	}
	// R2: the new code may already sit in the case's texts, typed before the card was known.
	red, err := d.caseRedactor(ctx, tx, c.ID)
	if err != nil {
		return CaseView{}, false, err
	}
	tags := make(models.StringList, len(c.Tags))
	for i, t := range c.Tags {
		tags[i] = red.Redact(t)
	}
	if err := models.UpdateCaseTexts(ctx, tx, c.ID, red.Redact(c.Summary), red.Redact(c.Description), tags); err != nil {
		return CaseView{}, false, err
	}
	if err := models.RedactExternalRefs(ctx, tx, c.ID, red.Redact); err != nil {
		return CaseView{}, false, err
	}
	// Last of the changes: a case it flags is announced as it now stands.
	announced, err := d.flagDuplicates(ctx, tx, a, duplicateFind{Case: c.ID, Others: others, Reason: "card"}, now)
	if err != nil {
		return CaseView{}, false, err
	}
	if c, err = models.CaseByID(ctx, tx, c.ID); err != nil {
		return CaseView{}, false, err
	}
	view, err := d.caseView(ctx, tx, c)
	if err != nil {
		return CaseView{}, false, err
	}
	if err := d.audit(ctx, tx, a, "case.card_added", "case", c.Ref, nil, cardView(card, nil, nil)); err != nil {
		return CaseView{}, false, err
	}
	if slices.Contains(announced, c.ID) {
		return view, true, nil // flagDuplicates announced this very view
	}
	return view, true, d.outbox(ctx, tx, "case.updated", view)
}

// caseCrossesMarketplaces asks R4's flag rule about a case as it stands, its cards included.
func (d *Desk) caseCrossesMarketplaces(ctx context.Context, tx *gorm.DB, c models.Case) (bool, error) {
	ids := []int64{c.CustomerAccountID}
	if c.IntendedAccountID != nil {
		ids = append(ids, *c.IntendedAccountID)
	}
	accts, err := models.AccountsByID(ctx, tx, ids)
	if err != nil {
		return false, err
	}
	var intended *models.CustomerAccount
	if c.IntendedAccountID != nil {
		acct := accts[*c.IntendedAccountID]
		intended = &acct
	}
	cards, err := models.CardsOfCase(ctx, tx, c.ID)
	if err != nil {
		return false, err
	}
	return crossesMarketplaces(accts[c.CustomerAccountID], intended, cards), nil
}

// GetCard returns a card, masked, with the refs of its cases.
func (d *Desk) GetCard(ctx context.Context, p Principal, id int64) (CardDetail, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CardDetail{}, err
	}
	return d.cardDetail(ctx, d.db, id)
}

// CardLookup is the body of POST /api/v1/cards/lookup: a claim code as the customer reads it out.
// It holds the code in clear, so every way of printing it masks the code (R1).
type CardLookup struct {
	ClaimCode string `json:"claim_code"`
}

// String masks the claim code.
func (l CardLookup) String() string { return "card lookup(claim code " + maskRaw(l.ClaimCode) + ")" }

// GoString masks the claim code.
func (l CardLookup) GoString() string { return l.String() }

// LogValue masks the claim code.
func (l CardLookup) LogValue() slog.Value { return slog.StringValue(l.String()) }

// LookupCard finds a card by its claim code's HMAC (SPEC 4.2) and returns it masked, with the
// refs of its cases. A code R2 refuses gets R2's error; a code no card has, not_found. No answer
// repeats the code. Every look-up of a well-formed code is audited, found or not, by card id and
// never by code: trying codes is how a thief tests stolen ones, and it leaves a trail.
func (d *Desk) LookupCard(ctx context.Context, p Principal, a Actor, in CardLookup) (CardDetail, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CardDetail{}, err
	}
	if strings.TrimSpace(in.ClaimCode) == "" {
		return CardDetail{}, Invalid("claim_code", "is required: the claim code as the customer reads it")
	}
	code, err := ParseClaimCode(in.ClaimCode)
	if err != nil {
		var re *RuleError
		if errors.As(err, &re) {
			return CardDetail{}, &RuleError{Code: re.Code, Field: "claim_code", Message: re.Message,
				Fields: []FieldError{{Field: "claim_code", Message: re.Message}}}
		}
		return CardDetail{}, err
	}
	var out CardDetail
	err = d.inTx(ctx, func(tx *gorm.DB) (err error) {
		out, err = d.lookupCode(ctx, tx, a, code)
		return err
	})
	if err != nil {
		return CardDetail{}, err
	}
	if out.ID == 0 {
		return CardDetail{}, &RuleError{Code: CodeNotFound, Message: "no card has this claim code"}
	}
	return out, nil
}

// lookupCode finds the card of a well-formed code by its HMAC and audits the look-up, found or
// not, by card id or by last four and never by code. The detail's ID is 0 when no card has it.
func (d *Desk) lookupCode(ctx context.Context, tx *gorm.DB, a Actor, code ClaimCode) (CardDetail, error) {
	id, err := models.CardIDByHMAC(ctx, tx, d.keys.ClaimCode.Sum(code))
	if errors.Is(err, models.ErrNotFound) {
		return CardDetail{}, d.audit(ctx, tx, a, "card.lookup_missed", "card_lookup", code.Masked(), nil, map[string]any{"last4": code.Last4()})
	}
	if err != nil {
		return CardDetail{}, err
	}
	out, err := d.cardDetail(ctx, tx, id)
	if err != nil {
		return CardDetail{}, err
	}
	return out, d.audit(ctx, tx, a, "card.looked_up", "card", id, nil, map[string]any{"cases": out.Cases})
}

func (d *Desk) cardDetail(ctx context.Context, db *gorm.DB, id int64) (CardDetail, error) {
	card, err := models.CardByID(ctx, db, id)
	if errors.Is(err, models.ErrNotFound) {
		return CardDetail{}, NotFound("card")
	}
	if err != nil {
		return CardDetail{}, storeErr(err)
	}
	var redeemedTo *string
	if card.RedeemedToAccountID != nil {
		accts, err := models.AccountsByID(ctx, db, []int64{*card.RedeemedToAccountID})
		if err != nil {
			return CardDetail{}, storeErr(err)
		}
		id := accts[*card.RedeemedToAccountID].AccountID
		redeemedTo = &id
	}
	emails, err := freezers(ctx, db, []models.GiftCard{card})
	if err != nil {
		return CardDetail{}, storeErr(err)
	}
	refs, err := models.CaseRefsOfCard(ctx, db, card.ID)
	if err != nil {
		return CardDetail{}, storeErr(err)
	}
	return CardDetail{CardView: cardView(card, redeemedTo, frozenBy(card, emails)), Cases: orEmpty(refs)}, nil
}

// CardPatch is the body of PATCH /api/v1/cards/{id}; absent fields stay.
type CardPatch struct {
	Frozen         *bool    `json:"frozen"`
	FrozenReason   string   `json:"frozen_reason"`
	Status         string   `json:"status"`
	RedeemedTo     Nullable `json:"redeemed_to"`
	RedeemedAt     Nullable `json:"redeemed_at"`
	FaceValueMinor *int64   `json:"face_value_minor"`
}

// checkCardPatch is the validation of a card patch that needs no database, every problem at
// once. It returns the redemption time to set (nil to clear it or when it is left) and the
// cleaned freeze reason.
func checkCardPatch(patch CardPatch, now time.Time) (*time.Time, string, error) {
	var f fieldErrors
	reason := f.text("frozen_reason", patch.FrozenReason, maxFreezeReasonRunes, false)
	if reason != "" && patch.Frozen == nil {
		f.add("frozen_reason", "goes with frozen: true to freeze the card, or false to unfreeze it")
	}
	if st := strings.TrimSpace(patch.Status); st != "" && !contains(cardStatuses, st) {
		f.add("status", "must be one of "+strings.Join(cardStatuses, ", "))
	}
	if v := strings.TrimSpace(patch.RedeemedTo.Value); patch.RedeemedTo.Set && !patch.RedeemedTo.Null && v != "" && !accountIDPattern.MatchString(v) {
		f.add("redeemed_to", "must be the id of a customer account the desk knows")
	}
	var at *time.Time
	if v := strings.TrimSpace(patch.RedeemedAt.Value); patch.RedeemedAt.Set && !patch.RedeemedAt.Null && v != "" {
		at = f.fact("redeemed_at", v, now, maxFutureOccurredAt)
	}
	if patch.FaceValueMinor != nil && (*patch.FaceValueMinor <= 0 || *patch.FaceValueMinor > maxFaceValueMinor) {
		f.add("face_value_minor", "must be a positive amount in minor units")
	}
	return at, reason, f.err()
}

// UpdateCard corrects a card's facts, audited. The face value never drops below what corrections
// have applied on the card (R7). Freezing and unfreezing are risk decisions (SPEC §2): see freeze.
func (d *Desk) UpdateCard(ctx context.Context, p Principal, a Actor, id int64, patch CardPatch) (CardDetail, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return CardDetail{}, err
	}
	redeemedAt, freezeReason, err := checkCardPatch(patch, d.now())
	patch.FrozenReason = freezeReason
	if err != nil {
		return CardDetail{}, err
	}
	var out CardDetail
	err = d.inTx(ctx, func(tx *gorm.DB) error {
		card, err := models.CardByIDForUpdate(ctx, tx, id)
		if errors.Is(err, models.ErrNotFound) {
			return NotFound("card")
		}
		if err != nil {
			return err
		}
		before, err := d.cardDetail(ctx, tx, id)
		if err != nil {
			return err
		}
		changes := map[string]any{}
		action, reason, err := d.freeze(ctx, tx, p, card, patch, changes)
		if err != nil {
			return err
		}
		if st := strings.TrimSpace(patch.Status); st != "" && st != card.Status {
			changes["status"] = st
		}
		if patch.RedeemedTo.Set {
			if patch.RedeemedTo.Null || patch.RedeemedTo.Value == "" {
				changes["redeemed_to_account_id"] = nil
			} else {
				acct, err := models.AccountByAccountID(ctx, tx, strings.TrimSpace(patch.RedeemedTo.Value))
				if errors.Is(err, models.ErrNotFound) || (err == nil && acct.IsSystem) {
					return Invalid("redeemed_to", "must be the id of a customer account the desk knows")
				}
				if err != nil {
					return err
				}
				changes["redeemed_to_account_id"] = acct.ID
			}
		}
		if patch.RedeemedAt.Set {
			if redeemedAt == nil {
				changes["redeemed_at"] = nil
			} else {
				changes["redeemed_at"] = *redeemedAt
			}
		}
		if patch.FaceValueMinor != nil && *patch.FaceValueMinor != card.FaceValueMinor {
			applied, err := models.AppliedOnCard(ctx, tx, card.ID)
			if err != nil {
				return err
			}
			if *patch.FaceValueMinor < applied {
				return &RuleError{Code: CodeExceedsFaceValue, Field: "face_value_minor",
					Message: fmt.Sprintf("corrections have already applied %s on this card", FormatMinor(applied, Currency(card.Currency)))}
			}
			changes["face_value_minor"] = *patch.FaceValueMinor
		}
		if len(changes) == 0 {
			out = before
			return nil
		}
		changes["updated_at"] = d.now()
		if err := models.UpdateCard(ctx, tx, card.ID, changes); err != nil {
			return err
		}
		// The card shows in its cases' JSON: their ETags must change with it (R12).
		touched, err := models.TouchCasesOfCard(ctx, tx, card.ID, d.now())
		if err != nil {
			return err
		}
		if err := d.announceCases(ctx, tx, touched); err != nil {
			return err
		}
		if out, err = d.cardDetail(ctx, tx, id); err != nil {
			return err
		}
		return d.audit(ctx, tx, a, action, "card", card.ID, before, freezeDecision{CardDetail: out, Reason: reason})
	})
	return out, err
}

// maxFreezeReasonRunes bounds frozen_reason like a correction's reason.
const maxFreezeReasonRunes = 2000

// freezeDecision is what the audit trail keeps of a card's change: the card after it and, for a
// freeze or an unfreeze, why. An unfrozen card no longer shows the reason; its audit event does.
type freezeDecision struct {
	CardDetail
	Reason string `json:"reason,omitempty"`
}

// freeze applies SPEC §2's freezing rules to a card patch, adding its columns to changes, and
// returns the audit action and the decision's reason. Freezing is open to every agent, with a
// reason, and records who, when and why on the card; unfreezing needs a supervisor and a reason,
// and clears them. Freezing a frozen card, or unfreezing one that is not, is no action; with a
// reason it is refused, so that the reason is not silently dropped.
func (d *Desk) freeze(ctx context.Context, tx *gorm.DB, p Principal, card models.GiftCard, patch CardPatch, changes map[string]any) (action, reason string, err error) {
	if patch.Frozen != nil && *patch.Frozen == card.Frozen && patch.FrozenReason != "" {
		// A reason given for no decision would be silently dropped: say so instead.
		if card.Frozen {
			return "", "", Invalid("frozen_reason", "the card is already frozen, and its reason stays; unfreeze it first to record another decision")
		}
		return "", "", Invalid("frozen_reason", "the card is not frozen: there is nothing to unfreeze")
	}
	if patch.Frozen == nil || *patch.Frozen == card.Frozen {
		return "card.updated", "", nil
	}
	if !*patch.Frozen {
		if err := p.RequireRole(RoleSupervisor); err != nil {
			return "", "", Forbidden(CodeRoleRequired, "unfreezing a card needs a supervisor")
		}
	}
	if patch.FrozenReason == "" {
		what := "to freeze a card, say why (reported stolen, codes given to a scammer, ...)"
		if !*patch.Frozen {
			what = "to unfreeze a card, say why it is safe again"
		}
		return "", "", Invalid("frozen_reason", "is required "+what)
	}
	cards, err := models.CardsSharingACase(ctx, tx, card.ID)
	if err != nil {
		return "", "", err
	}
	var codes []StoredCode
	for _, c := range cards {
		if c.ClaimCodeLast4 != nil {
			codes = append(codes, StoredCode{HMAC: c.ClaimCodeHMAC, Last4: *c.ClaimCodeLast4})
		}
	}
	reason = NewRedactor(d.keys.ClaimCode, codes).Redact(patch.FrozenReason)
	if !*patch.Frozen {
		changes["frozen"], changes["frozen_reason"], changes["frozen_by_id"], changes["frozen_at"] = false, nil, nil, nil
		return "card.unfrozen", reason, nil
	}
	changes["frozen"], changes["frozen_reason"], changes["frozen_by_id"], changes["frozen_at"] = true, reason, p.UserID, d.now()
	return "card.frozen", reason, nil
}
