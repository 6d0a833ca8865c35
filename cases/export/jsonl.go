package export

import (
	"context"
	"encoding/json"
	"io"

	"giftdesk/cases"
	"giftdesk/models"
)

// writeJSONL writes one cases.CaseRecord per line: the case as the API shows it, with its
// communications and corrections.
func (e *Exporter) writeJSONL(ctx context.Context, f models.ExportFilter, w io.Writer) (Result, error) {
	var res Result
	db := e.desk.ReadDB(ctx)
	out := newOut(w)
	enc := json.NewEncoder(out) // one object and a newline per Encode
	page := func(ctx context.Context, f models.ExportFilter) ([]models.Case, int, int64, error) {
		batch, err := models.ExportCases(ctx, db, f)
		if err != nil || len(batch) == 0 {
			return nil, 0, 0, err
		}
		return batch, len(batch), batch[len(batch)-1].ID, nil
	}
	expand := func(ctx context.Context, batch []models.Case) ([]cases.CaseRecord, error) {
		return e.desk.CaseRecords(ctx, db, batch)
	}
	err := pipeline(ctx, f, e.batch, page, expand, func(records []cases.CaseRecord) error {
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
