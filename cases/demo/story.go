package demo

import (
	"strconv"
	"time"

	"giftdesk/cases"
)

// The claim codes of the demo's cards: realistic and valid (R2), so that the desk hashes them
// and keeps their last four only. Nothing prints them; the tests prove none is stored.
const (
	codeBirthday  = "GQ7M-K2XPRT-9HWL" // wrong_account, pending transfer
	codeNephew    = "NW4C-RT6JYE-KD7A" // unactivated, credited
	codeMarket    = "TJ9X-EH3MQA-WZ2R" // unactivated, receipt waiting for a second pair of eyes
	codeTrip      = "PF3K-ZQ6VND-C4UY" // a US card on a UK account
	codeScam500   = "HR2W-JX7CMT-E9QA" // given to a scammer
	codeScam250   = "VK6D-PL3YRG-N7EC" // given to a scammer
	codeDaughter  = "ZM9T-QC4HWK-R3JF" // transferred, then reversed
	codeAward     = "DX7Q-NG2LAE-W6PT" // dual approval
	codeKiosk     = "AY3R-TM7WQC-K9HD" // unactivated, wrong receipt
	codeConfusing = "K8SO-2QJ5MW-T0LB" // O/0, S/5, B/8: read back to the customer
)

// claimCodes lists every code above, for the tests.
var claimCodes = []string{codeBirthday, codeNephew, codeMarket, codeTrip, codeScam500, codeScam250, codeDaughter, codeAward, codeKiosk, codeConfusing}

const hour, day = time.Hour, 24 * time.Hour

// story is the desk's recent past, oldest case first, so that refs grow with recency.
var story = []func(l *loader){
	regionalMismatchClosed,
	wrongAccountReversed,
	promoCreditDenied,
	unactivatedCardCredited,
	unactivatedCardWrongReceipt,
	wrongAccountDualApproval,
	codeProblemWaiting,
	codeProblemDuplicate,
	otherUnanswered,
	codeProblemReadBack,
	unactivatedCardToVerify,
	unexpectedChargeWaiting,
	scamVictimFrozen,
	promoCreditNew,
	wrongAccountPending,
}

// newCard is a card of a marketplace, in its currency.
func newCard(marketplace string, value int64, code, serial, status string) cases.CardInput {
	currency := map[string]string{"US": "USD", "UK": "GBP", "CA": "CAD", "DE": "EUR"}[marketplace]
	return cases.CardInput{ClaimCode: code, Serial: serial, FaceValueMinor: money(value), Currency: currency, Marketplace: marketplace, Status: status}
}

// A US card on a UK account: flagged cross_marketplace, guided, resolved with no money, closed.
func regionalMismatchClosed(l *loader) {
	k := l.open(l.agent, 6*day, cases.NewCase{Type: "regional_mismatch", Priority: "low",
		Summary:     "US gift card refused on the UK site",
		Description: "Customer bought a $50 card on a trip to Boston and tries to redeem it on the UK site, which refuses it.",
		Customer:    cases.AccountInput{AccountID: "CUST-UK-219004", Marketplace: "UK", Email: "oliver.grant@mail.example", Name: "Oliver Grant"},
		Cards:       []cases.CardInput{newCard("US", 5000, codeTrip, "", "active")}, Tags: []string{"travel"}})
	k.assign(l.agent, l.agent)
	k.to(l.agent, cases.StatusInvestigating, "")
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "inbound", OccurredAt: l.ago(6*day + 5*time.Minute),
		CounterpartName: "Oliver Grant", Reference: "CHAT-88120",
		Body: "My gift card from the US says it can't be used on this site. It has never been used, can you move it to my account?"})
	k.screenshot(l.agent, "uk-site-refusal.png", "Customer's screenshot of the refusal.",
		"YOUR ACCOUNT - GIFT CARDS", "", "REDEEM A GIFT CARD", "", "THIS GIFT CARD CANNOT BE REDEEMED", "ON THIS MARKETPLACE. IT WAS ISSUED", "FOR: UNITED STATES (USD)")
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "outbound", OccurredAt: l.ago(6*day - 10*time.Minute),
		CounterpartName: "Oliver Grant", Reference: "CHAT-88120",
		Body: "A gift card works only on the site of the country it was issued for, and balances never move between countries. " +
			"Your card is unused: you can redeem it on the US site with a US account, or give it to someone who shops there."})
	k.to(l.agent, cases.StatusResolved, cases.ResolutionNoAction)
	k.to(l.agent, cases.StatusClosed, "")
}

