// Package reports answers the supervisors' reports (/reports, issue 22): case volume, response
// and resolution times, SLA breaches, corrections and the cards on the most cases, each over a range
// of days in the reader's time zone. It reads; it changes nothing.
package reports

import (
	"time"

	"giftdesk/cases"
)

// DateLayout is how a day is written in the range form and in the CSV files.
const DateLayout = "2006-01-02"

// MaxDays bounds a range: a quarter. At 1,000,000 cases every report answers a quarter within
// 500 ms on PostgreSQL, while a year's response-time percentiles took over a second (BENCHMARKS.md 9).
const MaxDays = 92

// DefaultDays is the length of the range when none is asked for.
const DefaultDays = 30

// Range is a span of whole days in a time zone, both ends included.
type Range struct {
	From, To time.Time // midnight starting the first and the last day, in Zone
	Zone     *time.Location
}

// ParseRange reads the range form's from and to (YYYY-MM-DD, days in zone). An empty to is today
// at now; an empty from is DefaultDays days ending on to. A malformed date, a to before from or a
// range longer than MaxDays is refused with a field error naming the field to fix.
func ParseRange(from, to string, zone *time.Location, now time.Time) (Range, error) {
	if zone == nil {
		zone = time.UTC
	}
	var fields []cases.FieldError
	today := now.In(zone)
	r := Range{Zone: zone, To: day(today.Year(), today.Month(), today.Day(), zone)}
	if to != "" {
		t, err := time.ParseInLocation(DateLayout, to, zone)
		if err != nil {
			fields = append(fields, cases.FieldError{Field: "to", Message: "must be a date written like 2026-11-29"})
		} else {
			r.To = day(t.Year(), t.Month(), t.Day(), zone)
		}
	}
	r.From = r.To.AddDate(0, 0, -(DefaultDays - 1))
	r.From = day(r.From.Year(), r.From.Month(), r.From.Day(), zone)
	if from != "" {
		f, err := time.ParseInLocation(DateLayout, from, zone)
		if err != nil {
			fields = append(fields, cases.FieldError{Field: "from", Message: "must be a date written like 2026-11-01"})
		} else {
			r.From = day(f.Year(), f.Month(), f.Day(), zone)
		}
	}
	if len(fields) == 0 {
		switch n := r.Len(); {
		case n < 1:
			fields = append(fields, cases.FieldError{Field: "to", Message: "must be on or after the start date"})
		case n > MaxDays:
			fields = append(fields, cases.FieldError{Field: "from", Message: "the range may span at most 92 days"})
		}
	}
	if len(fields) > 0 {
		return r, cases.InvalidFields(fields)
	}
	return r, nil
}

// day is midnight starting a calendar day in zone (or the first instant of it, where a clock
// change skips midnight).
func day(y int, m time.Month, d int, zone *time.Location) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, zone)
}

// Len is the number of days in r.
func (r Range) Len() int {
	a := time.Date(r.From.Year(), r.From.Month(), r.From.Day(), 0, 0, 0, 0, time.UTC)
	b := time.Date(r.To.Year(), r.To.Month(), r.To.Day(), 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours()/24) + 1
}

// Days returns the start of every day of r, in order.
func (r Range) Days() []time.Time {
	out := make([]time.Time, 0, r.Len())
	for i := 0; i < r.Len(); i++ {
		out = append(out, day(r.From.Year(), r.From.Month(), r.From.Day()+i, r.Zone))
	}
	return out
}

// Start is the first instant of r; End the first instant after it.
func (r Range) Start() time.Time { return r.From }

// End is the first instant after r: midnight starting the day after To.
func (r Range) End() time.Time { return day(r.To.Year(), r.To.Month(), r.To.Day()+1, r.Zone) }

// FromText and ToText are r's ends as the form writes them.
func (r Range) FromText() string { return r.From.Format(DateLayout) }

// ToText is r's last day as the form writes it.
func (r Range) ToText() string { return r.To.Format(DateLayout) }
