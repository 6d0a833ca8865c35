package cases

import (
	"context"

	"gorm.io/gorm"

	"giftdesk/models"
)

// CaseRecord is a case as GET /api/v1/cases/{ref} shows it, with its communications and
// corrections: one line of the JSON Lines export (SPEC 4.4). It never carries a claim code.
type CaseRecord struct {
	CaseView
	Communications []CommunicationView `json:"communications"`
	Corrections    []CorrectionView    `json:"corrections"`
}

// CaseRecords builds the records of a batch of cases in a fixed handful of statements, whatever
// the batch holds: each kind of row (cards, accounts, people, links, references, communications,
// corrections and what their views need) is loaded for the whole batch at once.
func (d *Desk) CaseRecords(ctx context.Context, db *gorm.DB, list []models.Case) ([]CaseRecord, error) {
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	cards, err := models.CardsOfCases(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	var accountIDs, userIDs []int64
	for _, c := range list {
		accountIDs = append(accountIDs, c.CustomerAccountID)
		if c.IntendedAccountID != nil {
			accountIDs = append(accountIDs, *c.IntendedAccountID)
		}
		if c.AssigneeID != nil {
			userIDs = append(userIDs, *c.AssigneeID)
		}
		for _, card := range cards[c.ID] {
			if card.RedeemedToAccountID != nil {
				accountIDs = append(accountIDs, *card.RedeemedToAccountID)
			}
			if card.FrozenByID != nil {
				userIDs = append(userIDs, *card.FrozenByID)
			}
		}
	}
	accounts, err := models.AccountsByID(ctx, db, accountIDs)
	if err != nil {
		return nil, err
	}
	emails, err := models.UserEmails(ctx, db, userIDs)
	if err != nil {
		return nil, err
	}
	links, err := models.LinkedRefsOf(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	refs, err := models.ExternalRefsOfCases(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	counts, err := models.CorrectionCountsOf(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	comms, err := models.CommunicationsOfCases(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	corrections, err := models.CorrectionsOfCases(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	correctionViews, err := d.correctionViews(ctx, db, corrections)
	if err != nil {
		return nil, err
	}
	byCase := make(map[int64][]CorrectionView, len(list))
	for i, c := range corrections {
		byCase[c.CaseID] = append(byCase[c.CaseID], correctionViews[i])
	}
	now := d.now()
	out := make([]CaseRecord, 0, len(list))
	for _, c := range list {
		v := CaseView{Ref: c.Ref, Type: c.Type, Status: c.Status, Resolution: c.Resolution, Priority: c.Priority,
			Summary: c.Summary, Description: c.Description, Flags: orEmpty(c.Flags), Tags: orEmpty(c.Tags),
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version, SLA: slaView(c, now),
			Customer: accountView(accounts[c.CustomerAccountID]), Duplicates: orEmpty(links[c.ID])}
		if c.IntendedAccountID != nil {
			a := accountView(accounts[*c.IntendedAccountID])
			v.IntendedAccount = &a
		}
		v.Cards = make([]CardView, 0, len(cards[c.ID]))
		for _, card := range cards[c.ID] {
			var redeemedTo *string
			if card.RedeemedToAccountID != nil {
				id := accounts[*card.RedeemedToAccountID].AccountID
				redeemedTo = &id
			}
			v.Cards = append(v.Cards, cardView(card, redeemedTo, frozenBy(card, emails)))
		}
		if c.AssigneeID != nil {
			e := emails[*c.AssigneeID]
			v.Assignee = &e
		}
		v.Externals = make([]ExternalView, 0, len(refs[c.ID]))
		for _, r := range refs[c.ID] {
			v.Externals = append(v.Externals, ExternalView{System: r.System, ID: r.ExternalID, URL: r.URL})
		}
		if len(v.Externals) > 0 {
			v.External = &v.Externals[0]
		}
		n := counts[c.ID]
		v.Corrections = CorrectionsSummary{Pending: n[string(CorrectionPending)], Applied: n[string(CorrectionApplied)],
			Denied: n[string(CorrectionDenied)], Cancelled: n[string(CorrectionCancelled)], Reversed: n[string(CorrectionReversed)]}
		// Entries are append-only and redacted again on every read with today's cards (R1, R2), as
		// ListCommunications does.
		red := d.redactorOf(cards[c.ID])
		rec := CaseRecord{CaseView: v, Communications: make([]CommunicationView, 0, len(comms[c.ID])), Corrections: orEmpty(byCase[c.ID])}
		for _, r := range comms[c.ID] {
			rec.Communications = append(rec.Communications, redactedCommunicationView(r, red))
		}
		out = append(out, rec)
	}
	return out, nil
}
