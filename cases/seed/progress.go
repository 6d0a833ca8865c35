package seed

import (
	"fmt"
	"io"
	"strings"
	"time"

	"giftdesk/models"
)

// progress reports rows and rows per second per table on standard error, one line at most every
// second, so that a million-case seed shows it is moving without flooding a terminal or a log.
type progress struct {
	w     io.Writer
	start time.Time
	last  time.Time
	rows  map[string]int64
	spent map[string]time.Duration // writing time per table, from the load
}

func newProgress(w io.Writer) *progress {
	now := time.Now()
	return &progress{w: w, start: now, last: now, rows: map[string]int64{}}
}

// shown are the tables a progress line names; the summary names every table.
var shown = []string{"cases", "communications", "evidence", "corrections", "postings", "audit_events"}

func (p *progress) add(b models.SeedBatch) {
	for t, rows := range b {
		p.rows[t] += int64(len(rows))
	}
	if p.w == nil || time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprintln(p.w, "seed: "+p.line(shown))
}

func (p *progress) line(tables []string) string {
	secs := time.Since(p.start).Seconds()
	var parts []string
	var all int64
	for _, t := range models.SeedTables {
		all += p.rows[t]
	}
	for _, t := range tables {
		parts = append(parts, fmt.Sprintf("%s %d (%.0f/s)", t, p.rows[t], float64(p.rows[t])/secs))
	}
	return fmt.Sprintf("%.1fs %s; all tables %d rows (%.0f/s)", secs, strings.Join(parts, ", "), all, float64(all)/secs)
}

func (p *progress) phase(what string) {
	if p.w != nil {
		fmt.Fprintf(p.w, "seed: %s\nseed: rows committed; %s\n", p.line(shown), what)
	}
}

func (p *progress) totals() map[string]int64 {
	out := make(map[string]int64, len(p.rows))
	for t, n := range p.rows {
		out[t] = n
	}
	return out
}

func (p *progress) done(r Result) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "seed: done in %.1fs: %s to %s\n", r.Elapsed.Seconds(), r.FirstRef, r.LastRef)
	for _, t := range models.SeedTables {
		rate := 0.0
		if d := p.spent[t].Seconds(); d > 0 {
			rate = float64(p.rows[t]) / d
		}
		fmt.Fprintf(p.w, "seed:   %-22s %9d rows, %6.1fs writing (%.0f rows/s)\n", t, p.rows[t], p.spent[t].Seconds(), rate)
	}
	if d, ok := p.spent["(indexes rebuilt)"]; ok {
		fmt.Fprintf(p.w, "seed:   secondary indexes rebuilt in %.1fs\n", d.Seconds())
	}
}
