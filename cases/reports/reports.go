package reports

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
)

// Reporter answers the reports from a desk's database.
type Reporter struct{ desk *cases.Desk }

// New returns a Reporter reading desk's database.
func New(desk *cases.Desk) *Reporter { return &Reporter{desk: desk} }

// allowed is the one access rule of the reports: supervisors and admins read them, agents do not.
func allowed(p cases.Principal) error { return p.RequireRole(cases.RoleSupervisor) }

func (r *Reporter) db(ctx context.Context) *gorm.DB { return r.desk.ReadDB(ctx) }

// utcBounds are rg's ends as UTC instants: SQLite compares times as the text the driver writes,
// which orders correctly only in one zone, the one every stored time is in.
func utcBounds(rg Range) (time.Time, time.Time) { return rg.Start().UTC(), rg.End().UTC() }

// DayCount is how many cases of one type were opened and resolved on one day.
type DayCount struct {
	Day      time.Time
	Type     cases.CaseType
	Opened   int64
	Resolved int64
}

// Volume is the cases opened and resolved per day and type over a range. A case counts as
// resolved on the day it was last moved to resolved (a reopened case counts again when resolved
// again, and not before).
type Volume struct {
	Days  []time.Time
	Cells []DayCount // only the days and types with a case, by day then type
}

// Volume counts the cases opened and resolved per day of rg and type.
func (r *Reporter) Volume(ctx context.Context, p cases.Principal, rg Range) (Volume, error) {
	if err := allowed(p); err != nil {
		return Volume{}, err
	}
	db := r.db(ctx)
	days := rg.Days()
	values := make([]string, len(days))
	args := make([]any, 0, 2*len(days))
	tp := models.TimeParam(db)
	for i, d := range days {
		values[i] = fmt.Sprintf("(%d, %s, %s)", i, tp, tp)
		args = append(args, d.UTC(), day(d.Year(), d.Month(), d.Day()+1, rg.Zone).UTC())
	}
	// Each day joins its own range of an index (created_at, type) and (resolved_at, type): the
	// days are cut in the reader's zone, daylight saving time included, and both databases count
	// the same way.
	q := `WITH days(d, lo, hi) AS (VALUES ` + strings.Join(values, ", ") + `)
		SELECT days.d AS d, c.type AS type, 'o' AS kind, count(*) AS n
			FROM days JOIN cases c ON c.created_at >= days.lo AND c.created_at < days.hi GROUP BY days.d, c.type
		UNION ALL
		SELECT days.d, c.type, 'r', count(*)
			FROM days JOIN cases c ON c.resolved_at >= days.lo AND c.resolved_at < days.hi GROUP BY days.d, c.type`
	var rows []struct {
		D    int
		Type string
		Kind string
		N    int64
	}
	if err := db.Raw(q, args...).Scan(&rows).Error; err != nil {
		return Volume{}, cases.StoreErr(fmt.Errorf("volume report: %w", err))
	}
	type key struct {
		d int
		t string
	}
	cells := map[key]*DayCount{}
	for _, row := range rows {
		k := key{row.D, row.Type}
		c := cells[k]
		if c == nil {
			c = &DayCount{Day: days[row.D], Type: cases.CaseType(row.Type)}
			cells[k] = c
		}
		if row.Kind == "o" {
			c.Opened += row.N
		} else {
			c.Resolved += row.N
		}
	}
	v := Volume{Days: days}
	for _, c := range cells {
		v.Cells = append(v.Cells, *c)
	}
	slices.SortFunc(v.Cells, func(a, b DayCount) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return slices.Index(cases.CaseTypes, a.Type) - slices.Index(cases.CaseTypes, b.Type)
	})
	return v, nil
}

// ByDay sums v's counts per day, one entry per day of the range.
func (v Volume) ByDay() (opened, resolved []int64) {
	opened, resolved = make([]int64, len(v.Days)), make([]int64, len(v.Days))
	i := 0
	for _, c := range v.Cells {
		for !v.Days[i].Equal(c.Day) {
			i++
		}
		opened[i] += c.Opened
		resolved[i] += c.Resolved
	}
	return opened, resolved
}

