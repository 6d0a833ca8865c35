package bundle

import (
	"fmt"
	"strings"
)

// The summary's tables: cells wrapped at their widths, each paragraph keeping the lines it must
// never lose (a correction's people) and giving up the others (notes, reasons) first.

type column struct {
	title string
	width float64
}

// A para is one paragraph of a cell. Its first keep lines are never cut (whole: all of them), so a
// row grows to show them; its other lines are cut when the row has no room left for them.
type para struct {
	text string
	keep int
}

// whole keeps every line of a paragraph.
const whole = 1 << 20

// plain is text whose paragraphs (lines apart) may all be cut.
func plain(text string) []para {
	var out []para
	for _, t := range strings.Split(text, "\n") {
		out = append(out, para{t, 0})
	}
	return out
}

// plainRow is a table row of plain cells.
func plainRow(texts ...string) [][]para {
	out := make([][]para, len(texts))
	for i, t := range texts {
		out[i] = plain(t)
	}
	return out
}

type cell struct {
	paras []para
	width float64
	label bool
}

func textCell(text string, width float64, label bool) cell { return cell{plain(text), width, label} }

// table draws a header and up to limit rows, each cell wrapped to at most three lines beside the
// lines its paragraphs keep; a row that does not fit whole on the last page is drawn with its kept
// lines alone (plain cells one line) if that fits. The rows it cannot draw (past limit, or past the
// second page) are named in a last line pointing to where they all are.
func (s *summary) table(cols []column, rows [][][]para, limit int, what, where string) {
	header := make([]cell, len(cols))
	for i, c := range cols {
		header[i] = textCell(c.title, c.width, true)
	}
	if !s.row(header, 1, true) {
		return
	}
	drawn := 0
	for i, r := range rows {
		if drawn == limit {
			break
		}
		cells := make([]cell, len(cols))
		for j := range cols {
			cells[j] = cell{r[j], cols[j].width, false}
		}
		// Keep a line for "… N more" when rows remain after this one.
		reserve := 0.0
		if i < len(rows)-1 {
			reserve = lineH + 2
		}
		lines := 3
		if !s.fits(cells, lines, reserve) {
			if lines = 1; !kept(cells) || !s.fits(cells, lines, reserve) {
				break
			}
		}
		s.row(cells, lines, false)
		drawn++
	}
	if more := len(rows) - drawn; more > 0 {
		s.full = false // the reserved line is there
		s.pdf.SetFont(family, "", bodySize)
		s.pdf.SetTextColor(70, 70, 70)
		s.pdf.CellFormat(contentW, lineH+2, s.text(fmt.Sprintf("… %d more %s, see %s", more, what, where)), "", 1, "L", false, 0, "")
		if s.pdf.PageNo() >= maxPages && s.pdf.GetY()+3*lineH > bottom {
			s.full = true
		}
	}
}

// kept reports whether a cell keeps lines: a row worth drawing short rather than not at all.
func kept(cells []cell) bool {
	for _, c := range cells {
		for _, p := range c.paras {
			if p.keep > 0 {
				return true
			}
		}
	}
	return false
}

// lines wraps the cells' paragraphs at their widths. A row has limit lines (0: no limit), or more
// when a cell's kept lines need more; every cell fills them with its kept lines first, then with
// its other lines in order. A paragraph cut ends in "…", as does the line before a paragraph
// left out.
func (s *summary) lines(cells []cell, limit int) [][]string {
	wrapped := make([][][]string, len(cells))
	budget := limit
	for i, c := range cells {
		s.font(c.label)
		need := 0
		for _, p := range c.paras {
			t := s.text(p.text)
			var ls []string
			if t != "" {
				ls = s.pdf.SplitText(t, c.width)
			}
			wrapped[i] = append(wrapped[i], ls)
			need += min(p.keep, len(ls))
		}
		if limit > 0 {
			budget = max(budget, need)
		}
	}
	out := make([][]string, len(cells))
	for i, c := range cells {
		s.font(c.label)
		paras := wrapped[i]
		take := make([]int, len(paras))
		left := budget
		for j, ls := range paras {
			take[j] = min(c.paras[j].keep, len(ls))
			left -= take[j]
		}
		for j, ls := range paras {
			extra := len(ls) - take[j]
			if limit > 0 {
				extra = max(0, min(extra, left))
			}
			take[j] += extra
			left -= extra
		}
		var ls []string
		for j, p := range paras {
			ls = append(ls, p[:take[j]]...)
			if take[j] < len(p) && len(ls) > 0 && !strings.HasSuffix(ls[len(ls)-1], "…") {
				ls[len(ls)-1] = s.ellipsis(ls[len(ls)-1], c.width)
			}
		}
		out[i] = ls
	}
	return out
}

// ellipsis ends line in "…", shortened to fit width.
func (s *summary) ellipsis(line string, width float64) string {
	for line != "" && s.pdf.GetStringWidth(line+"…")+2*cellPad > width {
		r := []rune(line)
		line = string(r[:len(r)-1])
	}
	return line + "…"
}

func (s *summary) font(label bool) {
	if label {
		s.pdf.SetFont(family, "B", bodySize)
	} else {
		s.pdf.SetFont(family, "", bodySize)
	}
}

func height(lines [][]string) float64 {
	n := 1
	for _, l := range lines {
		n = max(n, len(l))
	}
	return float64(n)*lineH + 2*cellPad
}

// fits reports whether a row, and reserve millimetres after it, fit on this page or a new one.
func (s *summary) fits(cells []cell, max int, reserve float64) bool {
	h := height(s.lines(cells, max)) + reserve
	if s.pdf.GetY()+h <= bottom {
		return true
	}
	return s.pdf.PageNo() < maxPages && margin+h <= bottom
}

// row draws one row of cells, wrapped at max lines each (0: no limit); header rows are shaded.
// It returns false, drawing nothing, when the row does not fit on the two pages.
func (s *summary) row(cells []cell, max int, header bool) bool {
	ls := s.lines(cells, max)
	h := height(ls)
	if !s.room(h) {
		return false
	}
	p := s.pdf
	x, y := margin, p.GetY()
	if header {
		p.SetFillColor(232, 232, 232)
		p.Rect(margin, y, contentW, h, "F")
	} else {
		p.SetDrawColor(215, 215, 215)
		p.Line(margin, y+h, margin+contentW, y+h)
	}
	for i, c := range cells {
		s.font(c.label)
		if c.label && !header {
			p.SetTextColor(80, 80, 80)
		} else {
			p.SetTextColor(20, 20, 20)
		}
		for j, l := range ls[i] {
			p.SetXY(x, y+cellPad+float64(j)*lineH)
			p.CellFormat(c.width, lineH, l, "", 0, "L", false, 0, "")
		}
		x += c.width
	}
	p.SetXY(margin, y+h)
	return true
}
