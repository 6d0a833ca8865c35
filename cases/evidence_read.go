package cases

import (
	"context"
	"errors"
	"maps"
	"slices"

	"gorm.io/gorm"

	"giftdesk/models"
)

// evidenceView assembles the view of one upload from db (the pool or a transaction).
func (d *Desk) evidenceView(ctx context.Context, db *gorm.DB, id int64) (EvidenceView, error) {
	e, err := models.EvidenceRow(ctx, db, id)
	if err != nil {
		return EvidenceView{}, err
	}
	views, err := d.evidenceViews(ctx, db, []models.Evidence{e})
	if err != nil {
		return EvidenceView{}, err
	}
	return views[0], nil
}

// evidenceViews assembles the views of uploads in a fixed handful of statements whatever their
// number: files, cases, people and duplicates are each loaded for all of them at once.
//
// Every text is redacted again of the codes of its case's cards as they are now: evidence is never
// rewritten, and a code typed into a note before its card joined the case is still stored as typed.
func (d *Desk) evidenceViews(ctx context.Context, db *gorm.DB, rows []models.Evidence) ([]EvidenceView, error) {
	return d.evidenceViewsOf(ctx, db, rows, nil)
}

// oneCase is a case whose ref and redactor a caller has already read: evidenceViewsOf then reads
// neither again.
type oneCase struct {
	id  int64
	ref string
	red *Redactor
}

func (d *Desk) evidenceViewsOf(ctx context.Context, db *gorm.DB, rows []models.Evidence, known *oneCase) ([]EvidenceView, error) {
	var ids, fileIDs, caseIDs, userIDs []int64
	for _, e := range rows {
		ids, fileIDs, caseIDs = append(ids, e.ID), append(fileIDs, e.FileID), append(caseIDs, e.CaseID)
		userIDs = append(userIDs, e.UploadedByID)
		if e.VerifiedByID != nil {
			userIDs = append(userIDs, *e.VerifiedByID)
		}
	}
	files, err := models.EvidenceFilesByID(ctx, db, fileIDs)
	if err != nil {
		return nil, err
	}
	refs := map[int64]string{}
	redactors := map[int64]*Redactor{}
	if known != nil {
		refs[known.id], redactors[known.id] = known.ref, known.red
		caseIDs = slices.DeleteFunc(caseIDs, func(id int64) bool { return id == known.id })
	}
	if len(caseIDs) > 0 {
		more, err := models.CaseRefsByID(ctx, db, caseIDs)
		if err != nil {
			return nil, err
		}
		maps.Copy(refs, more)
		cardsByCase, err := models.CardsOfCases(ctx, db, caseIDs)
		if err != nil {
			return nil, err
		}
		for caseID, cards := range cardsByCase {
			redactors[caseID] = d.redactorOf(cards)
		}
	}
	emails, err := models.UserEmails(ctx, db, userIDs)
	if err != nil {
		return nil, err
	}
	duplicates, err := models.EvidenceDuplicates(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	out := make([]EvidenceView, 0, len(rows))
	for _, e := range rows {
		red := redactors[e.CaseID]
		if red == nil {
			red = d.redactorOf(nil)
		}
		e.FileName, e.Note = red.Redact(e.FileName), red.Redact(e.Note)
		e.StoreName, e.StoreLocation = redactPtr(red, e.StoreName), redactPtr(red, e.StoreLocation)
		e.PosTransactionID, e.VerificationNote = redactPtr(red, e.PosTransactionID), redactPtr(red, e.VerificationNote)
		f := files[e.FileID]
		v := EvidenceView{ID: e.ID, Case: refs[e.CaseID], SHA256: f.SHA256, ContentType: f.ContentType, Size: f.Size, Kind: e.Kind,
			FileName: e.FileName, UploadedBy: emails[e.UploadedByID], UploadedAt: e.UploadedAt, StoreName: e.StoreName, StoreLocation: e.StoreLocation,
			PurchasedAt: e.PurchasedAt, AmountMinor: e.AmountMinor, Currency: e.Currency, CardLast4: e.CardLast4,
			PosTransactionID: e.PosTransactionID, Note: e.Note, Verification: e.Verification, VerifiedAt: e.VerifiedAt,
			VerificationNote: e.VerificationNote, Flags: orEmpty([]string(e.Flags)), Duplicates: orEmpty(duplicates[e.ID])}
		if e.VerifiedByID != nil {
			email := emails[*e.VerifiedByID]
			v.VerifiedBy = &email
		}
		out = append(out, v)
	}
	return out, nil
}

// GetEvidence returns one upload's metadata, verification and flags (never its bytes: see
// OpenEvidence) for a principal with cases:read.
func (d *Desk) GetEvidence(ctx context.Context, p Principal, id int64) (EvidenceView, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return EvidenceView{}, err
	}
	v, err := d.evidenceView(ctx, d.db, id)
	if errors.Is(err, models.ErrNotFound) {
		return EvidenceView{}, NotFound("evidence")
	}
	return v, storeErr(err)
}

// ListEvidence returns a page of a case's uploads, oldest first, for a principal with cases:read.
func (d *Desk) ListEvidence(ctx context.Context, p Principal, ref, limitRaw, cursor string) (Page[EvidenceView], error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return Page[EvidenceView]{}, err
	}
	limit, err := pageLimit(limitRaw)
	if err != nil {
		return Page[EvidenceView]{}, err
	}
	after, err := DecodeCursor(cursor)
	if err != nil {
		return Page[EvidenceView]{}, err
	}
	c, err := models.CaseByRef(ctx, d.db, ref)
	if errors.Is(err, models.ErrNotFound) {
		return Page[EvidenceView]{}, NotFound("case " + safeRef(ref))
	}
	if err != nil {
		return Page[EvidenceView]{}, storeErr(err)
	}
	rows, err := models.EvidenceOfCase(ctx, d.db, c.ID, after, limit+1)
	if err != nil {
		return Page[EvidenceView]{}, storeErr(err)
	}
	page := Page[EvidenceView]{}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = EncodeCursor(rows[len(rows)-1].ID)
	}
	if page.Data, err = d.evidenceViews(ctx, d.db, rows); err != nil {
		return Page[EvidenceView]{}, storeErr(err)
	}
	return page, nil
}
