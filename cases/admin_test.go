package cases_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestTheLastActiveAdminStays: neither deactivation nor a new role may leave the desk without an
// active admin; with a second active admin both go through.
func TestTheLastActiveAdminStays(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		add := func(email string, role cases.Role) {
			t.Helper()
			if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: "U", Role: role, Password: goodPassword}); err != nil {
				t.Fatal(err)
			}
		}
		add("first@example.com", cases.RoleAdmin)
		add("second@example.com", cases.RoleAdmin)
		add("agent@example.com", cases.RoleAgent)
		if _, err := desk.DeactivateUser(ctx, cases.CLIActor, "second@example.com"); err != nil {
			t.Fatalf("deactivating one of two admins: %v", err)
		}
		for name, change := range map[string]func() error{
			"deactivate": func() error { _, err := desk.DeactivateUser(ctx, cases.CLIActor, "first@example.com"); return err },
			"demote": func() error {
				_, err := desk.SetUserRole(ctx, cases.CLIActor, "first@example.com", cases.RoleSupervisor)
				return err
			},
		} {
			if err := change(); !errors.Is(err, cases.ErrLastActiveAdmin) || !errors.Is(err, cases.ErrInvalid) {
				t.Errorf("%s the last active admin: %v, want ErrLastActiveAdmin", name, err)
			}
		}
		// The deactivated admin does not count, and changes that keep an admin pass.
		if _, err := desk.SetUserRole(ctx, cases.CLIActor, "first@example.com", cases.RoleAdmin); err != nil {
			t.Errorf("admin to admin: %v", err)
		}
		if _, err := desk.SetUserRole(ctx, cases.CLIActor, "agent@example.com", cases.RoleSupervisor); err != nil {
			t.Errorf("promoting an agent: %v", err)
		}
		if _, err := desk.ReactivateUser(ctx, cases.CLIActor, "second@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := desk.SetUserRole(ctx, cases.CLIActor, "first@example.com", cases.RoleAgent); err != nil {
			t.Errorf("demoting one of two active admins: %v", err)
		}
		users, err := desk.ListUsers(ctx, cases.Principal{Role: cases.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, u := range users {
			if u.Role == cases.RoleAdmin && u.Active {
				admins++
			}
		}
		if admins != 1 {
			t.Errorf("%d active admins at the end, want 1", admins)
		}
	})
}

// TestOneTimePasswords: a user created or reset with a drawn password signs in with it once and
// must then choose their own; a reset ends their sessions.
func TestOneTimePasswords(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		u, pw, err := desk.AddUserWithOneTimePassword(ctx, cases.CLIActor, cases.NewUser{Email: " New@Example.com", Name: "New", Role: cases.RoleAgent})
		if err != nil || u.Email != "new@example.com" || len(pw) < cases.MinPasswordRunes {
			t.Fatalf("add: %+v %q %v", u, pw, err)
		}
		s := mustSignIn(t, desk, "new@example.com", pw, "10.0.0.9")
		if !s.MustChangePassword {
			t.Error("a user with a drawn password need not change it")
		}
		if err := desk.ChangePassword(ctx, cases.ActorFor(s.Principal, "10.0.0.9", "test", ""), s.Token, pw, goodPassword); err != nil {
			t.Fatal(err)
		}
		s = mustSignIn(t, desk, "new@example.com", goodPassword, "10.0.0.9")
		if s.MustChangePassword {
			t.Error("still must change after choosing a password")
		}
		_, again, err := desk.ResetOneTimePassword(ctx, cases.CLIActor, "new@example.com")
		if err != nil || again == pw {
			t.Fatalf("reset: %q %v", again, err)
		}
		if _, err := desk.Session(ctx, s.Token); !errors.Is(err, cases.ErrUnauthenticated) {
			t.Errorf("a session survived the reset: %v", err)
		}
		if s := mustSignIn(t, desk, "new@example.com", again, "10.0.0.9"); !s.MustChangePassword {
			t.Error("a reset password need not be changed")
		}
		if _, _, err := desk.AddUserWithOneTimePassword(ctx, cases.CLIActor, cases.NewUser{Email: "NEW@example.com", Name: "Twin", Role: cases.RoleAgent}); !errors.Is(err, cases.ErrEmailTaken) {
			t.Errorf("duplicate email: %v", err)
		}
	})
}

