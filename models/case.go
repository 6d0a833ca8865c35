package models

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Case is one support case.
type Case struct {
	ID                int64
	Ref               string
	Type              string
	Status            string
	Resolution        *string
	Priority          string
	CustomerAccountID int64
	IntendedAccountID *int64
	AssigneeID        *int64
	Summary           string
	Description       string
	Tags              StringList
	Flags             StringList
	FirstResponseDue  *time.Time
	ResolutionDue     *time.Time
	FirstRespondedAt  *time.Time
	ResolvedAt        *time.Time
	CreatedByID       *int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Version           int64
	// ChangeSeq is the position of the case's latest write in the change feed (migration 0011);
	// a trigger sets it, never the desk.
	ChangeSeq int64 `gorm:"->"`
}

// InsertCase writes c (its Ref already drawn from NextCaseNumber).
func InsertCase(ctx context.Context, db *gorm.DB, c *Case) error {
	if c.Version == 0 {
		c.Version = 1
	}
	return db.WithContext(ctx).Create(c).Error
}

// CaseFilter selects a page of cases, newest first. Empty fields do not filter.
type CaseFilter struct {
	Status, Type, Priority, Marketplace, Flag string
	// StatusIn keeps the cases in any of these statuses. It is written into the statement as
	// literals, never as parameters: the partial indexes of open cases (migration 0008) name their
	// statuses, and a planner matches an index's predicate only against constants, which a generic
	// plan of a prepared statement does not have. Each name must be a plain status name.
	StatusIn   []string
	AssigneeID *int64 // with Unassigned false: cases of this user
	Unassigned bool
	// DueBy keeps the open cases whose first response (not yet given) or resolution is due at or
	// before it: the "SLA at risk or breached" queue. It needs StatusIn to name the open statuses.
	DueBy  *time.Time
	CardID int64 // cases this card is on
	// ToVerifyBy keeps the cases holding evidence still unverified that this user did not upload:
	// the evidence they may verify (four eyes).
	ToVerifyBy                 *int64
	Search                     *CaseSearch // q, sorted by shape (see CaseSearch)
	ExternalSystem, ExternalID string
	UpdatedSince               *time.Time
	BeforeID                   int64 // keyset cursor: only cases with a smaller id
	// AfterID pages backwards: the cases with a greater id, the nearest first (ListCases returns
	// them newest first again). Used instead of BeforeID.
	AfterID int64
	// Changes, when set, reads the change feed instead: the cases written after a position and
	// below a horizon, in feed order, and the two keysets above are ignored.
	Changes *ChangeRange
	Limit   int
}

// ChangeRange is one read of the change feed: the cases whose (change_seq, id) comes after
// (AfterSeq, AfterID) and whose change_seq is below Horizon (see ChangeHorizon).
type ChangeRange struct {
	AfterSeq, AfterID, Horizon int64
}

// caseListQuery builds the list query of f. The order is the primary key's, so a page boundary
// stays put while other cases are inserted, and the status and assignee indexes serve it.
func caseListQuery(db *gorm.DB, f CaseFilter) *gorm.DB {
	q := caseWhere(db.Model(&Case{}), db, f)
	if r := f.Changes; r != nil {
		// A row comparison: one range of the (change_seq, id) index, read in its order.
		return q.Where("(cases.change_seq, cases.id) > (?, ?) AND cases.change_seq < ?", r.AfterSeq, r.AfterID, r.Horizon).
			Order("cases.change_seq, cases.id").Limit(f.Limit)
	}
	if f.AfterID > 0 {
		return q.Where("cases.id > ?", f.AfterID).Order("cases.id ASC").Limit(f.Limit)
	}
	if f.BeforeID > 0 {
		q = q.Where("cases.id < ?", f.BeforeID)
	}
	return q.Order("cases.id DESC").Limit(f.Limit)
}

