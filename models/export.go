package models

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/gorm"
)

// ExportFilter selects the cases an export walks (SPEC 4.1's export filters). Empty fields do not
// filter.
type ExportFilter struct {
	Status, Type string
	// CreatedFrom and CreatedBefore bound created_at: from inclusive, before exclusive.
	CreatedFrom, CreatedBefore *time.Time
	AfterID                    int64 // keyset: only cases with a greater id
	Limit                      int
}

// exportWhere is f's conditions and keyset, in id order: one range of the primary key per batch.
func exportWhere(q *gorm.DB, f ExportFilter) *gorm.DB {
	if f.Status != "" {
		q = q.Where("cases.status = ?", f.Status)
	}
	if f.Type != "" {
		q = q.Where("cases.type = ?", f.Type)
	}
	if f.CreatedFrom != nil {
		q = q.Where("cases.created_at >= ?", f.CreatedFrom.UTC())
	}
	if f.CreatedBefore != nil {
		q = q.Where("cases.created_at < ?", f.CreatedBefore.UTC())
	}
	return q.Where("cases.id > ?", f.AfterID).Order("cases.id").Limit(f.Limit)
}

// ExportCases returns the next batch of f's cases, oldest id first: the JSON Lines export's rows.
func ExportCases(ctx context.Context, db *gorm.DB, f ExportFilter) ([]Case, error) {
	var out []Case
	err := exportWhere(db.WithContext(ctx).Model(&Case{}), f).Find(&out).Error
	return out, err
}

// ExportRow is one case as the CSV export reads it, its customer and assignee joined in.
type ExportRow struct {
	ID                   int64
	Ref, Type, Status    string
	Resolution           *string
	Priority             string
	CreatedAt, UpdatedAt time.Time
	CustomerAccount      string
	Marketplace          *string
	Assignee             *string // email
}

// ExportRows returns the next batch of f's cases with their customer account and assignee, in one
// statement, scanned without reflection: the flat export (CSV, XLSX) reads a million of them.
func ExportRows(ctx context.Context, db *gorm.DB, f ExportFilter, out []ExportRow) ([]ExportRow, error) {
	q := exportWhere(db.WithContext(ctx).Table("cases").
		Select("cases.id, cases.ref, cases.type, cases.status, cases.resolution, cases.priority, cases.created_at, cases.updated_at, a.account_id, a.marketplace, u.email").
		Joins("JOIN customer_accounts a ON a.id = cases.customer_account_id").
		Joins("LEFT JOIN users u ON u.id = cases.assignee_id"), f)
	rows, err := q.Rows()
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var r ExportRow
		var res, mp, email sql.NullString
		if err := rows.Scan(&r.ID, &r.Ref, &r.Type, &r.Status, &res, &r.Priority, &r.CreatedAt, &r.UpdatedAt,
			&r.CustomerAccount, &mp, &email); err != nil {
			return out, err
		}
		r.Resolution, r.Marketplace, r.Assignee = nullable(res), nullable(mp), nullable(email)
		out = append(out, r)
	}
	return out, rows.Err()
}

func nullable(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// ExportCard is a card of a case as the flat export shows it.
type ExportCard struct {
	Last4, Serial  *string
	FaceValueMinor int64
	Currency       string
}

// ExportCardsOf returns the cards on each of the given cases, in the order they were added, in one
// statement.
func ExportCardsOf(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64][]ExportCard, error) {
	out := make(map[int64][]ExportCard, len(caseIDs))
	if len(caseIDs) == 0 {
		return out, nil
	}
	in, arg := InIDs(db, "cc.case_id", caseIDs)
	rows, err := db.WithContext(ctx).Raw(`SELECT cc.case_id, g.claim_code_last4, g.serial, g.face_value_minor, g.currency
		FROM case_cards cc JOIN gift_cards g ON g.id = cc.card_id
		WHERE `+in+` ORDER BY cc.case_id, cc.added_at, g.id`, arg).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c ExportCard
		var last4, serial sql.NullString
		if err := rows.Scan(&id, &last4, &serial, &c.FaceValueMinor, &c.Currency); err != nil {
			return nil, err
		}
		c.Last4, c.Serial = nullable(last4), nullable(serial)
		out[id] = append(out[id], c)
	}
	return out, rows.Err()
}

