package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// CasePageLimit bounds each list of the case page: entries past it are paged.
const CasePageLimit = 200

// relatedLimit bounds the side panel's other cases of the same accounts.
const relatedLimit = 20

// CasePage is everything the console's case page shows, read in a fixed handful of statements
// whatever the case holds: the case, its cards with what corrections take from each across every
// case, its communications, evidence and corrections, the other cases of its accounts, the
// workflow moves allowed now and the evidence checklist of its type.
type CasePage struct {
	Case  CaseView
	Cards []CardRoom // one per Case.Cards, in order
	// Timeline is a page of the case's timeline (up to CasePageLimit entries, in the order
	// asked); Communications are its oldest CasePageLimit communications, which the checklist
	// and the amend form read.
	Timeline       Page[TimelineEntry]
	Communications []CommunicationView
	Evidence       []EvidenceView
	Corrections    []CorrectionView
	Related        []RelatedCase
	Transitions    []Status
	Checklist      []ChecklistItem
	// CreditSource is the desk account a credit on this case is paid from.
	CreditSource string
}

// CardRoom is what corrections take from one card across every case it is on (R7), and what is
// left of its face value.
type CardRoom struct {
	CardID                    int64
	Label                     string // ••••LAST4, or the serial's last four when no code is known
	Currency                  string
	Face, Applied, Pending    int64
	Left                      int64 // face value minus applied and pending: what a new request may take
	Frozen, RedeemedElsewhere bool
}

// Sentence says what R7 will allow: "12.00 of 50.00 USD left on this card".
func (r CardRoom) Sentence() string {
	cur := Currency(r.Currency)
	return fmt.Sprintf("%s of %s left on this card", strings.TrimSuffix(FormatMinor(r.Left, cur), " "+r.Currency), FormatMinor(r.Face, cur))
}

// RelatedCase is another case of the customer's or the intended account.
type RelatedCase struct {
	Ref, Type, Status, Summary string
	// Via names the account the two cases share.
	Via string
}

// ChecklistItem is one piece of the evidence a case of its type usually needs (SPEC §1), ticked
// off from what is on the case.
type ChecklistItem struct {
	Label string
	Done  bool
	// Detail says what on the case ticks it, or what is missing.
	Detail string
}

// GetCasePage reads the case page of ref; order and cursor page its timeline (TimelineQuery).
func (d *Desk) GetCasePage(ctx context.Context, p Principal, ref, order, cursor string) (CasePage, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CasePage{}, err
	}
	w, err := timelineWindow(TimelineQuery{Order: order, Limit: strconv.Itoa(CasePageLimit), Cursor: cursor})
	if err != nil {
		return CasePage{}, err
	}
	c, err := models.CaseByRef(ctx, d.db, ref)
	if errors.Is(err, models.ErrNotFound) {
		return CasePage{}, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return CasePage{}, storeErr(err)
	}
	red, err := d.caseRedactor(ctx, d.db, c.ID)
	if err != nil {
		return CasePage{}, storeErr(err)
	}
	page, err := d.casePage(ctx, d.db, c, red)
	if err != nil {
		return CasePage{}, storeErr(err)
	}
	page.Timeline, err = d.timeline(ctx, c, red, w)
	return page, storeErr(err)
}