// caseWhere adds f's conditions, all but its keyset and limit, to q.
func caseWhere(q, db *gorm.DB, f CaseFilter) *gorm.DB {
	eq := map[string]string{"status": f.Status, "type": f.Type, "priority": f.Priority}
	for _, col := range []string{"status", "type", "priority"} {
		if eq[col] != "" {
			q = q.Where("cases."+col+" = ?", eq[col])
		}
	}
	if len(f.StatusIn) > 0 {
		q = q.Where("cases.status IN " + statusLiterals(f.StatusIn))
	}
	if f.ToVerifyBy != nil {
		q = q.Where("cases.id IN (SELECT e.case_id FROM evidence e WHERE e.verification = 'unverified' AND e.uploaded_by_id <> ?)", *f.ToVerifyBy)
	}
	if f.Marketplace != "" {
		q = q.Where("cases.customer_account_id IN (SELECT id FROM customer_accounts WHERE marketplace = ?)", f.Marketplace)
	}
	if f.Flag != "" {
		cond, arg := JSONArrayContains(db, "cases.flags", f.Flag)
		q = q.Where(cond, arg)
	}
	switch {
	case f.Unassigned:
		q = q.Where("cases.assignee_id IS NULL")
	case f.AssigneeID != nil:
		q = q.Where("cases.assignee_id = ?", *f.AssigneeID)
	}
	if f.DueBy != nil {
		// Two arms, each served by its partial index (a BitmapOr on PostgreSQL).
		q = q.Where("((cases.first_responded_at IS NULL AND cases.first_response_due <= ?) OR cases.resolution_due <= ?)", *f.DueBy, *f.DueBy)
	}
	if f.CardID != 0 {
		q = q.Where("cases.id IN (SELECT case_id FROM case_cards WHERE card_id = ?)", f.CardID)
	}
	if f.ExternalSystem != "" && f.ExternalID != "" {
		q = q.Where("cases.id IN (SELECT case_id FROM case_external_refs WHERE system = ? AND external_id = ?)", f.ExternalSystem, f.ExternalID)
	}
	if f.UpdatedSince != nil {
		q = q.Where("cases.updated_at >= ?", *f.UpdatedSince)
	}
	if f.Search != nil {
		cond, args := searchCondition(db, f.Search)
		q = q.Where(cond, args...)
	}
	return q
}

// verifyCount returns the capped count of the "evidence to verify" queue (f holds StatusIn and
// ToVerifyBy alone) read from the unverified evidence's partial index, newest case first, each
// case's status looked up by its key. As a semi join of cases with evidence, PostgreSQL walked the
// cases from the newest, probing evidence for each: 46,000 cases for 1,001 matches at 1M (60 ms),
// since the newest cases have no unverified evidence yet. The status lookup is a correlated
// subquery so that no planner can turn it back into that join. ok is false for any other filter.
func verifyCount(f CaseFilter, upTo int64) (string, bool) {
	if f.ToVerifyBy == nil || len(f.StatusIn) == 0 {
		return "", false
	}
	only := CaseFilter{StatusIn: f.StatusIn, ToVerifyBy: f.ToVerifyBy, Limit: f.Limit}
	if !reflect.DeepEqual(f, only) {
		return "", false
	}
	return `SELECT DISTINCT e.case_id FROM evidence e WHERE e.verification = 'unverified' AND e.uploaded_by_id <> ?
		AND (SELECT c.status FROM cases c WHERE c.id = e.case_id) IN ` + statusLiterals(f.StatusIn) + `
		ORDER BY e.case_id DESC LIMIT ` + strconv.FormatInt(upTo, 10), true
}

// statusLiterals renders status names as an SQL list of literals. A name that is not lower-case
// letters and underscores is a programming error (statuses come from the desk's own table).
func statusLiterals(statuses []string) string {
	quoted := make([]string, len(statuses))
	for i, s := range statuses {
		if s == "" || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") != "" {
			panic("models: status " + strconv.Quote(s) + " is not a status name")
		}
		quoted[i] = "'" + s + "'"
	}
	return "(" + strings.Join(quoted, ", ") + ")"
}

