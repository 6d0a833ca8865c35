package cases

import (
	"context"
	"errors"
	"strings"
)

// SearchAnswer is where the console's search box leads. A term that parses as a claim code (R2)
// is looked up by its HMAC and never travels further: CardID names the card that has it, or
// NoCard says none does. Any other term is a text search, Query, that may go into a URL.
type SearchAnswer struct {
	CardID int64
	NoCard bool
	// Private is a term that is no valid code but could be one mistyped (a stray full stop, a
	// missing character): it is searched as text where it was posted, never put into a URL.
	Private bool
	Query   string
}

// Search decides what the header's search box does with term (issue 21): a claim code is looked
// up with LookupCard (audited, found or not), never written into a URL, a page or a log; a
// serial number, a ref, an account id or an email is a text search over the list's q fields.
func (d *Desk) Search(ctx context.Context, p Principal, a Actor, term string) (SearchAnswer, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return SearchAnswer{}, err
	}
	term = strings.TrimSpace(term)
	if _, err := ParseClaimCode(term); err != nil {
		var re *RuleError
		serial := errors.As(err, &re) && re.Code == CodeSerialNotClaimCode
		if !serial && MayHoldClaimCode(term) {
			return SearchAnswer{Private: true, Query: term}, nil
		}
		return SearchAnswer{Query: term}, nil
	}
	card, err := d.LookupCard(ctx, p, a, CardLookup{ClaimCode: term})
	if errors.Is(err, ErrNotFound) {
		return SearchAnswer{NoCard: true}, nil
	}
	if err != nil {
		return SearchAnswer{}, err
	}
	return SearchAnswer{CardID: card.ID}, nil
}
