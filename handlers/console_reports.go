package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
	"giftdesk/cases/reports"
)

// reportsView is the /reports page: the range form and, when the range is good, every report as a
// chart followed by the table it draws.
type reportsView struct {
	Chrome   chrome
	From, To string
	Errors   formErrors
	Range    string // the range in words, with the zone its days are cut in
	Sections []reportSection
}

// reportSection is one report: a heading, what it counts, a chart and its tables.
type reportSection struct {
	ID, Heading, Definition string
	Chart                   chartView
	Tables                  []reportTable
	Extra                   []csvLink // files with no table of their own on the page
}

type csvLink struct{ Label, Href string }

// reportTable is one table of a report; the page shows it and its CSV file holds the same rows.
type reportTable struct {
	Name, Caption string
	Head          []string
	CSVHead       []string
	Rows          [][]reportCell
	Empty         string
	Href          string // its CSV file, for the current range
	HeadNum       []bool // the columns of numbers, whose headings align with them
}

// reportCell is a cell as the page shows it (Text, with Links to cases) and as the CSV writes it.
// Num right-aligns it; CSVOnly leaves it out of the page (a currency the page writes with the amount).
type reportCell struct {
	Text    string
	CSV     string
	Links   []string
	Num     bool
	CSVOnly bool
}

func textCell(s string) reportCell { return reportCell{Text: s, CSV: s} }
func countCell(n int64) reportCell {
	s := strconv.FormatInt(n, 10)
	return reportCell{Text: s, CSV: s, Num: true}
}

// reportsPage serves GET /reports?from=&to=.
func (s *Server) reportsPage(c *gin.Context) {
	ch := chromeFor(c, "reports")
	rg, err := reports.ParseRange(c.Query("from"), c.Query("to"), ch.Zone, s.desk.Now())
	view := reportsView{Chrome: ch, From: rg.FromText(), To: rg.ToText()}
	if err != nil {
		errs, ok := formErrorsOf(err)
		if !ok {
			s.failPage(c, err)
			return
		}
		view.From, view.To, view.Errors = c.Query("from"), c.Query("to"), errs
		s.render(c, http.StatusUnprocessableEntity, pageReports, view)
		return
	}
	view.Range = fmt.Sprintf("%s to %s, days in %s", rg.From.Format("Mon 2 Jan 2006"), rg.To.Format("Mon 2 Jan 2006"), rg.Zone)
	for _, build := range reportBuilders {
		sec, err := build(c.Request.Context(), reports.New(s.desk), principal(c), rg)
		if err != nil {
			s.failPage(c, err)
			return
		}
		q := rangeQuery(rg)
		for i := range sec.Tables {
			sec.Tables[i].Href = "/reports/" + sec.Tables[i].Name + ".csv?" + q
			if rows := sec.Tables[i].Rows; len(rows) > 0 {
				for _, cell := range rows[0] {
					if !cell.CSVOnly {
						sec.Tables[i].HeadNum = append(sec.Tables[i].HeadNum, cell.Num)
					}
				}
			}
		}
		for i := range sec.Extra {
			sec.Extra[i].Href += "?" + q
		}
		view.Sections = append(view.Sections, sec.reportSection)
	}
	s.render(c, http.StatusOK, pageReports, view)
}

func rangeQuery(rg reports.Range) string {
	return url.Values{"from": {rg.FromText()}, "to": {rg.ToText()}}.Encode()
}

