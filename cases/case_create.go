package cases

import (
	"cmp"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

var casesRefPattern = regexp.MustCompile(`^GD-[0-9]{6,}$`)

// Flags a case can carry (SPEC §2, R3, R4).
const (
	FlagPossibleDuplicate = "possible_duplicate"
	FlagCrossMarketplace  = "cross_marketplace"
)

// errRaceLost marks a transaction that lost a unique race to a concurrent request (same card,
// account or external reference); it is run again and then finds the winner's row.
var errRaceLost = errors.New("lost a creation race")

// CaseCreation is what CreateCase answers: the case, and whether this request created it (false:
// its external reference named a case the desk already had).
type CaseCreation struct {
	View    CaseView
	Created bool
}

// CreateCase opens a case (SPEC 4.2) in one transaction. When the external reference is already
// known it returns that case with created false instead of a duplicate.
func (d *Desk) CreateCase(ctx context.Context, p Principal, a Actor, in NewCase) (CaseView, bool, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return CaseView{}, false, err
	}
	nc, err := d.validateNewCase(in)
	if err != nil {
		return CaseView{}, false, err
	}
	for attempt := 0; ; attempt++ {
		var res CaseCreation
		err := d.inTxAnswering(ctx, func() any { return res }, func(tx *gorm.DB) error {
			caseID, view, created, err := d.createCaseTx(ctx, tx, p, a, nc)
			if models.IsUniqueViolation(err) {
				return errRaceLost
			}
			if err != nil {
				return err
			}
			if !created {
				// The known case, read in this transaction so that an idempotent answer holds it.
				c, err := models.CaseByID(ctx, tx, caseID)
				if err != nil {
					return err
				}
				if view, err = d.caseView(ctx, tx, c); err != nil {
					return err
				}
			}
			res = CaseCreation{View: view, Created: created}
			return nil
		})
		// Inside a unit of work the transaction is the caller's, and on PostgreSQL the violation
		// has aborted it: the race goes up to Do, which runs the whole unit again.
		if errors.Is(err, errRaceLost) && attempt < 3 && workOf(ctx) == nil {
			continue
		}
		if err != nil {
			return CaseView{}, false, err
		}
		return res.View, res.Created, nil
	}
}

// newCase is a validated NewCase.
type newCase struct {
	typ                  CaseType
	priority             Priority
	summary, description string
	customer             AccountInput
	intended             *AccountInput
	cards                []parsedCard
	external             *ExternalInput
	tags                 []string
}