// TestTwoAdminsCannotDemoteEachOtherAtOnce: the last two active admins demote each other at the
// same moment, again and again; each time exactly one change goes through.
func TestTwoAdminsCannotDemoteEachOtherAtOnce(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		for _, email := range []string{"a@example.com", "b@example.com"} {
			if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: "Admin", Role: cases.RoleAdmin, Password: goodPassword}); err != nil {
				t.Fatal(err)
			}
		}
		for round := 0; round < 10; round++ {
			start := make(chan struct{})
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, email := range []string{"a@example.com", "b@example.com"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = desk.SetUserRole(ctx, cases.CLIActor, email, cases.RoleAgent)
				}()
			}
			close(start)
			wg.Wait()
			refused := 0
			for _, err := range errs {
				switch {
				case errors.Is(err, cases.ErrLastActiveAdmin):
					refused++
				case err != nil:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if refused != 1 {
				t.Fatalf("round %d: %d of the two demotions refused, want exactly 1", round, refused)
			}
			for _, email := range []string{"a@example.com", "b@example.com"} {
				if _, err := desk.SetUserRole(ctx, cases.CLIActor, email, cases.RoleAdmin); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// TestOnlyAdminsAdminister: every change to users and tokens refuses a person without the admin
// role and an actor that is neither a person, the command line nor the desk itself, whatever
// route calls it; an admin and the command line go through.
func TestOnlyAdminsAdminister(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: "boss@example.com", Name: "B", Role: cases.RoleAdmin, Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: "agent@example.com", Name: "A", Role: cases.RoleAgent, Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		_, tv, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "agent@example.com", Name: "t", Scopes: []cases.Scope{cases.ScopeCasesRead}})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]func(a cases.Actor) error{
			"add user": func(a cases.Actor) error {
				_, err := desk.AddUser(ctx, a, cases.NewUser{Email: "new@example.com", Name: "N", Role: cases.RoleAdmin, Password: goodPassword})
				return err
			},
			"add user, one-time password": func(a cases.Actor) error {
				_, _, err := desk.AddUserWithOneTimePassword(ctx, a, cases.NewUser{Email: "new2@example.com", Name: "N", Role: cases.RoleAgent})
				return err
			},
			"role": func(a cases.Actor) error {
				_, err := desk.SetUserRole(ctx, a, "agent@example.com", cases.RoleAdmin)
				return err
			},
			"deactivate": func(a cases.Actor) error { _, err := desk.DeactivateUser(ctx, a, "agent@example.com"); return err },
			"reactivate": func(a cases.Actor) error { _, err := desk.ReactivateUser(ctx, a, "agent@example.com"); return err },
			"password": func(a cases.Actor) error {
				_, _, err := desk.ResetOneTimePassword(ctx, a, "agent@example.com")
				return err
			},
			"token": func(a cases.Actor) error {
				_, _, err := desk.CreateToken(ctx, a, cases.NewToken{Email: "agent@example.com", Name: "t2", Scopes: []cases.Scope{cases.ScopeAdmin}})
				return err
			},
			"revoke": func(a cases.Actor) error { return desk.RevokeToken(ctx, a, tv.ID) },
		}
		agent := cases.ActorFor(cases.Principal{UserID: 2, Email: "agent@example.com", Role: cases.RoleAgent}, "", "", "")
		supervisor := cases.ActorFor(cases.Principal{UserID: 2, Email: "agent@example.com", Role: cases.RoleSupervisor}, "", "", "")
		nobody := cases.Actor{Kind: "user"}
		count := `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM api_tokens) + (SELECT count(*) FROM audit_events)`
		for name, do := range actions {
			for who, a := range map[string]cases.Actor{"agent": agent, "supervisor": supervisor, "an actor without a person": nobody} {
				before := modelstest.Count(t, db, count)
				if err := do(a); !errors.Is(err, cases.ErrForbidden) {
					t.Errorf("%s by %s: %v, want forbidden", name, who, err)
				}
				if after := modelstest.Count(t, db, count); after != before {
					t.Errorf("%s by %s wrote %d rows", name, who, after-before)
				}
			}
		}
		admin := cases.ActorFor(cases.Principal{UserID: 1, Email: "boss@example.com", Role: cases.RoleAdmin}, "", "", "")
		for _, name := range []string{"add user", "role", "token", "revoke", "deactivate", "reactivate"} {
			if err := actions[name](admin); err != nil {
				t.Errorf("%s by an admin: %v", name, err)
			}
		}
	})
}