// A transfer applied, then undone by a reversal when the family sorted out whose card it was.
func wrongAccountReversed(l *loader) {
	k := l.open(l.agent2, 5*day, cases.NewCase{Type: "wrong_account", Priority: "normal",
		Summary:         "Card redeemed on the mother's account instead of the daughter's",
		Description:     "Customer says the $40 card was a gift for her daughter but was redeemed while she was signed in on the family tablet.",
		Customer:        cases.AccountInput{AccountID: "CUST-US-290551", Marketplace: "US", Email: "morgan.price@mail.example", Name: "Morgan Price"},
		IntendedAccount: &cases.AccountInput{AccountID: "CUST-US-290552", Marketplace: "US", Email: "ellie.price@mail.example", Name: "Ellie Price"},
		Cards: []cases.CardInput{{ClaimCode: codeDaughter, FaceValueMinor: money(4000), Currency: "USD", Marketplace: "US",
			Status: "redeemed", RedeemedTo: "CUST-US-290551", RedeemedAt: l.ago(6 * day)}},
		External: &cases.ExternalInput{System: "zendesk", ID: "81077", URL: "https://support.example.com/agent/tickets/81077"}})
	k.assign(l.agent2, l.agent2)
	k.to(l.agent2, cases.StatusInvestigating, "")
	k.say(l.agent2, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: l.ago(5*day + 10*time.Minute),
		CounterpartName: "Morgan Price", RepresentativeName: "Robin Agent", Reference: "CALL-549630", DurationSeconds: seconds(420),
		Body: "Card redeemed on the wrong account from the family tablet. Both accounts are hers and her daughter's; verified by email."})
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(5*day - 20*time.Minute),
		CounterpartName: "Morgan Price", Body: "As agreed on the phone, we have asked for the $40.00 to be moved to Ellie's account."})
	t := k.request(l.agent2, cases.NewCorrection{Kind: "transfer", AmountMinor: money(4000), Currency: "USD",
		FromAccount: "CUST-US-290551", ToAccount: "CUST-US-290552", CardID: k.card("R3JF"),
		Reason: "Redeemed on the mother's account by mistake; both account holders confirmed by email."})
	k.approve(l.sup, t, "Redemption and both accounts checked.")
	k.say(l.agent2, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: l.ago(4 * day),
		CounterpartName: "Morgan Price", RepresentativeName: "Robin Agent", Reference: "CALL-550102", DurationSeconds: seconds(300),
		Body: "Customer called back: the card was her own, from her employer; her daughter's was a different one. Asks to undo the transfer."})
	r := k.request(l.agent2, cases.NewCorrection{Kind: "reversal", Reverses: itoa(t),
		Reason: "The customer says the card was hers after all; undo the transfer to her daughter's account."})
	k.approve(l.sup2, r, "The customer's own request, recorded on her second call.")
	k.to(l.agent2, cases.StatusResolved, cases.ResolutionNoAction)
	k.to(l.agent2, cases.StatusClosed, "")
}