func (d *Desk) validateNewCase(in NewCase) (newCase, error) {
	var f fieldErrors
	nc := newCase{typ: CaseType(in.Type), priority: Priority(in.Priority)}
	if !nc.typ.Valid() {
		f.add("type", "must be one of "+joinNames(CaseTypes))
	}
	if nc.priority == "" {
		nc.priority = PriorityNormal
	} else if !nc.priority.Valid() {
		f.add("priority", "must be one of "+joinNames(Priorities))
	}
	nc.summary = f.text("summary", in.Summary, maxSummaryRunes, true)
	nc.description = f.text("description", in.Description, maxDescriptionRunes, false)
	nc.customer = f.account("customer", in.Customer)
	if in.IntendedAccount != nil {
		ia := f.account("intended_account", *in.IntendedAccount)
		nc.intended = &ia
		if ia.AccountID == nc.customer.AccountID {
			f.add("intended_account.account_id", "must differ from the customer's account")
		}
	} else if nc.typ == TypeWrongAccount {
		f.add("intended_account", "is required for a wrong_account case: the account the card should have gone to")
	}
	if nc.typ.Valid() && nc.typ.NeedsCards() && len(in.Cards) == 0 {
		f.add("cards", fmt.Sprintf("a %s case needs at least one card", nc.typ))
	}
	if len(in.Cards) > 50 {
		f.add("cards", "at most 50 cards on a case")
		in.Cards = in.Cards[:50]
	}
	now := d.now()
	for i, c := range in.Cards {
		field := fmt.Sprintf("cards[%d]", i)
		pc := f.card(field, c, d.keys.ClaimCode, now)
		pc.field = field
		if accountIDPattern.MatchString(pc.in.RedeemedTo) && pc.in.RedeemedTo != nc.customer.AccountID &&
			(nc.intended == nil || pc.in.RedeemedTo != nc.intended.AccountID) {
			f.add(field+".redeemed_to", "must be the customer's or the intended account's id")
		}
		for j, other := range nc.cards {
			if (pc.hmac != nil && string(pc.hmac) == string(other.hmac)) || (pc.serial != "" && pc.serial == other.serial) {
				f.add(field, fmt.Sprintf("is the same card as cards[%d]", j))
			}
		}
		nc.cards = append(nc.cards, pc)
	}
	nc.external = f.external(in.External)
	nc.tags = f.tags(in.Tags)
	// R2 before anything is looked up or stored: the request's own cards are the case's cards.
	var codes []StoredCode
	for _, pc := range nc.cards {
		if pc.code != nil {
			codes = append(codes, StoredCode{HMAC: pc.hmac, Last4: pc.code.Last4()})
		}
	}
	red := NewRedactor(d.keys.ClaimCode, codes)
	if nc.external != nil {
		nc.external.ID, nc.external.URL = red.Redact(nc.external.ID), red.Redact(nc.external.URL)
		if red.Redact(nc.external.System) != nc.external.System {
			f.add("external.system", "holds a claim code")
		}
	}
	// In a fixed order, as every list of problems: a map's would change from call to call.
	for _, named := range []struct {
		field string
		acct  *AccountInput
	}{{"customer", &nc.customer}, {"intended_account", nc.intended}} {
		field, acct := named.field, named.acct
		if acct == nil {
			continue
		}
		acct.Name = red.Redact(acct.Name)
		if red.Redact(acct.Email) != acct.Email {
			f.add(field+".email", "holds a claim code of this case")
		}
		if red.Redact(acct.AccountID) != acct.AccountID {
			f.add(field+".account_id", "holds a claim code of this case")
		}
	}
	for _, pc := range nc.cards {
		if pc.serial != "" && red.Redact(pc.serial) != pc.serial {
			f.add(at(pc.field, "serial"), "holds a claim code of this case")
		}
	}
	return nc, f.err()
}