// ByType sums v's counts per case type, in SPEC order, every type included.
func (v Volume) ByType() []DayCount {
	out := make([]DayCount, len(cases.CaseTypes))
	for i, t := range cases.CaseTypes {
		out[i].Type = t
	}
	for _, c := range v.Cells {
		i := slices.Index(cases.CaseTypes, c.Type)
		out[i].Opened += c.Opened
		out[i].Resolved += c.Resolved
	}
	return out
}

// Durations are the median and 90th percentile of a set of durations, and how many there were.
type Durations struct {
	N           int64
	Median, P90 time.Duration
}

// TimesRow is one case type's time to first response and to resolution.
type TimesRow struct {
	Type          cases.CaseType
	FirstResponse Durations
	Resolution    Durations
}

// FirstResponseDefinition says, in one sentence, what the times report measures.
const FirstResponseDefinition = "Time to first response runs from a case's creation to the first outbound communication " +
	"recorded on it (the moment its SLA counts as answered), over the cases first answered in the range; time to resolution " +
	"runs from creation to the case's latest move to resolved, over the cases resolved in the range."

// Times measures, per case type, the time to first response of the cases first answered in rg and
// the time to resolution of the cases resolved in rg: median and 90th percentile (continuous, as
// percentile_cont). A response recorded as earlier than the case counts as immediate.
func (r *Reporter) Times(ctx context.Context, p cases.Principal, rg Range) ([]TimesRow, error) {
	if err := allowed(p); err != nil {
		return nil, err
	}
	lo, hi := utcBounds(rg)
	var first, res map[string]models.Percentiles
	err := models.ReadForReport(ctx, r.db(ctx), func(db *gorm.DB) error {
		measure := func(at string) (map[string]models.Percentiles, error) {
			sub := `SELECT type AS grp, CASE WHEN ` + at + ` < created_at THEN 0 ELSE ` + models.SecondsBetween(db, at, "created_at") +
				` END AS v FROM cases WHERE ` + at + ` >= ? AND ` + at + ` < ?`
			return models.GroupPercentiles(ctx, db, sub, []any{lo, hi}, []float64{0.5, 0.9})
		}
		var err error
		if first, err = measure("first_responded_at"); err != nil {
			return cases.StoreErr(fmt.Errorf("first response times: %w", err))
		}
		if res, err = measure("resolved_at"); err != nil {
			return cases.StoreErr(fmt.Errorf("resolution times: %w", err))
		}
		return nil
	})
	if err != nil {
		return nil, cases.StoreErr(err)
	}
	out := make([]TimesRow, 0, len(cases.CaseTypes))
	for _, t := range cases.CaseTypes {
		out = append(out, TimesRow{Type: t, FirstResponse: durations(first[string(t)]), Resolution: durations(res[string(t)])})
	}
	return out, nil
}

// durations rounds p's seconds to whole seconds: the two databases compute the same percentile
// in floating point by different routes, and no reader needs a fraction of a second.
func durations(p models.Percentiles) Durations {
	if p.N == 0 {
		return Durations{}
	}
	sec := func(v float64) time.Duration { return time.Duration(math.Round(v)) * time.Second }
	return Durations{N: p.N, Median: sec(p.Values[0]), P90: sec(p.Values[1])}
}

// SLARow is one priority's SLA targets that fell due in a range and how many were missed.
type SLARow struct {
	Priority                              cases.Priority
	FirstResponseDue, FirstResponseMissed int64
	ResolutionDue, ResolutionMissed       int64
}

// SLADefinition says, in one sentence, what the SLA report counts.
const SLADefinition = "A target counts on the day it fell due, once that moment has passed: a first-response target " +
	"is missed when no outbound communication came by then and the case was not resolved by then; a resolution " +
	"target is missed when the case was not resolved by then. Cases count under their current priority."

