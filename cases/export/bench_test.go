package export_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/export"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// BenchmarkExport measures the CSV and JSON Lines exports against PostgreSQL's own limit in the
// same run: COPY (SELECT …) TO STDOUT of the same rows, the CSV's columns computed the same way
// (cards joined by ";", corrected sums, the first external reference), and the JSON objects built
// by PostgreSQL (copy-json). See BENCHMARKS.md §11.
//
// By default it fills a fresh PostgreSQL test database with GIFTDESK_EXPORT_BENCH_CASES cases
// (10,000 when unset). With GIFTDESK_EXPORT_BENCH_URL it reads that database instead, as it is
// (e.g. after `giftdesk seed --cases 1000000`), or, with GIFTDESK_EXPORT_BENCH_FILL=N and no case
// in it, fills it first with N cases the way the default does (a migrated database whose master
// key is the test suite's: GIFTDESK_SECRET_KEY=$(printf '%s' 'giftdesk test master key' | sha256sum)).
//
//	go test ./cases/export/ -run '^$' -bench Export -benchtime 3x
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	db, rows := benchDatabase(b)
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	ex := export.New(desk, export.Config{TmpDir: b.TempDir()})
	perOp := map[string]time.Duration{}
	measure := func(name string, run func(w io.Writer) error) {
		b.Run(name, func(b *testing.B) {
			var out countingWriter
			for b.Loop() {
				out.n = 0
				if err := run(&out); err != nil {
					b.Fatal(err)
				}
			}
			per := b.Elapsed() / time.Duration(b.N)
			perOp[name] = per
			b.ReportMetric(float64(rows)/per.Seconds(), "cases/s")
			b.ReportMetric(float64(out.n)/per.Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(out.n), "bytes/export")
		})
	}
	if models.DialectOf(db) == models.Postgres {
		measure("copy", func(w io.Writer) error { return copyOut(ctx, db, copySQL, w) })
		measure("copy-json", func(w io.Writer) error { return copyOut(ctx, db, copyJSONSQL, w) })
	}
	for _, format := range []export.Format{export.CSV, export.JSONL} {
		plan, err := export.Check(nil, export.Request{Format: format})
		if err != nil {
			b.Fatal(err)
		}
		measure(string(format), func(w io.Writer) error {
			res, err := ex.Run(ctx, cases.CLIActor, plan, w)
			if err == nil && res.Rows != rows {
				err = fmt.Errorf("%d rows exported of %d", res.Rows, rows)
			}
			return err
		})
	}
	for _, vs := range [][2]string{{"csv", "copy"}, {"jsonl", "copy"}, {"jsonl", "copy-json"}} {
		if t, c := perOp[vs[0]], perOp[vs[1]]; t > 0 && c > 0 {
			b.Logf("%d cases: %s export at %.2f × %s's throughput (%s vs %s per export)", rows, vs[0], c.Seconds()/t.Seconds(), vs[1],
				t.Round(time.Millisecond), c.Round(time.Millisecond))
		}
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// copySQL is the CSV export's rows as one PostgreSQL statement: the baseline, shared with
// giftdesk-bench (bench/export_csv_copy.sql).
var copySQL = func() string {
	b, err := os.ReadFile("../../bench/export_csv_copy.sql")
	if err != nil {
		panic(err)
	}
	return strings.TrimSuffix(strings.TrimSpace(string(b)), ";")
}()

// copyJSONSQL is the JSON Lines export's objects as PostgreSQL builds them: the case with its
// customer, cards, links, references, communications and corrections (approvals, reversals and
// the SLA's breach flag left out), one per line. The baseline of the JSON Lines export.
const copyJSONSQL = `COPY (SELECT json_build_object('ref', c.ref, 'type', c.type, 'status', c.status, 'resolution', c.resolution,
	'priority', c.priority, 'summary', c.summary, 'description', c.description,
	'customer', json_build_object('account_id', a.account_id, 'marketplace', a.marketplace, 'email', a.email, 'name', a.name),
	'intended_account', (SELECT json_build_object('account_id', i.account_id, 'marketplace', i.marketplace, 'email', i.email, 'name', i.name)
		FROM customer_accounts i WHERE i.id = c.intended_account_id),
	'cards', COALESCE((SELECT json_agg(json_build_object('id', g.id::text, 'last4', g.claim_code_last4, 'serial', g.serial,
			'face_value_minor', g.face_value_minor, 'currency', g.currency, 'marketplace', g.marketplace, 'status', g.status, 'frozen', g.frozen,
			'frozen_by', fu.email, 'frozen_at', g.frozen_at, 'frozen_reason', g.frozen_reason, 'redeemed_to', ra.account_id,
			'redeemed_at', g.redeemed_at, 'hints', g.claim_code_hints) ORDER BY cc.added_at, g.id)
		FROM case_cards cc JOIN gift_cards g ON g.id = cc.card_id LEFT JOIN users fu ON fu.id = g.frozen_by_id
		LEFT JOIN customer_accounts ra ON ra.id = g.redeemed_to_account_id WHERE cc.case_id = c.id), '[]'),
	'flags', c.flags,
	'duplicates', COALESCE((SELECT json_agg(o.ref ORDER BY o.ref) FROM case_links l JOIN cases o ON o.id = l.other_case_id WHERE l.case_id = c.id), '[]'),
	'assignee', u.email,
	'externals', COALESCE((SELECT json_agg(json_build_object('system', e.system, 'id', e.external_id, 'url', e.url) ORDER BY e.id)
		FROM case_external_refs e WHERE e.case_id = c.id), '[]'),
	'tags', c.tags,
	'sla', json_build_object('first_response_due', c.first_response_due, 'first_response_at', c.first_responded_at, 'resolution_due', c.resolution_due),
	'created_at', c.created_at, 'updated_at', c.updated_at, 'version', c.version,
	'communications', COALESCE((SELECT json_agg(json_build_object('id', m.id::text, 'channel', m.channel, 'direction', m.direction,
			'occurred_at', m.occurred_at, 'counterpart_name', m.counterpart_name, 'representative_name', m.representative_name,
			'reference', m.reference, 'duration_seconds', m.duration_seconds, 'body', m.body, 'supersedes', m.supersedes_id::text,
			'author', au.email, 'recorded_at', m.recorded_at) ORDER BY m.occurred_at, m.id)
		FROM communications m JOIN users au ON au.id = m.author_id WHERE m.case_id = c.id), '[]'),
	'corrections', COALESCE((SELECT json_agg(json_build_object('id', k.id::text, 'case', c.ref, 'kind', k.kind, 'status', k.status,
			'amount_minor', k.amount_minor, 'currency', k.currency, 'from_account', fa.account_id, 'to_account', ta.account_id,
			'card_id', k.card_id::text, 'reason', k.reason, 'required_approvals', k.required_approvals, 'requested_by', ru.email,
			'denial_reason', k.denial_reason, 'reverses', k.reverses_id::text, 'created_at', k.created_at, 'decided_at', k.decided_at) ORDER BY k.id)
		FROM corrections k JOIN customer_accounts fa ON fa.id = k.from_account_id JOIN customer_accounts ta ON ta.id = k.to_account_id
		JOIN users ru ON ru.id = k.requested_by_id WHERE k.case_id = c.id), '[]'))
	FROM cases c JOIN customer_accounts a ON a.id = c.customer_account_id LEFT JOIN users u ON u.id = c.assignee_id
	ORDER BY c.id) TO STDOUT`

func copyOut(ctx context.Context, db *gorm.DB, statement string, w io.Writer) error {
	// Without the desk's statement timeout (a COPY of a million cases outlasts it), then back.
	return models.WithPgxConn(ctx, db, func(c *pgx.Conn) error {
		pg := c.PgConn()
		if err := pg.Exec(ctx, `SET statement_timeout = 0`).Close(); err != nil {
			return err
		}
		_, err := pg.CopyTo(ctx, w, statement)
		return errors.Join(err, pg.Exec(ctx, `RESET statement_timeout`).Close())
	})
}

// benchDatabase returns the database to export and its number of cases.
func benchDatabase(b *testing.B) (*gorm.DB, int64) {
	ctx := context.Background()
	var db *gorm.DB
	fill := envInt(b, "GIFTDESK_EXPORT_BENCH_CASES", 10000)
	if url := os.Getenv("GIFTDESK_EXPORT_BENCH_URL"); url != "" {
		var err error
		if db, err = models.Open(ctx, models.Options{URL: url}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = models.Close(db) })
		fill = envInt(b, "GIFTDESK_EXPORT_BENCH_FILL", 0)
	} else {
		db = modelstest.Open(b, models.Postgres)
	}
	var n int64
	if err := db.Raw(`SELECT count(*) FROM cases`).Scan(&n).Error; err != nil {
		b.Fatal(err)
	}
	if n == 0 && fill > 0 {
		start := time.Now()
		fillCases(b, db, fill)
		n = int64(fill)
		b.Logf("filled %d cases in %s", n, time.Since(start).Round(time.Millisecond))
	}
	if n == 0 {
		b.Skip("no case to export")
	}
	return db, n
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		b.Fatalf("%s=%q: want a number of cases", name, s)
	}
	return n
}