// createCaseTx does CreateCase's writes inside tx and returns the case id and, for a new case,
// its view.
func (d *Desk) createCaseTx(ctx context.Context, tx *gorm.DB, p Principal, a Actor, nc newCase) (int64, CaseView, bool, error) {
	now := d.now()
	if nc.external != nil {
		id, err := models.CaseIDByExternal(ctx, tx, nc.external.System, nc.external.ID)
		if err == nil {
			return id, CaseView{}, false, nil
		}
		if !errors.Is(err, models.ErrNotFound) {
			return 0, CaseView{}, false, err
		}
	}
	customer, err := d.upsertAccount(ctx, tx, a, "customer", nc.customer)
	if err != nil {
		return 0, CaseView{}, false, err
	}
	var intended *models.CustomerAccount
	if nc.intended != nil {
		acct, err := d.upsertAccount(ctx, tx, a, "intended_account", *nc.intended)
		if err != nil {
			return 0, CaseView{}, false, err
		}
		intended = &acct
	}
	accountID := func(id string) *int64 {
		switch {
		case id == "":
			return nil
		case id == customer.AccountID:
			return &customer.ID
		default:
			return &intended.ID
		}
	}
	// Cards are locked in a fixed order (by claim-code HMAC, then serial) so that two creations
	// naming the same cards never deadlock, and so that a creation sees a concurrent one's link.
	order := slices.Clone(nc.cards)
	slices.SortFunc(order, func(x, y parsedCard) int {
		if c := bytesCompare(x.hmac, y.hmac); c != 0 {
			return c
		}
		return stringsCompare(x.serial, y.serial)
	})
	var cardIDs, knownIDs []int64
	var matched []models.GiftCard
	var codes []StoredCode
	for _, pc := range order {
		card, inserted, err := d.matchCard(ctx, tx, pc, accountID(pc.in.RedeemedTo), now)
		if err != nil {
			return 0, CaseView{}, false, err
		}
		cardIDs, matched = append(cardIDs, card.ID), append(matched, card)
		if !inserted {
			knownIDs = append(knownIDs, card.ID)
		}
		if card.ClaimCodeLast4 != nil {
			codes = append(codes, StoredCode{HMAC: card.ClaimCodeHMAC, Last4: *card.ClaimCodeLast4})
		}
	}
	// The cases the known cards are on already, in one statement (R3); a card this transaction
	// inserted is on none, so a case of new cards asks nothing.
	others, err := models.CasesOfCards(ctx, tx, knownIDs)
	if err != nil {
		return 0, CaseView{}, false, err
	}
	flags := []string{}
	if crossesMarketplaces(customer, intended, matched) {
		flags = append(flags, FlagCrossMarketplace)
	}
	if len(others) > 0 {
		flags = append(flags, FlagPossibleDuplicate)
	}
	// R2: the codes of the case's cards never reach a stored text.
	red := NewRedactor(d.keys.ClaimCode, codes)
	tags := make(models.StringList, len(nc.tags))
	for i, t := range nc.tags {
		tags[i] = red.Redact(t)
	}
	n, err := models.NextCaseNumber(ctx, tx)
	if err != nil {
		return 0, CaseView{}, false, err
	}
	target := d.sla[nc.priority]
	frd, rd := now.Add(target.FirstResponse), now.Add(target.Resolution)
	c := models.Case{Ref: FormatRef(n), Type: string(nc.typ), Status: string(StatusNew), Priority: string(nc.priority),
		CustomerAccountID: customer.ID, Summary: red.Redact(nc.summary), Description: red.Redact(nc.description),
		Tags: tags, Flags: flags, FirstResponseDue: &frd, ResolutionDue: &rd, CreatedByID: &p.UserID,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if intended != nil {
		c.IntendedAccountID = &intended.ID
	}
	if err := models.InsertCase(ctx, tx, &c); err != nil {
		return 0, CaseView{}, false, err
	}
	if err := models.LinkCards(ctx, tx, c.ID, cardIDs, now); err != nil {
		return 0, CaseView{}, false, err
	}
	parts := caseParts{accounts: map[int64]models.CustomerAccount{customer.ID: customer}}
	if intended != nil {
		parts.accounts[intended.ID] = *intended
	}
	if nc.external != nil {
		r := models.ExternalRef{CaseID: c.ID, System: nc.external.System, ExternalID: red.Redact(nc.external.ID), CreatedAt: now}
		if nc.external.URL != "" {
			u := red.Redact(nc.external.URL)
			r.URL = &u
		}
		if err := models.InsertExternalRef(ctx, tx, &r); err != nil {
			return 0, CaseView{}, false, err
		}
		parts.refs = []models.ExternalRef{r}
	}
	if _, err := d.flagDuplicates(ctx, tx, a, duplicateFind{Case: c.ID, New: true, Others: others, Reason: "card"}, now); err != nil {
		return 0, CaseView{}, false, err
	}
	// The view is built from what this transaction wrote and locked, not read back: the case
	// row as inserted, its accounts as upserted, its cards as matched.
	if err := d.createdCaseParts(ctx, tx, &parts, matched, others); err != nil {
		return 0, CaseView{}, false, err
	}
	view := d.assembleCaseView(c, parts)
	return c.ID, view, true, d.auditAndAnnounce(ctx, tx, a, "case.created", "case", c.Ref, "case.created", view)
}

// createdCaseParts completes the parts of a new case's view that its creation did not hold
// already: its cards in the order the case lists them (all added at once: by id), the accounts
// they were redeemed to beside the case's own, who froze them, and the refs of the cases it
// duplicates (the new case's only links). Each costs a statement only when there is something to
// read.
func (d *Desk) createdCaseParts(ctx context.Context, tx *gorm.DB, parts *caseParts, matched []models.GiftCard, others []int64) error {
	for _, card := range matched {
		if !slices.ContainsFunc(parts.cards, func(c models.GiftCard) bool { return c.ID == card.ID }) {
			parts.cards = append(parts.cards, card)
		}
	}
	slices.SortFunc(parts.cards, func(x, y models.GiftCard) int { return cmp.Compare(x.ID, y.ID) })
	var missing []int64
	for _, card := range parts.cards {
		if id := card.RedeemedToAccountID; id != nil && !slices.Contains(missing, *id) {
			if _, ok := parts.accounts[*id]; !ok {
				missing = append(missing, *id)
			}
		}
	}
	if len(missing) > 0 {
		more, err := models.AccountsByID(ctx, tx, missing)
		if err != nil {
			return err
		}
		for id, acct := range more {
			parts.accounts[id] = acct
		}
	}
	var err error
	if parts.freezers, err = freezers(ctx, tx, parts.cards); err != nil {
		return err
	}
	if len(others) > 0 {
		refs, err := models.CaseRefsByID(ctx, tx, others)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			parts.duplicates = append(parts.duplicates, ref)
		}
		slices.Sort(parts.duplicates)
	}
	return nil
}

