package cases

import (
	"context"
	"errors"
	"slices"
	"time"

	"giftdesk/models"
)

// dossierBatch is how many rows of one kind a dossier reads per statement.
const dossierBatch = 200

// Dossier is everything about one case that leaves the desk in its evidence bundle (issue 24,
// cases/bundle): the case as GET /api/v1/cases/{ref} shows it, its whole timeline, every upload
// and correction, and the head of the audit chain when it was read. Only CaseDossier makes one,
// after checking access; Open reads the bytes of the uploads it lists.
type Dossier struct {
	Case        CaseView
	Timeline    []TimelineEntry  // every entry, oldest first
	Evidence    []EvidenceView   // every upload, oldest first
	Corrections []CorrectionView // every correction, oldest first
	Chain       AuditChain       // the head of the audit chain (R10) when the dossier was read
	ReadAt      time.Time
	desk        *Desk
}

// CaseDossier reads the dossier of case ref for an escalation bundle, for those RequireExport
// lets take data out of the desk: a bundle holds the customer's evidence files.
//
// It reads in batches: a fixed handful of statements per 200 entries, uploads or corrections.
func (d *Desk) CaseDossier(ctx context.Context, p Principal, ref string) (Dossier, error) {
	if err := p.RequireExport(); err != nil {
		return Dossier{}, err
	}
	x := Dossier{ReadAt: d.now(), desk: d}
	// The chain's head first: every event the bundle's data reflects is at or before it, or
	// still unsealed and counted in Unsealed.
	var err error
	if x.Chain, err = d.auditChain(ctx); err != nil {
		return Dossier{}, err
	}
	c, err := models.CaseByRef(ctx, d.db, ref)
	if errors.Is(err, models.ErrNotFound) {
		return Dossier{}, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return Dossier{}, storeErr(err)
	}
	if x.Case, err = d.caseView(ctx, d.db, c); err != nil {
		return Dossier{}, storeErr(err)
	}
	red, err := d.caseRedactor(ctx, d.db, c.ID)
	if err != nil {
		return Dossier{}, storeErr(err)
	}
	w := models.TimelineWindow{Limit: dossierBatch}
	for {
		page, err := d.timeline(ctx, c, red, w)
		if err != nil {
			return Dossier{}, storeErr(err)
		}
		x.Timeline = append(x.Timeline, page.Data...)
		if page.NextCursor == "" {
			break
		}
		last := page.Data[len(page.Data)-1]
		w.After = &models.TimelineKey{At: last.At, Kind: last.Kind, ID: last.ID}
	}
	known := &oneCase{id: c.ID, ref: c.Ref, red: red}
	for after := int64(0); ; {
		rows, err := models.EvidenceOfCase(ctx, d.db, c.ID, after, dossierBatch)
		if err != nil {
			return Dossier{}, storeErr(err)
		}
		if len(rows) == 0 {
			break
		}
		views, err := d.evidenceViewsOf(ctx, d.db, rows, known)
		if err != nil {
			return Dossier{}, storeErr(err)
		}
		x.Evidence = append(x.Evidence, views...)
		if len(rows) < dossierBatch {
			break
		}
		after = rows[len(rows)-1].ID
	}
	for before := int64(0); ; {
		rows, err := models.ListCorrections(ctx, d.db, models.CorrectionFilter{CaseID: c.ID, BeforeID: before, Limit: dossierBatch})
		if err != nil {
			return Dossier{}, storeErr(err)
		}
		if len(rows) == 0 {
			break
		}
		views, err := d.correctionViews(ctx, d.db, rows)
		if err != nil {
			return Dossier{}, storeErr(err)
		}
		x.Corrections = append(x.Corrections, views...)
		if len(rows) < dossierBatch {
			break
		}
		before = rows[len(rows)-1].ID
	}
	slices.Reverse(x.Corrections) // read newest first
	x.Timeline, x.Evidence, x.Corrections = orEmpty(x.Timeline), orEmpty(x.Evidence), orEmpty(x.Corrections)
	return x, nil
}

// Open opens the content of the dossier's i-th upload (Evidence[i]).
func (x Dossier) Open(ctx context.Context, i int) (*EvidenceContent, error) {
	if x.desk == nil || i < 0 || i >= len(x.Evidence) {
		return nil, NotFound("evidence")
	}
	c, err := x.desk.openEvidence(ctx, x.Evidence[i].ID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, NotFound("evidence")
	}
	return c, storeErr(err)
}
