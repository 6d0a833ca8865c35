package handlers

import (
	"fmt"
	"math"
	"strconv"
)

// The reports' charts are SVG drawn here and written by the template: no script, no library. Each
// is an image named by its title and description, and the table after it holds its numbers.

// series is one set of values of a chart, one per category.
type series struct {
	Name   string
	Values []float64
}

// chartView is a chart laid out in its viewBox's units.
type chartView struct {
	ID, Title, Desc string
	Width, Height   float64
	Legend          []legendEntry
	Grid            []gridLine
	Bars            []chartBar
	Labels          []chartText
	Empty           bool
}

type legendEntry struct{ Class, Name string }

type gridLine struct{ X1, Y1, X2, Y2 float64 }

type chartBar struct {
	X, Y, W, H float64
	Class, Tip string
}

type chartText struct {
	X, Y         float64
	Text, Anchor string
	Class        string
}

// seriesClass names a series' colour (giftdesk.css, "Reports").
func seriesClass(i int) string { return "series-" + strconv.Itoa(i%3) }

func legendOf(ss []series) []legendEntry {
	out := make([]legendEntry, len(ss))
	for i, s := range ss {
		out[i] = legendEntry{Class: seriesClass(i), Name: s.Name}
	}
	return out
}

// niceScale returns an axis maximum at or above max and its step: 1, 2 or 5 times a power of ten,
// at least 1 (counts and hours are never cut finer), in at most five steps.
func niceScale(max float64) (top, step float64) {
	if max <= 0 {
		return 4, 1
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	step = math.Max(step, 1)
	return math.Ceil(max/step) * step, step
}

func maxOf(ss []series) float64 {
	m := 0.0
	for _, s := range ss {
		for _, v := range s.Values {
			m = math.Max(m, v)
		}
	}
	return m
}

// columnChart draws one group of columns per category (a day), for a range of up to a quarter: the
// categories' labels are thinned to about a dozen so that none overlaps.
func columnChart(id, title, desc string, categories []string, ss []series) chartView {
	const width, height, left, right, top, bottom = 1100.0, 280.0, 52.0, 12.0, 14.0, 30.0
	ch := chartView{ID: id, Title: title, Desc: desc, Width: width, Height: height, Legend: legendOf(ss), Empty: maxOf(ss) == 0}
	plotW, plotH := width-left-right, height-top-bottom
	max, step := niceScale(maxOf(ss))
	for v := 0.0; v <= max+step/2; v += step {
		y := top + plotH - v/max*plotH
		ch.Grid = append(ch.Grid, gridLine{left, y, width - right, y})
		ch.Labels = append(ch.Labels, chartText{X: left - 8, Y: y + 4, Text: plainCount(v), Anchor: "end", Class: "tick"})
	}
	n := len(categories)
	if n == 0 {
		return ch
	}
	slot := plotW / float64(n)
	group := slot * 0.8
	if slot < 4 {
		group = slot
	}
	barW := group / float64(len(ss))
	every := int(math.Ceil(float64(n) / 12))
	for i, cat := range categories {
		x0 := left + float64(i)*slot + (slot-group)/2
		for j, s := range ss {
			h := s.Values[i] / max * plotH
			ch.Bars = append(ch.Bars, chartBar{X: x0 + float64(j)*barW, Y: top + plotH - h, W: barW, H: h, Class: seriesClass(j),
				Tip: fmt.Sprintf("%s: %s %s", cat, plainCount(s.Values[i]), s.Name)})
		}
		if i%every == 0 {
			ch.Labels = append(ch.Labels, chartText{X: left + (float64(i)+0.5)*slot, Y: height - 10, Text: cat, Anchor: "middle", Class: "tick"})
		}
	}
	return ch
}

// barChart draws horizontal bars, one row per series in each category, with the category's name on
// the left and each value at the end of its bar.
func barChart(id, title, desc string, categories []string, ss []series, format func(float64) string) chartView {
	return barChartScaled(id, title, desc, categories, ss, format, niceScale)
}

// hourScale is niceScale for hours: steps a reader counts time in (1, 2, 3, 4, 6, 8, 12 hours,
// then whole days).
func hourScale(max float64) (top, step float64) {
	if max <= 0 {
		return 4, 1
	}
	for _, step = range []float64{1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 96, 168, 336, 720} {
		if max/step <= 5 {
			break
		}
	}
	return math.Ceil(max/step) * step, step
}

// barChartScaled is barChart with its own choice of axis steps.
func barChartScaled(id, title, desc string, categories []string, ss []series, format func(float64) string,
	scale func(float64) (float64, float64)) chartView {
	const width, labelW, valueW, top, rowH, gap, axis = 1100.0, 170.0, 90.0, 8.0, 16.0, 12.0, 26.0
	n := len(categories)
	groupH := float64(len(ss))*rowH + gap
	height := top + math.Max(float64(n), 1)*groupH + axis
	ch := chartView{ID: id, Title: title, Desc: desc, Width: width, Height: height, Legend: legendOf(ss), Empty: maxOf(ss) == 0}
	plotW := width - labelW - valueW
	max, step := scale(maxOf(ss))
	bottom := height - axis
	for v := 0.0; v <= max+step/2; v += step {
		x := labelW + v/max*plotW
		ch.Grid = append(ch.Grid, gridLine{x, top, x, bottom})
		ch.Labels = append(ch.Labels, chartText{X: x, Y: height - 8, Text: format(v), Anchor: "middle", Class: "tick"})
	}
	for i, cat := range categories {
		y0 := top + float64(i)*groupH + gap/2
		ch.Labels = append(ch.Labels, chartText{X: labelW - 10, Y: y0 + float64(len(ss))*rowH/2 + 4, Text: cat, Anchor: "end", Class: "category"})
		for j, s := range ss {
			w := s.Values[i] / max * plotW
			y := y0 + float64(j)*rowH
			ch.Bars = append(ch.Bars, chartBar{X: labelW, Y: y + 1, W: w, H: rowH - 2, Class: seriesClass(j),
				Tip: fmt.Sprintf("%s: %s %s", cat, format(s.Values[i]), s.Name)})
			ch.Labels = append(ch.Labels, chartText{X: labelW + w + 6, Y: y + rowH - 4, Text: format(s.Values[i]), Anchor: "start", Class: "value"})
		}
	}
	return ch
}