// crossesMarketplaces is R4's flag rule: a case whose intended account, or one of whose cards, lives
// in another marketplace than its customer's (a US card on a UK account: the regional lock) is
// accepted and flagged cross_marketplace, so that the agent can guide the customer; only money is
// refused. Case creation and every card added later ask it.
func crossesMarketplaces(customer models.CustomerAccount, intended *models.CustomerAccount, cards []models.GiftCard) bool {
	home := ""
	if customer.Marketplace != nil {
		home = *customer.Marketplace
	}
	if intended != nil && intended.Marketplace != nil && *intended.Marketplace != home {
		return true
	}
	for _, c := range cards {
		if c.Marketplace != home {
			return true
		}
	}
	return false
}

// withFlag returns flags with flag added, once.
func withFlag(flags []string, flag string) []string {
	if slices.Contains(flags, flag) {
		return flags
	}
	return append(slices.Clone(flags), flag)
}

// upsertAccount finds an account by id or creates it. Its marketplace is fixed when first
// recorded; a newer email or name replaces the stored one and is audited.
func (d *Desk) upsertAccount(ctx context.Context, tx *gorm.DB, a Actor, field string, in AccountInput) (models.CustomerAccount, error) {
	// One statement: the account as stored, or as inserted from in. A new account holds in's
	// email and name already, so the comparison below finds nothing to change.
	now := d.now()
	acct := models.CustomerAccount{AccountID: in.AccountID, Marketplace: &in.Marketplace, Email: nilIfEmpty(in.Email),
		Name: nilIfEmpty(in.Name), CreatedAt: now, UpdatedAt: now}
	err := models.UpsertAccount(ctx, tx, &acct)
	if errors.Is(err, models.ErrNotFound) {
		return acct, errRaceLost // inserted by a concurrent creation we could not see yet: run again
	}
	if err != nil {
		return acct, err
	}
	if acct.Marketplace == nil || *acct.Marketplace != in.Marketplace {
		return acct, &RuleError{Code: CodeMarketplaceMismatch, Field: field + ".marketplace",
			Message: fmt.Sprintf("account %s is recorded in another marketplace; an account's marketplace never changes", in.AccountID)}
	}
	email, name := acct.Email, acct.Name
	if in.Email != "" {
		email = &in.Email
	}
	if in.Name != "" {
		name = &in.Name
	}
	if ptrEq(email, acct.Email) && ptrEq(name, acct.Name) {
		return acct, nil
	}
	before := accountView(acct)
	if err := models.UpdateAccountContact(ctx, tx, acct.ID, email, name, d.now()); err != nil {
		return acct, err
	}
	// The account shows in its cases' JSON: their ETags must change with it (R12).
	touched, err := models.TouchCasesOfAccount(ctx, tx, acct.ID, d.now())
	if err != nil {
		return acct, err
	}
	if err := d.announceCases(ctx, tx, touched); err != nil {
		return acct, err
	}
	acct.Email, acct.Name = email, name
	return acct, d.audit(ctx, tx, a, "account.updated", "account", acct.AccountID, before, accountView(acct))
}

