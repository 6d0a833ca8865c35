package models_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"gorm.io/gorm"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

func TestMigrationsApplyOnEmptyDatabasesAndRerunIsNoop(t *testing.T) {
	for _, d := range modelstest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db, err := models.Open(ctx, models.Options{URL: modelstest.EmptyURL(t, d)})
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			pending, err := models.Pending(ctx, db)
			if err != nil || len(pending) != len(models.MigrationIDs()) {
				t.Fatalf("empty database: pending = %v, %v; want every migration", pending, err)
			}
			if err := models.Migrate(ctx, db, modelstest.Keys.Fingerprint); err != nil {
				t.Fatalf("first migrate: %v", err)
			}
			if pending, _ := models.Pending(ctx, db); len(pending) != 0 {
				t.Fatalf("after migrate: pending = %v", pending)
			}
			if err := models.Migrate(ctx, db, modelstest.Keys.Fingerprint); err != nil {
				t.Fatalf("second migrate must be a no-op: %v", err)
			}
			var accounts []string
			db.Raw(`SELECT account_id FROM customer_accounts WHERE is_system ORDER BY account_id`).Scan(&accounts)
			want := []string{"system:activation_liability", "system:goodwill", "system:suspense"}
			if len(accounts) != 3 || accounts[0] != want[0] || accounts[1] != want[1] || accounts[2] != want[2] {
				t.Fatalf("system accounts = %v, want %v", accounts, want)
			}
			var applied int64
			db.Raw(`SELECT count(*) FROM schema_migrations`).Scan(&applied)
			if applied != int64(len(models.MigrationIDs())) {
				t.Fatalf("schema_migrations has %d rows, want %d", applied, len(models.MigrationIDs()))
			}
		})
	}
}

func TestWrongMasterKeyIsRefused(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := models.CheckMasterKey(ctx, db, modelstest.Keys.Fingerprint); err != nil {
			t.Fatalf("right key refused: %v", err)
		}
		err := models.Migrate(ctx, db, "00112233445566778899aabbccddeeff")
		if !errors.Is(err, models.ErrWrongMasterKey) {
			t.Fatalf("migrate with another key: err = %v, want ErrWrongMasterKey", err)
		}
		if err := models.CheckMasterKey(ctx, db, "00112233445566778899aabbccddeeff"); !errors.Is(err, models.ErrWrongMasterKey) {
			t.Fatalf("check with another key: err = %v", err)
		}
	})
}

// fixture inserts the rows most schema tests need: a user, a customer account, a card, a case.
type fixture struct {
	user, account, card, kase int64
}