// CountCases counts, in one statement, the cases each filter selects (their keysets and limits
// ignored), each up to upTo: one scalar subquery per filter, each served by its own index and
// stopping at upTo rows, so that a queue of 80,000 open cases costs what one of upTo does (a count
// of every row visits every row, and on a table whose visibility map is not set, as after a load
// with autovacuum off, each row's heap page too: 950 ms for the home page's counts at 1M cases).
// The SLA count is two such counts added, so it may reach twice upTo.
func CountCases(ctx context.Context, db *gorm.DB, filters []CaseFilter, upTo int64) ([]int64, error) {
	if len(filters) == 0 {
		return nil, nil
	}
	if upTo < 1 {
		return nil, errors.New("models: CountCases needs a positive upTo")
	}
	counts := make([]int64, len(filters))
	ptrs := make([]any, len(filters))
	for i := range counts {
		ptrs[i] = &counts[i]
	}
	// Unnamed on PostgreSQL, planned for its own user and time: as a prepared statement it went to
	// a generic plan after five runs, which no longer knew how few cases one agent holds (390 ms
	// at 1M cases against 80 ms planned for its values).
	q := caseCountQuery(db.WithContext(ctx), filters, upTo)
	if DialectOf(db) == Postgres {
		var sink []map[string]any
		q = unnamed(ctx, db, q.Session(&gorm.Session{DryRun: true, Logger: logger.Discard}).Scan(&sink).Statement)
	}
	if err := q.Row().Scan(ptrs...); err != nil {
		return nil, err
	}
	return counts, nil
}

func caseCountQuery(db *gorm.DB, filters []CaseFilter, upTo int64) *gorm.DB {
	parts, args := make([]string, len(filters)), []any{}
	capped := "(SELECT count(*) FROM (?) AS capped)"
	where := func(f CaseFilter) *gorm.DB {
		return caseWhere(db.Session(&gorm.Session{NewDB: true}).Model(&Case{}), db, f).Select("1").Limit(int(upTo))
	}
	for i, f := range filters {
		if toVerify, ok := verifyCount(f, upTo); ok {
			parts[i] = "(SELECT count(*) FROM (" + toVerify + ") AS capped) AS c" + strconv.Itoa(i)
			args = append(args, *f.ToVerifyBy)
			continue
		}
		if f.DueBy == nil {
			// Newest first, as the queue lists them: the index that orders the list (an agent's
			// open cases, the open unassigned ones, a status) then serves the count, and the
			// planner cannot pick a due-date index to filter through instead (256 ms at 1M).
			parts[i] = capped + " AS c" + strconv.Itoa(i)
			args = append(args, where(f).Order("cases.id DESC"))
			continue
		}
		// The SLA count is the sum of two disjoint arms, each read from its partial index alone
		// (an index-only scan), rather than an OR that must visit every matching case: due for
		// resolution, or else due for a first response not yet given.
		by := *f.DueBy
		f.DueBy = nil
		parts[i] = "(" + capped + " + " + capped + ") AS c" + strconv.Itoa(i)
		args = append(args, where(f).Where("cases.resolution_due <= ?", by),
			where(f).Where("cases.first_responded_at IS NULL AND cases.first_response_due <= ? AND (cases.resolution_due IS NULL OR cases.resolution_due > ?)", by, by))
	}
	return db.Raw("SELECT "+strings.Join(parts, ", "), args...)
}

// ListCases returns up to f.Limit cases matching f, newest first, in one statement. A search runs
// with a plan made for its own arguments (see listWithCustomPlan).
func ListCases(ctx context.Context, db *gorm.DB, f CaseFilter) ([]Case, error) {
	var out []Case
	var err error
	if f.Search == nil {
		err = caseListQuery(db.WithContext(ctx), f).Find(&out).Error
	} else {
		err = listWithCustomPlan(ctx, db, caseListQuery(db, f), &out)
	}
	if f.AfterID > 0 && f.Changes == nil {
		slices.Reverse(out)
	}
	return out, err
}

// EachCaseBatch walks every case matching f (its Limit and BeforeID ignored), newest first, in
// keyset batches of size: one indexed statement a batch, never OFFSET, never the whole table in
// memory. fn's error stops the walk and is returned.
func EachCaseBatch(ctx context.Context, db *gorm.DB, f CaseFilter, size int, fn func([]Case) error) error {
	if size <= 0 {
		size = 500
	}
	f.BeforeID, f.AfterID, f.Limit = 0, 0, size
	for {
		batch, err := ListCases(ctx, db, f)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := fn(batch); err != nil {
			return err
		}
		if len(batch) < size {
			return nil
		}
		f.BeforeID = batch[len(batch)-1].ID
	}
}

