package casestest

import (
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
)

// Violations checks, on a PostgreSQL desk, the invariants that no crash, database fault or
// concurrency may break, and returns one line per violation (none when all hold):
//
//   - R8: every applied (or since reversed) correction has exactly its two postings, -amount on its
//     from account and +amount on its to account in its currency; no posting belongs to a
//     correction that is not applied; postings sum to zero per correction and per currency;
//   - R5: an applied correction has exactly the approvals its amount requires under th (the
//     dual-approval table the desk ran with), one that is not applied has fewer, and the number it
//     requires is th's;
//   - R7: no card carries more applied, non-reversed transfers and credits than its face value;
//     reversals are paired: a reversed correction has exactly one applied reversal, an applied
//     reversal's original is reversed, a pending one's still applied, and a reversal mirrors its
//     original (amount, currency, card, accounts swapped);
//   - R8, R10, SPEC 4.3: every committed change has exactly one audit event and, for the changes a
//     webhook announces, exactly one outbox row, and no event or row announces a change that is not
//     there (case creations, communications, evidence and its verdicts, correction requests,
//     approvals, applications, denials and cancellations).
//
// The desk must have been written through its use cases only: `giftdesk seed` loads rows without
// their events. The audit chain itself is `giftdesk audit verify`'s to check.
func Violations(ctx context.Context, db *gorm.DB, th cases.Thresholds) ([]string, error) {
	if models.DialectOf(db) != models.Postgres {
		return nil, fmt.Errorf("casestest.Violations reads PostgreSQL only")
	}
	db = db.WithContext(ctx)
	var out []string
	for _, c := range ledgerChecks {
		lines, err := queryLines(db, c.query)
		if err != nil {
			return out, fmt.Errorf("%s: %w", c.name, err)
		}
		for _, l := range lines {
			out = append(out, c.name+": "+l)
		}
	}
	lines, err := thresholdViolations(db, th)
	if err != nil {
		return out, err
	}
	out = append(out, lines...)
	for _, r := range recordChecks {
		lines, err := queryLines(db, r.query())
		if err != nil {
			return out, fmt.Errorf("%s: %w", r.what, err)
		}
		for _, l := range lines {
			out = append(out, r.what+": "+l)
		}
	}
	return out, nil
}

func queryLines(db *gorm.DB, query string) ([]string, error) {
	var lines []string
	if err := db.Raw(query).Scan(&lines).Error; err != nil {
		return nil, err
	}
	return lines, nil
}

