package cases_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models/modelstest"
)

// TestTokenAuthenticationCostsOneStatement: a token and its user are read in one statement, and
// its last use is written only when a minute has passed since the last one recorded (issue 25), so
// that a busy integration's requests cost one statement of authentication each.
func TestTokenAuthenticationCostsOneStatement(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		clock := now
		counter := modelstest.NewStatementCounter()
		desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: counter}), Keys: casestest.Keys,
			Now: func() time.Time { return clock }})
		u, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: "bot@example.com", Name: "Bot", Role: cases.RoleSupervisor, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		raw, view, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "bot@example.com", Name: "zendesk",
			Scopes: []cases.Scope{cases.ScopeCasesRead}})
		if err != nil {
			t.Fatal(err)
		}
		auth := func(wantStatements int64) {
			t.Helper()
			before := counter.N.Load()
			p, err := desk.AuthenticateToken(ctx, raw)
			if err != nil || p.UserID != u.ID || p.Email != "bot@example.com" || p.Name != "Bot" || p.Role != cases.RoleSupervisor ||
				p.TokenID != view.ID || len(p.Scopes) != 1 || p.Preferences.TimeZone == "" {
				t.Fatalf("principal %+v, %v", p, err)
			}
			if n := counter.N.Load() - before; n != wantStatements {
				t.Errorf("authentication at %s sent %d statements, want %d", clock.Format(time.TimeOnly), n, wantStatements)
			}
		}
		lastUsed := func() time.Time {
			var at []time.Time
			modelstest.Scan(t, db, &at, `SELECT last_used_at FROM api_tokens WHERE id = ?`, view.ID)
			if len(at) != 1 {
				t.Fatalf("last_used_at: %v", at)
			}
			return at[0]
		}
		auth(2) // never used: read, and record the use
		if got := lastUsed(); !got.Equal(now) {
			t.Errorf("last_used_at %s, want %s", got, now)
		}
		clock = now.Add(59 * time.Second)
		auth(1)
		if got := lastUsed(); !got.Equal(now) {
			t.Errorf("last_used_at moved to %s within the minute", got)
		}
		clock = now.Add(time.Minute)
		auth(2)
		if got := lastUsed(); !got.Equal(clock) {
			t.Errorf("last_used_at %s, want %s once the minute has passed", got, clock)
		}
	})
}

// TestConsoleSessionCostsOneStatement: a console request resolves its session and user in one
// statement while the session's last-seen time is fresh.
func TestConsoleSessionCostsOneStatement(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		counter := modelstest.NewStatementCounter()
		desk := cases.New(cases.Config{DB: db.Session(&gorm.Session{Logger: counter}), Keys: casestest.Keys})
		u, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: "pat@example.com", Name: "Pat", Role: cases.RoleAgent, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		in, err := desk.SignIn(ctx, cases.SignInInput{Email: "pat@example.com", Password: goodPassword, ClientIP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		before := counter.N.Load()
		s, err := desk.Session(ctx, in.Token)
		if err != nil || s.Principal.UserID != u.ID || s.Principal.Email != "pat@example.com" || s.Principal.Role != cases.RoleAgent ||
			s.MustChangePassword {
			t.Fatalf("session %+v, %v", s, err)
		}
		if n := counter.N.Load() - before; n != 1 {
			t.Errorf("resolving a fresh session sent %d statements, want 1", n)
		}
	})
}