// CaseByRef finds a case by its reference.
func CaseByRef(ctx context.Context, db *gorm.DB, ref string) (Case, error) {
	var c Case
	err := db.WithContext(ctx).Where("ref = ?", ref).Take(&c).Error
	return c, notFound(err)
}

// CaseByRefForUpdate finds and locks a case.
func CaseByRefForUpdate(ctx context.Context, tx *gorm.DB, ref string) (Case, error) {
	var c Case
	err := ForUpdate(tx.WithContext(ctx)).Where("ref = ?", ref).Take(&c).Error
	return c, notFound(err)
}

// CaseByIDForUpdate finds and locks a case by id.
func CaseByIDForUpdate(ctx context.Context, tx *gorm.DB, id int64) (Case, error) {
	var c Case
	err := ForUpdate(tx.WithContext(ctx)).Where("id = ?", id).Take(&c).Error
	return c, notFound(err)
}

// UpdateCaseVersioned writes changes to a case only if it is still at version, bumping it; it
// reports false when another change came first.
func UpdateCaseVersioned(ctx context.Context, tx *gorm.DB, id, version int64, changes map[string]any) (bool, error) {
	changes["version"] = version + 1
	res := tx.WithContext(ctx).Model(&Case{}).Where("id = ? AND version = ?", id, version).Updates(changes)
	return res.RowsAffected == 1, res.Error
}