// reportCSV serves GET /reports/{name}.csv?from=&to=: the table name of the report, RFC 4180.
func (s *Server) reportCSV(name string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ch := chromeOf(c)
		rg, err := reports.ParseRange(c.Query("from"), c.Query("to"), ch.Zone, s.desk.Now())
		if err != nil {
			errs, ok := formErrorsOf(err)
			if !ok {
				s.failPage(c, err)
				return
			}
			var msg strings.Builder
			for _, f := range errs.Fields {
				fmt.Fprintf(&msg, "%s: %s\n", f.Field, f.Message)
			}
			c.Data(http.StatusUnprocessableEntity, "text/plain; charset=utf-8", []byte(msg.String()))
			return
		}
		build := reportBuilders[csvReports[name]]
		sec, err := build(c.Request.Context(), reports.New(s.desk), principal(c), rg)
		if err != nil {
			s.failPage(c, err)
			return
		}
		var table reportTable
		for _, t := range sec.Tables {
			if t.Name == name {
				table = t
			}
		}
		if name == "volume-by-day-and-type" {
			table = volumeDetailTable(sec.volume)
		}
		var buf strings.Builder
		w := csv.NewWriter(&buf)
		rows := [][]string{table.CSVHead}
		for _, r := range table.Rows {
			line := make([]string, len(r))
			for i, cell := range r {
				line[i] = cases.SpreadsheetSafe(cell.CSV)
			}
			rows = append(rows, line)
		}
		w.UseCRLF = true
		if err := w.WriteAll(rows); err != nil {
			s.failPage(c, err)
			return
		}
		file := fmt.Sprintf("giftdesk-%s-%s-to-%s.csv", name, rg.FromText(), rg.ToText())
		c.Header("Content-Disposition", `attachment; filename="`+file+`"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(buf.String()))
	}
}

type reportBuilder func(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) (builtSection, error)

// builtSection is a section with what its CSV files beyond its tables need.
type builtSection struct {
	reportSection
	volume reports.Volume
}

// reportBuilders are the page's reports, in order; csvReports names the one behind each file.
var reportBuilders = []reportBuilder{volumeSection, timesSection, slaSection, correctionsSection, clustersSection}

var csvReports = map[string]int{"volume": 0, "volume-by-type": 0, "volume-by-day-and-type": 0, "times": 1, "sla": 2,
	"corrections": 3, "cards": 4}

func volumeSection(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) (builtSection, error) {
	v, err := r.Volume(ctx, p, rg)
	if err != nil {
		return builtSection{}, err
	}
	opened, resolved := v.ByDay()
	labels := make([]string, len(v.Days))
	days := reportTable{Name: "volume", Caption: "Cases opened and resolved per day", Head: []string{"Day", "Opened", "Resolved"},
		CSVHead: []string{"day", "opened", "resolved"}}
	for i, d := range v.Days {
		labels[i] = d.Format("2 Jan")
		days.Rows = append(days.Rows, []reportCell{{Text: d.Format("Mon 2 Jan 2006"), CSV: d.Format(reports.DateLayout)},
			countCell(opened[i]), countCell(resolved[i])})
	}
	types := reportTable{Name: "volume-by-type", Caption: "Cases opened and resolved per type over the range",
		Head: []string{"Type", "Opened", "Resolved"}, CSVHead: []string{"type", "opened", "resolved"}}
	for _, t := range v.ByType() {
		types.Rows = append(types.Rows, []reportCell{{Text: words(t.Type), CSV: string(t.Type)}, countCell(t.Opened), countCell(t.Resolved)})
	}
	chart := columnChart("chart-volume", "Cases opened and resolved per day",
		fmt.Sprintf("Columns per day from %s to %s; the table below lists the same numbers.", rg.FromText(), rg.ToText()),
		labels, []series{{"Opened", ints(opened)}, {"Resolved", ints(resolved)}})
	return builtSection{reportSection: reportSection{ID: "volume", Heading: "Cases opened and resolved",
		Definition: "A case counts as opened on the day it was created and as resolved on the day it last moved to resolved.",
		Chart:      chart, Tables: []reportTable{days, types},
		Extra: []csvLink{{Label: "Per day and type (CSV)", Href: "/reports/volume-by-day-and-type.csv"}}}, volume: v}, nil
}

// volumeDetailTable is the volume per day and type, the rows with a case only.
func volumeDetailTable(v reports.Volume) reportTable {
	t := reportTable{Name: "volume-by-day-and-type", CSVHead: []string{"day", "type", "opened", "resolved"}}
	for _, c := range v.Cells {
		t.Rows = append(t.Rows, []reportCell{textCell(c.Day.Format(reports.DateLayout)), textCell(string(c.Type)),
			countCell(c.Opened), countCell(c.Resolved)})
	}
	return t
}

func timesSection(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) (builtSection, error) {
	rows, err := r.Times(ctx, p, rg)
	if err != nil {
		return builtSection{}, err
	}
	t := reportTable{Name: "times", Caption: "Time to first response and to resolution per type",
		Head: []string{"Type", "First responses", "Median", "90th percentile", "Resolutions", "Median", "90th percentile"},
		CSVHead: []string{"type", "first_responses", "first_response_median_seconds", "first_response_p90_seconds",
			"resolutions", "resolution_median_seconds", "resolution_p90_seconds"}}
	labels := make([]string, len(rows))
	var med, p90 []float64
	for i, row := range rows {
		labels[i] = words(row.Type)
		med = append(med, row.Resolution.Median.Hours())
		p90 = append(p90, row.Resolution.P90.Hours())
		t.Rows = append(t.Rows, []reportCell{{Text: words(row.Type), CSV: string(row.Type)},
			countCell(row.FirstResponse.N), durationCell(row.FirstResponse, row.FirstResponse.Median), durationCell(row.FirstResponse, row.FirstResponse.P90),
			countCell(row.Resolution.N), durationCell(row.Resolution, row.Resolution.Median), durationCell(row.Resolution, row.Resolution.P90)})
	}
	chart := barChartScaled("chart-times", "Time to resolution per type",
		"Bars per case type: the median and the 90th percentile of the time from creation to resolution; the table below also gives the time to first response.",
		labels, []series{{"Median", med}, {"90th percentile", p90}}, func(v float64) string { return shortDuration(time.Duration(v * float64(time.Hour))) },
		hourScale)
	return builtSection{reportSection: reportSection{ID: "times", Heading: "Response and resolution times",
		Definition: reports.FirstResponseDefinition, Chart: chart, Tables: []reportTable{t}}}, nil
}

// durationCell is a duration for people on the page and in whole seconds in the CSV; a type with
// nothing measured shows a dash and leaves the CSV cell empty.
func durationCell(d reports.Durations, v time.Duration) reportCell {
	if d.N == 0 {
		return reportCell{Text: "–", Num: true}
	}
	return reportCell{Text: shortDuration(v), CSV: strconv.FormatInt(int64(v/time.Second), 10), Num: true}
}

// shortDuration writes a duration in its two largest units: "45 s", "12 min", "3 h 20 min", "2 d 4 h".
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		if m := int(d%time.Hour) / int(time.Minute); m != 0 {
			return fmt.Sprintf("%d h %d min", int(d/time.Hour), m)
		}
		return fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		if h := int(d%(24*time.Hour)) / int(time.Hour); h != 0 {
			return fmt.Sprintf("%d d %d h", int(d/(24*time.Hour)), h)
		}
		return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
	}
}

func slaSection(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) (builtSection, error) {
	rows, err := r.SLA(ctx, p, rg)
	if err != nil {
		return builtSection{}, err
	}
	t := reportTable{Name: "sla", Caption: "SLA targets due and missed per priority",
		Head:    []string{"Priority", "First responses due", "Missed", "Resolutions due", "Missed"},
		CSVHead: []string{"priority", "first_responses_due", "first_responses_missed", "resolutions_due", "resolutions_missed"}}
	labels := make([]string, len(rows))
	var first, res []float64
	for i, row := range rows {
		labels[i] = string(row.Priority)
		first, res = append(first, float64(row.FirstResponseMissed)), append(res, float64(row.ResolutionMissed))
		t.Rows = append(t.Rows, []reportCell{textCell(string(row.Priority)), countCell(row.FirstResponseDue), countCell(row.FirstResponseMissed),
			countCell(row.ResolutionDue), countCell(row.ResolutionMissed)})
	}
	chart := barChart("chart-sla", "SLA breaches per priority",
		"Bars per priority: first-response targets and resolution targets missed; the table below also gives the targets due.",
		labels, []series{{"First response missed", first}, {"Resolution missed", res}}, plainCount)
	return builtSection{reportSection: reportSection{ID: "sla", Heading: "SLA breaches", Definition: reports.SLADefinition,
		Chart: chart, Tables: []reportTable{t}}}, nil
}

func correctionsSection(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) (builtSection, error) {
	rows, err := r.Corrections(ctx, p, rg)
	if err != nil {
		return builtSection{}, err
	}
	t := reportTable{Name: "corrections", Caption: "Corrections applied, denied and reversed per currency",
		Head:    []string{"Currency", "Applied", "Amount applied", "Denied", "Amount denied", "Reversed", "Amount reversed"},
		CSVHead: []string{"currency", "applied", "applied_amount", "denied", "denied_amount", "reversed", "reversed_amount"}, Empty: "No correction was decided or reversed in this range."}
	var labels []string
	var applied, denied, reversed []float64
	for _, row := range rows {
		labels = append(labels, string(row.Currency))
		applied, denied, reversed = append(applied, float64(row.Applied.Count)), append(denied, float64(row.Denied.Count)), append(reversed, float64(row.Reversed.Count))
		t.Rows = append(t.Rows, []reportCell{textCell(string(row.Currency)),
			countCell(row.Applied.Count), amountCell(row.Applied.Sum, row.Currency),
			countCell(row.Denied.Count), amountCell(row.Denied.Sum, row.Currency),
			countCell(row.Reversed.Count), amountCell(row.Reversed.Sum, row.Currency)})
	}
	chart := barChart("chart-corrections", "Corrections per currency",
		"Bars per currency: the number of corrections applied, denied and reversed; the table below gives their amounts.",
		labels, []series{{"Applied", applied}, {"Denied", denied}, {"Reversed", reversed}}, plainCount)
	return builtSection{reportSection: reportSection{ID: "corrections", Heading: "Corrections", Definition: reports.CorrectionsDefinition,
		Chart: chart, Tables: []reportTable{t}}}, nil
}

// amountCell is an amount in its currency's units, without the code (the row names it).
func amountCell(minor int64, c cases.Currency) reportCell {
	s := strings.TrimSuffix(cases.FormatMinor(minor, c), " "+string(c))
	return reportCell{Text: s, CSV: s, Num: true}
}

func clustersSection(ctx context.Context, r *reports.Reporter, p cases.Principal, rg reports.Range) (builtSection, error) {
	rows, err := r.Clusters(ctx, p, rg)
	if err != nil {
		return builtSection{}, err
	}
	t := reportTable{Name: "cards", Caption: "Cards added to the most cases",
		Head:    []string{"Card", "Marketplace", "Face value", "Cases", "Case links"},
		CSVHead: []string{"card", "marketplace", "currency", "face_value", "cases", "case_refs"}, Empty: "No card was added to two or more cases in this range."}
	var labels []string
	var counts []float64
	for _, row := range rows {
		name, id := "ending "+row.Last4, row.Last4
		if row.Last4 == "" {
			name, id = "serial "+row.Serial, row.Serial
		}
		labels, counts = append(labels, name), append(counts, float64(row.Cases))
		refs := strings.Join(row.Refs, " ")
		if int64(len(row.Refs)) < row.Cases {
			refs += fmt.Sprintf(" (and %d more)", row.Cases-int64(len(row.Refs)))
		}
		t.Rows = append(t.Rows, []reportCell{{Text: name, CSV: id}, textCell(string(row.Marketplace)), {CSV: string(row.Currency), CSVOnly: true},
			{Text: cases.FormatMinor(row.FaceValue, row.Currency), CSV: amountCell(row.FaceValue, row.Currency).CSV, Num: true},
			countCell(row.Cases), {Links: row.Refs, Text: moreText(row.Cases, len(row.Refs)), CSV: refs}})
	}
	chart := barChart("chart-cards", "Cases per card, for the cards on the most cases",
		"Bars per card: how many cases it was added to in the range; the table below links to the cases.",
		labels, []series{{"Cases", counts}}, plainCount)
	return builtSection{reportSection: reportSection{ID: "cards", Heading: "Cards on the most cases", Definition: reports.ClustersDefinition,
		Chart: chart, Tables: []reportTable{t}}}, nil
}

func moreText(total int64, shown int) string {
	if int64(shown) < total {
		return fmt.Sprintf("and %d more", total-int64(shown))
	}
	return ""
}

func plainCount(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

func ints(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, n := range v {
		out[i] = float64(n)
	}
	return out
}
