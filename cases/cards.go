package cases

import (
	"context"
	"errors"
	"fmt"
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

func cardView(card models.GiftCard, redeemedTo *string) CardView {
	return CardView{ID: card.ID, Last4: card.ClaimCodeLast4, Serial: card.Serial, FaceValueMinor: card.FaceValueMinor,
		Currency: card.Currency, Marketplace: card.Marketplace, Status: card.Status, Frozen: card.Frozen,
		RedeemedTo: redeemedTo, RedeemedAt: card.RedeemedAt, Hints: orEmpty(card.ClaimCodeHints)}
}

// checkCard is the validation of a card added to a case that needs no database. The body is the
// card itself: its fields are named from the top (face_value_minor).
func (d *Desk) checkCard(in CardInput) (parsedCard, error) {
	var f fieldErrors
	pc := f.card("", in, d.keys.ClaimCode, d.now())
	return pc, f.err()
}

// AddCard puts a card on a case (R1–R3): matched to its one record, flagged as a duplicate when
// another case has it, and its code redacted from the case's editable texts.
func (d *Desk) AddCard(ctx context.Context, p Principal, a Actor, ref string, in CardInput) (CaseView, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return CaseView{}, err
	}
	pc, err := d.checkCard(in)
	if err != nil {
		return CaseView{}, err
	}
	var view CaseView
	for attempt := 0; ; attempt++ {
		err := d.inTx(ctx, func(tx *gorm.DB) error {
			var err error
			view, err = d.addCardTx(ctx, tx, a, ref, pc)
			if models.IsUniqueViolation(err) {
				return errRaceLost
			}
			return err
		})
		if errors.Is(err, errRaceLost) && attempt < 3 {
			continue
		}
		return view, err
	}
}

func (d *Desk) addCardTx(ctx context.Context, tx *gorm.DB, a Actor, ref string, pc parsedCard) (CaseView, error) {
	c, err := lockOpenCase(ctx, tx, ref)
	if err != nil {
		return CaseView{}, err
	}
	var redeemedTo *int64
	if pc.in.RedeemedTo != "" {
		acct, err := models.AccountByAccountID(ctx, tx, pc.in.RedeemedTo)
		if err != nil || (acct.ID != c.CustomerAccountID && (c.IntendedAccountID == nil || acct.ID != *c.IntendedAccountID)) {
			return CaseView{}, Invalid("redeemed_to", "must be the customer's or the intended account's id")
		}
		redeemedTo = &acct.ID
	}
	now := d.now()
	card, err := d.matchCard(ctx, tx, pc, redeemedTo, now)
	if err != nil {
		return CaseView{}, err
	}
	on, err := models.CasesOfCard(ctx, tx, card.ID, 0)
	if err != nil {
		return CaseView{}, err
	}
	if slices.Contains(on, c.ID) {
		return d.caseView(ctx, tx, c) // already on the case: nothing changes
	}
	others := on
	if err := models.LinkCard(ctx, tx, c.ID, card.ID, now); err != nil {
		return CaseView{}, err
	}
	changes := map[string]any{"updated_at": now}
	if len(others) > 0 && !slices.Contains(c.Flags, FlagPossibleDuplicate) {
		changes["flags"] = models.StringList(append(slices.Clone(c.Flags), FlagPossibleDuplicate))
	}
	if _, err := models.UpdateCaseVersioned(ctx, tx, c.ID, c.Version, changes); err != nil {
		return CaseView{}, err
	}
	for _, o := range others {
		if err := d.flagDuplicate(ctx, tx, a, c.ID, o, now); err != nil {
			return CaseView{}, err
		}
	}
	// R2: the new code may already sit in the case's texts, typed before the card was known.
	red, err := d.caseRedactor(ctx, tx, c.ID)
	if err != nil {
		return CaseView{}, err
	}
	tags := make(models.StringList, len(c.Tags))
	for i, t := range c.Tags {
		tags[i] = red.Redact(t)
	}
	if err := models.UpdateCaseTexts(ctx, tx, c.ID, red.Redact(c.Summary), red.Redact(c.Description), tags); err != nil {
		return CaseView{}, err
	}
	if err := models.RedactExternalRefs(ctx, tx, c.ID, red.Redact); err != nil {
		return CaseView{}, err
	}
	if c, err = models.CaseByID(ctx, tx, c.ID); err != nil {
		return CaseView{}, err
	}
	view, err := d.caseView(ctx, tx, c)
	if err != nil {
		return CaseView{}, err
	}
	if err := d.audit(ctx, tx, a, "case.card_added", "case", c.Ref, nil, cardView(card, nil)); err != nil {
		return CaseView{}, err
	}
	return view, d.outbox(ctx, tx, "case.updated", view)
}

// GetCard returns a card, masked, with the refs of its cases.
func (d *Desk) GetCard(ctx context.Context, p Principal, id int64) (CardDetail, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CardDetail{}, err
	}
	return d.cardDetail(ctx, d.db, id)
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
	refs, err := models.CaseRefsOfCard(ctx, db, card.ID)
	if err != nil {
		return CardDetail{}, storeErr(err)
	}
	return CardDetail{CardView: cardView(card, redeemedTo), Cases: orEmpty(refs)}, nil
}

// CardPatch is the body of PATCH /api/v1/cards/{id}; absent fields stay.
type CardPatch struct {
	Frozen         *bool    `json:"frozen"`
	Status         string   `json:"status"`
	RedeemedTo     Nullable `json:"redeemed_to"`
	RedeemedAt     Nullable `json:"redeemed_at"`
	FaceValueMinor *int64   `json:"face_value_minor"`
}

// checkCardPatch is the validation of a card patch that needs no database, every problem at
// once. It returns the redemption time to set, nil to clear it or when it is left.
func checkCardPatch(patch CardPatch, now time.Time) (*time.Time, error) {
	var f fieldErrors
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
	return at, f.err()
}

// UpdateCard corrects a card's facts, audited. The face value never drops below what corrections
// have applied on the card (R7).
func (d *Desk) UpdateCard(ctx context.Context, p Principal, a Actor, id int64, patch CardPatch) (CardDetail, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return CardDetail{}, err
	}
	redeemedAt, err := checkCardPatch(patch, d.now())
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
		if patch.Frozen != nil && *patch.Frozen != card.Frozen {
			changes["frozen"] = *patch.Frozen
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
		if err := models.TouchCasesOfCard(ctx, tx, card.ID, d.now()); err != nil {
			return err
		}
		if out, err = d.cardDetail(ctx, tx, id); err != nil {
			return err
		}
		return d.audit(ctx, tx, a, "card.updated", "card", card.ID, before, out)
	})
	return out, err
}