// fillCases writes n cases with set-based statements (PostgreSQL): 1.25 cards, 2 communications,
// a third of a correction (applied credits) and half an external reference per case on average,
// a third of the cases assigned, created over the past year.
func fillCases(b *testing.B, db *gorm.DB, n int) {
	ctx := context.Background()
	if models.DialectOf(db) != models.Postgres {
		b.Skip("filling is written for PostgreSQL")
	}
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	for _, email := range []string{"bench-agent@example.com", "bench-sup@example.com"} {
		if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: "Bench", Role: cases.RoleSupervisor, Password: "correct horse battery"}); err != nil &&
			!strings.Contains(err.Error(), "already exists") {
			b.Fatal(err)
		}
	}
	accounts := max(n/3, 1)
	stmts := []string{
		`CREATE TEMP TABLE bench_mp (k INT PRIMARY KEY, mp TEXT, cur TEXT) ON COMMIT DROP`,
		`INSERT INTO bench_mp VALUES (0, 'US', 'USD'), (1, 'UK', 'GBP'), (2, 'DE', 'EUR'), (3, 'JP', 'JPY')`,
		fmt.Sprintf(`INSERT INTO customer_accounts (account_id, marketplace, email, name, created_at, updated_at)
			SELECT 'ACC' || i, m.mp, 'customer' || i || '@example.com', 'Customer ' || i, now(), now()
			FROM generate_series(0, %d) i JOIN bench_mp m ON m.k = i %% 4 ON CONFLICT (account_id) DO NOTHING`, accounts-1),
		fmt.Sprintf(`INSERT INTO cases (ref, type, status, priority, customer_account_id, assignee_id, summary, description, created_at, updated_at)
			SELECT 'GD-' || lpad(i::text, 7, '0'),
				(ARRAY['unactivated_card','regional_mismatch','code_problem','scam_victim','promo_credit','unexpected_charge','other'])[1 + i %% 7],
				(ARRAY['new','investigating','waiting_on_customer'])[1 + i %% 3],
				(ARRAY['low','normal','normal','high','urgent'])[1 + i %% 5],
				a.id,
				CASE WHEN i %% 3 = 0 THEN (SELECT id FROM users WHERE email = 'bench-agent@example.com') END,
				'Card problem reported by phone, case ' || i, repeat('The customer explained what happened. ', 8),
				now() - (i %% 365) * interval '1 day' - (i %% 86400) * interval '1 second', now()
			FROM generate_series(1, %d) i JOIN customer_accounts a ON a.account_id = 'ACC' || (i %% %d)`, n, accounts),
		`SELECT setval('case_ref_seq', (SELECT count(*) FROM cases) + 1)`,
		// One card per case, a second on every fourth.
		`INSERT INTO gift_cards (claim_code_hmac, claim_code_last4, serial, marketplace, currency, face_value_minor, created_at, updated_at)
			SELECT decode(md5('c' || c.id) || md5('d' || c.id), 'hex'), upper(right(md5('c' || c.id), 4)), 'S' || c.id, a.marketplace, m.cur,
				(1 + c.id % 20) * 500, now(), now()
			FROM cases c JOIN customer_accounts a ON a.id = c.customer_account_id JOIN bench_mp m ON m.mp = a.marketplace`,
		`INSERT INTO case_cards (case_id, card_id, added_at) SELECT c.id, g.id, c.created_at FROM cases c JOIN gift_cards g ON g.serial = 'S' || c.id`,
		`INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, created_at, updated_at)
			SELECT 'T' || c.id, a.marketplace, m.cur, 2500, now(), now()
			FROM cases c JOIN customer_accounts a ON a.id = c.customer_account_id JOIN bench_mp m ON m.mp = a.marketplace WHERE c.id % 4 = 0`,
		`INSERT INTO case_cards (case_id, card_id, added_at) SELECT c.id, g.id, c.created_at + interval '1 minute' FROM cases c JOIN gift_cards g ON g.serial = 'T' || c.id`,
		`INSERT INTO communications (case_id, channel, direction, occurred_at, counterpart_name, representative_name, reference, body, author_id, recorded_at)
			SELECT c.id, (ARRAY['phone','email'])[1 + k], (ARRAY['inbound','outbound'])[1 + k], c.created_at + k * interval '1 hour',
				'Customer', 'Rep ' || (c.id % 50), 'REF-' || c.id || '-' || k, repeat('We spoke about the card and its balance. ', 5),
				(SELECT id FROM users WHERE email = 'bench-agent@example.com'), c.created_at + k * interval '1 hour'
			FROM cases c CROSS JOIN generate_series(0, 1) k`,
		`INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, card_id, reason,
				requested_by_id, required_approvals, decided_by_id, created_at, updated_at, decided_at)
			SELECT c.id, 'credit', 'applied', 500, g.currency, (SELECT id FROM customer_accounts WHERE account_id = 'system:goodwill'),
				c.customer_account_id, g.id, 'goodwill after review',
				(SELECT id FROM users WHERE email = 'bench-agent@example.com'), 1, (SELECT id FROM users WHERE email = 'bench-sup@example.com'),
				c.created_at, c.created_at, c.created_at
			FROM cases c JOIN gift_cards g ON g.serial = 'S' || c.id WHERE c.id % 3 = 0`,
		`INSERT INTO case_external_refs (case_id, system, external_id, created_at) SELECT id, 'zendesk', 'Z' || id, created_at FROM cases WHERE id % 2 = 0`,
	}
	// One transaction, without the desk's statement timeout: a million rows take longer.
	if err := db.Transaction(func(tx *gorm.DB) error {
		for _, s := range append([]string{`SET LOCAL statement_timeout = 0`}, stmts...) {
			if err := tx.Exec(s).Error; err != nil {
				return fmt.Errorf("%w\n%s", err, s)
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := db.Exec(`VACUUM ANALYZE`).Error; err != nil {
		b.Fatal(err)
	}
}