// ledgerChecks are the money rules, each a query answering one line per violation.
var ledgerChecks = []struct{ name, query string }{
	{"R8 applied correction without exactly its postings", `
		SELECT format('correction %s (%s) has %s postings, not -%s on account %s and +%s on account %s in %s',
			c.id, c.status, count(p.id), c.amount_minor, c.from_account_id, c.amount_minor, c.to_account_id, c.currency)
		FROM corrections c LEFT JOIN postings p ON p.correction_id = c.id
		WHERE c.status IN ('applied', 'reversed')
		GROUP BY c.id
		HAVING count(p.id) <> 2
			OR count(p.id) FILTER (WHERE p.account_id = c.from_account_id AND p.amount_minor = -c.amount_minor AND p.currency = c.currency) <> 1
			OR count(p.id) FILTER (WHERE p.account_id = c.to_account_id AND p.amount_minor = c.amount_minor AND p.currency = c.currency) <> 1
		ORDER BY c.id`},
	{"R8 posting without an applied correction", `
		SELECT format('posting %s of %s %s belongs to correction %s, which is %s', p.id, p.amount_minor, p.currency, c.id, c.status)
		FROM postings p JOIN corrections c ON c.id = p.correction_id
		WHERE c.status NOT IN ('applied', 'reversed') ORDER BY p.id`},
	{"ledger postings do not sum to zero", `
		SELECT format('postings in %s sum to %s', currency, sum(amount_minor)) FROM postings
		GROUP BY currency HAVING sum(amount_minor) <> 0
		UNION ALL
		SELECT format('correction %s''s postings in %s sum to %s', correction_id, currency, sum(amount_minor)) FROM postings
		GROUP BY correction_id, currency HAVING sum(amount_minor) <> 0`},
	{"R5 approvals", `
		SELECT format('correction %s (%s) has %s approvals; it requires %s', c.id, c.status, count(a.id), c.required_approvals)
		FROM corrections c LEFT JOIN correction_approvals a ON a.correction_id = c.id
		GROUP BY c.id
		HAVING (c.status IN ('applied', 'reversed') AND count(a.id) <> c.required_approvals)
			OR (c.status NOT IN ('applied', 'reversed') AND count(a.id) >= c.required_approvals)
		UNION ALL
		SELECT format('correction %s (%s) was decided by user %s, who did not approve it', c.id, c.status, c.decided_by_id)
		FROM corrections c
		WHERE c.status IN ('applied', 'reversed') AND NOT EXISTS (
			SELECT 1 FROM correction_approvals a WHERE a.correction_id = c.id AND a.approver_id = c.decided_by_id)`},
	{"R7 card over its face value", `
		SELECT format('card %s carries %s applied of a face value of %s', g.id, sum(c.amount_minor), g.face_value_minor)
		FROM gift_cards g JOIN corrections c ON c.card_id = g.id AND c.kind IN ('transfer', 'credit') AND c.status = 'applied'
		GROUP BY g.id HAVING sum(c.amount_minor) > g.face_value_minor
		UNION ALL
		SELECT format('correction %s is in %s on a card in %s', c.id, c.currency, g.currency)
		FROM corrections c JOIN gift_cards g ON g.id = c.card_id WHERE c.currency <> g.currency`},
	{"R7 reversal not paired", `
		SELECT format('correction %s is reversed by %s applied reversals', o.id, count(r.id))
		FROM corrections o LEFT JOIN corrections r ON r.reverses_id = o.id AND r.status = 'applied'
		WHERE o.status = 'reversed' GROUP BY o.id HAVING count(r.id) <> 1
		UNION ALL
		SELECT format('reversal %s is %s but its original %s is %s', r.id, r.status, o.id, o.status)
		FROM corrections r JOIN corrections o ON o.id = r.reverses_id
		WHERE (r.status = 'applied' AND o.status <> 'reversed') OR (r.status = 'pending' AND o.status <> 'applied')
		UNION ALL
		SELECT format('reversal %s does not mirror correction %s', r.id, o.id)
		FROM corrections r JOIN corrections o ON o.id = r.reverses_id
		WHERE r.amount_minor <> o.amount_minor OR r.currency <> o.currency OR r.from_account_id <> o.to_account_id
			OR r.to_account_id <> o.from_account_id OR r.card_id IS DISTINCT FROM o.card_id OR o.kind = 'reversal'`},
}

