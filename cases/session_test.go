package cases_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

func signIn(desk *cases.Desk, email, password, ip string) (cases.SignedIn, error) {
	return desk.SignIn(context.Background(), cases.SignInInput{Email: email, Password: password, ClientIP: ip, UserAgent: "test"})
}

// mustSignIn signs in, failing the test when it cannot.
func mustSignIn(t *testing.T, desk *cases.Desk, email, password, ip string) cases.SignedIn {
	t.Helper()
	s, err := signIn(desk, email, password, ip)
	if err != nil {
		t.Fatalf("sign in %s from %s: %v", email, ip, err)
	}
	return s
}

// failSignIn is a sign-in that must be refused: a failed attempt the test counts on.
func failSignIn(t *testing.T, desk *cases.Desk, email, password, ip string) {
	t.Helper()
	if _, err := signIn(desk, email, password, ip); err == nil {
		t.Fatalf("sign in %q from %s with a wrong password succeeded", email, ip)
	}
}

func addAgent(t *testing.T, desk *cases.Desk, email string) {
	t.Helper()
	if _, err := desk.AddUser(context.Background(), cases.CLIActor, cases.NewUser{Email: email, Name: "Agent", Role: cases.RoleAgent, Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
}

func TestSignInAndSessionTimeouts(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock()
		desk := deskWithClock(db, c)
		addAgent(t, desk, "pat@example.com")
		for _, bad := range []struct{ email, pw string }{
			{"pat@example.com", "wrong password!"}, {"nobody@example.com", goodPassword}, {"", ""},
			{"pat@example.com", strings.Repeat("x", 5000)},
		} {
			if _, err := signIn(desk, bad.email, bad.pw, "10.0.0.1"); err != cases.ErrBadCredentials {
				t.Fatalf("sign-in %q: err = %v, want the one bad-credentials answer", bad.email, err)
			}
		}
		s, err := signIn(desk, " PAT@example.com", goodPassword, "10.0.0.1")
		if err != nil || s.Token == "" || s.Principal.Email != "pat@example.com" {
			t.Fatalf("sign-in: %+v %v", s, err)
		}
		// Idle timeout: activity every 29 minutes keeps the session, 30 minutes of silence ends it.
		for i := 0; i < 3; i++ {
			c.Advance(29 * time.Minute)
			if _, err := desk.Session(ctx, s.Token); err != nil {
				t.Fatalf("active session refused after %d×29 min: %v", i+1, err)
			}
		}
		c.Advance(30 * time.Minute)
		if _, err := desk.Session(ctx, s.Token); !errors.Is(err, cases.ErrUnauthenticated) {
			t.Fatalf("session idle for 30 min: err = %v", err)
		}
		// Absolute timeout: however active, a session ends 12 hours after sign-in.
		s, err = signIn(desk, "pat@example.com", goodPassword, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
			c.Advance(20 * time.Minute)
			if _, err := desk.Session(ctx, s.Token); err != nil {
				t.Fatalf("session refused %s after sign-in: %v", elapsed+20*time.Minute, err)
			}
		}
		c.Advance(20 * time.Minute)
		if _, err := desk.Session(ctx, s.Token); !errors.Is(err, cases.ErrUnauthenticated) {
			t.Fatalf("session 12 h old still accepted: %v", err)
		}
		for _, forged := range []string{"", "x", s.Token + "x", strings.Repeat("A", 43), strings.Repeat("A", 500)} {
			if _, err := desk.Session(ctx, forged); !errors.Is(err, cases.ErrUnauthenticated) {
				t.Fatalf("forged session %.10q accepted", forged)
			}
		}
	})
}

func TestSignInThrottling(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		c := newClock()
		desk := deskWithClock(db, c)
		addAgent(t, desk, "pat@example.com")
		addAgent(t, desk, "sam@example.com")
		// Ten failures for one email, from different addresses: the email is locked, even with
		// the right password, and only for a while.
		for i := 0; i < cases.LoginFailureLimit; i++ {
			if _, err := signIn(desk, "pat@example.com", "wrong password!", "10.0.1."+itoa(int64(i+1))); err != cases.ErrBadCredentials {
				t.Fatalf("failure %d: %v", i, err)
			}
			c.Advance(time.Second)
		}
		_, err := signIn(desk, "pat@example.com", goodPassword, "10.9.9.9")
		var te *cases.ThrottledError
		if !errors.As(err, &te) || !errors.Is(err, cases.ErrThrottled) {
			t.Fatalf("11th attempt: err = %v, want throttled", err)
		}
		if te.RetryAfter <= 14*time.Minute || te.RetryAfter > cases.LoginFailureWindow {
			t.Fatalf("Retry-After %s, want just under 15 min", te.RetryAfter)
		}
		if _, err := signIn(desk, "sam@example.com", goodPassword, "10.9.9.9"); err != nil {
			t.Fatalf("another email from a clean address was throttled: %v", err)
		}
		c.Advance(te.RetryAfter)
		if _, err := signIn(desk, "pat@example.com", goodPassword, "10.9.9.9"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		// Ten failures from one address across emails lock that address for every email.
		for i := 0; i < cases.LoginFailureLimit; i++ {
			failSignIn(t, desk, "guess"+itoa(int64(i))+"@example.com", "whatever123456", "192.0.2.7")
		}
		if _, err := signIn(desk, "sam@example.com", goodPassword, "192.0.2.7"); !errors.Is(err, cases.ErrThrottled) {
			t.Fatalf("address after 10 failures: %v, want throttled", err)
		}
		if _, err := signIn(desk, "sam@example.com", goodPassword, "192.0.2.8"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		var failures, audited int64
		modelstest.Scan(t, db, &failures, `SELECT count(*) FROM login_failures`)
		modelstest.Scan(t, db, &audited, `SELECT count(*) FROM audit_events WHERE action IN ('login.failed', 'login.throttled')`)
		if audited < 2*int64(cases.LoginFailureLimit)+2 {
			t.Fatalf("%d failures audited, want every one (%d rows kept)", audited, failures)
		}
	})
}

