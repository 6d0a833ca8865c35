package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"

	"giftdesk/cases"
	"giftdesk/models"
)

// generator makes the rows of one seed, batch by batch, numbering them from the desk's bounds.
type generator struct {
	desk       *cases.Desk
	f          *gofakeit.Faker
	opts       Options
	staff      staffing
	sys        systemIDs
	thresholds cases.Thresholds
	sla        cases.SLATargets
	now, start time.Time
	span       time.Duration
	next       map[string]int64 // the next id of each table, within its reserved range
	end        map[string]int64 // one past each table's reserved range
	chunk      map[string]int64 // how many ids the next reservation of each table takes
	reserve    reserveFunc
	err        error // the first failed reservation
	caseNumber int64
	made       int // cases generated
	chain      *cases.SealChain
	lowWater   *int64
	changeSeq  int64
	recent     []account // customers who may come back with another case
	seenStatus map[string]bool
	b          models.SeedBatch
}

type account struct {
	id          int64
	accountID   string
	marketplace string
}

type card struct {
	id          int64
	last4       *string
	serial      *string
	marketplace string
	currency    string
	face        int64
	status      string
	redeemedTo  *int64
	frozen      bool
}

// reserveFunc reserves n consecutive ids of a table and returns the first (models.SeedReserve).
type reserveFunc func(table string, n int64) (int64, error)

// newGenerator numbers cases from firstCase (already reserved) and the rows of each table from
// ranges it reserves as it goes; a nil reserve numbers from 1 without asking (benchmarks).
func newGenerator(desk *cases.Desk, opts Options, firstCase int64, reserve reserveFunc, staff staffing, sys systemIDs,
	head models.SealHead, lowWater *int64) *generator {
	// The first case number mixes into the seed, so that a forced second run of the same seed
	// makes new claim codes instead of colliding with the first run's.
	seed := opts.Seed
	if firstCase > 1 {
		seed ^= uint64(firstCase) * 0x9E3779B97F4A7C15
	}
	g := &generator{desk: desk, f: gofakeit.New(seed), opts: opts, staff: staff, sys: sys,
		thresholds: desk.DualApproval(), sla: desk.SLA(), now: opts.Now, next: map[string]int64{},
		end: map[string]int64{}, chunk: map[string]int64{}, reserve: reserve, seenStatus: map[string]bool{},
		caseNumber: firstCase, chain: desk.ChainAfter(head), lowWater: lowWater}
	g.start = g.now.Add(-365 * 24 * time.Hour)
	// The newest case is a few minutes old; nothing happens in the future.
	g.span = g.now.Add(-10 * time.Minute).Sub(g.start)
	return g
}

// id returns the next id of table, reserving a range first when the last one is used up: no row
// is ever numbered past its table's identity. Ranges grow from 1,024 ids to 131,072, so that a
// large seed asks rarely and a small one leaves small gaps. A failed reservation is kept in g.err
// (run stops at the end of the group).
func (g *generator) id(table string) int64 {
	if g.next[table] >= g.end[table] {
		n := g.chunk[table]
		if n == 0 {
			n = 1024
		}
		g.chunk[table] = min(2*n, 1<<17)
		first := g.end[table]
		if g.reserve == nil {
			first = max(first, 1)
		} else {
			var err error
			if first, err = g.reserve(table, n); err != nil {
				if g.err == nil {
					g.err = fmt.Errorf("reserve ids of %s: %w", table, err)
				}
				return 0
			}
		}
		g.next[table], g.end[table] = first, first+n
	}
	id := g.next[table]
	g.next[table]++
	return id
}

func (g *generator) row(table string, values ...any) { g.b[table] = append(g.b[table], values) }