// LinkCases records that two cases share something (a card, an evidence file, a POS
// transaction), both ways, once.
func LinkCases(ctx context.Context, tx *gorm.DB, a, b int64, reason string, now time.Time) error {
	for _, pair := range [][2]int64{{a, b}, {b, a}} {
		if err := tx.WithContext(ctx).Exec(`INSERT INTO case_links (case_id, other_case_id, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			pair[0], pair[1], reason, now).Error; err != nil {
			return err
		}
	}
	return nil
}

// LinkedRefs returns the refs of the cases linked to a case.
func LinkedRefs(ctx context.Context, db *gorm.DB, caseID int64) ([]string, error) {
	var refs []string
	err := db.WithContext(ctx).Raw(`SELECT DISTINCT c.ref FROM case_links l JOIN cases c ON c.id = l.other_case_id
		WHERE l.case_id = ? ORDER BY c.ref`, caseID).Scan(&refs).Error
	return refs, err
}

// ExternalRef names a case in a ticketing system.
type ExternalRef struct {
	ID         int64
	CaseID     int64
	System     string
	ExternalID string
	URL        *string
	CreatedAt  time.Time
}

// TableName names the table.
func (ExternalRef) TableName() string { return "case_external_refs" }

// InsertExternalRef writes a reference; a (system, id) already taken is a unique violation.
func InsertExternalRef(ctx context.Context, tx *gorm.DB, r *ExternalRef) error {
	return tx.WithContext(ctx).Create(r).Error
}

// CaseIDByExternal finds the case a ticketing system's id names.
func CaseIDByExternal(ctx context.Context, db *gorm.DB, system, id string) (int64, error) {
	var ids []int64
	err := db.WithContext(ctx).Model(&ExternalRef{}).Where("system = ? AND external_id = ?", system, id).Limit(1).Pluck("case_id", &ids).Error
	if err != nil || len(ids) == 0 {
		return 0, notFoundIfEmpty(err)
	}
	return ids[0], nil
}

// ExternalRefsOfCase returns a case's references, oldest first.
func ExternalRefsOfCase(ctx context.Context, db *gorm.DB, caseID int64) ([]ExternalRef, error) {
	var out []ExternalRef
	err := db.WithContext(ctx).Where("case_id = ?", caseID).Order("id").Find(&out).Error
	return out, err
}

func notFoundIfEmpty(err error) error {
	if err != nil {
		return err
	}
	return ErrNotFound
}

// CaseByID finds a case by id.
func CaseByID(ctx context.Context, db *gorm.DB, id int64) (Case, error) {
	var c Case
	err := db.WithContext(ctx).Where("id = ?", id).Take(&c).Error
	return c, notFound(err)
}

// UpdateCaseTexts rewrites a case's editable texts (after a new card made more of them secret).
func UpdateCaseTexts(ctx context.Context, tx *gorm.DB, id int64, summary, description string, tags StringList) error {
	return tx.WithContext(ctx).Model(&Case{}).Where("id = ?", id).
		Updates(map[string]any{"summary": summary, "description": description, "tags": tags}).Error
}

// TouchCasesOfCard moves the version of every case a card is on, because the card shows in them,
// and returns their ids.
func TouchCasesOfCard(ctx context.Context, tx *gorm.DB, cardID int64, now time.Time) ([]int64, error) {
	var ids []int64
	err := tx.WithContext(ctx).Raw(`UPDATE cases SET version = version + 1, updated_at = ?
		WHERE id IN (SELECT case_id FROM case_cards WHERE card_id = ?) RETURNING id`, now, cardID).Scan(&ids).Error
	return ids, err
}

// casesNamingAccounts selects the cases whose customer or intended account is in either list
// (the same list twice), each arm from its own index: an OR of the two made PostgreSQL read every
// case (200 ms at 1M cases).
const casesNamingAccounts = `SELECT id FROM cases WHERE customer_account_id IN ? UNION SELECT id FROM cases WHERE intended_account_id IN ?`

// TouchCasesOfAccount moves the version of every case naming an account, and returns their ids.
func TouchCasesOfAccount(ctx context.Context, tx *gorm.DB, accountID int64, now time.Time) ([]int64, error) {
	var ids []int64
	err := tx.WithContext(ctx).Raw(`UPDATE cases SET version = version + 1, updated_at = ? WHERE `+
		idAmong(tx, "id", casesNamingAccounts)+` RETURNING id`, now, []int64{accountID}, []int64{accountID}).Scan(&ids).Error
	return ids, err
}

// RedactExternalRefs rewrites a case's references with redact (a new card made more of them
// secret). Only changed rows are written.
func RedactExternalRefs(ctx context.Context, tx *gorm.DB, caseID int64, redact func(string) string) error {
	refs, err := ExternalRefsOfCase(ctx, tx, caseID)
	if err != nil {
		return err
	}
	for _, r := range refs {
		id := redact(r.ExternalID)
		url := r.URL
		if url != nil {
			u := redact(*url)
			url = &u
		}
		if id == r.ExternalID && (url == nil || *url == *r.URL) {
			continue
		}
		if err := tx.WithContext(ctx).Model(&ExternalRef{}).Where("id = ?", r.ID).
			Updates(map[string]any{"external_id": id, "url": url}).Error; err != nil {
			return err
		}
	}
	return nil
}

// CaseRefsByID returns the refs of the cases with the given ids, by id, in one statement.
func CaseRefsByID(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]string, error) {
	return columnByID(ctx, db, &Case{}, "ref", ids)
}

// columnByID reads one text column of the rows of model's table with the given ids, by id, in
// one statement: the batch a page loads instead of a query per row. column is the caller's
// constant, never input.
func columnByID(ctx context.Context, db *gorm.DB, model any, column string, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID    int64
		Value string
	}
	if err := db.WithContext(ctx).Model(model).Select("id, "+column+" AS value").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.Value
	}
	return out, nil
}

// AccountCase is a case named by a customer account: the side panel of the case page.
type AccountCase struct {
	ID                int64
	Ref               string
	Type              string
	Status            string
	Summary           string
	CustomerAccountID int64
	IntendedAccountID *int64
	UpdatedAt         time.Time
}

// CasesOfAccounts returns up to limit cases, newest first, whose customer or intended account is
// one of accountIDs, other than exceptCase, in one statement whatever the number of accounts.
func CasesOfAccounts(ctx context.Context, db *gorm.DB, accountIDs []int64, exceptCase int64, limit int) ([]AccountCase, error) {
	var out []AccountCase
	if len(accountIDs) == 0 {
		return out, nil
	}
	err := db.WithContext(ctx).Model(&Case{}).
		Select("id, ref, type, status, summary, customer_account_id, intended_account_id, updated_at").
		Where(idAmong(db, "id", casesNamingAccounts)+" AND id <> ?", accountIDs, accountIDs, exceptCase).
		Order("id DESC").Limit(limit).Scan(&out).Error
	return out, err
}