func TestDeactivationAndPasswordChangeEndSessions(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := deskWithClock(db, newClock())
		addAgent(t, desk, "pat@example.com")
		first := mustSignIn(t, desk, "pat@example.com", goodPassword, "10.0.0.1")
		second := mustSignIn(t, desk, "pat@example.com", goodPassword, "10.0.0.2")
		sess, err := desk.Session(ctx, first.Token)
		if err != nil {
			t.Fatal(err)
		}
		actor := cases.ActorFor(sess.Principal, "10.0.0.1", "test", "")
		if err := desk.ChangePassword(ctx, actor, first.Token, "wrong current!", "a brand new passphrase"); err == nil {
			t.Fatal("wrong current password accepted")
		}
		if err := desk.ChangePassword(ctx, actor, first.Token, goodPassword, "short"); err == nil {
			t.Fatal("short new password accepted")
		}
		if err := desk.ChangePassword(ctx, actor, first.Token, goodPassword, "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := desk.Session(ctx, first.Token); err != nil {
			t.Fatalf("the session that changed the password ended: %v", err)
		}
		if _, err := desk.Session(ctx, second.Token); err == nil {
			t.Fatal("another session survived the password change")
		}
		if _, err := signIn(desk, "pat@example.com", "a brand new passphrase", "10.0.0.1"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		raw, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "pat@example.com", Name: "t", Scopes: []cases.Scope{cases.ScopeCasesRead}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := desk.DeactivateUser(ctx, cases.CLIActor, "PAT@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := desk.Session(ctx, first.Token); err == nil {
			t.Fatal("session of a deactivated user accepted")
		}
		if _, err := desk.AuthenticateToken(ctx, raw); err == nil {
			t.Fatal("token of a deactivated user accepted")
		}
		if _, err := desk.ReactivateUser(ctx, cases.CLIActor, "pat@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := desk.AuthenticateToken(ctx, raw); err == nil {
			t.Fatal("reactivation brought an old token back")
		}
		if _, err := desk.DeactivateUser(ctx, cases.CLIActor, "pat@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := signIn(desk, "pat@example.com", "a brand new passphrase", "10.0.0.1"); err != cases.ErrBadCredentials {
			t.Fatalf("deactivated user signed in: %v", err)
		}
		// Audit JSON never holds a password, a session secret or a token.
		var docs []string
		modelstest.Scan(t, db, &docs, `SELECT COALESCE(CAST(before_state AS TEXT), '') || COALESCE(CAST(after_state AS TEXT), '') FROM audit_events`)
		all := strings.Join(docs, "\n")
		for _, secret := range []string{goodPassword, "a brand new passphrase", first.Token, second.Token, raw, "argon2"} {
			if strings.Contains(all, secret) {
				t.Fatalf("the audit trail holds a secret (%.8s...)", secret)
			}
		}
	})
}

func TestUserAdministration(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := deskWithClock(db, newClock())
		addAgent(t, desk, "pat@example.com")
		raw, view, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "pat@example.com", Name: "t", Scopes: []cases.Scope{cases.ScopeCorrectionsDecide}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := desk.AuthenticateToken(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.RequireScope(cases.ScopeCorrectionsDecide); codeOf(err) != cases.CodeRoleRequired {
			t.Fatalf("agent: %v", err)
		}
		u, err := desk.SetUserRole(ctx, cases.CLIActor, "pat@example.com", cases.RoleSupervisor)
		if err != nil || u.Role != cases.RoleSupervisor {
			t.Fatalf("role change: %+v %v", u, err)
		}
		if p, err = desk.AuthenticateToken(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if err := p.RequireScope(cases.ScopeCorrectionsDecide); err != nil {
			t.Fatalf("promoted user's token: %v", err)
		}
		if _, err := desk.SetUserRole(ctx, cases.CLIActor, "pat@example.com", "owner"); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("unknown role: %v", err)
		}
		if _, err := desk.SetUserRole(ctx, cases.CLIActor, "nobody@example.com", cases.RoleAdmin); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("unknown user: %v", err)
		}
		if _, err := desk.ResetPassword(ctx, cases.CLIActor, "pat@example.com", "reset by admin ok"); err != nil {
			t.Fatal(err)
		}
		s, err := signIn(desk, "pat@example.com", "reset by admin ok", "10.0.0.1")
		if err != nil || !s.MustChangePassword {
			t.Fatalf("after reset: %+v %v", s, err)
		}
		if err := desk.RevokeToken(ctx, cases.CLIActor, view.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := desk.AuthenticateToken(ctx, raw); err == nil {
			t.Fatal("revoked token accepted")
		}
		if err := desk.RevokeToken(ctx, cases.CLIActor, view.ID); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("second revoke: %v", err)
		}
		var before, after string
		if err := db.Raw(`SELECT CAST(before_state AS TEXT), CAST(after_state AS TEXT) FROM audit_events WHERE action = 'user.role_changed'`).Row().Scan(&before, &after); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(before, "agent") || !strings.Contains(after, "supervisor") {
			t.Fatalf("role change audit before %s after %s", before, after)
		}
	})
}

