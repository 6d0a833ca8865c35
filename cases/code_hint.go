package cases

import (
	"context"
	"errors"
	"slices"
	"strings"

	"gorm.io/gorm"

	"giftdesk/models"
)

// CodeHint is what the desk tells an agent about a claim code as they type it, before the case is
// saved (issue 21): whether R2 refuses it and why, the characters to read back, the masked form it
// will be stored as, and the cases the card is already on. It never holds the code, only its last
// four characters.
type CodeHint struct {
	Refusal string       // why R2 refuses the code; "" when it is well-formed
	Code    string       // the refusal's SPEC code (serial_not_claim_code, invalid_claim_code)
	Masked  string       // ••••LAST4, as the desk will store and show it; "" when refused
	Notes   []string     // R2's hint about easily confused characters, in one line
	Cases   []CaseOfCard // the cases the card is already on, oldest first
}

// CaseOfCard is a case a card is on.
type CaseOfCard struct {
	Ref    string `json:"ref"`
	Status string `json:"status"`
}

// Empty reports whether there is nothing to say (no code was given).
func (h CodeHint) Empty() bool { return h.Refusal == "" && h.Masked == "" }

// serialHint replaces R2's serial refusal in a hint: the agent is on the phone and needs to know
// where on the card to look.
const serialHint = "12 or more digits: this looks like the serial number printed under the barcode, " +
	"not the claim code (under the scratch-off strip, with letters)"

// HintClaimCode says what CodeHint holds about a code as the customer reads it out. Looking a
// well-formed code up is audited as LookupCard's look-ups are, since trying codes is how stolen
// ones are tested; an empty or refused code looks nothing up.
func (d *Desk) HintClaimCode(ctx context.Context, p Principal, a Actor, raw string) (CodeHint, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CodeHint{}, err
	}
	if strings.TrimSpace(raw) == "" {
		return CodeHint{}, nil
	}
	code, err := ParseClaimCode(raw)
	var re *RuleError
	if errors.As(err, &re) {
		h := CodeHint{Refusal: re.Message, Code: re.Code}
		if re.Code == CodeSerialNotClaimCode {
			h.Refusal = serialHint
		}
		return h, nil
	}
	if err != nil {
		return CodeHint{}, err
	}
	h := CodeHint{Masked: code.Masked(), Notes: confusedPairs(code)}
	err = d.inTx(ctx, func(tx *gorm.DB) error {
		card, err := d.lookupCode(ctx, tx, a, code)
		if err != nil || card.ID == 0 {
			return err
		}
		rows, err := models.CasesWithCard(ctx, tx, card.ID)
		h.Cases = nil
		for _, r := range rows {
			h.Cases = append(h.Cases, CaseOfCard{Ref: r.Ref, Status: r.Status})
		}
		return err
	})
	return h, err
}

// confusedPairs is R2's hints of a code in one line for the agent on the phone: "contains I/1 and
// B/8: easy to confuse, read it back to the customer".
func confusedPairs(code ClaimCode) []string {
	var pairs []string
	for _, c := range confusables {
		if slices.Contains(code.Hints, c.hint) {
			pairs = append(pairs, c.chars[:1]+"/"+c.chars[1:])
		}
	}
	switch len(pairs) {
	case 0:
		return nil
	case 1:
	default:
		pairs = append(pairs[:len(pairs)-2], pairs[len(pairs)-2]+" and "+pairs[len(pairs)-1])
	}
	return []string{"contains " + strings.Join(pairs, ", ") + ": letters and digits easy to confuse, read it back to the customer"}
}