// matchCard finds the one record of a card (by claim-code HMAC, else serial) or creates it. A
// later case may fill in what the card lacks, never contradict its face value, currency or
// marketplace. inserted says the card is new, written by this call.
func (d *Desk) matchCard(ctx context.Context, tx *gorm.DB, pc parsedCard, redeemedTo *int64, now time.Time) (card models.GiftCard, inserted bool, err error) {
	card, err = d.findOrInsertCard(ctx, tx, pc, redeemedTo, now, &inserted)
	return card, inserted, err
}

func (d *Desk) findOrInsertCard(ctx context.Context, tx *gorm.DB, pc parsedCard, redeemedTo *int64, now time.Time, inserted *bool) (models.GiftCard, error) {
	var card models.GiftCard
	var err error = models.ErrNotFound
	if pc.hmac != nil {
		card, err = models.CardByHMAC(ctx, tx, pc.hmac)
	}
	if errors.Is(err, models.ErrNotFound) && pc.serial != "" {
		card, err = models.CardBySerial(ctx, tx, pc.serial)
		// The same code found by serial is the same card (a concurrent creation committed between
		// the two look-ups); another code is another card.
		if err == nil && card.ClaimCodeHMAC != nil && pc.hmac != nil && !hmac.Equal(card.ClaimCodeHMAC, pc.hmac) {
			return card, Invalid(at(pc.field, "serial"), "this serial belongs to a card with another claim code")
		}
	}
	if errors.Is(err, models.ErrNotFound) {
		if err := d.checkSerialFree(ctx, tx, pc, 0); err != nil {
			return card, err
		}
		card = models.GiftCard{ClaimCodeHMAC: pc.hmac, Marketplace: pc.in.Marketplace, Currency: pc.in.Currency,
			FaceValueMinor: pc.face, Status: pc.in.Status, RedeemedToAccountID: redeemedTo, RedeemedAt: pc.at,
			ClaimCodeHints: models.StringList{}, CreatedAt: now, UpdatedAt: now}
		if pc.code != nil {
			l4 := pc.code.Last4()
			card.ClaimCodeLast4, card.ClaimCodeHints = &l4, pc.code.Hints
		}
		if pc.serial != "" {
			card.Serial = &pc.serial
		}
		*inserted = true
		return card, models.InsertCard(ctx, tx, &card)
	}
	if err != nil {
		return card, err
	}
	var f fieldErrors
	if card.FaceValueMinor != pc.face {
		f.add(at(pc.field, "face_value_minor"), fmt.Sprintf("this card is recorded with face value %s", FormatMinor(card.FaceValueMinor, Currency(card.Currency))))
	}
	if card.Currency != pc.in.Currency {
		f.add(at(pc.field, "currency"), "this card is recorded in "+card.Currency)
	}
	if card.Marketplace != pc.in.Marketplace {
		f.add(at(pc.field, "marketplace"), "this card is recorded in marketplace "+card.Marketplace)
	}
	if card.Serial != nil && pc.serial != "" && *card.Serial != pc.serial {
		f.add(at(pc.field, "serial"), "this card is recorded with serial "+*card.Serial)
	}
	if err := f.err(); err != nil {
		return card, err
	}
	if err := d.checkSerialFree(ctx, tx, pc, card.ID); err != nil {
		return card, err
	}
	changes := map[string]any{}
	if card.ClaimCodeHMAC == nil && pc.code != nil {
		changes["claim_code_hmac"], changes["claim_code_last4"], changes["claim_code_hints"] = pc.hmac, pc.code.Last4(), models.StringList(pc.code.Hints)
	}
	if card.Serial == nil && pc.serial != "" {
		changes["serial"] = pc.serial
	}
	if card.Status == "unknown" && pc.in.Status != "unknown" {
		changes["status"] = pc.in.Status
	}
	if card.RedeemedToAccountID == nil && redeemedTo != nil {
		changes["redeemed_to_account_id"] = *redeemedTo
	}
	if card.RedeemedAt == nil && pc.at != nil {
		changes["redeemed_at"] = *pc.at
	}
	if len(changes) == 0 {
		return card, nil
	}
	changes["updated_at"] = now
	if err := models.UpdateCard(ctx, tx, card.ID, changes); err != nil {
		return card, err
	}
	if pc.hmac != nil {
		return models.CardByHMAC(ctx, tx, pc.hmac)
	}
	return models.CardBySerial(ctx, tx, pc.serial)
}