// An expired promotional credit: the credit is denied, the customer told why.
func promoCreditDenied(l *loader) {
	k := l.open(l.agent2, 4*day, cases.NewCase{Type: "promo_credit", Priority: "normal",
		Summary:     "Promotional credit of $15 disappeared",
		Description: "Customer had a $15 promotional credit from a streaming offer and finds it gone.",
		Customer:    cases.AccountInput{AccountID: "CUST-US-661503", Marketplace: "US", Email: "elena.rossi@mail.example", Name: "Elena Rossi"},
		Tags:        []string{"promo"}})
	k.assign(l.agent2, l.agent2)
	k.to(l.agent2, cases.StatusInvestigating, "")
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "inbound", OccurredAt: l.ago(4*day + 20*time.Minute),
		CounterpartName: "Elena Rossi", Body: "My $15 credit is gone from my account and I never used it. Please put it back."})
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(4*day - 2*hour),
		CounterpartName: "Elena Rossi", Body: "Thank you for writing. Could you send a screenshot of the promotional balance page of your account?"})
	k.screenshot(l.agent2, "promotional-balance.png", "Account's promotional balance page, from the customer.",
		"PROMOTIONAL BALANCE", "", "STREAMING OFFER CREDIT     15.00 USD", "ISSUED 2026-08-01", "EXPIRED 2026-10-31", "", "PROMOTIONAL CREDITS EXPIRE AND", "CANNOT BE REINSTATED OR TRANSFERRED")
	c := k.request(l.agent2, cases.NewCorrection{Kind: "credit", AmountMinor: money(1500), Currency: "USD",
		Reason: "Customer asks for the expired promotional credit back as goodwill; first contact, long-standing account."})
	k.deny(l.sup2, c, "The credit expired under its terms on 2026-10-31; promotional credits are not gift card balances and are not reinstated.")
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "outbound", CounterpartName: "Elena Rossi",
		Body: "Promotional credits come with an end date, unlike gift card balances, and this one expired on 31 October. " +
			"We cannot reinstate it, but your gift card balance is untouched."})
	k.to(l.agent2, cases.StatusResolved, cases.ResolutionDenied)
}

// A card sold but never activated: receipt verified by a second agent, credit approved, resolved.
func unactivatedCardCredited(l *loader) {
	k := l.open(l.agent, 3*day, cases.NewCase{Type: "unactivated_card", Priority: "normal",
		Summary:     "£25 card says 'not activated'",
		Description: "Bought at a newsagent as a present; the code is refused as not activated.",
		Customer:    cases.AccountInput{AccountID: "CUST-UK-220871", Marketplace: "UK", Email: "priya.shah@mail.example", Name: "Priya Shah"},
		Cards:       []cases.CardInput{newCard("UK", 2500, codeNephew, "6341 2209 7746 3302", "not_activated")}})
	k.assign(l.agent, l.agent)
	k.to(l.agent, cases.StatusInvestigating, "")
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "inbound", OccurredAt: l.ago(3*day + 5*time.Minute),
		CounterpartName: "Priya Shah", Reference: "CHAT-88342", Body: "I bought a £25 gift card for my nephew and the site says it is not activated."})
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "outbound", OccurredAt: l.ago(3*day - 5*time.Minute),
		CounterpartName: "Priya Shah", Reference: "CHAT-88342",
		Body: "Sorry about that. Please send us a photo of the till receipt showing the store, date, amount and the last four digits of the card number."})
	k.say(l.agent, cases.NewCommunication{Channel: "email", Direction: "inbound", OccurredAt: l.ago(2*day + 20*hour),
		CounterpartName: "Priya Shah", Body: "Receipt attached."})
	e := k.receipt(l.agent, Receipt{Store: "HIGH STREET NEWS #118", Location: "14 HIGH ST, READING", PurchasedAt: l.day(4*day + 3*hour),
		Amount: "25.00", Currency: "GBP", CardLast4: "3302", Transaction: "118-02-44710", Tender: "CASH"}, "Sent by the customer by email.")
	k.verify(l.agent2, e, "verified", "Store, date, amount and last four match the card; the card is recorded as not activated.")
	c := k.request(l.agent, cases.NewCorrection{Kind: "credit", AmountMinor: money(2500), Currency: "GBP", CardID: k.card("3302"),
		Reason: "Card sold but never activated at the till; verified receipt on the case."})
	k.approve(l.sup, c, "Verified receipt covers the amount.")
	k.say(l.agent, cases.NewCommunication{Channel: "email", Direction: "outbound", CounterpartName: "Priya Shah",
		Body: "We have added £25.00 to your account's gift card balance. The card itself stays inactive: there is nothing more to do with it."})
	k.to(l.agent, cases.StatusResolved, cases.ResolutionCorrected)
}

