package export

import (
	"context"
	"strconv"
	"strings"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
)

// Columns is the CSV export's header, in SPEC 4.4's order [contract].
var Columns = []string{"ref", "type", "status", "resolution", "priority", "created_at", "updated_at",
	"customer_account", "marketplace", "card_last4", "face_value_minor", "currency", "corrected_minor",
	"assignee", "external_system", "external_id"}

// flatCase is one case of the flat exports (CSV, XLSX): one row per case.
type flatCase struct {
	models.ExportRow
	Cards     []models.ExportCard
	External  *models.ExternalRef
	Corrected int64
}

// currency is the case's currency: its customer's marketplace's, which every correction on the
// case is in (R4), so corrected_minor is always in it. With no marketplace known, the first
// card's.
func (c flatCase) currency() cases.Currency {
	if c.Marketplace != nil {
		if cur := cases.Marketplace(*c.Marketplace).Currency(); cur != "" {
			return cur
		}
	}
	if len(c.Cards) > 0 {
		return cases.Currency(c.Cards[0].Currency)
	}
	return ""
}

// currencyCell is the currency column: the case's currency when every card is in it, else each
// card's currency joined by ";" in card order, next to face_value_minor's values (a US card on a
// UK account: the regional lock of R4), so that no face value is read in another currency.
func (c flatCase) currencyCell() string {
	cur := c.currency()
	for _, card := range c.Cards {
		if cases.Currency(card.Currency) != cur {
			return c.joined(func(card models.ExportCard) string { return card.Currency })
		}
	}
	return string(cur)
}

// last4 is the last four characters of a card's claim code, as the API shows them; empty for a
// card known by its serial only (the API's last4 is null then too).
func last4(card models.ExportCard) string {
	if card.Last4 != nil {
		return *card.Last4
	}
	return ""
}

// joined renders each card's value with fn, joined by ";" in card order (SPEC 4.4).
func (c flatCase) joined(fn func(models.ExportCard) string) string {
	parts := make([]string, len(c.Cards))
	for i, card := range c.Cards {
		parts[i] = fn(card)
	}
	return strings.Join(parts, ";")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// flatBatches walks f's cases in batches of flat rows: four statements a batch (cases with
// customers and assignees, cards, external references, corrected sums), whatever it holds.
func (e *Exporter) flatBatches(ctx context.Context, f models.ExportFilter, fn func([]flatCase) error) error {
	db := e.desk.ReadDB(ctx)
	page := func(ctx context.Context, f models.ExportFilter) ([]models.ExportRow, int, int64, error) {
		rows, err := models.ExportRows(ctx, db, f, make([]models.ExportRow, 0, f.Limit))
		if err != nil || len(rows) == 0 {
			return nil, 0, 0, err
		}
		return rows, len(rows), rows[len(rows)-1].ID, nil
	}
	expand := func(ctx context.Context, rows []models.ExportRow) ([]flatCase, error) {
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		cards, err := models.ExportCardsOf(ctx, db, ids)
		if err != nil {
			return nil, err
		}
		refs, err := models.FirstExternalRefs(ctx, db, ids)
		if err != nil {
			return nil, err
		}
		corrected, err := models.CorrectedOf(ctx, db, ids)
		if err != nil {
			return nil, err
		}
		out := make([]flatCase, len(rows))
		for i, r := range rows {
			out[i] = flatCase{ExportRow: r, Cards: cards[r.ID], Corrected: corrected[r.ID]}
			if ref, ok := refs[r.ID]; ok {
				out[i].External = &ref
			}
		}
		return out, nil
	}
	return pipeline(ctx, f, e.batch, page, expand, fn)
}

// csvRecord is c's CSV row, in Columns' order, before neutralisation.
func (c flatCase) csvRecord(rec []string) []string {
	ext, extID := "", ""
	if c.External != nil {
		ext, extID = c.External.System, c.External.ExternalID
	}
	return append(rec[:0], c.Ref, c.Type, c.Status, deref(c.Resolution), c.Priority, rfc3339(c.CreatedAt), rfc3339(c.UpdatedAt),
		c.CustomerAccount, deref(c.Marketplace), c.joined(last4),
		c.joined(func(card models.ExportCard) string { return strconv.FormatInt(card.FaceValueMinor, 10) }),
		c.currencyCell(), strconv.FormatInt(c.Corrected, 10), deref(c.Assignee), ext, extID)
}
