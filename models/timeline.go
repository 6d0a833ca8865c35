package models

import (
	"context"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A case's timeline merges rows of several tables into one stream ordered by (at, kind, id). Each
// source below reads the entries of one table group after a keyset, in that order, at most a page
// and one; the caller merges them. A page therefore costs one statement per source whatever it
// holds, and the keyset is exact even when many entries share one instant (one transaction writes
// an approval and the application it decides at the same time).

// The timeline's kinds, in the order entries of one instant are told: the keyset's second key.
const (
	TimelineCaseCreated         = "case_created"
	TimelineCardAdded           = "card_added"
	TimelineCaseFlagged         = "case_flagged"
	TimelineCaseUpdated         = "case_updated"
	TimelineCardFrozen          = "card_frozen"
	TimelineCardUnfrozen        = "card_unfrozen"
	TimelineCommunication       = "communication"
	TimelineEvidenceAdded       = "evidence_added"
	TimelineEvidenceVerified    = "evidence_verified"
	TimelineEvidenceRejected    = "evidence_rejected"
	TimelineCorrectionRequested = "correction_requested"
	TimelineCorrectionApproved  = "correction_approved"
	TimelineCorrectionApplied   = "correction_applied"
	TimelineCorrectionReversed  = "correction_reversed"
	TimelineCorrectionDenied    = "correction_denied"
	TimelineCorrectionCancelled = "correction_cancelled"
)

// TimelineKinds lists the kinds in their order.
var TimelineKinds = []string{
	TimelineCaseCreated, TimelineCardAdded, TimelineCaseFlagged, TimelineCaseUpdated, TimelineCardFrozen, TimelineCardUnfrozen,
	TimelineCommunication, TimelineEvidenceAdded, TimelineEvidenceVerified, TimelineEvidenceRejected,
	TimelineCorrectionRequested, TimelineCorrectionApproved, TimelineCorrectionApplied, TimelineCorrectionReversed,
	TimelineCorrectionDenied, TimelineCorrectionCancelled,
}

// TimelineRank returns a kind's place in TimelineKinds, -1 for an unknown kind.
func TimelineRank(kind string) int {
	for i, k := range TimelineKinds {
		if k == kind {
			return i
		}
	}
	return -1
}

// timelineAuditKinds maps the audited actions the timeline tells to their kinds. Status,
// assignment, priority and tag changes and duplicate flags live only in the audit trail; the card
// events are the freezes of the case's cards, whichever case they were made from.
var timelineAuditKinds = []struct{ action, kind, entityType string }{
	{"case.created", TimelineCaseCreated, "case"},
	{"case.card_added", TimelineCardAdded, "case"},
	{"case.flagged", TimelineCaseFlagged, "case"},
	{"case.updated", TimelineCaseUpdated, "case"},
	{"card.frozen", TimelineCardFrozen, "card"},
	{"card.unfrozen", TimelineCardUnfrozen, "card"},
}

// TimelineAuditKind returns the kind of an audited action the timeline reads.
func TimelineAuditKind(action string) string {
	for _, a := range timelineAuditKinds {
		if a.action == action {
			return a.kind
		}
	}
	return ""
}

// TimelineKey is an entry's place in the timeline: when, its kind, and the id of its source row
// (a communication, evidence, correction, approval or audit event).
type TimelineKey struct {
	At   time.Time
	Kind string
	ID   int64
}

// TimelineWindow selects the entries after a key (none: from the start), oldest first or newest
// first, at most Limit of them from each source.
type TimelineWindow struct {
	After *TimelineKey
	Desc  bool
	Limit int
}

// after returns the condition "the entry of kind at atCol, its row idCol, comes after the window's
// key in the walk", and its arguments. atCol and idCol are the caller's constants.
func (w TimelineWindow) after(kind, atCol, idCol string) (string, []any) {
	if w.After == nil {
		return "1 = 1", nil
	}
	k := *w.After
	later := ">"
	cmp := TimelineRank(kind) - TimelineRank(k.Kind)
	if w.Desc {
		later, cmp = "<", -cmp
	}
	switch {
	case cmp > 0: // a later kind: from the key's instant on
		return atCol + " " + later + "= ?", []any{k.At}
	case cmp == 0:
		return "(" + atCol + " " + later + " ? OR (" + atCol + " = ? AND " + idCol + " " + later + " ?))", []any{k.At, k.At, k.ID}
	default: // an earlier kind: only after the key's instant
		return atCol + " " + later + " ?", []any{k.At}
	}
}

// order returns the ORDER BY of a walk over the given columns; rank is "" for a source of one kind.
func (w TimelineWindow) order(at, rank, id string) string {
	cols := []string{at, id}
	if rank != "" {
		cols = []string{at, rank, id}
	}
	if w.Desc {
		return strings.Join(cols, " DESC, ") + " DESC"
	}
	return strings.Join(cols, ", ")
}

// timelineUnion is a UNION ALL of source members, each selecting entry_kind, entry_rank,
// entry_at, entry_id and the member's own columns, each with its own keyset condition.
type timelineUnion struct {
	parts []string
	args  []any
}

// add appends a member: sel is its select list after the entry columns, from its FROM and WHERE
// (without the keyset, which is added for kind over atCol and idCol).
func (u *timelineUnion) add(w TimelineWindow, kind, atCol, idCol, sel, from string, args ...any) {
	cond, cargs := w.after(kind, atCol, idCol)
	u.parts = append(u.parts, "SELECT '"+kind+"' AS entry_kind, "+strconv.Itoa(TimelineRank(kind))+" AS entry_rank, "+
		atCol+" AS entry_at, "+idCol+" AS entry_id, "+sel+" "+from+" AND "+cond)
	u.args = append(append(u.args, args...), cargs...)
}

func (u *timelineUnion) sql() string { return "(" + strings.Join(u.parts, " UNION ALL ") + ") t" }

// TimelineCommunications returns a case's entries of the window, with their authors and the
// entries that supersede them.
func TimelineCommunications(ctx context.Context, db *gorm.DB, caseID int64, w TimelineWindow) ([]CommunicationRow, error) {
	cond, args := w.after(TimelineCommunication, "c.occurred_at", "c.id")
	var out []CommunicationRow
	err := db.WithContext(ctx).Table("communications AS c").
		Select("c.*, u.email AS author_email, s.id AS superseded_by").
		Joins("JOIN users u ON u.id = c.author_id").
		Joins("LEFT JOIN communications s ON s.supersedes_id = c.id").
		Where("c.case_id = ?", caseID).Where(cond, args...).
		Order(w.order("c.occurred_at", "", "c.id")).Limit(w.Limit).Scan(&out).Error
	return out, err
}

// TimelineEvidenceRow is an upload or its verdict, as an entry: EntryKind tells which.
type TimelineEvidenceRow struct {
	EntryKind string
	Evidence
	ContentType string
	Size        int64
	ActorEmail  string
}

// TimelineEvidence returns the uploads and verdicts of a case in the window, each with its file's
// type and size and the email of who uploaded or decided.
func TimelineEvidence(ctx context.Context, db *gorm.DB, caseID int64, w TimelineWindow) ([]TimelineEvidenceRow, error) {
	var u timelineUnion
	u.add(w, TimelineEvidenceAdded, "e.uploaded_at", "e.id", "e.uploaded_by_id AS actor_id", "FROM evidence e WHERE e.case_id = ?", caseID)
	u.add(w, TimelineEvidenceVerified, "e.verified_at", "e.id", "e.verified_by_id", "FROM evidence e WHERE e.case_id = ? AND e.verification = 'verified'", caseID)
	u.add(w, TimelineEvidenceRejected, "e.verified_at", "e.id", "e.verified_by_id", "FROM evidence e WHERE e.case_id = ? AND e.verification = 'rejected'", caseID)
	var out []TimelineEvidenceRow
	err := db.WithContext(ctx).Raw(`SELECT t.entry_kind, e.*, f.content_type, f.size, u.email AS actor_email FROM `+u.sql()+`
		JOIN evidence e ON e.id = t.entry_id
		JOIN evidence_files f ON f.id = e.file_id
		JOIN users u ON u.id = t.actor_id
		ORDER BY `+w.order("t.entry_at", "t.entry_rank", "t.entry_id")+` LIMIT ?`, append(u.args, w.Limit)...).Scan(&out).Error
	return out, err
}

// TimelineCorrectionRow is a correction's request or one of its decisions, as an entry: EntryKind
// tells which, EntryID is the approval's id for an approval and the correction's otherwise.
type TimelineCorrectionRow struct {
	EntryKind string
	EntryID   int64
	Correction
	FromAccount  string
	ToAccount    string
	CardLast4    *string
	CardSerial   *string
	ReversedBy   *int64 // its pending or applied reversal
	ApprovedAt   *time.Time
	ApprovalNote *string
	ActorEmail   *string
}

// TimelineCorrections returns the requests, approvals, applications, reversals, denials and
// cancellations of a case's corrections in the window, each with the correction, its accounts, its
// card (never its code) and the email of who acted: the requester, the approver, the supervisor
// whose approval applied it or its reversal, the denier, the requester who cancelled.
func TimelineCorrections(ctx context.Context, db *gorm.DB, caseID int64, w TimelineWindow) ([]TimelineCorrectionRow, error) {
	var u timelineUnion
	const ids = "c.id AS correction_id, "
	u.add(w, TimelineCorrectionRequested, "c.created_at", "c.id", ids+"c.requested_by_id AS actor_id", "FROM corrections c WHERE c.case_id = ?", caseID)
	u.add(w, TimelineCorrectionApproved, "a.created_at", "a.id", "a.correction_id, a.approver_id",
		"FROM correction_approvals a JOIN corrections c ON c.id = a.correction_id WHERE c.case_id = ?", caseID)
	u.add(w, TimelineCorrectionApplied, "c.decided_at", "c.id", "c.id, c.decided_by_id",
		"FROM corrections c WHERE c.case_id = ? AND c.status IN ("+sqlList(CorrectionApplied, CorrectionReversed)+")", caseID)
	u.add(w, TimelineCorrectionReversed, "c.reversed_at", "c.id", "c.id, r.decided_by_id",
		"FROM corrections c JOIN corrections r ON r.reverses_id = c.id AND r.status = "+sqlList(CorrectionApplied)+
			" WHERE c.case_id = ? AND c.status = "+sqlList(CorrectionReversed), caseID)
	u.add(w, TimelineCorrectionDenied, "c.decided_at", "c.id", "c.id, c.decided_by_id",
		"FROM corrections c WHERE c.case_id = ? AND c.status = "+sqlList(CorrectionDenied), caseID)
	// A cancelled correction is final: its updated_at is the cancellation's time.
	u.add(w, TimelineCorrectionCancelled, "c.updated_at", "c.id", "c.id, c.requested_by_id",
		"FROM corrections c WHERE c.case_id = ? AND c.status = "+sqlList(CorrectionCancelled), caseID)
	var out []TimelineCorrectionRow
	err := db.WithContext(ctx).Raw(`SELECT t.entry_kind, t.entry_id, c.*, fa.account_id AS from_account, ta.account_id AS to_account,
			g.claim_code_last4 AS card_last4, g.serial AS card_serial, rv.id AS reversed_by,
			a.created_at AS approved_at, a.note AS approval_note, u.email AS actor_email
		FROM `+u.sql()+`
		JOIN corrections c ON c.id = t.correction_id
		JOIN customer_accounts fa ON fa.id = c.from_account_id
		JOIN customer_accounts ta ON ta.id = c.to_account_id
		LEFT JOIN gift_cards g ON g.id = c.card_id
		LEFT JOIN corrections rv ON rv.reverses_id = c.id AND rv.`+liveCorrectionSQL+`
		LEFT JOIN correction_approvals a ON t.entry_kind = '`+TimelineCorrectionApproved+`' AND a.id = t.entry_id
		LEFT JOIN users u ON u.id = t.actor_id
		ORDER BY `+w.order("t.entry_at", "t.entry_rank", "t.entry_id")+` LIMIT ?`, append(u.args, w.Limit)...).Scan(&out).Error
	return out, err
}

// TimelineAuditRow is an audit event the timeline tells.
type TimelineAuditRow struct {
	ID          int64
	OccurredAt  time.Time
	ActorLabel  string
	Action      string
	EntityID    string
	BeforeState JSONDoc
	AfterState  JSONDoc
}

// TimelineAudit returns the audit events of the window that the timeline tells (see
// timelineAuditKinds): the case's, and the freezes of its cards.
func TimelineAudit(ctx context.Context, db *gorm.DB, caseID int64, ref string, w TimelineWindow) ([]TimelineAuditRow, error) {
	var caseActions, cardActions []string
	var keyset []string
	var args []any
	rank := "CASE a.action"
	for _, a := range timelineAuditKinds {
		if a.entityType == "case" {
			caseActions = append(caseActions, a.action)
		} else {
			cardActions = append(cardActions, a.action)
		}
		cond, cargs := w.after(a.kind, "a.occurred_at", "a.id")
		keyset = append(keyset, "(a.action = "+sqlList(a.action)+" AND "+cond+")")
		args = append(args, cargs...)
		rank += " WHEN " + sqlList(a.action) + " THEN " + strconv.Itoa(TimelineRank(a.kind))
	}
	rank += " END"
	var out []TimelineAuditRow
	err := db.WithContext(ctx).Raw(`SELECT a.id, a.occurred_at, a.actor_label, a.action, a.entity_id, a.before_state, a.after_state
		FROM audit_events a
		WHERE ((a.entity_type = 'case' AND a.entity_id = ? AND a.action IN (`+sqlList(caseActions...)+`))
			OR (a.entity_type = 'card' AND a.action IN (`+sqlList(cardActions...)+`)
				AND a.entity_id IN (SELECT CAST(cc.card_id AS TEXT) FROM case_cards cc WHERE cc.case_id = ?)))
			AND (`+strings.Join(keyset, " OR ")+`)
		ORDER BY `+w.order("a.occurred_at", rank, "a.id")+` LIMIT ?`,
		append(append([]any{ref, caseID}, args...), w.Limit)...).Scan(&out).Error
	return out, err
}