// SLA counts, per priority (most urgent first), the targets that fell due in rg up to now and the
// ones missed, by the due times the desk set on each case (cases/sla.go).
func (r *Reporter) SLA(ctx context.Context, p cases.Principal, rg Range) ([]SLARow, error) {
	if err := allowed(p); err != nil {
		return nil, err
	}
	db := r.db(ctx)
	lo, hi := utcBounds(rg)
	if now := r.desk.Now().UTC(); now.Before(hi) {
		hi = now
	}
	var rows []struct {
		Priority string
		Kind     string
		Due      int64
		Missed   int64
	}
	q := `SELECT priority, 'f' AS kind, count(*) AS due,
			SUM(CASE WHEN (first_responded_at IS NULL OR first_responded_at > first_response_due)
				AND (resolved_at IS NULL OR resolved_at > first_response_due) THEN 1 ELSE 0 END) AS missed
			FROM cases WHERE first_response_due >= ? AND first_response_due < ? GROUP BY priority
		UNION ALL
		SELECT priority, 'r', count(*), SUM(CASE WHEN resolved_at IS NULL OR resolved_at > resolution_due THEN 1 ELSE 0 END)
			FROM cases WHERE resolution_due >= ? AND resolution_due < ? GROUP BY priority`
	if lo.Before(hi) {
		if err := db.Raw(q, lo, hi, lo, hi).Scan(&rows).Error; err != nil {
			return nil, cases.StoreErr(fmt.Errorf("SLA report: %w", err))
		}
	}
	out := make([]SLARow, len(cases.Priorities))
	for i := range out {
		out[i].Priority = cases.Priorities[len(cases.Priorities)-1-i]
	}
	for _, row := range rows {
		i := slices.IndexFunc(out, func(s SLARow) bool { return string(s.Priority) == row.Priority })
		if i < 0 {
			continue
		}
		if row.Kind == "f" {
			out[i].FirstResponseDue, out[i].FirstResponseMissed = row.Due, row.Missed
		} else {
			out[i].ResolutionDue, out[i].ResolutionMissed = row.Due, row.Missed
		}
	}
	return out, nil
}

// Outcome is a number of corrections and their sum in minor units.
type Outcome struct {
	Count int64
	Sum   int64
}

// CorrectionRow is one currency's corrections applied, denied and reversed in a range.
type CorrectionRow struct {
	Currency                  cases.Currency
	Applied, Denied, Reversed Outcome
}

// CorrectionsDefinition says, in one sentence, what the corrections report counts.
const CorrectionsDefinition = "A correction counts as applied or denied on the day it was decided and as reversed on the " +
	"day its reversal was applied (it then still counts as applied on its own day); reversals themselves are not counted."

// Corrections sums, per currency, the corrections (reversals aside) applied, denied and reversed in
// rg. Currencies without any are left out.
func (r *Reporter) Corrections(ctx context.Context, p cases.Principal, rg Range) ([]CorrectionRow, error) {
	if err := allowed(p); err != nil {
		return nil, err
	}
	db := r.db(ctx)
	lo, hi := utcBounds(rg)
	var rows []struct {
		Kind     string
		Currency string
		N        int64
		Total    int64
	}
	q := `SELECT CASE WHEN status = 'denied' THEN 'd' ELSE 'a' END AS kind, currency, count(*) AS n, SUM(amount_minor) AS total
			FROM corrections WHERE decided_at >= ? AND decided_at < ? AND status IN ('applied', 'reversed', 'denied') AND kind <> 'reversal'
			GROUP BY CASE WHEN status = 'denied' THEN 'd' ELSE 'a' END, currency
		UNION ALL
		SELECT 'r', currency, count(*), SUM(amount_minor)
			FROM corrections WHERE reversed_at >= ? AND reversed_at < ? AND kind <> 'reversal' GROUP BY currency`
	if err := db.Raw(q, lo, hi, lo, hi).Scan(&rows).Error; err != nil {
		return nil, cases.StoreErr(fmt.Errorf("corrections report: %w", err))
	}
	var out []CorrectionRow
	for _, c := range cases.Currencies() {
		row := CorrectionRow{Currency: c}
		found := false
		for _, x := range rows {
			if x.Currency != string(c) {
				continue
			}
			found = true
			o := Outcome{Count: x.N, Sum: x.Total}
			switch x.Kind {
			case "a":
				row.Applied = o
			case "d":
				row.Denied = o
			default:
				row.Reversed = o
			}
		}
		if found {
			out = append(out, row)
		}
	}
	return out, nil
}