// checkSerialFree refuses a serial that another card record holds, or that is the claim code of
// another card (R1: it would be stored in clear). cardID is the record being matched, 0 for new.
func (d *Desk) checkSerialFree(ctx context.Context, tx *gorm.DB, pc parsedCard, cardID int64) error {
	if pc.serial == "" {
		return nil
	}
	if other, err := models.CardBySerial(ctx, tx, pc.serial); err == nil && other.ID != cardID {
		if pc.hmac != nil && hmac.Equal(other.ClaimCodeHMAC, pc.hmac) {
			return errRaceLost // the same card, committed by a concurrent request since we looked: run again
		}
		return Invalid(at(pc.field, "serial"), "this serial belongs to another card record; check the serial and the claim code")
	} else if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if code, err := ParseClaimCode(pc.serial); err == nil {
		other, err := models.CardByHMAC(ctx, tx, d.keys.ClaimCode.Sum(code))
		if err == nil && other.ID != cardID {
			return Invalid(at(pc.field, "serial"), "this is the claim code of a card the desk knows, not a serial")
		}
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
	}
	return nil
}

// announceCases writes a case.updated event for each case of ids, as it is now in tx: every
// write that moves a case's version without an event of its own (a card or account shown in it
// changed, the system moved its status, its first response was recorded) calls it, so that a
// ticketing system mirroring cases through webhooks sees what the change feed sees (SPEC 4.3).
func (d *Desk) announceCases(ctx context.Context, tx *gorm.DB, ids []int64) error {
	for _, id := range ids {
		c, err := models.CaseByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := d.announceCase(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

// announceCase is announceCases for a case whose row the caller holds as it now stands in tx.
func (d *Desk) announceCase(ctx context.Context, tx *gorm.DB, c models.Case) error {
	view, err := d.caseView(ctx, tx, c)
	if err != nil {
		return err
	}
	return d.outbox(ctx, tx, "case.updated", view)
}

// outbox writes a webhook event in the transaction of its change.
func (d *Desk) outbox(ctx context.Context, tx *gorm.DB, event string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return d.outboxEncoded(ctx, tx, event, models.JSONDoc(b))
}

// outboxEncoded is outbox with the payload already encoded as JSON.
func (d *Desk) outboxEncoded(ctx context.Context, tx *gorm.DB, event string, payload models.JSONDoc) error {
	return models.InsertOutbox(ctx, tx, &models.OutboxEvent{EventType: event, Payload: payload, CreatedAt: d.now()})
}

// auditAndAnnounce writes the audit event (no before state) and the outbox row of one change
// whose state, view, both show: view is encoded once for the two.
func (d *Desk) auditAndAnnounce(ctx context.Context, tx *gorm.DB, a Actor, action, entityType string, entityID any, event string, view any) error {
	doc, err := json.Marshal(view)
	if err != nil {
		return err
	}
	if err := d.auditEncoded(ctx, tx, a, action, entityType, entityID, nil, doc); err != nil {
		return err
	}
	return d.outboxEncoded(ctx, tx, event, doc)
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ptrEq(a, b *string) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func bytesCompare(a, b []byte) int { return stringsCompare(string(a), string(b)) }

func stringsCompare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