// casePage reads what the page shows beside the timeline; red redacts the case's codes.
func (d *Desk) casePage(ctx context.Context, db *gorm.DB, c models.Case, red *Redactor) (CasePage, error) {
	var page CasePage
	var err error
	if page.Case, err = d.caseView(ctx, db, c); err != nil {
		return page, err
	}
	cardIDs := make([]int64, 0, len(page.Case.Cards))
	for _, card := range page.Case.Cards {
		cardIDs = append(cardIDs, card.ID)
	}
	money, err := models.CardMoneyOf(ctx, db, cardIDs)
	if err != nil {
		return page, err
	}
	page.Cards = cardRooms(page.Case, money)
	rows, err := models.ListCommunications(ctx, db, c.ID, time.Time{}, 0, CasePageLimit)
	if err != nil {
		return page, err
	}
	page.Communications = make([]CommunicationView, 0, len(rows))
	for _, r := range rows {
		page.Communications = append(page.Communications, redactedCommunicationView(r, red))
	}
	evidence, err := models.EvidenceOfCase(ctx, db, c.ID, 0, CasePageLimit)
	if err != nil {
		return page, err
	}
	if page.Evidence, err = d.evidenceViewsOf(ctx, db, evidence, &oneCase{id: c.ID, ref: c.Ref, red: red}); err != nil {
		return page, err
	}
	corrections, err := models.ListCorrections(ctx, db, models.CorrectionFilter{CaseID: c.ID, Limit: CasePageLimit})
	if err != nil {
		return page, err
	}
	if page.Corrections, err = d.correctionViews(ctx, db, corrections); err != nil {
		return page, err
	}
	accounts := []int64{c.CustomerAccountID}
	if c.IntendedAccountID != nil {
		accounts = append(accounts, *c.IntendedAccountID)
	}
	related, err := models.CasesOfAccounts(ctx, db, accounts, c.ID, relatedLimit)
	if err != nil {
		return page, err
	}
	for _, r := range related {
		via := page.Case.Customer.AccountID
		if !(r.CustomerAccountID == c.CustomerAccountID || (r.IntendedAccountID != nil && *r.IntendedAccountID == c.CustomerAccountID)) && page.Case.IntendedAccount != nil {
			via = page.Case.IntendedAccount.AccountID
		}
		page.Related = append(page.Related, RelatedCase{Ref: r.Ref, Type: r.Type, Status: r.Status, Summary: r.Summary, Via: via})
	}
	page.Transitions = AllowedTransitions(Status(c.Status))
	page.Checklist = Checklist(page.Case, page.Evidence, page.Communications)
	page.CreditSource = CaseType(c.Type).CreditSource()
	return page, nil
}

// cardRooms is R7's arithmetic for each card of a case: face value, applied and pending across
// every case the card is on, and what is left.
func cardRooms(v CaseView, money map[int64]models.CardMoney) []CardRoom {
	out := make([]CardRoom, 0, len(v.Cards))
	for _, card := range v.Cards {
		m := money[card.ID]
		r := CardRoom{CardID: card.ID, Label: cardLabel(card), Currency: card.Currency, Face: card.FaceValueMinor,
			Applied: m.Applied, Pending: m.Pending, Frozen: card.Frozen,
			RedeemedElsewhere: card.RedeemedTo != nil && *card.RedeemedTo != v.Customer.AccountID}
		r.Left = max(r.Face-r.Applied-r.Pending, 0)
		out = append(out, r)
	}
	return out
}

// cardLabel names a card without its code: ••••LAST4, or "serial …1234".
func cardLabel(card CardView) string {
	switch {
	case card.Last4 != nil:
		return "••••" + *card.Last4
	case card.Serial != nil && len(*card.Serial) > 4:
		return "serial …" + (*card.Serial)[len(*card.Serial)-4:]
	case card.Serial != nil:
		return "serial " + *card.Serial
	}
	return fmt.Sprintf("card %d", card.ID)
}