func TestHousekeepingKeepsWhatStillCounts(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		c := newClock()
		desk := deskWithClock(db, c)
		addAgent(t, desk, "pat@example.com")
		mustSignIn(t, desk, "pat@example.com", goodPassword, "10.0.0.1") // ends by idling past the timeout
		for i := 0; i < 3; i++ {
			failSignIn(t, desk, "", "x", "203.0.113.9") // empty emails still count for the address
		}
		c.Advance(31 * time.Minute)
		fresh := mustSignIn(t, desk, "pat@example.com", goodPassword, "10.0.0.1")
		for i := 0; i < cases.LoginFailureLimit-3; i++ {
			failSignIn(t, desk, "", "x", "203.0.113.9")
		}
		if err := desk.Housekeep(context.Background()); err != nil {
			t.Fatal(err)
		}
		sessions := modelstest.Count(t, db, `SELECT count(*) FROM sessions`)
		if sessions != 1 {
			t.Fatalf("%d sessions after housekeeping, want only the fresh one", sessions)
		}
		if _, err := desk.Session(context.Background(), fresh.Token); err != nil {
			t.Fatal("housekeeping ended a live session")
		}
		failures := modelstest.Count(t, db, `SELECT count(*) FROM login_failures`)
		if failures != int64(cases.LoginFailureLimit-3) {
			t.Fatalf("%d failures kept, want the %d inside the window", failures, cases.LoginFailureLimit-3)
		}
	})
}

// TestConcurrentGuessesAreCounted: forty wrong passwords sent at once must not all get a password
// check; at most LoginFailureLimit do, the rest are throttled.
func TestConcurrentGuessesAreCounted(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		desk := deskWithClock(db, newClock())
		addAgent(t, desk, "pat@example.com")
		results := make(chan error, 40)
		for i := 0; i < 40; i++ {
			go func() {
				_, err := signIn(desk, "pat@example.com", "wrong password!", "198.51.100.1")
				results <- err
			}()
		}
		checked, throttled := 0, 0
		for i := 0; i < 40; i++ {
			switch err := <-results; {
			case err == cases.ErrBadCredentials:
				checked++
			case errors.Is(err, cases.ErrThrottled):
				throttled++
			default:
				t.Fatalf("attempt: %v", err)
			}
		}
		if checked > cases.LoginFailureLimit || checked+throttled != 40 {
			t.Fatalf("%d password checks and %d throttled of 40 concurrent attempts: at most %d checks allowed", checked, throttled, cases.LoginFailureLimit)
		}
		var stored []string
		modelstest.Scan(t, db, &stored, `SELECT email FROM login_failures`)
		for _, e := range stored {
			if strings.Contains(e, "pat") {
				t.Fatalf("login_failures holds the email in clear: %q", e)
			}
		}
	})
}

func TestPasswordChangeGuessesAreThrottled(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := deskWithClock(db, newClock())
		addAgent(t, desk, "pat@example.com")
		s := mustSignIn(t, desk, "pat@example.com", goodPassword, "10.0.0.1")
		sess, err := desk.Session(ctx, s.Token)
		if err != nil {
			t.Fatal(err)
		}
		actor := cases.ActorFor(sess.Principal, "10.0.0.1", "test", "")
		for i := 0; i < cases.LoginFailureLimit; i++ {
			if err := desk.ChangePassword(ctx, actor, s.Token, "guess number "+itoa(int64(i+1)), "a brand new passphrase"); codeOf(err) != cases.CodeValidationFailed {
				t.Fatalf("guess %d: %v", i+1, err)
			}
		}
		if err := desk.ChangePassword(ctx, actor, s.Token, goodPassword, "a brand new passphrase"); !errors.Is(err, cases.ErrThrottled) {
			t.Fatalf("after 10 wrong guesses: %v, want throttled", err)
		}
		audited := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'user.password_change_failed'`)
		if audited != int64(cases.LoginFailureLimit) {
			t.Fatalf("%d failed changes audited, want %d", audited, cases.LoginFailureLimit)
		}
	})
}
