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
	"giftdesk/cases/casestest"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func newDesk(db *gorm.DB) *cases.Desk {
	return cases.New(cases.Config{DB: db, Keys: casestest.Keys})
}

const goodPassword = "correct horse battery"

func codeOf(err error) string {
	var re *cases.RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}

func TestAddUser(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		u, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: " Pat.Doe@Example.COM ", Name: "Pat", Role: cases.RoleAgent, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "pat.doe@example.com" || u.Role != cases.RoleAgent || !u.Active {
			t.Fatalf("user = %+v", u)
		}
		stored, err := models.UserByEmail(ctx, db, "pat.doe@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := cases.VerifyPassword(stored.PasswordHash, goodPassword); err != nil || !ok || strings.Contains(stored.PasswordHash, goodPassword) {
			t.Fatalf("stored hash does not verify, or holds the password (%v)", err)
		}
		bad := []struct {
			name string
			in   cases.NewUser
			fld  string
		}{
			{"same email in another case", cases.NewUser{Email: "PAT.DOE@example.com", Name: "P2", Role: cases.RoleAgent, Password: goodPassword}, "email"},
			{"short password", cases.NewUser{Email: "a@example.com", Name: "A", Role: cases.RoleAgent, Password: "short"}, "password"},
			{"empty password", cases.NewUser{Email: "a@example.com", Name: "A", Role: cases.RoleAgent}, "password"},
			{"unknown role", cases.NewUser{Email: "a@example.com", Name: "A", Role: "root", Password: goodPassword}, "role"},
			{"not an email", cases.NewUser{Email: "pat", Name: "A", Role: cases.RoleAgent, Password: goodPassword}, "email"},
			{"display-name form", cases.NewUser{Email: "Pat <p@example.com>", Name: "A", Role: cases.RoleAgent, Password: goodPassword}, "email"},
			{"no name", cases.NewUser{Email: "b@example.com", Role: cases.RoleAgent, Password: goodPassword}, "name"},
		}
		for _, b := range bad {
			_, err := desk.AddUser(ctx, cases.CLIActor, b.in)
			var re *cases.RuleError
			if !errors.As(err, &re) || re.Code != cases.CodeValidationFailed || re.Field != b.fld {
				t.Errorf("%s: err = %v, want validation_failed on %s", b.name, err, b.fld)
			}
		}
		if n, err := models.CountUsers(ctx, db); err != nil || n != 1 {
			t.Fatalf("%d users after refusals, want 1 (%v)", n, err)
		}
		// The creation is audited without the password or its hash.
		var after []string
		modelstest.Scan(t, db, &after, `SELECT after_state FROM audit_events WHERE action = 'user.created'`)
		if len(after) != 1 || strings.Contains(after[0], goodPassword) || strings.Contains(after[0], "argon2") {
			t.Fatalf("audit after_state = %v", after)
		}
	})
}

func TestBootstrapAdminOnce(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		var wg sync.WaitGroup
		passwords := make(chan string, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pw, created, err := desk.EnsureBootstrapAdmin(ctx)
				if err != nil {
					t.Error(err)
				}
				if created {
					passwords <- pw
				}
			}()
		}
		wg.Wait()
		close(passwords)
		var got []string
		for pw := range passwords {
			got = append(got, pw)
		}
		if len(got) != 1 {
			t.Fatalf("%d bootstrap admins reported, want 1", len(got))
		}
		u, err := models.UserByEmail(ctx, db, cases.BootstrapAdminEmail)
		if err != nil || u.Role != "admin" || !u.MustChangePassword {
			t.Fatalf("admin = %+v, %v", u, err)
		}
		if ok, err := cases.VerifyPassword(u.PasswordHash, got[0]); err != nil || !ok {
			t.Fatalf("printed password does not sign in (%v)", err)
		}
		if _, created, err := desk.EnsureBootstrapAdmin(ctx); err != nil || created {
			t.Fatalf("second start created another admin (%v)", err)
		}
	})
}