// An unactivated card whose receipt is for another purchase: rejected, the store visited, waiting.
func unactivatedCardWrongReceipt(l *loader) {
	k := l.open(l.agent, 50*hour, cases.NewCase{Type: "unactivated_card", Priority: "normal",
		Summary:     "€50 card not activated at a kiosk in Cologne",
		Description: "Card bought at a kiosk; the site refuses it as not activated.",
		Customer:    cases.AccountInput{AccountID: "CUST-DE-127764", Marketplace: "DE", Email: "jonas.becker@mail.example", Name: "Jonas Becker"},
		Cards:       []cases.CardInput{newCard("DE", 5000, codeKiosk, "6001 4482 9937 2264", "not_activated")}})
	k.assign(l.agent, l.agent)
	k.to(l.agent, cases.StatusInvestigating, "")
	k.say(l.agent, cases.NewCommunication{Channel: "email", Direction: "inbound", OccurredAt: l.ago(50*hour + 30*time.Minute),
		CounterpartName: "Jonas Becker", Body: "The €50 card I bought last week is 'not activated'. Receipt attached."})
	e := k.receipt(l.agent, Receipt{Store: "KIOSK AM MARKT", Location: "MARKTPLATZ 3, KOELN", PurchasedAt: l.day(9*day + 2*hour),
		Amount: "25.00", Currency: "EUR", CardLast4: "2264", Transaction: "KAM-7781-0093", Tender: "GIROCARD ****6621"}, "From the customer's email.")
	k.verify(l.agent2, e, "rejected", "The receipt shows 25.00 EUR and the card is 50.00 EUR: another purchase. Ask for the activation receipt.")
	k.say(l.agent, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(49 * hour),
		CounterpartName: "Jonas Becker", Body: "The receipt you sent is for 25.00 EUR, not for the 50.00 EUR card. Do you have the receipt of the card itself? The kiosk can print a copy."})
	k.say(l.agent, cases.NewCommunication{Channel: "in_person", Direction: "inbound", OccurredAt: l.ago(30 * hour),
		CounterpartName: "Jonas Becker", RepresentativeName: "Mara Vogel (kiosk manager)", Reference: "KAM-7781",
		Body: "Customer went back to the kiosk with the card. The manager says the terminal was offline that day and will print a copy of the right receipt."})
	k.say(l.agent, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(29 * hour),
		CounterpartName: "Jonas Becker", Body: "Thank you. Please send us the copy of the receipt for the €50 card when the kiosk gives it to you."})
	k.to(l.agent, cases.StatusWaitingOnCustomer, "")
}

// A CA$750 card on the wrong account: at the dual-approval threshold, applied at the second approval.
func wrongAccountDualApproval(l *loader) {
	k := l.open(l.agent2, 46*hour, cases.NewCase{Type: "wrong_account", Priority: "high",
		Summary:         "CA$750 award card redeemed on the business account",
		Description:     "An employee award card went to the customer's business account; she wants it on her personal account.",
		Customer:        cases.AccountInput{AccountID: "CUST-CA-410227", Marketplace: "CA", Email: "a.tremblay@atelier.example", Name: "Amélie Tremblay"},
		IntendedAccount: &cases.AccountInput{AccountID: "CUST-CA-410229", Marketplace: "CA", Email: "amelie.tremblay@mail.example"},
		Cards: []cases.CardInput{{ClaimCode: codeAward, FaceValueMinor: money(75000), Currency: "CAD", Marketplace: "CA",
			Status: "redeemed", RedeemedTo: "CUST-CA-410227", RedeemedAt: l.ago(3 * day)}},
		External: &cases.ExternalInput{System: "freshdesk", ID: "FD-20417"}})
	k.assign(l.agent2, l.agent2)
	k.to(l.agent2, cases.StatusInvestigating, "")
	k.say(l.agent2, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: l.ago(46*hour + 15*time.Minute),
		CounterpartName: "Amélie Tremblay", RepresentativeName: "Robin Agent", Reference: "CALL-551447", DurationSeconds: seconds(660),
		Body: "Award card from her employer redeemed on her business account. Confirmed both accounts are hers."})
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(45 * hour),
		CounterpartName: "Amélie Tremblay", Body: "Following our call: we have asked for the CA$750.00 to be moved to your personal account. Two supervisors review a correction of this size."})
	k.screenshot(l.agent2, "gift-card-activity.png", "Gift card activity of the business account.",
		"GIFT CARD ACTIVITY", "", "REDEEMED     750.00 CAD", "CARD ****W6PT", "TO ACCOUNT CUST-CA-410227")
	t := k.request(l.agent2, cases.NewCorrection{Kind: "transfer", AmountMinor: money(75000), Currency: "CAD",
		FromAccount: "CUST-CA-410227", ToAccount: "CUST-CA-410229", CardID: k.card("W6PT"),
		Reason: "Award card redeemed on the customer's business account; she holds both accounts."})
	k.approve(l.sup, t, "Redemption confirmed; first of two approvals.")
	k.approve(l.sup2, t, "Second approval: accounts and amount checked.")
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "outbound", CounterpartName: "Amélie Tremblay",
		Body: "The CA$750.00 balance is now on your personal account."})
	k.to(l.agent2, cases.StatusResolved, cases.ResolutionCorrected)
}

