package cases

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"giftdesk/models"
)

// CorrectionPreview is what the request-time rules will decide on a correction before it is
// submitted: what R6 needs, what R7 leaves on each card and, when the request is complete enough
// to judge, the refusal it would meet now (nil when it would be recorded).
type CorrectionPreview struct {
	Kind string
	// Needs are R6's and the kind's conditions in words: "needs a verified receipt of at least
	// 50.00 USD".
	Needs []string
	Cards []CardRoom
	// Judged is true when kind, amount and currency were given, so Refusal says what a request
	// would meet now; RequiredApprovals is R5's count for the amount.
	Judged            bool
	Refusal           *RuleError
	RequiredApprovals int
}

// PreviewCorrection runs a correction request's guards (the same moneyGuards RequestCorrection
// runs) on the case as it is, without writing or locking anything. The answer can only differ
// from the request's if the case changes in between; the request checks again, under lock.
func (d *Desk) PreviewCorrection(ctx context.Context, p Principal, ref string, in NewCorrection) (CorrectionPreview, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return CorrectionPreview{}, err
	}
	kase, err := models.CaseByRef(ctx, d.db, ref)
	if errors.Is(err, models.ErrNotFound) {
		return CorrectionPreview{}, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return CorrectionPreview{}, storeErr(err)
	}
	view, err := d.caseView(ctx, d.db, kase)
	if err != nil {
		return CorrectionPreview{}, storeErr(err)
	}
	ids := make([]int64, 0, len(view.Cards))
	for _, c := range view.Cards {
		ids = append(ids, c.ID)
	}
	money, err := models.CardMoneyOf(ctx, d.db, ids)
	if err != nil {
		return CorrectionPreview{}, storeErr(err)
	}
	kind := CorrectionKind(strings.TrimSpace(in.Kind))
	pv := CorrectionPreview{Kind: string(kind), Cards: cardRooms(view, money)}
	pv.Needs = CorrectionNeeds(view, kind, in)
	if (kind != CorrectionTransfer && kind != CorrectionCredit) || in.AmountMinor == nil || strings.TrimSpace(in.Currency) == "" {
		return pv, nil
	}
	probe := in
	if strings.TrimSpace(probe.Reason) == "" {
		probe.Reason = "preview" // the reason is the agent's to write; it decides nothing
	}
	if _, _, err := checkCorrection(probe); err != nil {
		return pv, ruleOrStore(&pv, err)
	}
	c := models.Correction{CaseID: kase.ID, Kind: string(kind)}
	pv.Judged = true
	from, to, card, err := resolveMoney(ctx, d.db, kase, probe, &c, models.CardByID)
	if err == nil {
		err = moneyGuards(ctx, d.db, kase, c, from, to, card)
	}
	if err != nil {
		return pv, ruleOrStore(&pv, err)
	}
	pv.RequiredApprovals = d.thresholds.RequiredApprovals(c.AmountMinor, Currency(c.Currency))
	return pv, nil
}

// ruleOrStore puts a refusal into the preview, and hands any other error back.
func ruleOrStore(pv *CorrectionPreview, err error) error {
	var re *RuleError
	if errors.As(err, &re) {
		pv.Judged, pv.Refusal = true, re
		return nil
	}
	return storeErr(err)
}

// CorrectionNeeds says, in words, what a correction of kind on this case needs before a
// supervisor may apply it (R6), and where a credit's money comes from.
func CorrectionNeeds(v CaseView, kind CorrectionKind, in NewCorrection) []string {
	var needs []string
	amount := "the credited amount"
	if in.AmountMinor != nil && *in.AmountMinor > 0 && Currency(strings.ToUpper(strings.TrimSpace(in.Currency))).Valid() {
		cur := Currency(strings.ToUpper(strings.TrimSpace(in.Currency)))
		amount = FormatMinor(*in.AmountMinor, cur)
	}
	switch {
	case kind == CorrectionCredit && v.Type == string(TypeUnactivatedCard):
		needs = append(needs, "needs a verified receipt of at least "+amount)
	case kind == CorrectionTransfer && v.Type == string(TypeWrongAccount):
		needs = append(needs, "needs its card recorded as redeemed to the from account")
	case kind == CorrectionReversal:
		needs = append(needs, "reverses an applied transfer or credit of this case: its amount, card and accounts, swapped")
	}
	if kind == CorrectionCredit {
		needs = append(needs, fmt.Sprintf("is paid from %s", CaseType(v.Type).CreditSource()))
	}
	if kind == CorrectionCredit || kind == CorrectionTransfer {
		for _, c := range v.Cards {
			if c.Frozen && !(kind == CorrectionCredit && v.Type == string(TypeScamVictim)) {
				needs = append(needs, cardLabel(c)+" is frozen: it cannot be named")
			}
		}
	}
	return needs
}

// CaseSeen is what a console form showed of a case when it was opened, sent back with its
// version so that a refusal for a stale version can say what changed.
type CaseSeen struct {
	Status, Priority, Assignee, Tags string
}

// ChangesSince lists, in words, how the case now differs from what the agent saw.
func ChangesSince(seen CaseSeen, now CaseView) []string {
	var out []string
	diff := func(what, was, is string) {
		if was != is {
			out = append(out, fmt.Sprintf("%s is now %s (was %s)", what, orNone(is), orNone(was)))
		}
	}
	diff("status", seen.Status, now.Status)
	diff("priority", seen.Priority, now.Priority)
	assignee := ""
	if now.Assignee != nil {
		assignee = *now.Assignee
	}
	diff("assignee", seen.Assignee, assignee)
	diff("tags", seen.Tags, strings.Join(now.Tags, ", "))
	if len(out) == 0 {
		out = append(out, "something else changed: a card, an entry, a correction or the first response")
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
