package export

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/xuri/excelize/v2"

	"giftdesk/cases"
	"giftdesk/models"
)

// XLSXColumns is the spreadsheet's header: the CSV's columns, with the amounts named without
// "_minor" since the spreadsheet shows them in the currency's units (50.00 USD, 5000 JPY).
var XLSXColumns = func() []string {
	out := make([]string, len(Columns))
	for i, c := range Columns {
		out[i] = strings.TrimSuffix(c, "_minor")
	}
	return out
}()

const sheet = "Cases"

// writeXLSX writes the cases to one sheet with excelize's StreamWriter: typed cells (amounts as
// numbers in the currency's units, times as dates), a frozen header row. The StreamWriter keeps
// 16 MiB of rows in memory, then spills to a temporary file under Config.TmpDir, removed when
// the export ends. Nothing reaches w until every row is written (the workbook is then zipped
// straight to w): an export that fails on the way writes no byte, and the caller can still answer
// with a clean error.
func (e *Exporter) writeXLSX(ctx context.Context, f models.ExportFilter, w io.Writer) (Result, error) {
	var res Result
	file := excelize.NewFile(excelize.Options{TmpDir: e.cfg.TmpDir})
	defer func() { _ = file.Close() }()
	if err := file.SetSheetName("Sheet1", sheet); err != nil {
		return res, err
	}
	sw, err := file.NewStreamWriter(sheet)
	if err != nil {
		return res, err
	}
	styles, err := newStyles(file)
	if err != nil {
		return res, err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return res, err
	}
	for col, width := range map[int]float64{1: 12, 6: 20, 7: 20, 8: 18, 14: 24} {
		if err := sw.SetColWidth(col, col, width); err != nil {
			return res, err
		}
	}
	header := make([]any, len(XLSXColumns))
	for i, c := range XLSXColumns {
		header[i] = excelize.Cell{StyleID: styles.header, Value: c}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{StyleID: styles.header}); err != nil {
		return res, err
	}
	row := make([]any, len(Columns))
	err = e.flatBatches(ctx, f, func(batch []flatCase) error {
		for _, c := range batch {
			cell, err := excelize.CoordinatesToCellName(1, int(res.Rows)+2)
			if err != nil {
				return err
			}
			if err := sw.SetRow(cell, c.xlsxRow(row, styles)); err != nil {
				return err
			}
			res.Rows++
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := sw.Flush(); err != nil {
		return res, err
	}
	// File.WriteTo zips the whole workbook into a bytes.Buffer before writing it (338 MB peak RSS
	// at 1M cases, measured): the workbook's zip writer is pointed at w instead, and the buffer
	// excelize hands it stays empty. excelize patches that buffer's local file headers only for a
	// part over 4 GiB (zip64, some 5M cases); Go's archive/zip writes zip64 records itself.
	out := newOut(w)
	file.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(out) })
	if _, err := file.WriteToBuffer(); err != nil {
		return res, err
	}
	return res, out.push()
}

// xlsxStyles are the spreadsheet's cell styles.
type xlsxStyles struct {
	header, date int
	amount       map[int]int // by the currency's decimals
}

func newStyles(f *excelize.File) (xlsxStyles, error) {
	var s xlsxStyles
	var err error
	if s.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return s, err
	}
	dateFmt := "yyyy-mm-dd hh:mm:ss"
	if s.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return s, err
	}
	s.amount = map[int]int{}
	for _, dec := range []int{0, 2} {
		format := "#,##0"
		if dec > 0 {
			format += "." + strings.Repeat("0", dec)
		}
		if s.amount[dec], err = f.NewStyle(&excelize.Style{CustomNumFmt: &format}); err != nil {
			return s, err
		}
	}
	return s, nil
}

// units converts minor units to the currency's units, for display: JPY has no decimals, the
// others two. A float64 is exact for every amount below 2^53 minor units.
func units(minor int64, c cases.Currency) float64 {
	return float64(minor) / math.Pow10(c.Decimals())
}

func (s xlsxStyles) money(minor int64, c cases.Currency) excelize.Cell {
	return excelize.Cell{StyleID: s.amount[c.Decimals()], Value: units(minor, c)}
}

// xlsxRow is c's row: text cells through cases.SpreadsheetSafe like the CSV's (a spreadsheet
// never evaluates a string cell, but a user may copy it into a formula bar), numbers and times
// typed. Several cards' face values are a text of amounts joined by ";".
func (c flatCase) xlsxRow(row []any, s xlsxStyles) []any {
	text := func(v string) any { return cases.SpreadsheetSafe(v) }
	ext, extID := "", ""
	if c.External != nil {
		ext, extID = c.External.System, c.External.ExternalID
	}
	var face any = ""
	switch len(c.Cards) {
	case 0:
	case 1:
		face = s.money(c.Cards[0].FaceValueMinor, cases.Currency(c.Cards[0].Currency))
	default:
		face = text(c.joined(func(card models.ExportCard) string {
			return cases.FormatMinor(card.FaceValueMinor, cases.Currency(card.Currency))
		}))
	}
	cur := c.currency()
	row = append(row[:0], text(c.Ref), text(c.Type), text(c.Status), text(deref(c.Resolution)), text(c.Priority),
		excelize.Cell{StyleID: s.date, Value: c.CreatedAt.UTC()}, excelize.Cell{StyleID: s.date, Value: c.UpdatedAt.UTC()},
		text(c.CustomerAccount), text(deref(c.Marketplace)), text(c.joined(last4)), face, text(c.currencyCell()),
		s.money(c.Corrected, cur), text(deref(c.Assignee)), text(ext), text(extID))
	if len(row) != len(Columns) {
		panic(fmt.Sprintf("export: an XLSX row of %d cells for %d columns", len(row), len(Columns)))
	}
	return row
}