// A scratched code: only the serial is known; waiting for a photo of the card.
func codeProblemWaiting(l *loader) {
	k := l.open(l.agent2, 30*hour, cases.NewCase{Type: "code_problem", Priority: "normal",
		Summary:     "Code scratched off with the coating",
		Description: "Customer scratched too hard; part of the claim code is gone. Serial number readable.",
		Customer:    cases.AccountInput{AccountID: "CUST-US-502237", Marketplace: "US", Email: "hannah.okafor@mail.example", Name: "Hannah Okafor"},
		Cards:       []cases.CardInput{newCard("US", 2500, "", "6040 1157 2290 4418", "unknown")}})
	k.assign(l.agent2, l.agent2)
	k.to(l.agent2, cases.StatusInvestigating, "")
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "inbound", OccurredAt: l.ago(30*hour + 10*time.Minute),
		CounterpartName: "Hannah Okafor", Body: "The silver coating took half the code off. The number under the barcode is fine."})
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(29 * hour),
		CounterpartName: "Hannah Okafor", Body: "Please send a photo of the front and back of the card, and of the receipt if you still have it."})
	k.to(l.agent2, cases.StatusWaitingOnCustomer, "")
}

// The same card written in about twice: flagged possible_duplicate both ways, resolved as a duplicate.
func codeProblemDuplicate(l *loader) {
	k := l.open(l.agent, 28*hour, cases.NewCase{Type: "code_problem", Priority: "low",
		Summary:     "Unreadable gift card code (chat)",
		Description: "Chat about a card whose code is unreadable.",
		Customer:    cases.AccountInput{AccountID: "CUST-US-502237", Marketplace: "US", Name: "Hannah Okafor"},
		Cards:       []cases.CardInput{newCard("US", 2500, "", "604011572290 4418", "")}})
	k.assign(l.agent, l.agent)
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "inbound", OccurredAt: l.ago(28*hour + 3*time.Minute),
		CounterpartName: "Hannah Okafor", Reference: "CHAT-88911", Body: "Following up on my email about the scratched card."})
	k.say(l.agent, cases.NewCommunication{Channel: "internal_note", Direction: "internal",
		Body: "Same card and customer as the earlier email case: continuing there."})
	k.to(l.agent, cases.StatusResolved, cases.ResolutionDuplicate)
}

// A question nobody has answered yet: unassigned, past its first-response target.
func otherUnanswered(l *loader) {
	k := l.open(l.agent, 26*hour, cases.NewCase{Type: "other", Priority: "low",
		Summary:     "Does a gift card bought as a wedding present expire?",
		Description: "Customer wants to know before giving it.",
		Customer:    cases.AccountInput{AccountID: "CUST-JP-904411", Marketplace: "JP", Email: "yuki.tanaka@mail.example", Name: "Yuki Tanaka"}})
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "inbound", OccurredAt: l.ago(26*hour + 2*time.Minute),
		CounterpartName: "Yuki Tanaka", Reference: "CHAT-88877", Body: "I want to give a ¥10,000 gift card at a wedding next spring. Will it still work then?"})
}

