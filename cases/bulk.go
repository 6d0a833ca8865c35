package cases

import (
	"context"
	"errors"
	"strings"
)

// BulkTarget is one selected row of a list: the case and the version the list showed, which
// stands for If-Match (R12), so that a bulk change never overwrites what its author did not see.
type BulkTarget struct {
	Ref     string
	Version int64
}

// BulkChange is what a bulk action does to every selected case. Assignee is "me", "none" or an
// email, "" to leave it; Status (with Resolution when resolving) follows R11, "" to leave it.
type BulkChange struct {
	Assignee           string
	Status, Resolution string
}

// BulkRefusal is one case a bulk change left alone, and why.
type BulkRefusal struct {
	Ref string
	Err *RuleError
}

// BulkResult says which cases a bulk change applied and which it refused.
type BulkResult struct {
	Applied []string
	Refused []BulkRefusal
}

// BulkUpdate applies one change to each target through UpdateCase, each in its own transaction
// with its own audit event: a case refused (stale, a transition R11 does not allow, closed, gone)
// is reported and the others are still applied. An error other than a refusal (the database
// gone) stops it.
func (d *Desk) BulkUpdate(ctx context.Context, p Principal, a Actor, targets []BulkTarget, change BulkChange) (BulkResult, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return BulkResult{}, err
	}
	var f fieldErrors
	switch {
	case len(targets) == 0:
		f.add("cases", "select at least one case")
	case len(targets) > MaxPageLimit:
		f.add("cases", "select at most 100 cases at a time")
	}
	var patch CasePatch
	switch who := strings.TrimSpace(change.Assignee); who {
	case "":
	case "me":
		patch.Assignee = Nullable{Set: true, Value: p.Email}
	case "none":
		patch.Assignee = Nullable{Set: true, Null: true}
	default:
		patch.Assignee = Nullable{Set: true, Value: who}
	}
	patch.Status, patch.Resolution = strings.TrimSpace(change.Status), strings.TrimSpace(change.Resolution)
	if !patch.Assignee.Set && patch.Status == "" && patch.Resolution == "" {
		f.add("action", "choose an assignee or a status")
	}
	if err := f.err(); err != nil {
		return BulkResult{}, err
	}
	if err := checkCasePatch(patch); err != nil {
		return BulkResult{}, err
	}
	var out BulkResult
	for _, t := range targets {
		_, err := d.UpdateCase(ctx, p, a, t.Ref, CaseETag(t.Version), patch)
		var re *RuleError
		switch {
		case err == nil:
			out.Applied = append(out.Applied, t.Ref)
		case errors.As(err, &re):
			out.Refused = append(out.Refused, BulkRefusal{Ref: safeRef(t.Ref), Err: re})
		default:
			return out, err
		}
	}
	return out, nil
}
