package bundle

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"giftdesk/cases"
)

// TimelineHeader is timeline.csv's header: when (RFC 3339 UTC), the entry's kind and its label as
// the case page shows it, who acted, what happened, a decision's own words, and the id of the
// entry's source row (with kind, it names the entry as GET /api/v1/cases/{ref}/timeline does).
var TimelineHeader = []string{"at", "kind", "event", "actor", "details", "note", "id"}

// TimelineCSV writes the merged timeline as CSV (RFC 4180: CRLF line ends, UTF-8), every cell
// through cases.SpreadsheetSafe.
func TimelineCSV(entries []cases.TimelineEntry) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if err := w.Write(TimelineHeader); err != nil {
		return nil, err
	}
	for _, e := range entries {
		note := ""
		if e.Note != nil {
			note = *e.Note
		}
		row := []string{rfc3339(e.At), e.Kind, cases.TimelineLabel(e.Kind), e.Actor, Describe(e), note, strconv.FormatInt(e.ID, 10)}
		for i := range row {
			row[i] = cases.SpreadsheetSafe(row[i])
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Describe says in one line what an entry records: the words of the case page's timeline.
func Describe(e cases.TimelineEntry) string {
	var parts []string
	add := func(format string, a ...any) { parts = append(parts, fmt.Sprintf(format, a...)) }
	if c := e.Case; c != nil {
		add("opened as %s, priority %s", c.Type, c.Priority)
		for _, card := range c.Cards {
			add("card %s %s", cardName(card.Last4, card.Serial), money(card.FaceValueMinor, card.Currency))
		}
	}
	if c := e.Card; c != nil {
		add("card %s", cardName(c.Last4, c.Serial))
		add("%s", money(c.FaceValueMinor, c.Currency))
		add("%s", c.Marketplace)
	}
	if len(e.Changes) > 0 {
		fields := make([]string, 0, len(e.Changes))
		for f := range e.Changes {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		for _, f := range fields {
			ch := e.Changes[f]
			add("%s: %s → %s", f, cases.TimelineChangeText(ch.From), cases.TimelineChangeText(ch.To))
		}
	}
	if m := e.Communication; m != nil {
		add("%s, %s", m.Channel, m.Direction)
		if m.CounterpartName != "" {
			add("with %s", m.CounterpartName)
		}
		if m.RepresentativeName != "" {
			add("representative %s", m.RepresentativeName)
		}
		if m.Reference != "" {
			add("ref %s", m.Reference)
		}
		if m.DurationSeconds != nil {
			add("%s", duration(*m.DurationSeconds))
		}
		if m.SupersededBy != nil {
			add("amended by entry %s", *m.SupersededBy)
		}
		if m.Supersedes != nil {
			add("amends entry %s", *m.Supersedes)
		}
		if m.Body != "" {
			add("%s", m.Body)
		}
	}
	if v := e.Evidence; v != nil {
		add("%s", v.Kind)
		if v.FileName != "" {
			add("%s", v.FileName)
		}
		if v.AmountMinor != nil && v.Currency != nil {
			add("%s", money(*v.AmountMinor, *v.Currency))
		}
		if v.StoreName != nil {
			add("store %s", *v.StoreName)
		}
		if v.CardLast4 != nil {
			add("card …%s", *v.CardLast4)
		}
		add("now %s", v.Verification)
	}
	if c := e.Correction; c != nil {
		add("#%d %s %s", c.ID, c.Kind, money(c.AmountMinor, c.Currency))
		add("%s → %s", c.FromAccount, c.ToAccount)
		if c.CardLast4 != nil || c.CardSerial != nil {
			add("card %s", cardName(c.CardLast4, c.CardSerial))
		}
		add("now %s", c.Status)
		if e.Kind == "correction_requested" && c.Reason != "" {
			add("%s", c.Reason)
		}
	}
	return strings.Join(parts, " · ")
}

// cardName is a card as the desk masks it: ••••LAST4 of its claim code, else its serial.
func cardName(last4, serial *string) string {
	switch {
	case last4 != nil:
		return "••••" + *last4
	case serial != nil:
		return "serial " + *serial
	}
	return "(no code or serial)"
}

func money(minor int64, currency string) string {
	return cases.FormatMinor(minor, cases.Currency(currency))
}

func duration(s int64) string {
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}