// Read back with the customer, the code worked: the agent cancels the credit asked for.
func codeProblemReadBack(l *loader) {
	k := l.open(l.agent, 22*hour, cases.NewCase{Type: "code_problem", Priority: "normal",
		Summary:     "Code refused: O/0 and B/8 confusion",
		Description: "Customer typed the code three times; refused each time.",
		Customer:    cases.AccountInput{AccountID: "CUST-US-583301", Marketplace: "US", Email: "grace.liu@mail.example", Name: "Grace Liu"},
		Cards:       []cases.CardInput{newCard("US", 2500, codeConfusing, "", "active")}})
	k.assign(l.agent, l.agent)
	k.to(l.agent, cases.StatusInvestigating, "")
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "inbound", OccurredAt: l.ago(22*hour + 4*time.Minute),
		CounterpartName: "Grace Liu", Reference: "CHAT-89020", Body: "My $25 card is refused as invalid."})
	c := k.request(l.agent, cases.NewCorrection{Kind: "credit", AmountMinor: money(2500), Currency: "USD", CardID: k.card("T0LB"),
		Reason: "Code refused three times; card appears faulty."})
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "outbound", OccurredAt: l.ago(21 * hour),
		CounterpartName: "Grace Liu", Reference: "CHAT-89020",
		Body: "Let's read the code together: the third character is the letter S, the fourth the letter O, and the 8 is a digit. Please try again."})
	k.say(l.agent, cases.NewCommunication{Channel: "chat", Direction: "inbound", OccurredAt: l.ago(21*hour - 3*time.Minute),
		CounterpartName: "Grace Liu", Reference: "CHAT-89020", Body: "It worked, thank you!"})
	k.cancel(l.agent, c)
	k.updateCard(l.agent, k.card("T0LB"), cases.CardPatch{Status: "redeemed",
		RedeemedTo: cases.Nullable{Set: true, Value: "CUST-US-583301"}, RedeemedAt: cases.Nullable{Set: true, Value: l.ago(21*hour - 3*time.Minute)}})
	k.to(l.agent, cases.StatusResolved, cases.ResolutionNoAction)
}

// A receipt uploaded by one agent, for the other to verify before any credit (R6).
func unactivatedCardToVerify(l *loader) {
	k := l.open(l.agent2, 20*hour, cases.NewCase{Type: "unactivated_card", Priority: "normal",
		Summary:     "$100 card refused as not activated",
		Description: "Card bought at a supermarket; redemption says not activated.",
		Customer:    cases.AccountInput{AccountID: "CUST-US-448120", Marketplace: "US", Email: "marcus.webb@mail.example", Name: "Marcus Webb"},
		Cards:       []cases.CardInput{newCard("US", 10000, codeMarket, "7777 0413 2231 7731", "not_activated")},
		External:    &cases.ExternalInput{System: "zendesk", ID: "81544"}})
	k.to(l.agent2, cases.StatusInvestigating, "")
	k.say(l.agent2, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: l.ago(20*hour + 12*time.Minute),
		CounterpartName: "Marcus Webb", RepresentativeName: "Robin Agent", Reference: "CALL-553310", DurationSeconds: seconds(720),
		Body: "Card bought six days ago at Corner Market; the site says it is not activated. Has the receipt."})
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(19 * hour),
		CounterpartName: "Marcus Webb", Body: "Please reply with a photo of the receipt showing the store, date, amount and the last four digits of the card."})
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "inbound", OccurredAt: l.ago(3 * hour),
		CounterpartName: "Marcus Webb", Body: "Here is the receipt."})
	k.receipt(l.agent2, Receipt{Store: "CORNER MARKET #0412", Location: "1200 MARKET ST, SPRINGFIELD", PurchasedAt: l.day(6*day + 5*hour),
		Amount: "100.00", Currency: "USD", CardLast4: "7731", Transaction: "0412-03-88231", Tender: "VISA ****4242"}, "From the customer's email.")
	k.say(l.agent2, cases.NewCommunication{Channel: "internal_note", Direction: "internal",
		Body: "Receipt on the case. It needs verifying by someone else before the credit can be requested."})
	k.assign(l.agent2, l.agent)
}

