package cases_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

func patchJSON(t *testing.T, body string) cases.CasePatch {
	t.Helper()
	var p cases.CasePatch
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUpdateCaseWorkflow(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		a := cases.ActorFor(p, "", "", "")
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		update := func(etag, body string) (cases.CaseView, error) {
			return desk.UpdateCase(ctx, p, a, v.Ref, etag, patchJSON(t, body))
		}
		if _, err := update("", `{"status":"investigating"}`); codeOf(err) != cases.CodeVersionRequired || !errors.Is(err, cases.ErrPrecondition) {
			t.Fatalf("no If-Match: %v", err)
		}
		if _, err := update(`"7"`, `{"status":"investigating"}`); codeOf(err) != cases.CodeStaleVersion || !errors.Is(err, cases.ErrStale) {
			t.Fatalf("stale If-Match: %v", err)
		}
		v, err := update(v.ETag(), `{"status":"investigating","assignee":"agent@example.com","priority":"urgent","tags":["vip","code AB12 CDEF34 GH56"]}`)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != "investigating" || v.Assignee == nil || *v.Assignee != "agent@example.com" || v.Priority != "urgent" || v.Version != 2 {
			t.Fatalf("after patch: %+v", v)
		}
		if !v.SLA.FirstResponseDue.Equal(v.CreatedAt.Add(time.Hour)) || !v.SLA.ResolutionDue.Equal(v.CreatedAt.Add(8*time.Hour)) {
			t.Fatalf("urgent SLA not recomputed: %+v", v.SLA)
		}
		if v.Tags[1] != "code [claim code ••••GH56]" {
			t.Fatalf("tags %v: the code was not redacted", v.Tags)
		}
		// null unassigns: gorm must write the NULL, not skip it.
		if v, err = update(v.ETag(), `{"assignee":null}`); err != nil || v.Assignee != nil {
			t.Fatalf("unassign: %+v %v", v.Assignee, err)
		}
		// Empty strings count as absent: nothing changes and the version stays.
		if same, err := update(v.ETag(), `{"status":"","priority":"","assignee":""}`); err != nil || same.Version != v.Version {
			t.Fatalf("empty patch: version %d %v", same.Version, err)
		}
		for _, bad := range []struct{ body, code string }{
			{`{"status":"closed"}`, cases.CodeInvalidTransition},
			{`{"status":"resolved"}`, cases.CodeInvalidTransition},
			{`{"resolution":"corrected"}`, cases.CodeInvalidTransition},
			{`{"status":"pending_approval"}`, cases.CodeInvalidTransition},
			{`{"status":"archived"}`, cases.CodeValidationFailed},
			{`{"assignee":"nobody@example.com"}`, cases.CodeValidationFailed},
			{`{"priority":"asap"}`, cases.CodeValidationFailed},
		} {
			if _, err := update(v.ETag(), bad.body); codeOf(err) != bad.code {
				t.Errorf("%s: %v, want %s", bad.body, err, bad.code)
			}
		}
		if _, err := update(v.ETag(), `{"status":"closed"}`); err == nil || !strings.Contains(err.Error(), "waiting_on_customer") {
			t.Fatalf("invalid_transition must name the allowed targets: %v", err)
		}
		v, err = update(v.ETag(), `{"status":"resolved","resolution":"corrected"}`)
		if err != nil || v.Resolution == nil || *v.Resolution != "corrected" {
			t.Fatalf("resolve: %+v %v", v.Resolution, err)
		}
		v, err = update(v.ETag(), `{"status":"investigating"}`)
		if err != nil || v.Resolution != nil {
			t.Fatalf("reopen keeps no resolution: %+v %v", v.Resolution, err)
		}
		if v, err = update(v.ETag(), `{"status":"resolved","resolution":"no_action"}`); err != nil {
			t.Fatalf("resolve again: %v", err)
		}
		if v, err = update(v.ETag(), `{"status":"closed"}`); err != nil || v.Status != "closed" || *v.Resolution != "no_action" {
			t.Fatalf("close: %+v %v", v, err)
		}
		if _, err := update(v.ETag(), `{"status":"investigating"}`); codeOf(err) != cases.CodeInvalidTransition {
			t.Fatalf("closed is final: %v", err)
		}
		var audited, outbox int64
		modelstest.Scan(t, db, &audited, `SELECT count(*) FROM audit_events WHERE action = 'case.updated'`)
		modelstest.Scan(t, db, &outbox, `SELECT count(*) FROM outbox WHERE event_type = 'case.updated'`)
		if audited != 6 || outbox != 6 {
			t.Fatalf("%d audit events and %d outbox rows for 6 changes", audited, outbox)
		}
	})
}

// TestConcurrentPatchesNeverOverwrite: twenty writers holding the same ETag; exactly one wins,
// the others are told their version is stale (R12).
func TestConcurrentPatchesNeverOverwrite(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		desk := newDesk(db)
		p := agentPrincipal(t, db)
		v := create(t, desk, p, wrongAccountCase(testCode, ""))
		var wg sync.WaitGroup
		results := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := desk.UpdateCase(context.Background(), p, cases.ActorFor(p, "", "", ""), v.Ref, v.ETag(),
					cases.CasePatch{Tags: &[]string{"writer " + string(rune('a'+i))}})
				results <- err
			}(i)
		}
		wg.Wait()
		close(results)
		won, stale := 0, 0
		for err := range results {
			switch {
			case err == nil:
				won++
			case codeOf(err) == cases.CodeStaleVersion:
				stale++
			default:
				t.Fatalf("concurrent patch: %v", err)
			}
		}
		if won != 1 || stale != 19 {
			t.Fatalf("%d won and %d stale, want 1 and 19", won, stale)
		}
	})
}
