package cases

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"giftdesk/models"
)

// Nullable is a JSON field that may be absent, null, or a value: PATCH tells "leave it" from
// "clear it" (SPEC 4.2: assignee null unassigns).
type Nullable struct {
	Set   bool // the field was in the body
	Null  bool // it was null
	Value string
}

// UnmarshalJSON records that the field was present.
func (n *Nullable) UnmarshalJSON(b []byte) error {
	n.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// CasePatch is the body of PATCH /api/v1/cases/{ref}: any subset of these fields. An empty
// string counts as absent.
type CasePatch struct {
	Status     string    `json:"status"`
	Resolution string    `json:"resolution"`
	Assignee   Nullable  `json:"assignee"`
	Priority   string    `json:"priority"`
	Tags       *[]string `json:"tags"`
}

// checkCasePatch is the validation of a case patch that needs no database, every problem at
// once; the transition itself (R11) is checked against the case.
func checkCasePatch(patch CasePatch) error {
	var f fieldErrors
	if st := Status(strings.TrimSpace(patch.Status)); st != "" && !st.Valid() {
		f.add("status", "must be one of "+joinNames(Statuses))
	}
	if res := Resolution(strings.TrimSpace(patch.Resolution)); res != "" && !res.Valid() {
		f.add("resolution", "must be one of "+joinNames(Resolutions))
	}
	if v := strings.TrimSpace(patch.Assignee.Value); patch.Assignee.Set && !patch.Assignee.Null && v != "" && !IsMailbox(NormalizeEmail(v)) {
		f.add("assignee", "must be the email of an active user, or null to unassign")
	}
	if pr := Priority(strings.TrimSpace(patch.Priority)); pr != "" && !pr.Valid() {
		f.add("priority", "must be one of "+joinNames(Priorities))
	}
	if patch.Tags != nil {
		f.tags(*patch.Tags)
	}
	return f.err()
}

// parseETag reads an If-Match value: the case's ETag, weak or strong.
func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	return n, err == nil && n > 0
}

// UpdateCase applies a PATCH (R11, R12): it needs the ETag the caller last read in ifMatch and
// never overwrites a change the caller has not seen.
func (d *Desk) UpdateCase(ctx context.Context, p Principal, a Actor, ref, ifMatch string, patch CasePatch) (CaseView, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return CaseView{}, err
	}
	if strings.TrimSpace(ifMatch) == "" {
		return CaseView{}, &RuleError{Code: CodeVersionRequired, Message: "send the ETag of the case you read in If-Match"}
	}
	version, ok := parseETag(ifMatch)
	if !ok {
		return CaseView{}, &RuleError{Code: CodeStaleVersion, Message: "If-Match does not hold an ETag of this case"}
	}
	if err := checkCasePatch(patch); err != nil {
		return CaseView{}, err
	}
	var view CaseView
	err := d.inTx(ctx, func(tx *gorm.DB) error {
		c, err := models.CaseByRefForUpdate(ctx, tx, ref)
		if errors.Is(err, models.ErrNotFound) {
			return NotFound("case " + safeRef(ref))
		}
		if err != nil {
			return err
		}
		if c.Version != version {
			return &RuleError{Code: CodeStaleVersion, Message: "the case changed since you read it (now " + CaseETag(c.Version) + "): read it again"}
		}
		changes, before, after, err := d.caseChanges(ctx, tx, c, patch)
		if err != nil {
			return err
		}
		if len(changes) > 0 && c.Status == string(StatusClosed) {
			return errCaseClosed
		}
		if len(changes) == 0 {
			view, err = d.caseView(ctx, tx, c)
			return err
		}
		now := d.now()
		changes["updated_at"] = now
		if ok, err := models.UpdateCaseVersioned(ctx, tx, c.ID, c.Version, changes); err != nil || !ok {
			if err == nil {
				err = &RuleError{Code: CodeStaleVersion, Message: "the case changed since you read it: read it again"}
			}
			return err
		}
		if c, err = models.CaseByID(ctx, tx, c.ID); err != nil {
			return err
		}
		if view, err = d.caseView(ctx, tx, c); err != nil {
			return err
		}
		if err := d.audit(ctx, tx, a, "case.updated", "case", c.Ref, before, after); err != nil {
			return err
		}
		return d.outbox(ctx, tx, "case.updated", view)
	})
	return view, err
}

