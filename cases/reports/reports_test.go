package reports_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/reports"
	"giftdesk/models/modelstest"
)

// TestRangeDaysFollowTheZone: a range is cut into the reader's calendar days, 23 and 25 hours long
// where the clocks change, and defaults to the 30 days ending today there.
func TestRangeDaysFollowTheZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	rg, err := reports.ParseRange("2026-10-24", "2026-10-26", berlin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	days := rg.Days()
	if len(days) != 3 || rg.Len() != 3 {
		t.Fatalf("days %v", days)
	}
	if got := days[2].Sub(days[1]); got != 25*time.Hour {
		t.Errorf("25 October 2026 in Berlin lasts %s, want 25h", got)
	}
	if got := rg.End().Sub(rg.Start()); got != 73*time.Hour {
		t.Errorf("the range lasts %s, want 73h", got)
	}
	// 23:30 UTC on 29 November is already 30 November in Tokyo.
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	def, err := reports.ParseRange("", "", tokyo, time.Date(2026, 11, 29, 23, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if def.FromText() != "2026-11-01" || def.ToText() != "2026-11-30" || def.Len() != reports.DefaultDays {
		t.Errorf("default range %s to %s", def.FromText(), def.ToText())
	}
}

// TestReportsRefuseAgents: each report refuses an agent itself, whatever route calls it.
func TestReportsRefuseAgents(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		r := reports.New(cases.New(cases.Config{DB: db, Keys: casestest.Keys}))
		ctx := context.Background()
		rg, err := reports.ParseRange("", "", time.UTC, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		agent := cases.Principal{UserID: 1, Role: cases.RoleAgent}
		for name, run := range map[string]func(cases.Principal) error{
			"volume":      func(p cases.Principal) error { _, err := r.Volume(ctx, p, rg); return err },
			"times":       func(p cases.Principal) error { _, err := r.Times(ctx, p, rg); return err },
			"sla":         func(p cases.Principal) error { _, err := r.SLA(ctx, p, rg); return err },
			"corrections": func(p cases.Principal) error { _, err := r.Corrections(ctx, p, rg); return err },
			"cards":       func(p cases.Principal) error { _, err := r.Clusters(ctx, p, rg); return err },
		} {
			if err := run(agent); !errors.Is(err, cases.ErrForbidden) {
				t.Errorf("%s for an agent: %v", name, err)
			}
			if err := run(cases.Principal{UserID: 2, Role: cases.RoleAdmin}); err != nil {
				t.Errorf("%s for an admin: %v", name, err)
			}
		}
	})
}

// TestReportsSayTheDatabaseIsUnavailable: a report whose database is gone answers ErrUnavailable
// (a 503 page, try again), not an error the server can only log as a 500.
func TestReportsSayTheDatabaseIsUnavailable(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		gone, err := gorm.Open(db.Dialector, &gorm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		sqlDB, err := gone.DB()
		if err != nil {
			t.Fatal(err)
		}
		if err := sqlDB.Close(); err != nil {
			t.Fatal(err)
		}
		r := reports.New(cases.New(cases.Config{DB: gone, Keys: casestest.Keys}))
		ctx := context.Background()
		rg, err := reports.ParseRange("", "", time.UTC, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		admin := cases.Principal{UserID: 2, Role: cases.RoleAdmin}
		for name, run := range map[string]func() error{
			"volume":      func() error { _, err := r.Volume(ctx, admin, rg); return err },
			"times":       func() error { _, err := r.Times(ctx, admin, rg); return err },
			"sla":         func() error { _, err := r.SLA(ctx, admin, rg); return err },
			"corrections": func() error { _, err := r.Corrections(ctx, admin, rg); return err },
			"cards":       func() error { _, err := r.Clusters(ctx, admin, rg); return err },
		} {
			if err := run(); !errors.Is(err, cases.ErrUnavailable) {
				t.Errorf("%s on a closed database: %v, want unavailable", name, err)
			}
		}
	})
}
