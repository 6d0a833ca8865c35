package cases

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// duplicateFind is what one path found for R3: a case sharing a card, an evidence file or a POS
// transaction with other cases.
type duplicateFind struct {
	Case   int64   // the case of the request
	New    bool    // Case was created in this transaction: born flagged and linked, announced by its creation
	Others []int64 // the cases it shares it with, ascending
	Reason string  // card, evidence_file or pos_transaction
}

// flagDuplicates is R3, the one way cases become possible duplicates of each other, whichever
// path found them: a new case naming a known card, a card added to a case later, evidence whose
// file or POS transaction another case holds. Each pair is linked both ways, and every case whose
// JSON changes (it gains possible_duplicate or a ref in duplicates) gets a new version, so its
// ETag changes (R12), a case.flagged audit event and a case.updated outbox row showing it as it
// now stands. A new case is left to its creation, which shows it born flagged and linked.
//
// Cases are locked in the order Case, then Others. It returns the ids of the cases it announced:
// call it after the caller's other changes to them, so that the announcement shows those too.
func (d *Desk) flagDuplicates(ctx context.Context, tx *gorm.DB, a Actor, f duplicateFind, now time.Time) ([]int64, error) {
	if len(f.Others) == 0 {
		return nil, nil
	}
	type state struct {
		c    models.Case
		refs []string // duplicates before the links below
	}
	var states []state
	for _, id := range append([]int64{f.Case}, f.Others...) {
		if (f.New && id == f.Case) || slices.ContainsFunc(states, func(s state) bool { return s.c.ID == id }) {
			continue
		}
		c, err := models.CaseByIDForUpdate(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		refs, err := models.LinkedRefs(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		states = append(states, state{c: c, refs: orEmpty(refs)})
	}
	for _, other := range f.Others {
		if err := models.LinkCases(ctx, tx, f.Case, other, f.Reason, now); err != nil {
			return nil, err
		}
	}
	var announced []int64
	for _, s := range states {
		c := s.c
		refs, err := models.LinkedRefs(ctx, tx, c.ID)
		if err != nil {
			return nil, err
		}
		refs = orEmpty(refs)
		flags := withFlag(orEmpty([]string(c.Flags)), FlagPossibleDuplicate)
		if len(flags) == len(c.Flags) && slices.Equal(refs, s.refs) {
			continue
		}
		ok, err := models.UpdateCaseVersioned(ctx, tx, c.ID, c.Version, map[string]any{"flags": models.StringList(flags), "updated_at": now})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("case %s changed under its lock", c.Ref) // a bug, not a race: the row is locked
		}
		before := map[string]any{"flags": orEmpty([]string(c.Flags)), "duplicates": s.refs}
		c.Flags, c.Version, c.UpdatedAt = flags, c.Version+1, now
		view, err := d.caseView(ctx, tx, c)
		if err != nil {
			return nil, err
		}
		if err := d.audit(ctx, tx, a, "case.flagged", "case", c.Ref, before, map[string]any{"flags": flags, "duplicates": refs}); err != nil {
			return nil, err
		}
		if err := d.outbox(ctx, tx, "case.updated", view); err != nil {
			return nil, err
		}
		announced = append(announced, c.ID)
	}
	return announced, nil
}
