package seed

import (
	"context"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models"
)

// BenchmarkGenerate measures the generator alone (no database): rows, hashes and the audit chain
// of b.N cases.
func BenchmarkGenerate(b *testing.B) {
	desk := cases.New(cases.Config{Keys: casestest.Keys})
	staff := staffing{}
	for i := range agentNames {
		staff.agents = append(staff.agents, person{id: int64(i + 1), email: "a@x", name: agentNames[i]})
	}
	for i := range supervisorNames {
		staff.supervisors = append(staff.supervisors, person{id: int64(100 + i), email: "s@x", name: supervisorNames[i]})
	}
	g := newGenerator(desk, Options{Cases: b.N, BatchCases: 2000, Now: time.Now().UTC()}, 1, nil, staff, systemIDs{1, 2}, models.SealHead{}, nil)
	out := make(chan models.SeedBatch, 1)
	go func() {
		for range out {
		}
	}()
	b.ResetTimer()
	if err := g.run(context.Background(), out); err != nil {
		b.Fatal(err)
	}
	close(out)
}