// thresholdViolations checks that each correction requires the approvals R5's table gives its
// amount and currency.
func thresholdViolations(db *gorm.DB, th cases.Thresholds) ([]string, error) {
	var rows []struct {
		ID                int64
		AmountMinor       int64
		Currency          string
		RequiredApprovals int
	}
	if err := db.Raw(`SELECT id, amount_minor, currency, required_approvals FROM corrections ORDER BY id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("R5 thresholds: %w", err)
	}
	var out []string
	for _, r := range rows {
		if want := th.RequiredApprovals(r.AmountMinor, cases.Currency(r.Currency)); r.RequiredApprovals != want {
			out = append(out, fmt.Sprintf("R5 thresholds: correction %d of %d %s requires %d approvals, the table says %d",
				r.ID, r.AmountMinor, r.Currency, r.RequiredApprovals, want))
		}
	}
	return out, nil
}

// recordCheck pairs a kind of committed change with its audit event and its outbox row: three
// queries answering a key k (the change's id as text), joined so that a change without exactly one
// of each, or an event or row without its change, is a violation.
type recordCheck struct {
	what   string
	rows   string // the changes: SELECT … AS k
	audit  string // their audit events: SELECT … AS k FROM audit_events WHERE …
	outbox string // their outbox rows, "" for a change no webhook announces
}

func (r recordCheck) query() string {
	outbox, outboxWant := r.outbox, "o.n IS DISTINCT FROM 1"
	if outbox == "" {
		outbox, outboxWant = "SELECT NULL::text AS k WHERE false", "o.n IS NOT NULL"
	}
	return `WITH r AS (` + r.rows + `),
		a AS (SELECT k, count(*) AS n FROM (` + r.audit + `) x GROUP BY k),
		o AS (SELECT k, count(*) AS n FROM (` + outbox + `) y GROUP BY k)
		SELECT format('%s: %s, %s audit events, %s outbox rows', k,
			CASE WHEN r.k IS NULL THEN 'not there' ELSE 'committed' END, coalesce(a.n, 0), coalesce(o.n, 0))
		FROM r FULL JOIN a USING (k) FULL JOIN o USING (k)
		WHERE r.k IS NULL OR a.n IS DISTINCT FROM 1 OR ` + outboxWant + `
		ORDER BY k`
}

// recordChecks are the changes the use cases write with their audit event and outbox row (R8).
var recordChecks = []recordCheck{
	{what: "case created", rows: `SELECT ref AS k FROM cases`,
		audit:  `SELECT entity_id AS k FROM audit_events WHERE action = 'case.created' AND entity_type = 'case'`,
		outbox: `SELECT payload->>'ref' AS k FROM outbox WHERE event_type = 'case.created'`},
	{what: "communication", rows: `SELECT id::text AS k FROM communications`,
		audit:  `SELECT after_state->>'id' AS k FROM audit_events WHERE action = 'communication.created'`,
		outbox: `SELECT payload->'communication'->>'id' AS k FROM outbox WHERE event_type = 'communication.created'`},
	{what: "evidence", rows: `SELECT id::text AS k FROM evidence`,
		audit:  `SELECT after_state->>'id' AS k FROM audit_events WHERE action = 'evidence.added'`,
		outbox: `SELECT payload->>'id' AS k FROM outbox WHERE event_type = 'evidence.added'`},
	{what: "evidence verdict", rows: `SELECT id::text AS k FROM evidence WHERE verification <> 'unverified'`,
		audit: `SELECT entity_id AS k FROM audit_events WHERE entity_type = 'evidence' AND action IN ('evidence.verified', 'evidence.rejected')`},
	{what: "correction requested", rows: `SELECT id::text AS k FROM corrections`,
		audit:  `SELECT entity_id AS k FROM audit_events WHERE entity_type = 'correction' AND action = 'correction.requested'`,
		outbox: `SELECT payload->>'id' AS k FROM outbox WHERE event_type = 'correction.requested'`},
	{what: "approval", rows: `SELECT correction_id::text || '/' || approver_id::text AS k FROM correction_approvals`,
		audit: `SELECT entity_id || '/' || actor_user_id::text AS k FROM audit_events
			WHERE entity_type = 'correction' AND action IN ('correction.approved', 'correction.applied')`},
	{what: "correction applied", rows: `SELECT id::text AS k FROM corrections WHERE status IN ('applied', 'reversed')`,
		audit: `SELECT entity_id AS k FROM audit_events WHERE entity_type = 'correction' AND action = 'correction.applied'`,
		// A reversal's application is announced as correction.reversed, any other as correction.applied.
		outbox: `SELECT payload->>'id' AS k FROM outbox
			WHERE (event_type = 'correction.applied' AND payload->>'kind' <> 'reversal')
				OR (event_type = 'correction.reversed' AND payload->>'kind' = 'reversal')`},
	{what: "correction denied", rows: `SELECT id::text AS k FROM corrections WHERE status = 'denied'`,
		audit:  `SELECT entity_id AS k FROM audit_events WHERE entity_type = 'correction' AND action = 'correction.denied'`,
		outbox: `SELECT payload->>'id' AS k FROM outbox WHERE event_type = 'correction.denied'`},
	{what: "correction cancelled", rows: `SELECT id::text AS k FROM corrections WHERE status = 'cancelled'`,
		audit: `SELECT entity_id AS k FROM audit_events WHERE entity_type = 'correction' AND action = 'correction.cancelled'`},
}

// ClaimCodeForms are the ways a claim code could sit in a file or a row in clear: as given, and
// normalised (upper case, separators removed, R1).
func ClaimCodeForms(code string) []string {
	plain := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	if plain == code {
		return []string{code}
	}
	return []string{code, plain}
}

// codeFinder finds any of many strings in a text in one pass: each is indexed by its first four
// bytes, so the cost grows with the text, not with the number of codes (a long crash run sends
// hundreds of codes and scans every row after each round).
type codeFinder map[string][]codeForm

type codeForm struct {
	form string
	code int
}

// newCodeFinder indexes each form of each code; forms must be at least four bytes long (claim
// codes are ten or more).
func newCodeFinder(codes []string, forms func(string) []string) codeFinder {
	f := codeFinder{}
	for i, code := range codes {
		for _, form := range forms(code) {
			f[form[:4]] = append(f[form[:4]], codeForm{form, i})
		}
	}
	return f
}

// find calls found with the index of every code text holds, once per occurrence.
func (f codeFinder) find(text string, found func(code int)) {
	for i := 0; i+4 <= len(text); i++ {
		for _, c := range f[text[i:i+4]] {
			if strings.HasPrefix(text[i:], c.form) {
				found(c.code)
			}
		}
	}
}

// FilesHoldingCodes walks dir and returns "file holds claim code n" for every file that holds one
// of codes in clear (R1), in any of ClaimCodeForms.
func FilesHoldingCodes(dir string, codes []string) ([]string, error) {
	finder := newCodeFinder(codes, ClaimCodeForms)
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		found := map[int]bool{}
		finder.find(string(content), func(code int) {
			if !found[code] {
				found[code] = true
				out = append(out, fmt.Sprintf("%s holds claim code %d", rel, code))
			}
		})
		return nil
	})
	return out, err
}

// RowsHoldingCodes reads every row of every table of the desk's schema as text and returns
// "table: a row holds claim code n" for every table one of whose rows holds one of codes in clear
// (R1), in any case, as text or inside a bytea column (which PostgreSQL shows in hex: a stored
// answer, an uploaded file).
func RowsHoldingCodes(ctx context.Context, db *gorm.DB, codes []string) ([]string, error) {
	if models.DialectOf(db) != models.Postgres {
		return nil, fmt.Errorf("casestest.RowsHoldingCodes reads PostgreSQL only")
	}
	db = db.WithContext(ctx)
	var tables []string
	if err := db.Raw(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`).Scan(&tables).Error; err != nil {
		return nil, err
	}
	finder := newCodeFinder(codes, func(code string) []string {
		var forms []string
		for _, f := range ClaimCodeForms(code) {
			forms = append(forms, strings.ToUpper(f), strings.ToUpper(hex.EncodeToString([]byte(f))))
		}
		return forms
	})
	var out []string
	for _, table := range tables {
		rows, err := db.Raw(`SELECT t::text FROM ` + table + ` t`).Rows()
		if err != nil {
			return out, fmt.Errorf("read %s: %w", table, err)
		}
		found := map[int]bool{}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				rows.Close()
				return out, err
			}
			finder.find(strings.ToUpper(row), func(code int) {
				if !found[code] {
					found[code] = true
					out = append(out, fmt.Sprintf("%s: a row holds claim code %d", table, code))
				}
			})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