// Cluster is a card added to several cases in a range: a possible duplicate claim. It carries the
// card's last four characters, never its code (R1).
type Cluster struct {
	CardID      int64
	Last4       string // "" for a card known by its serial alone
	Serial      string
	Marketplace cases.Marketplace
	Currency    cases.Currency
	FaceValue   int64
	Cases       int64    // the cases the card was added to in the range
	Refs        []string // the first MaxClusterRefs of them, oldest first
}

// MaxClusters bounds the clusters listed; MaxClusterRefs the case links listed per card.
const (
	MaxClusters    = 20
	MaxClusterRefs = 10
)

// ClustersDefinition says, in one sentence, what the cards report lists.
const ClustersDefinition = "The cards added to two or more cases in the range, most cases first: the same card on " +
	"several cases is how a duplicate claim shows."

// Clusters lists the cards added to two or more cases in rg, most cases first (then the most
// recently created card), at most MaxClusters of them. Two statements whatever they hold.
func (r *Reporter) Clusters(ctx context.Context, p cases.Principal, rg Range) ([]Cluster, error) {
	if err := allowed(p); err != nil {
		return nil, err
	}
	lo, hi := utcBounds(rg)
	var out []Cluster
	err := models.ReadForReport(ctx, r.db(ctx), func(db *gorm.DB) error {
		var err error
		out, err = clusters(db, lo, hi)
		return err
	})
	return out, cases.StoreErr(err)
}

// clusters runs Clusters' two statements on db.
func clusters(db *gorm.DB, lo, hi time.Time) ([]Cluster, error) {
	var rows []struct {
		CardID                               int64
		Last4, Serial, Marketplace, Currency string
		FaceValue, Cases                     int64
	}
	err := db.Raw(`SELECT g.id AS card_id, COALESCE(g.claim_code_last4, '') AS last4, COALESCE(g.serial, '') AS serial,
			g.marketplace, g.currency, g.face_value_minor AS face_value, top.n AS cases
		FROM (SELECT card_id, count(*) AS n FROM case_cards WHERE added_at >= ? AND added_at < ?
			GROUP BY card_id HAVING count(*) >= 2 ORDER BY count(*) DESC, card_id DESC LIMIT ?) top
		JOIN gift_cards g ON g.id = top.card_id
		ORDER BY top.n DESC, g.id DESC`, lo, hi, MaxClusters).Scan(&rows).Error
	if err != nil {
		return nil, cases.StoreErr(fmt.Errorf("card clusters: %w", err))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]Cluster, len(rows))
	ids := make([]int64, len(rows))
	for i, x := range rows {
		out[i] = Cluster{CardID: x.CardID, Last4: x.Last4, Serial: x.Serial, Marketplace: cases.Marketplace(x.Marketplace),
			Currency: cases.Currency(x.Currency), FaceValue: x.FaceValue, Cases: x.Cases}
		ids[i] = x.CardID
	}
	var refs []struct {
		CardID int64
		Ref    string
	}
	err = db.Raw(`SELECT card_id, ref FROM (
			SELECT cc.card_id, c.ref, row_number() OVER (PARTITION BY cc.card_id ORDER BY c.id) AS rn
			FROM case_cards cc JOIN cases c ON c.id = cc.case_id
			WHERE cc.card_id IN ? AND cc.added_at >= ? AND cc.added_at < ?) x
		WHERE rn <= ? ORDER BY card_id, rn`, ids, lo, hi, MaxClusterRefs).Scan(&refs).Error
	if err != nil {
		return nil, cases.StoreErr(fmt.Errorf("card clusters' cases: %w", err))
	}
	for _, x := range refs {
		i := slices.IndexFunc(out, func(c Cluster) bool { return c.CardID == x.CardID })
		out[i].Refs = append(out[i].Refs, x.Ref)
	}
	return out, nil
}
