package export

import (
	"context"
	"encoding/json"
	"io"

	"giftdesk/models"
)

// writeJSONL writes one cases.CaseRecord per line: the case as the API shows it, with its
// communications and corrections.
func (e *Exporter) writeJSONL(ctx context.Context, f models.ExportFilter, w io.Writer) (Result, error) {
	var res Result
	db := e.desk.ReadDB(ctx)
	out := newOut(w)
	enc := json.NewEncoder(out) // one object and a newline per Encode
	read := func(f models.ExportFilter) ([]models.Case, error) { return models.ExportCases(ctx, db, f) }
	err := walk(ctx, f, e.batch, read, func(c models.Case) int64 { return c.ID }, func(batch []models.Case) error {
		records, err := e.desk.CaseRecords(ctx, db, batch)
		if err != nil {
			return err
		}
		for _, r := range records {
			if err := enc.Encode(r); err != nil {
				return err
			}
			res.Rows++
		}
		return out.push()
	})
	return res, err
}