// caseChanges validates a patch against the case and returns the column changes with the audit's
// before and after of each changed field.
func (d *Desk) caseChanges(ctx context.Context, tx *gorm.DB, c models.Case, patch CasePatch) (map[string]any, map[string]any, map[string]any, error) {
	changes, before, after := map[string]any{}, map[string]any{}, map[string]any{}
	now := d.now()
	status, resolution := Status(strings.TrimSpace(patch.Status)), Resolution(strings.TrimSpace(patch.Resolution))
	switch {
	case status != "" && string(status) != c.Status:
		if err := CheckTransition(Status(c.Status), status, resolution); err != nil {
			return nil, nil, nil, err
		}
		changes["status"], before["status"], after["status"] = string(status), c.Status, string(status)
		switch status {
		case StatusResolved:
			changes["resolution"], changes["resolved_at"] = string(resolution), now
			before["resolution"], after["resolution"] = c.Resolution, string(resolution)
		case StatusClosed:
		default:
			changes["resolution"], changes["resolved_at"] = nil, nil
			if c.Resolution != nil {
				before["resolution"], after["resolution"] = c.Resolution, nil
			}
		}
	case resolution != "":
		// A resolution alone, or with the status the case already has, is not a transition: a
		// resolved case is reopened and resolved again to change it.
		return nil, nil, nil, &RuleError{Code: CodeInvalidTransition, Field: "resolution",
			Message: "a resolution is only accepted when moving the case to resolved"}
	}
	// An empty string counts as absent (SPEC 4.2); null unassigns.
	if patch.Assignee.Set && (patch.Assignee.Null || strings.TrimSpace(patch.Assignee.Value) != "") {
		var id *int64
		label := any(nil)
		if !patch.Assignee.Null {
			u, err := models.UserByEmail(ctx, tx, NormalizeEmail(patch.Assignee.Value))
			if errors.Is(err, models.ErrNotFound) || (err == nil && !u.Active) {
				return nil, nil, nil, Invalid("assignee", "must be the email of an active user, or null to unassign")
			}
			if err != nil {
				return nil, nil, nil, err
			}
			id, label = &u.ID, u.Email
		}
		if !int64PtrEq(id, c.AssigneeID) {
			changes["assignee_id"], after["assignee"] = id, label
			before["assignee"] = nil
			if c.AssigneeID != nil {
				u, err := models.UserByID(ctx, tx, *c.AssigneeID)
				if err != nil {
					return nil, nil, nil, err // never an audit saying the case had no assignee
				}
				before["assignee"] = u.Email
			}
		}
	}
	if pr := Priority(strings.TrimSpace(patch.Priority)); pr != "" && string(pr) != c.Priority {
		if !pr.Valid() {
			return nil, nil, nil, Invalid("priority", "must be one of "+joinNames(Priorities))
		}
		target := d.sla[pr]
		frd, rd := c.CreatedAt.Add(target.FirstResponse), c.CreatedAt.Add(target.Resolution)
		changes["priority"], changes["first_response_due"], changes["resolution_due"] = string(pr), frd, rd
		before["priority"], after["priority"] = c.Priority, string(pr)
	}
	if patch.Tags != nil {
		var f fieldErrors
		tags := f.tags(*patch.Tags)
		if err := f.err(); err != nil {
			return nil, nil, nil, err
		}
		red, err := d.caseRedactor(ctx, tx, c.ID)
		if err != nil {
			return nil, nil, nil, err
		}
		for i, t := range tags {
			tags[i] = red.Redact(t)
		}
		if !slices.Equal(tags, []string(c.Tags)) {
			changes["tags"], before["tags"], after["tags"] = models.StringList(tags), orEmpty([]string(c.Tags)), tags
		}
	}
	return changes, before, after, nil
}

// caseRedactor returns the redactor of the codes of a case's cards (R2).
func (d *Desk) caseRedactor(ctx context.Context, db *gorm.DB, caseID int64) (*Redactor, error) {
	cards, err := models.CardsOfCase(ctx, db, caseID)
	if err != nil {
		return nil, err
	}
	return d.redactorOf(cards), nil
}

// redactorOf redacts the codes of the given cards.
func (d *Desk) redactorOf(cards []models.GiftCard) *Redactor {
	var codes []StoredCode
	for _, c := range cards {
		if c.ClaimCodeLast4 != nil {
			codes = append(codes, StoredCode{HMAC: c.ClaimCodeHMAC, Last4: *c.ClaimCodeLast4})
		}
	}
	return NewRedactor(d.keys.ClaimCode, codes)
}

func int64PtrEq(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
