package seed

import (
	"strconv"
	"time"

	"giftdesk/cases"
)

// correction writes the case's correction in its planned state with what R5 requires of it:
// approvals by supervisors other than the requester, two distinct ones at or above the currency's
// threshold; postings that sum to zero when applied; a paired reversal when reversed.
func (g *generator) correction(p *plan, agent person, requested, decided time.Time, move func(time.Time, person, string, string, map[string]any)) {
	kind := moneyKind(p)
	var from, to int64
	var cardID any
	var cur string
	var amount int64
	var c *card
	if len(p.cards) > 0 {
		c = &p.cards[0]
		cardID, cur = c.id, c.currency
	} else {
		cur = currencyOf[p.customer.marketplace]
	}
	switch p.typ {
	case "wrong_account":
		from, to, amount = p.customer.id, p.intended.id, c.face
	case "unactivated_card", "code_problem":
		from, to, amount = g.sys.activation, p.customer.id, c.face
	case "scam_victim":
		from, to = g.sys.goodwill, p.customer.id
		if c != nil {
			amount = c.face
			if g.f.IntN(2) == 0 {
				amount = max(c.face/2, 1)
			}
		} else {
			amount = denominations[cur][1]
		}
	case "promo_credit":
		from, to, amount = g.sys.goodwill, p.customer.id, denominations[cur][g.f.IntN(3)]
	}
	requester := agent
	if g.f.IntN(10) == 0 {
		requester = oneOf(g, g.staff.supervisors)
	}
	required := g.thresholds.RequiredApprovals(amount, cases.Currency(cur))
	approvers := g.approvers(requester, required)
	id := g.id("corrections")
	reason := correctionReasons[p.typ]
	view := func(status string, approvals int) map[string]any {
		return map[string]any{"id": strconv.FormatInt(id, 10), "case": p.ref, "kind": kind, "status": status, "amount_minor": amount,
			"currency": cur, "required_approvals": required, "approvals": approvals}
	}
	g.event(requested, requester, "correction.requested", "correction", strconv.FormatInt(id, 10), nil, view("pending", 0))
	move(requested, requester, "pending_approval", "", nil)
	var status string
	var decidedBy, decidedAt, denial, reversedAt any
	updated := requested
	switch p.correction {
	case "pending":
		status = "pending"
		if required == 2 && g.f.IntN(2) == 0 {
			g.approval(id, requester, approvers[0], requested.Add(time.Duration(g.f.IntN(3600))*time.Second).Truncate(time.Microsecond))
			g.event(requested.Add(time.Hour), approvers[0], "correction.approved", "correction", strconv.FormatInt(id, 10), nil, view("pending", 1))
		}
	case "applied":
		status = "applied"
		at := decided
		for i, a := range approvers {
			when := at.Add(-time.Duration(len(approvers)-1-i) * time.Minute)
			if !when.After(requested) {
				when = requested.Add(time.Duration(i+1) * time.Microsecond)
			}
			g.approval(id, requester, a, when)
			if i < len(approvers)-1 {
				g.event(when, a, "correction.approved", "correction", strconv.FormatInt(id, 10), nil, view("pending", i+1))
			}
		}
		last := approvers[len(approvers)-1]
		decidedBy, decidedAt, updated = last.id, at, at
		g.posting(id, from, -amount, cur, at)
		g.posting(id, to, amount, cur, at)
		g.event(at, last, "correction.applied", "correction", strconv.FormatInt(id, 10), nil, view("applied", len(approvers)))
		move(at, last, "investigating", "", nil)
	case "denied":
		status = "denied"
		d := approvers[0]
		decidedBy, decidedAt, updated = d.id, decided, decided
		denial = oneOf(g, denialReasons)
		g.event(decided, d, "correction.denied", "correction", strconv.FormatInt(id, 10), nil, view("denied", 0))
		move(decided, d, "investigating", "", nil)
	case "cancelled":
		status = "cancelled"
		updated = decided
		g.event(decided, requester, "correction.cancelled", "correction", strconv.FormatInt(id, 10), view("pending", 0), view("cancelled", 0))
		move(decided, requester, "investigating", "", nil)
	}
	if p.reversed {
		// A mistake found later: the reversal posts the opposite entries and takes its original
		// out of R7's sum.
		rid := g.id("corrections")
		at := decided.Add(time.Duration(g.dur(p.last.Sub(decided)/4 + 1))).Truncate(time.Microsecond)
		if !at.After(decided) {
			at = decided.Add(time.Microsecond)
		}
		rApprovers := g.approvers(requester, required)
		rLast := rApprovers[len(rApprovers)-1]
		status, reversedAt, updated = "reversed", at, at
		g.row("corrections", id, p.id, kind, status, amount, cur, from, to, cardID, reason, requester.id, required, nil, denial,
			decidedBy, requested, updated, decidedAt, reversedAt, int64(3))
		g.row("corrections", rid, p.id, "reversal", "applied", amount, cur, to, from, cardID, "Reversed: applied to the wrong customer.",
			requester.id, required, id, nil, rLast.id, at, at, at, nil, int64(2))
		for i, a := range rApprovers {
			g.approval(rid, requester, a, at.Add(-time.Duration(len(rApprovers)-1-i)*time.Microsecond))
		}
		g.posting(rid, to, -amount, cur, at)
		g.posting(rid, from, amount, cur, at)
		rview := map[string]any{"id": strconv.FormatInt(rid, 10), "case": p.ref, "kind": "reversal", "status": "applied",
			"amount_minor": amount, "currency": cur, "reverses": strconv.FormatInt(id, 10)}
		g.event(at, requester, "correction.requested", "correction", strconv.FormatInt(rid, 10), nil, map[string]any{"id": rview["id"], "status": "pending"})
		g.event(at, rLast, "correction.applied", "correction", strconv.FormatInt(rid, 10), nil, rview)
		return
	}
	version := int64(1)
	if status != "pending" {
		version = 2
	}
	g.row("corrections", id, p.id, kind, status, amount, cur, from, to, cardID, reason, requester.id, required, nil, denial,
		decidedBy, requested, updated, decidedAt, reversedAt, version)
}

// approvers returns the supervisors who decide a correction: never its requester, n distinct.
func (g *generator) approvers(requester person, n int) []person {
	var out []person
	for _, i := range g.perm(len(g.staff.supervisors)) {
		s := g.staff.supervisors[i]
		if s.id != requester.id {
			out = append(out, s)
		}
		if len(out) == n {
			break
		}
	}
	return out
}

func (g *generator) approval(correction int64, requester, approver person, at time.Time) {
	g.row("correction_approvals", g.id("correction_approvals"), correction, requester.id, approver.id, "Checked the evidence.", at)
}

func (g *generator) posting(correction, account, amount int64, cur string, at time.Time) {
	g.row("postings", g.id("postings"), correction, account, amount, cur, at, g.changeSeq)
}