func TestTokens(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		clock := &now
		desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys, Now: func() time.Time { return *clock }})
		if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: "bot@example.com", Name: "Bot", Role: cases.RoleAgent, Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		raw, view, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "BOT@example.com", Name: "zendesk",
			Scopes: []cases.Scope{cases.ScopeCasesRead, cases.ScopeCorrectionsDecide}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(raw, cases.TokenPrefix) || len(raw) < 40 || !strings.HasPrefix(raw, view.Prefix) {
			t.Fatalf("token %q... view %+v", raw[:8], view)
		}
		var hashes [][]byte
		modelstest.Scan(t, db, &hashes, `SELECT secret_hash FROM api_tokens`)
		var dump []string
		modelstest.Scan(t, db, &dump, `SELECT CAST(secret_hash AS TEXT) || prefix || name FROM api_tokens`)
		if len(hashes) != 1 || strings.Contains(strings.Join(dump, ""), raw) || strings.Contains(string(hashes[0]), raw[4:]) {
			t.Fatal("the token secret is stored in clear")
		}
		p, err := desk.AuthenticateToken(ctx, raw)
		if err != nil || p.Email != "bot@example.com" || p.TokenID != view.ID || len(p.Scopes) != 2 {
			t.Fatalf("principal = %+v, %v", p, err)
		}
		if err := p.RequireScope(cases.ScopeCorrectionsDecide); codeOf(err) != cases.CodeRoleRequired {
			t.Fatalf("agent's token with corrections:decide: %v, want role_required", err)
		}
		for _, bad := range []string{"", "gdk_", raw + "x", "Bearer " + raw, strings.ToUpper(raw), "gdk_" + strings.Repeat("A", 300)} {
			if _, err := desk.AuthenticateToken(ctx, bad); !errors.Is(err, cases.ErrUnauthenticated) {
				t.Errorf("token %.12q...: err = %v, want unauthenticated", bad, err)
			}
		}
		// Expiry, checked on the injected clock.
		exp := now.Add(time.Hour)
		short, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "bot@example.com", Name: "short", Scopes: []cases.Scope{cases.ScopeCasesRead}, ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := desk.AuthenticateToken(ctx, short); err != nil {
			t.Fatalf("unexpired token refused: %v", err)
		}
		later := now.Add(time.Hour)
		clock = &later
		if _, err := desk.AuthenticateToken(ctx, short); !errors.Is(err, cases.ErrUnauthenticated) {
			t.Fatalf("expired token accepted: %v", err)
		}
		// A deactivated user's tokens stop at once.
		if n := modelstest.Exec(t, db, `UPDATE users SET active = FALSE WHERE email = 'bot@example.com'`); n != 1 {
			t.Fatalf("%d users deactivated, want 1", n)
		}
		if _, err := desk.AuthenticateToken(ctx, raw); !errors.Is(err, cases.ErrUnauthenticated) {
			t.Fatalf("token of a deactivated user accepted: %v", err)
		}
		if _, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: "nobody@example.com", Name: "x", Scopes: []cases.Scope{cases.ScopeCasesRead}}); codeOf(err) != cases.CodeValidationFailed {
			t.Fatalf("token for unknown user: %v", err)
		}
		var audit []string
		modelstest.Scan(t, db, &audit, `SELECT COALESCE(CAST(after_state AS TEXT), '') FROM audit_events`)
		if strings.Contains(strings.Join(audit, " "), raw) || strings.Contains(strings.Join(audit, " "), short) {
			t.Fatal("a token secret reached the audit trail")
		}
	})
}

// The domain's enumerations and the schema's CHECK lists must agree, or a valid request fails in
// the database with a 500.
func TestSchemaAcceptsEveryDomainValue(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := newDesk(db)
		for _, r := range cases.Roles {
			if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: string(r) + "@example.com", Name: "x", Role: r, Password: goodPassword}); err != nil {
				t.Errorf("role %s: %v", r, err)
			}
		}
		now := models.Now()
		for i, m := range cases.Marketplaces() {
			serial := "S" + string(rune('A'+i))
			if err := db.Exec(`INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, created_at, updated_at) VALUES (?, ?, ?, 100, ?, ?)`,
				serial, string(m), string(m.Currency()), now, now).Error; err != nil {
				t.Errorf("marketplace %s with %s: %v", m, m.Currency(), err)
			}
		}
		if err := db.Exec(`INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('C1', 'US', ?, ?)`, now, now).Error; err != nil {
			t.Fatal(err)
		}
		acct := modelstest.Count(t, db, `SELECT id FROM customer_accounts WHERE account_id = 'C1'`)
		for _, ty := range cases.CaseTypes {
			for _, st := range cases.Statuses {
				for _, pr := range cases.Priorities {
					var res *string
					if st == cases.StatusResolved || st == cases.StatusClosed {
						r := string(cases.Resolutions[len(ty)%len(cases.Resolutions)])
						res = &r
					}
					n, err := models.NextCaseNumber(ctx, db)
					if err != nil {
						t.Fatal(err)
					}
					c := models.Case{Ref: "GD-" + strings.Repeat("0", 3) + itoa(n+100000), Type: string(ty), Status: string(st), Resolution: res,
						Priority: string(pr), CustomerAccountID: acct, IntendedAccountID: &acct, Summary: "s", CreatedAt: now, UpdatedAt: now}
					if err := models.InsertCase(ctx, db, &c); err != nil {
						t.Errorf("case %s/%s/%s: %v", ty, st, pr, err)
					}
				}
			}
		}
		for _, res := range cases.Resolutions {
			if err := db.Exec(`UPDATE cases SET status = 'resolved', resolution = ? WHERE id = (SELECT min(id) FROM cases)`, string(res)).Error; err != nil {
				t.Errorf("resolution %s: %v", res, err)
			}
		}
		b, err := json.Marshal(cases.Scopes)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(`INSERT INTO api_tokens (user_id, name, prefix, secret_hash, scopes, created_at) SELECT id, 'all', 'gdk_x', ?, ?, ? FROM users LIMIT 1`,
			[]byte("0123456789abcdef0123456789abcdef"), string(b), now).Error; err != nil {
			t.Errorf("token with every scope: %v", err)
		}
	})
}

func itoa(n int64) string {
	b := []byte{}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func errorsAs(err error, target **cases.RuleError) bool { return errors.As(err, target) }