// FirstExternalRefs returns each given case's oldest external reference, in one statement.
func FirstExternalRefs(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64]ExternalRef, error) {
	refs, err := ExternalRefsOfCases(ctx, db, caseIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]ExternalRef, len(refs))
	for id, list := range refs {
		out[id] = list[0]
	}
	return out, nil
}

// ExternalRefsOfCases returns the given cases' references, oldest first, in one statement.
func ExternalRefsOfCases(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64][]ExternalRef, error) {
	out := make(map[int64][]ExternalRef, len(caseIDs))
	if len(caseIDs) == 0 {
		return out, nil
	}
	var list []ExternalRef
	in, arg := InIDs(db, "case_id", caseIDs)
	if err := db.WithContext(ctx).Where(in, arg).Order("case_id, id").Find(&list).Error; err != nil {
		return nil, err
	}
	for _, r := range list {
		out[r.CaseID] = append(out[r.CaseID], r)
	}
	return out, nil
}

// CorrectedOf sums, per case, the amounts of its applied transfers and credits, in one statement.
// A reversed correction's status is reversed, so the sum is net of reversals.
func CorrectedOf(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(caseIDs))
	if len(caseIDs) == 0 {
		return out, nil
	}
	var rows []struct{ CaseID, Sum int64 }
	in, arg := InIDs(db, "case_id", caseIDs)
	if err := db.WithContext(ctx).Raw(`SELECT case_id, SUM(amount_minor) AS sum FROM corrections
		WHERE `+in+` AND `+cardMoneySQL+` AND status = `+sqlList(CorrectionApplied)+` GROUP BY case_id`, arg).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.CaseID] = r.Sum
	}
	return out, nil
}

// LinkedRefsOf returns, per case, the refs of the cases linked to it, in one statement.
func LinkedRefsOf(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64][]string, error) {
	out := make(map[int64][]string, len(caseIDs))
	if len(caseIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		CaseID int64
		Ref    string
	}
	in, arg := InIDs(db, "l.case_id", caseIDs)
	if err := db.WithContext(ctx).Raw(`SELECT DISTINCT l.case_id, c.ref FROM case_links l JOIN cases c ON c.id = l.other_case_id
		WHERE `+in+` ORDER BY l.case_id, c.ref`, arg).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.CaseID] = append(out[r.CaseID], r.Ref)
	}
	return out, nil
}

// CorrectionCountsOf counts, per case, its corrections by status, in one statement.
func CorrectionCountsOf(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64]map[string]int64, error) {
	out := make(map[int64]map[string]int64, len(caseIDs))
	if len(caseIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		CaseID int64
		Status string
		N      int64
	}
	in, arg := InIDs(db, "case_id", caseIDs)
	if err := db.WithContext(ctx).Raw(`SELECT case_id, status, count(*) AS n FROM corrections WHERE `+in+` GROUP BY case_id, status`,
		arg).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		if out[r.CaseID] == nil {
			out[r.CaseID] = map[string]int64{}
		}
		out[r.CaseID][r.Status] = r.N
	}
	return out, nil
}

// CommunicationsOfCases returns the entries of the given cases, each case's oldest occurred_at
// first, with their authors and superseding entries, in one statement.
func CommunicationsOfCases(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64][]CommunicationRow, error) {
	out := make(map[int64][]CommunicationRow, len(caseIDs))
	if len(caseIDs) == 0 {
		return out, nil
	}
	var list []CommunicationRow
	if err := db.WithContext(ctx).Table("communications AS c").
		Select("c.*, u.email AS author_email, s.id AS superseded_by").
		Joins("JOIN users u ON u.id = c.author_id").
		Joins("LEFT JOIN communications s ON s.supersedes_id = c.id").
		Where(InIDs(db, "c.case_id", caseIDs)).Order("c.case_id, c.occurred_at, c.id").Scan(&list).Error; err != nil {
		return nil, err
	}
	for _, r := range list {
		out[r.CaseID] = append(out[r.CaseID], r)
	}
	return out, nil
}

// CorrectionsOfCases returns the corrections of the given cases, oldest first, in one statement.
func CorrectionsOfCases(ctx context.Context, db *gorm.DB, caseIDs []int64) ([]Correction, error) {
	var out []Correction
	if len(caseIDs) == 0 {
		return out, nil
	}
	in, arg := InIDs(db, "case_id", caseIDs)
	err := db.WithContext(ctx).Where(in, arg).Order("case_id, id").Find(&out).Error
	return out, err
}