// 1-Click charged a bank card although a balance existed: guidance, waiting for the order ids.
func unexpectedChargeWaiting(l *loader) {
	k := l.open(l.agent2, 12*hour, cases.NewCase{Type: "unexpected_charge", Priority: "low",
		Summary:     "Visa charged although a $60 gift card balance was there",
		Description: "Customer bought with 1-Click; the order went on the Visa card instead of the balance.",
		Customer:    cases.AccountInput{AccountID: "CUST-US-775140", Marketplace: "US", Email: "daniel.kim@mail.example", Name: "Daniel Kim"}})
	k.assign(l.agent2, l.agent2)
	k.to(l.agent2, cases.StatusInvestigating, "")
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "inbound", OccurredAt: l.ago(12*hour + 30*time.Minute),
		CounterpartName: "Daniel Kim", Body: "I have $60 on my gift card balance but my Visa was charged for my last order. Why?"})
	k.say(l.agent2, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(11 * hour),
		CounterpartName: "Daniel Kim",
		Body: "1-Click uses the payment method saved with it, which can be a bank card even when a balance exists. " +
			"You can set the balance to be used first in your payment settings. Could you send the order numbers so we can check them?"})
	k.to(l.agent2, cases.StatusWaitingOnCustomer, "")
}

// A scam victim: cards frozen, reported; a credit at the dual-approval threshold has one approval.
func scamVictimFrozen(l *loader) {
	k := l.open(l.agent, 10*hour, cases.NewCase{Type: "scam_victim", Priority: "urgent",
		Summary:     "Paid a 'tax fine' with two gift cards over the phone",
		Description: "A caller claiming to be from the tax office demanded a fine paid in gift cards. Customer bought $500 and $250 cards and read the codes out.",
		Customer:    cases.AccountInput{AccountID: "CUST-US-118842", Marketplace: "US", Email: "walter.brooks@mail.example", Name: "Walter Brooks"},
		Cards:       []cases.CardInput{newCard("US", 50000, codeScam500, "", "unknown"), newCard("US", 25000, codeScam250, "", "unknown")},
		Tags:        []string{"scam", "fraud-team"}})
	k.assign(l.agent, l.agent)
	k.to(l.agent, cases.StatusInvestigating, "")
	k.say(l.agent, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: l.ago(10*hour + 20*time.Minute),
		CounterpartName: "Walter Brooks", RepresentativeName: "Alex Agent", Reference: "CALL-553902", DurationSeconds: seconds(1260),
		Body: "Caller said he owed a tax fine and had to pay it in gift cards today. He bought two cards and read both codes to the caller."})
	k.say(l.agent, cases.NewCommunication{Channel: "internal_note", Direction: "internal",
		Body: "Customer read the first card out again to confirm it: " + codeScam500 + ". Both cards reported to the fraud team, ref FR-20931."})
	for _, last4 := range []string{"E9QA", "N7EC"} {
		k.updateCard(l.agent, k.card(last4), cases.CardPatch{Frozen: new(true), FrozenReason: "Code given to a scammer over the phone; fraud team ref FR-20931."})
	}
	k.say(l.agent, cases.NewCommunication{Channel: "phone", Direction: "outbound", OccurredAt: l.ago(9*hour + 30*time.Minute),
		CounterpartName: "Walter Brooks", RepresentativeName: "Alex Agent", Reference: "PD 26-114873", DurationSeconds: seconds(540),
		Body: "Called back: no tax office or legitimate business asks to be paid in gift cards. Advised him to report it to the police " +
			"(report number above) and to keep the receipts. The cards are frozen while the fraud team looks at them."})
	c := k.request(l.agent, cases.NewCorrection{Kind: "credit", AmountMinor: money(50000), Currency: "USD", CardID: k.card("E9QA"),
		Reason: "Scam victim: the $500 card was drained by the fraudster before it was frozen. Goodwill credit for supervisor decision."})
	k.approve(l.sup, c, "Fraud team confirms a known scam pattern. First of two approvals.")
}

