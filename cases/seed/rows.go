package seed

import (
	"encoding/json"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
)

// event writes an audit event and its seal. The seal is dated a second after the event, as the
// sealer chains within two seconds of commit (R10), so that verification finds no late seal.
func (g *generator) event(at time.Time, by person, action, entityType, entityID string, before, after map[string]any) {
	at = at.UTC().Truncate(time.Microsecond)
	e := models.AuditEvent{ID: g.id("audit_events"), OccurredAt: at, ActorType: "user", ActorUserID: &by.id, ActorLabel: by.email,
		Action: action, EntityType: entityType, EntityID: entityID}
	sealedAt := at.Add(time.Second)
	if sealedAt.After(g.now) {
		sealedAt = g.now
	}
	g.chained(e, before, after, sealedAt, g.lowWater)
}

// closing returns the batch of the seed's own event, desk.seeded by the command line, saying what
// was loaded: the last of the chain, sealed with lowWater (the load's FinalLowWater).
func (g *generator) closing(at time.Time, lowWater *int64, loaded map[string]any) models.SeedBatch {
	g.b = models.SeedBatch{}
	at = at.UTC().Truncate(time.Microsecond)
	g.chained(models.AuditEvent{ID: g.id("audit_events"), OccurredAt: at, ActorType: cases.CLIActor.Kind, ActorLabel: "cli",
		Action: "desk.seeded", EntityType: "desk", EntityID: "seed"}, nil, loaded, at, lowWater)
	return g.b
}

// chained writes event e, with its before and after documents, and its seal.
func (g *generator) chained(e models.AuditEvent, before, after map[string]any, sealedAt time.Time, lowWater *int64) {
	if before != nil {
		b, _ := json.Marshal(before)
		e.BeforeState = b
	}
	if after != nil {
		b, _ := json.Marshal(after)
		e.AfterState = b
	}
	s := g.chain.SealCanonical(e, sealedAt, lowWater)
	g.row("audit_events", e.ID, e.OccurredAt, e.ActorType, int64Ptr(e.ActorUserID), nil, e.ActorLabel, "", "", "", e.Action,
		e.EntityType, e.EntityID, jsonOrNil(e.BeforeState), jsonOrNil(e.AfterState))
	g.row("audit_seals", s.Seq, s.EventID, s.Hash, s.SealedAt, int64Ptr(s.LowWaterXact))
}

func jsonOrNil(d models.JSONDoc) any {
	if len(d) == 0 {
		return nil
	}
	return string(d)
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func strOrNil(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func strPtr(s *string) any { return strOrNil(s) }

func int64Ptr(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

func timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func nilBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// dur is a uniform duration in [0, max).
func (g *generator) dur(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(g.f.Uint64() % uint64(max))
}

// perm is a random permutation of 0..n-1.
func (g *generator) perm(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := g.f.IntN(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return out
}