func (g *generator) run(ctx context.Context, out chan<- models.SeedBatch) error {
	for g.made < g.opts.Cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		g.b = models.SeedBatch{}
		for n := 0; n < g.opts.BatchCases && g.made < g.opts.Cases; {
			made, err := g.group()
			if err == nil {
				err = g.err
			}
			if err != nil {
				return err
			}
			n += made
		}
		select {
		case out <- g.b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// caseTime is when the k-th case opens: cases arrive evenly over the year, in ref order.
func (g *generator) caseTime(k int) time.Time {
	slot := g.span / time.Duration(g.opts.Cases)
	t := g.start.Add(slot * time.Duration(k))
	if slot > time.Second {
		t = t.Add(g.dur(slot))
	}
	return t.UTC().Truncate(time.Microsecond)
}

// plan is one case's story before its rows are written.
type plan struct {
	id, number     int64
	ref            string
	typ, priority  string
	status         string
	resolution     string
	customer       account
	intended       *account
	cards          []card
	flags          []string
	duplicates     []string // refs of the other cases of its group
	created, last  time.Time
	assignee       *person
	creator        person
	follower       bool   // a later case of a duplicate group: resolved as duplicate, never corrected
	forced         string // the status this case must have, so that every status appears
	correction     string
	reversed       bool
	cross          bool
	version        int64
	firstResponded *time.Time
	resolvedAt     *time.Time
}

// group generates one case, or a duplicate group: a case whose first card comes back on one or
// two more cases shortly after (the customer called twice, a relative opened another), all
// flagged possible_duplicate and linked both ways (R3).
func (g *generator) group() (int, error) {
	size := 1
	if g.f.IntN(100) < 3 {
		size += 1 + g.f.IntN(2)
	}
	size = min(size, g.opts.Cases-g.made)
	if g.made < len(typeWeights) || g.forcedStatus() != "" {
		size = 1 // a case that must show a type or a status stands alone
	}
	first, err := g.newPlan(false, nil)
	if err != nil {
		return 0, err
	}
	plans := []*plan{first}
	for i := 1; i < size; i++ {
		if len(first.cards) == 0 {
			break
		}
		p, err := g.newPlan(true, first)
		if err != nil {
			return 0, err
		}
		plans = append(plans, p)
	}
	if len(plans) > 1 {
		for _, p := range plans {
			p.flags = append(p.flags, cases.FlagPossibleDuplicate)
			for _, o := range plans {
				if o != p {
					p.duplicates = append(p.duplicates, o.ref)
				}
			}
		}
	}
	for i, p := range plans {
		// An earlier case of the group is flagged again by each later one: a new version, touched then.
		later := plans[i+1:]
		for _, o := range later {
			if o.created.After(p.last) {
				p.last = o.created
			}
		}
		g.write(p, plans[:i], int64(len(later)))
	}
	return len(plans), nil
}

var openStatuses = []string{"new", "investigating", "waiting_on_customer", "pending_approval"}

// allStatuses are R11's statuses, each of which a seed shows at least once when it has cases
// enough (one per type first, then one per status).
var allStatuses = []string{"new", "investigating", "waiting_on_customer", "pending_approval", "resolved", "closed"}

// forcedStatus is the status the next case must have: once the cases left are no more than the
// statuses not yet seen, each of the last cases (the newest) takes one of them.
func (g *generator) forcedStatus() string {
	var missing []string
	for _, st := range allStatuses {
		if !g.seenStatus[st] {
			missing = append(missing, st)
		}
	}
	if len(missing) == 0 || g.opts.Cases-g.made > len(missing) {
		return ""
	}
	return missing[0]
}

func (g *generator) newPlan(follower bool, first *plan) (*plan, error) {
	p := &plan{id: g.id("cases"), number: g.caseNumber, follower: follower}
	if !follower {
		p.forced = g.forcedStatus()
	}
	k := g.made
	g.caseNumber++
	p.ref = ref(p.number)
	p.created = g.caseTime(g.made)
	g.made++
	if follower {
		p.typ, p.customer = first.typ, first.customer
		p.created = first.created.Add(time.Duration(1+g.f.IntN(180)) * time.Minute)
		if p.created.After(g.now.Add(-2 * time.Minute)) {
			p.created = first.created.Add(time.Second)
		}
		p.created = p.created.Truncate(time.Microsecond)
		p.cards = []card{first.cards[0]}
	} else {
		p.typ = pick(g, typeWeights)
		if k < len(typeWeights) {
			p.typ = typeWeights[k].v // the first cases show every type once
		}
		if p.forced == "pending_approval" {
			p.typ = "code_problem" // a credit that waits for approval, on a card of the customer's marketplace
		}
		p.customer = g.customer()
	}
	p.priority = pick(g, priorityWeights)
	if p.typ == "scam_victim" && g.f.IntN(2) == 0 {
		p.priority = "urgent"
	}
	p.creator = oneOf(g, g.staff.agents)
	if p.typ == "wrong_account" {
		mp := p.customer.marketplace
		if g.f.IntN(100) < 5 {
			mp = g.otherMarketplace(mp)
		}
		a := g.newAccount(mp, p.created)
		p.intended = &a
	}
	if !follower {
		if err := g.cardsFor(p); err != nil {
			return nil, err
		}
	}
	for _, c := range p.cards {
		if c.marketplace != p.customer.marketplace {
			p.cross = true
		}
	}
	if p.intended != nil && p.intended.marketplace != p.customer.marketplace {
		p.cross = true
	}
	if p.cross {
		p.flags = append(p.flags, cases.FlagCrossMarketplace)
	}
	g.decide(p)
	return p, nil
}

// customer returns a returning customer (one case in five) or a new account.
func (g *generator) customer() account {
	if len(g.recent) > 0 && g.f.IntN(5) == 0 {
		return g.recent[g.f.IntN(len(g.recent))]
	}
	a := g.newAccount(pick(g, marketplaceWeights), time.Time{})
	if len(g.recent) < 4096 {
		g.recent = append(g.recent, a)
	} else {
		g.recent[g.f.IntN(len(g.recent))] = a
	}
	return a
}

func (g *generator) otherMarketplace(mp string) string {
	for {
		if o := pick(g, marketplaceWeights); o != mp {
			return o
		}
	}
}

// newAccount writes a customer account; at is when it was first recorded (zero: a year ago).
func (g *generator) newAccount(mp string, at time.Time) account {
	id := g.id("customer_accounts")
	a := account{id: id, accountID: accountCode(id), marketplace: mp}
	first, last := g.f.FirstName(), g.f.LastName()
	email := strings.ToLower(first+"."+last) + strconv.Itoa(g.f.IntN(100)) + "@" + oneOf(g, domains)
	if at.IsZero() {
		at = g.start
	}
	g.row("customer_accounts", id, a.accountID, false, mp, email, first+" "+last, at, at)
	return a
}

// cardsFor gives a case the cards its type needs (SPEC §1) and writes them.
func (g *generator) cardsFor(p *plan) error {
	n := 0
	switch p.typ {
	case "wrong_account", "unactivated_card", "regional_mismatch", "code_problem":
		n = 1
		if g.f.IntN(10) == 0 {
			n = 2
		}
	case "scam_victim":
		if g.f.IntN(10) < 7 {
			n = 1 + g.f.IntN(4)
		}
	}
	for i := 0; i < n; i++ {
		mp := p.customer.marketplace
		if p.typ == "regional_mismatch" {
			mp = g.otherMarketplace(mp)
		}
		cur := currencyOf[mp]
		denoms := denominations[cur]
		// Small cards are commoner: the square of a uniform index leans towards the start.
		k := g.f.IntN(len(denoms))
		k = k * g.f.IntN(len(denoms)) / len(denoms)
		c := card{id: g.id("gift_cards"), marketplace: mp, currency: cur, face: denoms[k], status: "unknown"}
		created := p.created
		var code []byte
		var hints []string
		if g.f.IntN(10) < 8 {
			cc, err := g.claimCode()
			if err != nil {
				return err
			}
			code = g.desk.ClaimCodeHMAC(cc)
			l4 := cc.Last4()
			c.last4, hints = &l4, cc.Hints
			if g.opts.OnClaimCode != nil {
				g.opts.OnClaimCode(c.id, cc)
			}
		}
		if code == nil || g.f.IntN(10) < 7 {
			s := serialOf(c.id)
			c.serial = &s
		}
		var redeemedAt *time.Time
		switch p.typ {
		case "wrong_account":
			c.status, c.redeemedTo = "redeemed", &p.customer.id
			t := p.created.Add(-time.Duration(1+g.f.IntN(72)) * time.Hour)
			redeemedAt = &t
		case "unactivated_card":
			c.status = "not_activated"
		case "code_problem", "regional_mismatch":
			c.status = "active"
		case "scam_victim":
			c.status, c.frozen = "redeemed", g.f.IntN(10) < 8
			t := p.created.Add(-time.Duration(1+g.f.IntN(48)) * time.Hour)
			redeemedAt = &t
		}
		var frozenReason, frozenBy, frozenAt any
		if c.frozen {
			frozenReason, frozenBy, frozenAt = "Reported as scam: the customer sent the code to a caller.", p.creator.id, p.created.Add(5*time.Minute)
		}
		if hints == nil {
			hints = []string{}
		}
		hintJSON, _ := json.Marshal(hints)
		g.row("gift_cards", c.id, nilBytes(code), strPtr(c.last4), string(hintJSON), strPtr(c.serial), c.marketplace, c.currency,
			c.face, c.status, c.frozen, frozenReason, frozenBy, frozenAt, int64Ptr(c.redeemedTo), timePtr(redeemedAt),
			created, created, int64(1))
		p.cards = append(p.cards, c)
	}
	return nil
}

const codeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// claimCode draws a code as cards print it (AB12-CDEF34-GH56) and parses it as the desk does.
func (g *generator) claimCode() (cases.ClaimCode, error) {
	var b [16]byte
	for {
		letters := 0
		for i := 0; i < 14; i++ {
			c := codeAlphabet[g.f.IntN(len(codeAlphabet))]
			if c >= 'A' && c <= 'Z' {
				letters++
			}
			b[i] = c
		}
		if letters == 0 {
			continue
		}
		return cases.ParseClaimCode(string(b[:4]) + "-" + string(b[4:10]) + "-" + string(b[10:14]))
	}
}

// moneyKind is the correction a case type may lead to, "" when its money never moves (SPEC §1).
func moneyKind(p *plan) string {
	if p.follower || p.cross {
		return ""
	}
	switch p.typ {
	case "wrong_account":
		return "transfer"
	case "unactivated_card", "code_problem", "promo_credit":
		return "credit"
	case "scam_victim":
		return "credit"
	}
	return ""
}

// decide picks status, resolution and the correction's fate from the case's age: old cases are
// mostly closed, today's mostly new.
func (g *generator) decide(p *plan) {
	age := g.now.Sub(p.created)
	var table []weighted[string]
	switch {
	case age < 24*time.Hour:
		table = []weighted[string]{{"new", 45}, {"investigating", 30}, {"waiting_on_customer", 15}, {"pending_approval", 10}}
	case age < 14*24*time.Hour:
		table = []weighted[string]{{"new", 5}, {"investigating", 30}, {"waiting_on_customer", 20}, {"pending_approval", 10}, {"resolved", 30}, {"closed", 5}}
	case age < 60*24*time.Hour:
		table = []weighted[string]{{"investigating", 8}, {"waiting_on_customer", 5}, {"pending_approval", 4}, {"resolved", 33}, {"closed", 50}}
	default:
		table = []weighted[string]{{"investigating", 1}, {"waiting_on_customer", 1}, {"pending_approval", 1}, {"resolved", 10}, {"closed", 87}}
	}
	p.status = pick(g, table)
	if p.forced != "" {
		p.status = p.forced
	}
	kind := moneyKind(p)
	if p.status == "pending_approval" && kind == "" {
		p.status = "investigating"
	}
	switch p.status {
	case "pending_approval":
		p.correction = "pending"
	case "resolved", "closed":
		switch {
		case p.follower:
			p.resolution = "duplicate"
		case kind != "":
			p.resolution = pick(g, []weighted[string]{{"corrected", 60}, {"denied", 15}, {"no_action", 15}, {"referred", 10}})
		default:
			p.resolution = pick(g, []weighted[string]{{"no_action", 60}, {"referred", 40}})
		}
		switch p.resolution {
		case "corrected":
			p.correction = "applied"
			// The desk refuses to reverse a correction on a frozen card (card_frozen): scam
			// victims' frozen cards keep their credit.
			p.reversed = g.f.IntN(100) < 8 && (len(p.cards) == 0 || !p.cards[0].frozen)
		case "denied":
			p.correction = "denied"
		case "no_action":
			if kind != "" && g.f.IntN(10) == 0 {
				p.correction = "cancelled"
			}
		}
	case "investigating", "waiting_on_customer":
		if kind != "" {
			switch r := g.f.IntN(100); {
			case r < 8:
				p.correction = "cancelled"
			case r < 13:
				p.correction = "denied"
			}
		}
	}
	g.seenStatus[p.status] = true
	if p.status != "new" || g.f.IntN(2) == 0 {
		a := oneOf(g, g.staff.agents)
		p.assignee = &a
	}
	// How long the case has been worked: resolved ones took an hour to ten days; open ones are
	// still going, with their last touch somewhere between opening and now.
	limit := g.now.Add(-2 * time.Minute)
	switch p.status {
	case "resolved", "closed":
		p.last = p.created.Add(time.Hour + time.Duration(g.dur(10*24*time.Hour)))
	case "new":
		p.last = p.created.Add(g.dur(time.Hour))
	default:
		p.last = p.created.Add(time.Duration(float64(limit.Sub(p.created)) * (0.2 + 0.8*g.f.Float64())))
	}
	if p.last.After(limit) {
		p.last = limit
	}
	if !p.last.After(p.created) {
		p.last = p.created.Add(time.Second)
	}
	p.last = p.last.Truncate(time.Microsecond)
}

// steps returns n increasing instants strictly inside the case's life.
func (g *generator) steps(p *plan, n int) []time.Time {
	out := make([]time.Time, n)
	d := p.last.Sub(p.created)
	for i := range out {
		out[i] = p.created.Add(g.dur(d-1) + 1).Truncate(time.Microsecond)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// write emits the rows and audit events of a planned case; earlier are the cases of its
// duplicate group already written.
func (g *generator) write(p *plan, earlier []*plan, laterFlags int64) {
	agent := p.creator
	if p.assignee != nil {
		agent = *p.assignee
	}
	// The case's story: creation, first response, evidence, correction, resolution, in order.
	t := g.steps(p, 8)
	p.version = 1
	cardsJSON := make([]any, 0, len(p.cards))
	for _, c := range p.cards {
		cardsJSON = append(cardsJSON, map[string]any{"id": strconv.FormatInt(c.id, 10), "last4": strOrNil(c.last4),
			"serial": strOrNil(c.serial), "face_value_minor": c.face, "currency": c.currency, "marketplace": c.marketplace})
		g.row("case_cards", p.id, c.id, p.created)
	}
	flags := orEmpty(p.flags)
	g.event(p.created, p.creator, "case.created", "case", p.ref, nil, map[string]any{"ref": p.ref, "type": p.typ,
		"priority": p.priority, "status": "new", "customer": p.customer.accountID, "cards": cardsJSON,
		"flags": flags, "duplicates": orEmpty(p.duplicates)})
	// R3: an earlier case of the group learns of this one when it is created.
	for _, o := range earlier {
		g.row("case_links", p.id, o.id, "card", p.created)
		g.row("case_links", o.id, p.id, "card", p.created)
		var before []string
		for _, e := range earlier {
			if e != o {
				before = append(before, e.ref)
			}
		}
		after := append(slices.Clone(before), p.ref)
		beforeFlags := []string{}
		if o.cross {
			beforeFlags = append(beforeFlags, cases.FlagCrossMarketplace)
		}
		if len(before) > 0 {
			beforeFlags = append(beforeFlags, cases.FlagPossibleDuplicate)
		}
		g.event(p.created, p.creator, "case.flagged", "case", o.ref, map[string]any{"flags": beforeFlags, "duplicates": orEmpty(before)},
			map[string]any{"flags": orEmpty(o.flags), "duplicates": after})
	}

	g.communications(p, agent, t)
	status := "new"
	move := func(at time.Time, by person, to, resolution string, extra map[string]any) {
		before, after := map[string]any{"status": status}, map[string]any{"status": to}
		if resolution != "" {
			before["resolution"], after["resolution"] = nil, resolution
		}
		for k, v := range extra {
			before[k], after[k] = nil, v
		}
		g.event(at, by, "case.updated", "case", p.ref, before, after)
		status = to
		p.version++
	}
	if p.status != "new" {
		var extra map[string]any
		if p.assignee != nil {
			extra = map[string]any{"assignee": p.assignee.email}
		}
		first := "investigating"
		if p.status == "waiting_on_customer" {
			first = "waiting_on_customer"
		}
		move(t[1], agent, first, "", extra)
	}
	g.evidence(p, agent, t[2], t[3])
	if p.correction != "" {
		g.correction(p, agent, t[4], t[5], move)
	}
	if (p.status == "investigating" || p.status == "waiting_on_customer") && status != p.status {
		move(t[6], agent, p.status, "", nil)
	}
	switch p.status {
	case "resolved", "closed":
		move(t[6], agent, "resolved", p.resolution, nil)
		resolved := t[6]
		p.resolvedAt = &resolved
		if p.status == "closed" {
			move(t[7], agent, "closed", "", nil)
		}
	}
	if p.status == "pending_approval" && status != "pending_approval" {
		panic("seed: a pending_approval case without a pending correction") // a bug in the plan, never data
	}

	target := g.sla[cases.Priority(p.priority)]
	frd, rd := p.created.Add(target.FirstResponse), p.created.Add(target.Resolution)
	var resolution, assignee any
	if p.resolution != "" {
		resolution = p.resolution
	}
	if p.assignee != nil {
		assignee = p.assignee.id
	}
	var intended any
	if p.intended != nil {
		intended = p.intended.id
	}
	summary := oneOf(g, summaries[p.typ])
	desc := fmt.Sprintf("%s contacted us from %s. %s", g.f.FirstName(), g.f.City(), summary+".")
	tags := []string{}
	if g.f.IntN(3) == 0 {
		tags = append(tags, oneOf(g, tagChoices))
	}
	tagJSON, _ := json.Marshal(tags)
	flagJSON, _ := json.Marshal(flags)
	g.row("cases", p.id, p.ref, p.typ, p.status, resolution, p.priority, p.customer.id, intended, assignee, summary, desc,
		string(tagJSON), string(flagJSON), frd, rd, timePtr(p.firstResponded), timePtr(p.resolvedAt), p.creator.id,
		p.created, p.last, p.version+laterFlags, g.changeSeq)
	if g.f.IntN(10) < 6 {
		sys := pick(g, externalSystems)
		ext := strconv.FormatInt(100000+p.number, 10)
		url := map[string]string{"zendesk": "https://example.zendesk.com/agent/tickets/", "freshdesk": "https://example.freshdesk.com/a/tickets/",
			"jira": "https://example.atlassian.net/browse/GC-"}[sys] + ext
		g.row("case_external_refs", g.id("case_external_refs"), p.id, sys, ext, url, p.created)
	}
}
