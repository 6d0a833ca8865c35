package cases

import (
	"context"
	"errors"
	"strconv"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// CaseView is a case as SPEC 4.2 shows it. It never carries a claim code.
type CaseView struct {
	Ref             string             `json:"ref"`
	Type            string             `json:"type"`
	Status          string             `json:"status"`
	Resolution      *string            `json:"resolution"`
	Priority        string             `json:"priority"`
	Summary         string             `json:"summary"`
	Description     string             `json:"description"`
	Customer        AccountView        `json:"customer"`
	IntendedAccount *AccountView       `json:"intended_account"`
	Cards           []CardView         `json:"cards"`
	Flags           []string           `json:"flags"`
	Duplicates      []string           `json:"duplicates"`
	Assignee        *string            `json:"assignee"`
	External        *ExternalView      `json:"external"`
	Externals       []ExternalView     `json:"externals"`
	Tags            []string           `json:"tags"`
	SLA             SLAView            `json:"sla"`
	Corrections     CorrectionsSummary `json:"corrections"`
	CreatedAt       time.Time          `json:"created_at"`
	UpdatedAt       time.Time          `json:"updated_at"`
	Version         int64              `json:"version"`
}

// ETag is the entity tag of this version of the case (R12).
func (v CaseView) ETag() string { return CaseETag(v.Version) }

// CaseETag renders a case version as an entity tag.
func CaseETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ExternalView is a case's reference in a ticketing system; URL is null when none was given.
type ExternalView struct {
	System string  `json:"system"`
	ID     string  `json:"id"`
	URL    *string `json:"url"`
}

// AccountView is a customer account inside a case.
type AccountView struct {
	AccountID   string  `json:"account_id"`
	Marketplace string  `json:"marketplace"`
	Email       *string `json:"email"`
	Name        *string `json:"name"`
}

// CardView is a card as the desk shows it: masked.
type CardView struct {
	ID             int64      `json:"id,string"`
	Last4          *string    `json:"last4"`
	Serial         *string    `json:"serial"`
	FaceValueMinor int64      `json:"face_value_minor"`
	Currency       string     `json:"currency"`
	Marketplace    string     `json:"marketplace"`
	Status         string     `json:"status"`
	Frozen         bool       `json:"frozen"`
	FrozenBy       *string    `json:"frozen_by"`     // email of who froze it; null when not frozen
	FrozenAt       *time.Time `json:"frozen_at"`     // when
	FrozenReason   *string    `json:"frozen_reason"` // why (SPEC §2), redacted (R2)
	RedeemedTo     *string    `json:"redeemed_to"`
	RedeemedAt     *time.Time `json:"redeemed_at"`
	Hints          []string   `json:"hints"`
}

// SLAView says when a case is due, when it was first answered, and whether it is late.
type SLAView struct {
	FirstResponseDue *time.Time `json:"first_response_due"`
	FirstResponseAt  *time.Time `json:"first_response_at"`
	ResolutionDue    *time.Time `json:"resolution_due"`
	Breached         bool       `json:"breached"`
}

// caseView assembles the view of c from db (the pool or a transaction).
func (d *Desk) caseView(ctx context.Context, db *gorm.DB, c models.Case) (CaseView, error) {
	var parts caseParts
	var err error
	if parts.cards, err = models.CardsOfCase(ctx, db, c.ID); err != nil {
		return CaseView{}, err
	}
	ids := []int64{c.CustomerAccountID}
	if c.IntendedAccountID != nil {
		ids = append(ids, *c.IntendedAccountID)
	}
	for _, card := range parts.cards {
		if card.RedeemedToAccountID != nil {
			ids = append(ids, *card.RedeemedToAccountID)
		}
	}
	if parts.accounts, err = models.AccountsByID(ctx, db, ids); err != nil {
		return CaseView{}, err
	}
	if parts.freezers, err = freezers(ctx, db, parts.cards); err != nil {
		return CaseView{}, err
	}
	if parts.duplicates, err = models.LinkedRefs(ctx, db, c.ID); err != nil {
		return CaseView{}, err
	}
	if c.AssigneeID != nil {
		u, err := models.UserByID(ctx, db, *c.AssigneeID)
		if err != nil {
			return CaseView{}, err
		}
		parts.assignee = &u.Email
	}
	if parts.refs, err = models.ExternalRefsOfCase(ctx, db, c.ID); err != nil {
		return CaseView{}, err
	}
	if parts.corrections, err = models.CorrectionCounts(ctx, db, c.ID); err != nil {
		return CaseView{}, err
	}
	return d.assembleCaseView(c, parts), nil
}

// caseParts is what a case's view shows beside its row: caseView reads it, and a creation knows
// it from what it wrote (createCaseTx), so both build the view with assembleCaseView.
type caseParts struct {
	cards       []models.GiftCard                // in the order they were added to the case
	accounts    map[int64]models.CustomerAccount // customer, intended and redeemed-to accounts, by row id
	freezers    map[int64]string                 // emails of who froze the cards, by user id
	duplicates  []string                         // refs of the linked cases, ascending
	assignee    *string                          // email
	refs        []models.ExternalRef             // oldest first
	corrections map[string]int64                 // correction counts by status
}

// assembleCaseView builds the view of c from its parts, without the database.
func (d *Desk) assembleCaseView(c models.Case, parts caseParts) CaseView {
	v := CaseView{Ref: c.Ref, Type: c.Type, Status: c.Status, Resolution: c.Resolution, Priority: c.Priority,
		Summary: c.Summary, Description: c.Description, Flags: orEmpty(c.Flags), Tags: orEmpty(c.Tags),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version, Assignee: parts.assignee}
	v.Customer = accountView(parts.accounts[c.CustomerAccountID])
	if c.IntendedAccountID != nil {
		a := accountView(parts.accounts[*c.IntendedAccountID])
		v.IntendedAccount = &a
	}
	v.Cards = make([]CardView, 0, len(parts.cards))
	for _, card := range parts.cards {
		var redeemedTo *string
		if card.RedeemedToAccountID != nil {
			id := parts.accounts[*card.RedeemedToAccountID].AccountID
			redeemedTo = &id
		}
		v.Cards = append(v.Cards, cardView(card, redeemedTo, frozenBy(card, parts.freezers)))
	}
	v.Duplicates = orEmpty(parts.duplicates)
	v.Externals = make([]ExternalView, 0, len(parts.refs))
	for _, r := range parts.refs {
		v.Externals = append(v.Externals, ExternalView{System: r.System, ID: r.ExternalID, URL: r.URL})
	}
	if len(v.Externals) > 0 {
		v.External = &v.Externals[0]
	}
	counts := parts.corrections
	v.Corrections = CorrectionsSummary{Pending: counts[string(CorrectionPending)], Applied: counts[string(CorrectionApplied)],
		Denied: counts[string(CorrectionDenied)], Cancelled: counts[string(CorrectionCancelled)], Reversed: counts[string(CorrectionReversed)]}
	v.SLA = slaView(c, d.now())
	return v
}

func accountView(a models.CustomerAccount) AccountView {
	v := AccountView{AccountID: a.AccountID, Email: a.Email, Name: a.Name}
	if a.Marketplace != nil {
		v.Marketplace = *a.Marketplace
	}
	return v
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// GetCase returns a case by ref for a principal with cases:read.
func (d *Desk) GetCase(ctx context.Context, p Principal, ref string) (CaseView, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CaseView{}, err
	}
	c, err := models.CaseByRef(ctx, d.db, ref)
	if err == models.ErrNotFound {
		return CaseView{}, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return CaseView{}, storeErr(err)
	}
	v, err := d.caseView(ctx, d.db, c)
	return v, storeErr(err)
}

// safeRef echoes a ref in a message only when it looks like one.
func safeRef(ref string) string {
	if len(ref) <= 20 && casesRefPattern.MatchString(ref) {
		return ref
	}
	return "with that ref"
}

// errCaseClosed refuses any addition to a closed case (R11: closed is final).
var errCaseClosed = &RuleError{Code: CodeInvalidTransition, Field: "status", Message: "a closed case is final: nothing is added to it or changed on it"}

// lockOpenCase locks the case with ref for the transaction: not found is a 404, and a closed case
// takes nothing more.
func lockOpenCase(ctx context.Context, tx *gorm.DB, ref string) (models.Case, error) {
	c, err := models.CaseByRefForUpdate(ctx, tx, ref)
	if errors.Is(err, models.ErrNotFound) {
		return c, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return c, err
	}
	if c.Status == string(StatusClosed) {
		return c, errCaseClosed
	}
	return c, nil
}
