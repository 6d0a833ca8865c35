package models_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
			if err := models.Migrate(ctx, db, modelstest.Fingerprint); err != nil {
				t.Fatalf("first migrate: %v", err)
			}
			if pending, err := models.Pending(ctx, db); err != nil || len(pending) != 0 {
				t.Fatalf("after migrate: pending = %v, %v", pending, err)
			}
			if err := models.Migrate(ctx, db, modelstest.Fingerprint); err != nil {
				t.Fatalf("second migrate must be a no-op: %v", err)
			}
			var accounts []string
			modelstest.Scan(t, db, &accounts, `SELECT account_id FROM customer_accounts WHERE is_system ORDER BY account_id`)
			want := []string{"system:activation_liability", "system:goodwill", "system:suspense"}
			if len(accounts) != 3 || accounts[0] != want[0] || accounts[1] != want[1] || accounts[2] != want[2] {
				t.Fatalf("system accounts = %v, want %v", accounts, want)
			}
			applied := modelstest.Count(t, db, `SELECT count(*) FROM schema_migrations`)
			if applied != int64(len(models.MigrationIDs())) {
				t.Fatalf("schema_migrations has %d rows, want %d", applied, len(models.MigrationIDs()))
			}
		})
	}
}

func TestWrongMasterKeyIsRefused(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := models.CheckMasterKey(ctx, db, modelstest.Fingerprint); err != nil {
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
	user, supervisor, account, card, kase, correction int64
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
	modelstest.Exec(t, db, `INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('A1B2C3D4', 'US', ?, ?)`, now, now)
	modelstest.Scan(t, db, &f.account, `SELECT id FROM customer_accounts WHERE account_id = 'A1B2C3D4'`)
	modelstest.Exec(t, db, `INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, created_at, updated_at) VALUES ('6046123412341234', 'US', 'USD', 5000, ?, ?)`, now, now)
	modelstest.Scan(t, db, &f.card, `SELECT id FROM gift_cards WHERE serial = '6046123412341234'`)
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
	sup := models.User{Email: "supervisor@example.com", Name: "Sup", Role: "supervisor", PasswordHash: "x", Active: true}
	if err := models.CreateUser(ctx, db, &sup); err != nil {
		t.Fatal(err)
	}
	f.supervisor = sup.ID
	modelstest.Exec(t, db, `INSERT INTO corrections (case_id, kind, amount_minor, currency, from_account_id, to_account_id, card_id, reason, requested_by_id, required_approvals, created_at, updated_at)
		SELECT ?, 'credit', 500, 'USD', id, ?, ?, 'fixture', ?, 1, ?, ? FROM customer_accounts WHERE account_id = 'system:goodwill'`, f.kase, f.account, f.card, f.user, now, now)
	modelstest.Scan(t, db, &f.correction, `SELECT max(id) FROM corrections`)
	return f
}

func pad6(n int64) string {
	s := "000000" + itoa(n)
	return s[len(s)-6:]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// schemaCase is a row the schema must refuse for a named reason, next to the same row fixed,
// which it must accept: the pair proves the refusal comes from that constraint and not from a
// typo in the statement.
type schemaCase struct {
	name     string
	bad      string
	good     string // "" when the fixed row would collide with the fixture
	args     []any
	fragment string // in the error on both databases: a constraint name or column
	kind     func(error) bool
}

func TestSchemaRefusesBadRows(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		now := models.Now()
		corr := `INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, card_id, reason, requested_by_id, required_approvals, denial_reason, created_at, updated_at)
			SELECT ?, 'credit', '%s', %d, 'USD', id, ?, ?, 'r', ?, 1, %s, ?, ? FROM customer_accounts WHERE account_id = 'system:goodwill'`
		corrArgs := []any{f.kase, f.account, f.card, f.user, now, now}
		card := `INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, created_at, updated_at) VALUES ('%s', '%s', '%s', %d, ?, ?)`
		user := `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('%s', 'X', '%s', 'x', ?, ?)`
		acct := `INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('%s', 'US', ?, ?)`
		nowArgs := []any{now, now}
		cases := []schemaCase{
			{"negative correction amount", sprintf(corr, "pending", -5, "NULL"), sprintf(corr, "pending", 5, "NULL"), corrArgs, "amount_minor", models.IsCheckViolation},
			{"denied without a reason", sprintf(corr, "denied", 5, "NULL"), sprintf(corr, "denied", 5, "'no proof'"), corrArgs, "corrections_denial_has_reason", models.IsCheckViolation},
			{"denied with an empty reason", sprintf(corr, "denied", 5, "''"), "", corrArgs, "corrections_denial_has_reason", models.IsCheckViolation},
			{"unknown correction status", sprintf(corr, "approved", 5, "NULL"), "", corrArgs, "status", models.IsCheckViolation},
			{"zero face value", sprintf(card, "S1", "US", "USD", 0), sprintf(card, "S1", "US", "USD", 100), nowArgs, "face_value_minor", models.IsCheckViolation},
			{"card currency of another marketplace", sprintf(card, "S2", "UK", "USD", 100), sprintf(card, "S2", "UK", "GBP", 100), nowArgs, "gift_cards_currency_of_marketplace", models.IsCheckViolation},
			{"duplicate serial", sprintf(card, "6046123412341234", "US", "USD", 100), "", nowArgs, "serial", models.IsUniqueViolation},
			{"unknown case status", `UPDATE cases SET status = 'archived' WHERE id = ?`, `UPDATE cases SET status = 'investigating' WHERE id = ?`, []any{f.kase}, "status", models.IsCheckViolation},
			{"unknown case type", `UPDATE cases SET type = 'fraud' WHERE id = ?`, `UPDATE cases SET type = 'promo_credit' WHERE id = ?`, []any{f.kase}, "type", models.IsCheckViolation},
			{"resolution without resolved", `UPDATE cases SET resolution = 'corrected' WHERE id = ?`, `UPDATE cases SET status = 'resolved', resolution = 'corrected' WHERE id = ?`, []any{f.kase}, "cases_resolution_with_resolved", models.IsCheckViolation},
			{"reopened keeping its resolution", `UPDATE cases SET status = 'investigating' WHERE id = ?`, `UPDATE cases SET status = 'investigating', resolution = NULL WHERE id = ?`, []any{f.kase}, "cases_resolution_with_resolved", models.IsCheckViolation},
			{"wrong_account without intended account", `UPDATE cases SET type = 'wrong_account' WHERE id = ?`, `UPDATE cases SET type = 'wrong_account', intended_account_id = customer_account_id WHERE id = ?`, []any{f.kase}, "cases_wrong_account_has_intended", models.IsCheckViolation},
			{"unknown role", sprintf(user, "x@example.com", "root"), sprintf(user, "x@example.com", "admin"), nowArgs, "role", models.IsCheckViolation},
			{"email differing only in case", sprintf(user, "AGENT@example.com", "agent"), "", nowArgs, "email", models.IsUniqueViolation},
			{"customer account with reserved prefix", sprintf(acct, "system:mine"), sprintf(acct, "systems-mine"), nowArgs, "customer_accounts_system", models.IsCheckViolation},
			{"reserved prefix in capitals", sprintf(acct, "SYSTEM:mine"), "", nowArgs, "customer_accounts_system", models.IsCheckViolation},
			{"account id with a space", sprintf(acct, "has space"), sprintf(acct, "has.no_space:1-2"), nowArgs, "account_id", models.IsCheckViolation},
			{"account id longer than 64", sprintf(acct, strings.Repeat("A", 65)), sprintf(acct, strings.Repeat("A", 64)), nowArgs, "account_id", models.IsCheckViolation},
			{"evidence sha256 in capitals", `INSERT INTO evidence_files (sha256, size, content_type, created_at) VALUES ('` + strings.Repeat("AB", 32) + `', 10, 'image/png', ?)`,
				`INSERT INTO evidence_files (sha256, size, content_type, created_at) VALUES ('` + strings.Repeat("ab", 32) + `', 10, 'image/png', ?)`, []any{now}, "sha256", models.IsCheckViolation},
			{"requester approves own correction", `INSERT INTO correction_approvals (correction_id, requested_by_id, approver_id, created_at) VALUES (?, ?, ?, ?)`, "",
				[]any{f.correction, f.user, f.user, now}, "correction_approvals_four_eyes", models.IsCheckViolation},
			{"approval misstating the requester", `INSERT INTO correction_approvals (correction_id, requested_by_id, approver_id, created_at) VALUES (?, ?, ?, ?)`, "",
				[]any{f.correction, f.supervisor, f.user, now}, "", models.IsForeignKeyViolation},
			{"freeze facts on a card that is not frozen", `UPDATE gift_cards SET frozen_reason = 'stolen', frozen_by_id = ? WHERE id = ?`,
				`UPDATE gift_cards SET frozen = TRUE, frozen_reason = 'stolen', frozen_by_id = ? WHERE id = ?`, []any{f.user, f.card}, "gift_cards_freeze_facts_only_when_frozen", models.IsCheckViolation},
			{"empty freeze reason", `UPDATE gift_cards SET frozen_reason = '' WHERE id = ?`, "", []any{f.card}, "frozen_reason", models.IsCheckViolation},
			{"card on a case that does not exist", `INSERT INTO case_cards (case_id, card_id, added_at) VALUES (424242, ?, ?)`, `INSERT INTO case_cards (case_id, card_id, added_at) VALUES (?, ?, ?)`,
				[]any{f.card, now}, "", models.IsForeignKeyViolation},
		}
		for _, c := range cases {
			err := db.Exec(c.bad, c.args...).Error
			switch {
			case err == nil:
				t.Errorf("%s: accepted, want a refusal", c.name)
			case !c.kind(err):
				t.Errorf("%s: err = %v, want another kind of refusal", c.name, err)
			// gorm's SQLite translator replaces a unique violation by a bare ErrDuplicatedKey, so
			// the constraint can only be named on PostgreSQL there.
			case c.fragment != "" && err != gorm.ErrDuplicatedKey && !strings.Contains(err.Error(), c.fragment):
				t.Errorf("%s: refused by the wrong constraint: %v (want %s)", c.name, err, c.fragment)
			}
			if c.good == "" {
				continue
			}
			args := c.args
			if strings.HasPrefix(c.name, "card on a case") {
				args = append([]any{f.kase}, args...)
			}
			if err := db.Exec(c.good, args...).Error; err != nil {
				t.Errorf("%s: the fixed row was refused too: %v", c.name, err)
			}
		}
	})
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func TestAppendOnlyTablesRefuseUpdateAndDelete(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		now := models.Now()
		modelstest.Exec(t, db, `INSERT INTO communications (case_id, channel, direction, occurred_at, body, author_id, recorded_at) VALUES (?, 'phone', 'inbound', ?, 'called', ?, ?)`, f.kase, now, f.user, now)
		modelstest.Exec(t, db, `INSERT INTO correction_approvals (correction_id, requested_by_id, approver_id, created_at) VALUES (?, ?, ?, ?)`, f.correction, f.user, f.supervisor, now)
		modelstest.Exec(t, db, `INSERT INTO postings (correction_id, account_id, amount_minor, currency, created_at) VALUES (?, ?, 500, 'USD', ?)`, f.correction, f.account, now)
		ev := models.AuditEvent{OccurredAt: now, ActorType: "cli", Action: "test", EntityType: "case", EntityID: "1"}
		if err := models.InsertAuditEvent(context.Background(), db, &ev); err != nil {
			t.Fatal(err)
		}
		modelstest.Exec(t, db, `INSERT INTO audit_seals (seq, event_id, hash, sealed_at) VALUES (1, ?, ?, ?)`, ev.ID, make([]byte, 32), now)
		for _, table := range []string{"communications", "correction_approvals", "postings", "audit_events", "audit_seals"} {
			before := modelstest.Count(t, db, `SELECT count(*) FROM `+table)
			if before != 1 {
				t.Fatalf("%s has %d rows before the test, want 1", table, before)
			}
			for _, stmt := range []string{`UPDATE ` + table + ` SET created_at = created_at`, `DELETE FROM ` + table} {
				if strings.HasPrefix(table, "communications") || strings.HasPrefix(table, "audit_") {
					stmt = strings.Replace(stmt, "created_at = created_at", firstTimeColumn[table]+" = "+firstTimeColumn[table], 1)
				}
				if err := db.Exec(stmt).Error; !models.IsAppendOnlyViolation(err) {
					t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
				}
			}
			after := modelstest.Count(t, db, `SELECT count(*) FROM `+table)
			if after != 1 {
				t.Errorf("%s lost rows to a refused delete", table)
			}
			if models.DialectOf(db) == models.Postgres {
				if err := db.Exec(`TRUNCATE ` + table + ` CASCADE`).Error; !models.IsAppendOnlyViolation(err) {
					t.Errorf("TRUNCATE %s: err = %v, want refusal", table, err)
				}
			}
		}
	})
}

var firstTimeColumn = map[string]string{"communications": "recorded_at", "audit_events": "occurred_at", "audit_seals": "sealed_at"}

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