func newFixture(t *testing.T, db *gorm.DB) fixture {
	t.Helper()
	ctx := context.Background()
	now := models.Now()
	u := models.User{Email: "agent@example.com", Name: "Agent", Role: "agent", PasswordHash: "x", Active: true}
	if err := models.CreateUser(ctx, db, &u); err != nil {
		t.Fatal(err)
	}
	var f fixture
	f.user = u.ID
	mustExec(t, db, `INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('A1B2C3D4', 'US', ?, ?)`, now, now)
	db.Raw(`SELECT id FROM customer_accounts WHERE account_id = 'A1B2C3D4'`).Scan(&f.account)
	mustExec(t, db, `INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, created_at, updated_at) VALUES ('6046123412341234', 'US', 'USD', 5000, ?, ?)`, now, now)
	db.Raw(`SELECT id FROM gift_cards WHERE serial = '6046123412341234'`).Scan(&f.card)
	n, err := models.NextCaseNumber(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	c := models.Case{Ref: "GD-" + pad6(n), Type: "other", Status: "new", Priority: "normal",
		CustomerAccountID: f.account, Summary: "s", CreatedAt: now, UpdatedAt: now}
	if err := models.InsertCase(ctx, db, &c); err != nil {
		t.Fatal(err)
	}
	f.kase = c.ID
	return f
}

func pad6(n int64) string {
	s := "000000" + itoa(n)
	return s[len(s)-6:]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustExec(t *testing.T, db *gorm.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestSchemaRefusesBadRows(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		now := models.Now()
		refused := []struct {
			name string
			sql  string
			args []any
		}{
			{"negative correction amount", `INSERT INTO corrections (case_id, kind, amount_minor, currency, from_account_id, to_account_id, card_id, reason, requested_by_id, required_approvals, created_at, updated_at)
				SELECT ?, 'credit', -5, 'USD', id, ?, ?, 'r', ?, 1, ?, ? FROM customer_accounts WHERE account_id = 'system:goodwill'`,
				[]any{f.kase, f.account, f.card, f.user, now, now}},
			{"zero face value", `INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, created_at, updated_at) VALUES ('1', 'US', 'USD', 0, ?, ?)`, []any{now, now}},
			{"unknown case status", `UPDATE cases SET status = 'archived' WHERE id = ?`, []any{f.kase}},
			{"unknown case type", `UPDATE cases SET type = 'fraud' WHERE id = ?`, []any{f.kase}},
			{"resolution without resolved", `UPDATE cases SET resolution = 'corrected' WHERE id = ?`, []any{f.kase}},
			{"resolved without resolution", `UPDATE cases SET status = 'resolved' WHERE id = ?`, []any{f.kase}},
			{"card currency of another marketplace", `INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, created_at, updated_at) VALUES ('2', 'UK', 'USD', 100, ?, ?)`, []any{now, now}},
			{"unknown role", `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('x@example.com', 'X', 'root', 'x', ?, ?)`, []any{now, now}},
			{"customer account with reserved prefix", `INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('system:mine', 'US', ?, ?)`, []any{now, now}},
			{"duplicate serial", `INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, created_at, updated_at) VALUES ('6046123412341234', 'US', 'USD', 100, ?, ?)`, []any{now, now}},
			{"email differing only in case", `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('AGENT@example.com', 'A', 'agent', 'x', ?, ?)`, []any{now, now}},
			{"wrong_account case without intended account", `INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, created_at, updated_at) VALUES ('GD-999999', 'wrong_account', 'new', 'normal', ?, 's', ?, ?)`, []any{f.account, now, now}},
			{"card on a case that does not exist", `INSERT INTO case_cards (case_id, card_id, added_at) VALUES (424242, ?, ?)`, []any{f.card, now}},
		}
		for _, r := range refused {
			err := db.Exec(r.sql, r.args...).Error
			if err == nil {
				t.Errorf("%s: accepted, want a constraint refusal", r.name)
				continue
			}
			if !models.IsCheckViolation(err) && !models.IsUniqueViolation(err) && !models.IsForeignKeyViolation(err) {
				t.Errorf("%s: err = %v, want a constraint violation", r.name, err)
			}
		}
	})
}

func TestAppendOnlyTablesRefuseUpdateAndDelete(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		now := models.Now()
		mustExec(t, db, `INSERT INTO communications (case_id, channel, direction, occurred_at, body, author_id, recorded_at) VALUES (?, 'phone', 'inbound', ?, 'called', ?, ?)`, f.kase, now, f.user, now)
		ev := models.AuditEvent{OccurredAt: now, ActorType: "cli", Action: "test", EntityType: "case", EntityID: "1"}
		if err := models.InsertAuditEvent(ctx, db, &ev); err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{
			`UPDATE communications SET body = 'rewritten'`,
			`DELETE FROM communications`,
			`UPDATE audit_events SET action = 'forged'`,
			`DELETE FROM audit_events`,
		} {
			err := db.Exec(stmt).Error
			if !models.IsAppendOnlyViolation(err) {
				t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
			}
		}
		var body string
		db.Raw(`SELECT body FROM communications`).Scan(&body)
		if body != "called" {
			t.Fatalf("communication body = %q after refused update", body)
		}
		if models.DialectOf(db) == models.Postgres {
			if err := db.Exec(`TRUNCATE postings`).Error; !models.IsAppendOnlyViolation(err) {
				t.Errorf("TRUNCATE postings: err = %v, want refusal", err)
			}
		}
	})
}

func TestCaseNumbersIncrease(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		a, err := models.NextCaseNumber(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b, err := models.NextCaseNumber(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if b <= a {
			t.Fatalf("case numbers %d then %d: want increasing", a, b)
		}
	})
}