// Checklist ticks off SPEC §1's usual evidence for the case's type from what is on the case. It
// informs the agent; the rules that refuse money (R6, R7) stay where they are.
func Checklist(v CaseView, evidence []EvidenceView, comms []CommunicationView) []ChecklistItem {
	has := func(kind string) (EvidenceView, bool) {
		for _, e := range evidence {
			if e.Kind == kind && e.Verification != "rejected" {
				return e, true
			}
		}
		return EvidenceView{}, false
	}
	item := func(label string, done bool, yes, no string) ChecklistItem {
		if done {
			return ChecklistItem{Label: label, Done: true, Detail: yes}
		}
		return ChecklistItem{Label: label, Detail: no}
	}
	cardsKnown := len(v.Cards) > 0
	cardPhoto, hasPhoto := has("card_photo")
	photo := item("A photo of the card", hasPhoto, "uploaded "+cardPhoto.FileName, "ask the customer for a photo of the front and back of the card")
	switch CaseType(v.Type) {
	case TypeWrongAccount:
		redeemedAt := slices.ContainsFunc(v.Cards, func(c CardView) bool { return c.RedeemedAt != nil })
		redeemedTo := slices.ContainsFunc(v.Cards, func(c CardView) bool { return c.RedeemedTo != nil })
		return []ChecklistItem{
			item("The claim code or serial of the card", cardsKnown, "recorded on the case", "add the card: its claim code or serial"),
			item("When it was redeemed", redeemedAt, "recorded on the card", "record the redemption time on the card"),
			item("Both account ids", v.IntendedAccount != nil, "customer and intended account recorded", "record the intended account"),
			item("The account it was redeemed to", redeemedTo, "recorded on the card: a transfer takes from it", "record where the card was redeemed: a transfer needs it (R6)"),
		}
	case TypeUnactivatedCard:
		rec, hasReceipt := has("receipt")
		verified := verifiedReceipt(evidence, v.Cards)
		last4 := slices.ContainsFunc(evidence, func(e EvidenceView) bool {
			return e.Kind == "receipt" && e.CardLast4 != nil && !slices.Contains(e.Flags, FlagCardLast4Unmatched)
		})
		slip, hasSlip := has("activation_slip")
		return []ChecklistItem{
			item("The paper receipt (store, date, amount, card last 4)", hasReceipt, "uploaded "+rec.FileName, "ask for a photo of the receipt"),
			item("A verified receipt covering the card's value", verified != "", verified, "a second agent verifies the receipt: a credit needs it (R6)"),
			item("The receipt's last 4 match a card on the case", last4, "they match", "enter the card's last 4 from the receipt"),
			item("The activation slip", hasSlip, "uploaded "+slip.FileName, "ask for the activation slip if the store gave one"),
		}
	case TypeRegionalMismatch:
		cross := slices.Contains(v.Flags, FlagCrossMarketplace)
		return []ChecklistItem{photo,
			item("The account's marketplace", v.Customer.Marketplace != "", "marketplace "+v.Customer.Marketplace, "record the customer's marketplace"),
			item("The card's marketplace differs", cross, "flagged cross_marketplace", "add the card to compare marketplaces"),
		}
	case TypeCodeProblem:
		unredeemed := slices.ContainsFunc(v.Cards, func(c CardView) bool { return c.Status == "not_activated" || c.Status == "active" })
		return []ChecklistItem{photo,
			item("The card is proven unredeemed", unredeemed, "the card's status says so", "check the card's status before any credit"),
		}
	case TypeScamVictim:
		frozen := cardsKnown && !slices.ContainsFunc(v.Cards, func(c CardView) bool { return !c.Frozen })
		return []ChecklistItem{
			item("A record of what the customer was told", len(comms) > 0, fmt.Sprintf("%d communication(s) recorded", len(comms)), "record the call: who asked for the cards, when, how"),
			item("The list of cards sent", cardsKnown, fmt.Sprintf("%d card(s) on the case", len(v.Cards)), "add every card the customer sent"),
			item("Every card frozen", frozen, "all frozen", "freeze the cards and report them"),
		}
	case TypePromoCredit:
		shot, ok := has("screenshot")
		return []ChecklistItem{item("A screenshot of the promotional credit", ok, "uploaded "+shot.FileName, "ask for a screenshot of the credit or its email")}
	case TypeUnexpectedCharge:
		ref := slices.ContainsFunc(comms, func(c CommunicationView) bool { return strings.TrimSpace(c.Reference) != "" })
		return []ChecklistItem{item("The order ids", ref, "a reference is recorded", "record the order ids as a communication's reference")}
	}
	return nil
}

// verifiedReceipt says which verified receipt covers the largest card of the case, "" when none.
func verifiedReceipt(evidence []EvidenceView, cards []CardView) string {
	var need int64
	for _, c := range cards {
		need = max(need, c.FaceValueMinor)
	}
	for _, e := range evidence {
		if e.Kind == "receipt" && e.Verification == "verified" && e.AmountMinor != nil && *e.AmountMinor >= need && e.Currency != nil {
			return "verified receipt of " + FormatMinor(*e.AmountMinor, Currency(*e.Currency))
		}
	}
	return ""
}

// CaseVersion returns a case's version, in one statement: the console polls it so that an agent
// learns when someone else changed the case they have open.
func (d *Desk) CaseVersion(ctx context.Context, p Principal, ref string) (int64, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return 0, err
	}
	c, err := models.CaseByRef(ctx, d.db, ref)
	if errors.Is(err, models.ErrNotFound) {
		return 0, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return 0, storeErr(err)
	}
	return c.Version, nil
}