// A new case nobody has picked up yet: its first response is due soon.
func promoCreditNew(l *loader) {
	k := l.open(l.agent, 6*hour+30*time.Minute, cases.NewCase{Type: "promo_credit", Priority: "normal",
		Summary:     "Sign-up bonus credit never appeared",
		Description: "Customer signed up for the newsletter offer; the $5 credit is not on the account.",
		Customer:    cases.AccountInput{AccountID: "CUST-MX-330912", Marketplace: "MX", Email: "sofia.martinez@mail.example", Name: "Sofía Martínez"},
		External:    &cases.ExternalInput{System: "freshdesk", ID: "FD-20588"}})
	k.say(l.agent, cases.NewCommunication{Channel: "email", Direction: "inbound", OccurredAt: l.ago(6*hour + 35*time.Minute),
		CounterpartName: "Sofía Martínez", Body: "I signed up for the offer two weeks ago and never got the promised credit."})
}

// The wrong-account case of a newcomer's first call: transfer requested, waiting for a supervisor.
func wrongAccountPending(l *loader) {
	k := l.open(l.agent, 5*hour, cases.NewCase{Type: "wrong_account", Priority: "high",
		Summary:         "Birthday gift card redeemed on the work account",
		Description:     "Customer redeemed a $50 birthday card while signed in to the work account on a shared laptop.",
		Customer:        cases.AccountInput{AccountID: "CUST-US-310045", Marketplace: "US", Email: "jordan.lee@northwind.example", Name: "Jordan Lee"},
		IntendedAccount: &cases.AccountInput{AccountID: "CUST-US-310046", Marketplace: "US", Email: "jordan.lee@mail.example", Name: "Jordan Lee"},
		Cards: []cases.CardInput{{ClaimCode: codeBirthday, FaceValueMinor: money(5000), Currency: "USD", Marketplace: "US",
			Status: "redeemed", RedeemedTo: "CUST-US-310045", RedeemedAt: l.ago(2 * day)}},
		External: &cases.ExternalInput{System: "zendesk", ID: "81234", URL: "https://support.example.com/agent/tickets/81234"},
		Tags:     []string{"phone"}})
	k.assign(l.agent, l.agent)
	k.to(l.agent, cases.StatusInvestigating, "")
	call := k.say(l.agent, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: l.ago(5*hour + 5*time.Minute),
		CounterpartName: "Jordan Lee", RepresentativeName: "Alex Agent", Reference: "CALL-552018", DurationSeconds: seconds(540),
		Body: "Redeemed a birthday card on the work account by mistake. Confirmed the last four and the redemption time on the account's gift card activity."})
	k.say(l.agent, cases.NewCommunication{Channel: "phone", Direction: "inbound", OccurredAt: l.ago(5*hour + 5*time.Minute),
		CounterpartName: "Jordan Lee", RepresentativeName: "Alex Agent", Reference: "CALL-552081", DurationSeconds: seconds(540), Supersedes: call,
		Body: "Redeemed a birthday card on the work account by mistake. Confirmed the last four and the redemption time on the account's gift card activity. " +
			"(Amended: the call reference was mistyped.)"})
	k.say(l.agent, cases.NewCommunication{Channel: "email", Direction: "outbound", OccurredAt: l.ago(4*hour + 50*time.Minute),
		CounterpartName: "Jordan Lee",
		Body: "We have asked for the $50.00 to be moved to your personal account. A supervisor reviews every balance correction; " +
			"we will write again when it is done."})
	k.request(l.agent, cases.NewCorrection{Kind: "transfer", AmountMinor: money(5000), Currency: "USD",
		FromAccount: "CUST-US-310045", ToAccount: "CUST-US-310046", CardID: k.card("9HWL"),
		Reason: "Redeemed on the customer's work account by mistake; the customer holds both accounts."})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
