package export

import (
	"context"
	"encoding/csv"
	"io"

	"giftdesk/cases"
	"giftdesk/models"
)

// writeCSV writes the header and one RFC 4180 row per case (CRLF line ends), every cell through
// cases.SpreadsheetSafe.
func (e *Exporter) writeCSV(ctx context.Context, f models.ExportFilter, w io.Writer) (Result, error) {
	var res Result
	out := newOut(w)
	cw := csv.NewWriter(out)
	cw.UseCRLF = true
	rec := make([]string, 0, len(Columns))
	write := func(cells []string) error {
		for i, s := range cells {
			cells[i] = cases.SpreadsheetSafe(s)
		}
		return cw.Write(cells)
	}
	if err := write(append(rec[:0], Columns...)); err != nil {
		return res, err
	}
	err := e.flatBatches(ctx, f, func(batch []flatCase) error {
		for _, c := range batch {
			rec = c.csvRecord(rec)
			if err := write(rec); err != nil {
				return err
			}
			res.Rows++
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		return out.push()
	})
	if err != nil {
		return res, err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return res, err
	}
	return res, out.push()
}
