package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// Bulk loading for the seed generator (cases/seed): many rows, one transaction. PostgreSQL gets
// COPY (pgx CopyFrom) on one connection; SQLite gets multi-row INSERTs. Rows go in with their ids,
// which the caller takes from ranges it reserved first (SeedReserve, SeedReserveCaseNumbers): the
// identities and the case number sequence are ahead of the rows before a row is written, so that a
// seed that stops midway, or a desk writing beside it, never finds the numbering behind the data.

// SeedTables are the tables the generator writes, in an order that satisfies every foreign key
// when each batch is written table by table.
var SeedTables = []string{
	"customer_accounts", "gift_cards", "cases", "case_cards", "case_links", "case_external_refs",
	"communications", "evidence_files", "evidence_file_chunks", "evidence", "corrections",
	"correction_approvals", "postings", "audit_events", "audit_seals",
}

// seedIdentities are the SeedTables with an id column the generator numbers.
var seedIdentities = []string{
	"customer_accounts", "gift_cards", "cases", "case_external_refs", "communications", "evidence_files",
	"evidence", "corrections", "correction_approvals", "postings", "audit_events",
}

// SeedBounds are what a seed reserves its ranges from, read before the load (the load may lock
// the tables): the lowest id each table may still hand out, and on PostgreSQL its sequence.
type SeedBounds struct {
	// Floor is one past the largest id of each table: a reserved range never starts below it.
	Floor map[string]int64
	// seq is each table's identity sequence (PostgreSQL).
	seq map[string]string
}

// SeedStart reads the bounds a seed reserves its ranges from.
func SeedStart(ctx context.Context, db *gorm.DB) (SeedBounds, error) {
	b := SeedBounds{Floor: map[string]int64{}, seq: map[string]string{}}
	pg := DialectOf(db) == Postgres
	for _, t := range seedIdentities {
		var max sql.NullInt64
		if err := db.WithContext(ctx).Raw(`SELECT MAX(id) FROM ` + t).Scan(&max).Error; err != nil {
			return b, err
		}
		b.Floor[t] = max.Int64 + 1
		if pg {
			var seq string
			if err := db.WithContext(ctx).Raw(`SELECT pg_get_serial_sequence(?, 'id')`, t).Scan(&seq).Error; err != nil {
				return b, err
			}
			if seq == "" {
				return b, fmt.Errorf("seed: %s has no identity sequence", t)
			}
			b.seq[t] = seq
		}
	}
	return b, nil
}

// SeedReserve reserves n consecutive ids of table and returns the first: the table's identity
// moves past them at once, committed before any of them is used. It touches no table but the
// identity's counter, so it runs beside a load that holds the tables locked.
//
// On PostgreSQL, one statement draws the next value and sets the sequence past the range
// (nextval and setval are never rolled back). It takes no lock: ALTER SEQUENCE would wait for
// every open transaction that drew from the sequence, and one of those may wait for the load's
// locks. An insert drawing in the instant between the two therefore gets one of the next few
// values: the range starts seedReserveSlack values further, out of its reach. On SQLite it moves
// the table's AUTOINCREMENT counter (sqlite_sequence) in a write transaction, which SQLite
// serialises with every other writer.
func SeedReserve(ctx context.Context, db *gorm.DB, b SeedBounds, table string, n int64) (int64, error) {
	floor, ok := b.Floor[table]
	if !ok || n < 1 {
		return 0, fmt.Errorf("seed: cannot reserve %d ids of %s", n, table)
	}
	if DialectOf(db) == Postgres {
		var last int64
		err := db.WithContext(ctx).Raw(`SELECT setval(?::regclass, GREATEST(nextval(?::regclass) + ?, ?) + ?)`,
			b.seq[table], b.seq[table], int64(seedReserveSlack), floor, n-1).Scan(&last).Error
		return last - n + 1, err
	}
	var first int64
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur sql.NullInt64
		if err := tx.Raw(`SELECT seq FROM sqlite_sequence WHERE name = ?`, table).Scan(&cur).Error; err != nil {
			return err
		}
		first = max(cur.Int64+1, floor)
		if cur.Valid {
			return tx.Exec(`UPDATE sqlite_sequence SET seq = ? WHERE name = ?`, first+n-1, table).Error
		}
		return tx.Exec(`INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, table, first+n-1).Error
	})
	return first, err
}

// seedReserveSlack is how many values a PostgreSQL id range keeps clear of the value SeedReserve
// drew, for inserts that drew in the same instant.
const seedReserveSlack = 1024

// SeedReserveCaseNumbers reserves n consecutive case numbers and returns the first, before the
// load begins: the desk's next case is numbered past them even if the seed writes none of them.
// On PostgreSQL the sequence is locked meanwhile (ALTER SEQUENCE makes a concurrent nextval wait),
// so that the range starts right after the last number drawn and no case is numbered inside it.
func SeedReserveCaseNumbers(ctx context.Context, db *gorm.DB, n int64) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("seed: cannot reserve %d case numbers", n)
	}
	var first int64
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if DialectOf(tx) == Postgres {
			next, err := lockedNextval(tx, "case_ref_seq")
			if err != nil {
				return err
			}
			first = next
			return tx.Exec(`SELECT setval('case_ref_seq', ?)`, first+n-1).Error
		}
		var last int64
		if err := tx.Raw(`INSERT INTO case_ref_seq (value) SELECT COALESCE(MAX(value), 0) + ? FROM case_ref_seq RETURNING value`, n).
			Scan(&last).Error; err != nil {
			return err
		}
		first = last - n + 1
		return nil
	})
	return first, err
}

// lockedNextval locks sequence seq until tx ends (ALTER SEQUENCE takes a lock that nextval
// waits for) and draws its next value.
func lockedNextval(tx *gorm.DB, seq string) (int64, error) {
	var name string
	if err := tx.Raw(`SELECT ?::regclass::text`, seq).Scan(&name).Error; err != nil {
		return 0, err
	}
	if err := tx.Exec(`ALTER SEQUENCE ` + name + ` INCREMENT BY 1`).Error; err != nil {
		return 0, err
	}
	var next int64
	err := tx.Raw(`SELECT nextval(?::regclass)`, seq).Scan(&next).Error
	return next, err
}

// CountAllCases counts the desk's cases.
func CountAllCases(ctx context.Context, db *gorm.DB) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM cases`).Scan(&n).Error
	return n, err
}

// SeedBatch is a batch of rows per table, each row in the table's SeedColumns order.
type SeedBatch map[string][][]any

// SeedColumns are the columns the generator fills, per table.
var SeedColumns = map[string][]string{
	"customer_accounts": {"id", "account_id", "is_system", "marketplace", "email", "name", "created_at", "updated_at"},
	"gift_cards": {"id", "claim_code_hmac", "claim_code_last4", "claim_code_hints", "serial", "marketplace", "currency",
		"face_value_minor", "status", "frozen", "frozen_reason", "frozen_by_id", "frozen_at", "redeemed_to_account_id",
		"redeemed_at", "created_at", "updated_at", "version"},
	"cases": {"id", "ref", "type", "status", "resolution", "priority", "customer_account_id", "intended_account_id",
		"assignee_id", "summary", "description", "tags", "flags", "first_response_due", "resolution_due",
		"first_responded_at", "resolved_at", "created_by_id", "created_at", "updated_at", "version", "change_seq"},
	"case_cards":         {"case_id", "card_id", "added_at"},
	"case_links":         {"case_id", "other_case_id", "reason", "created_at"},
	"case_external_refs": {"id", "case_id", "system", "external_id", "url", "created_at"},
	"communications": {"id", "case_id", "channel", "direction", "occurred_at", "counterpart_name", "representative_name",
		"reference", "duration_seconds", "body", "supersedes_id", "author_id", "recorded_at"},
	"evidence_files":       {"id", "sha256", "size", "content_type", "created_at"},
	"evidence_file_chunks": {"file_id", "seq", "data"},
	"evidence": {"id", "case_id", "file_id", "kind", "file_name", "uploaded_by_id", "uploaded_at", "store_name",
		"store_location", "purchased_at", "amount_minor", "currency", "card_last4", "pos_transaction_id", "note",
		"verification", "verified_by_id", "verified_at", "verification_note", "flags"},
	"corrections": {"id", "case_id", "kind", "status", "amount_minor", "currency", "from_account_id", "to_account_id",
		"card_id", "reason", "requested_by_id", "required_approvals", "reverses_id", "denial_reason", "decided_by_id",
		"created_at", "updated_at", "decided_at", "reversed_at", "version"},
	"correction_approvals": {"id", "correction_id", "requested_by_id", "approver_id", "note", "created_at"},
	"postings":             {"id", "correction_id", "account_id", "amount_minor", "currency", "created_at", "xact_id"},
	"audit_events": {"id", "occurred_at", "actor_type", "actor_user_id", "actor_token_id", "actor_label", "client_ip",
		"user_agent", "request_id", "action", "entity_type", "entity_id", "before_state", "after_state"},
	"audit_seals": {"seq", "event_id", "hash", "sealed_at", "low_water_xact"},
}

// SeedLoad is one seed's transaction.
type SeedLoad interface {
	// Write appends a batch, table by table in SeedTables order.
	Write(ctx context.Context, b SeedBatch) error
	// LowWater is the audit sealer's low-water mark for the seals this load writes (nil on SQLite).
	LowWater() *int64
	// Head is the end of the audit chain when the load began, read under the sealer's lock.
	Head() SealHead
	// Spent is the time spent writing each table so far.
	Spent() map[string]time.Duration
	// ChangeSeq is the change sequence the cases of this load carry (migration 0011): on
	// PostgreSQL the loading transaction's id, as the trigger would set it. Its postings carry it
	// as their xact_id (migration 0015), as the column's default would (0 on SQLite).
	ChangeSeq() int64
	// FinalLowWater is the low-water mark the load's last seal may carry, asked once every other
	// row is written (nil on SQLite). See pgLoad.FinalLowWater.
	FinalLowWater(ctx context.Context) (*int64, error)
}

// BulkOptions tune a load.
type BulkOptions struct {
	// Checked keeps PostgreSQL's per-row triggers (foreign-key checks) even for a superuser:
	// tests load this way so that the database checks every reference the generator wrote.
	Checked bool
	// RebuildIndexes drops the secondary indexes of the loaded tables for the load and builds
	// them again before commit, in the same transaction (PostgreSQL): building an index over a
	// million rows at once is far cheaper than growing it row by row, trigram indexes above all.
	// Worth it only when the load is larger than what the tables hold; it locks the tables for
	// the load. Tables appended in key order keep theirs (appendedInOrder).
	RebuildIndexes bool
	// SettleWait bounds how long FinalLowWater waits for older transactions to end (default 2 s).
	SettleWait time.Duration
}

// BulkLoad runs fn with a SeedLoad to write batches through. On PostgreSQL everything is one
// transaction, on a connection of its own, that holds the audit sealer's lock (so that no sealer
// chains events meanwhile and the chain fn extends stays the chain's end) and commits when fn
// succeeds; rows go in with COPY. On SQLite each batch is a transaction of its own (see below).
func BulkLoad(ctx context.Context, db *gorm.DB, opts BulkOptions, fn func(l SeedLoad) error) error {
	if DialectOf(db) == Postgres {
		return bulkLoadPostgres(ctx, db, opts, fn)
	}
	// SQLite commits each batch on its own: one transaction for the whole load kept every page it
	// wrote in memory (3.7 GB of RSS at 100,000 cases). Each batch holds whole cases with their
	// events and seals, so a load that fails midway leaves fewer cases, each complete and chained.
	head, err := LastSeal(ctx, db)
	if err != nil {
		return err
	}
	return fn(&sqliteLoad{db: db.WithContext(ctx), head: head, spent: map[string]time.Duration{}})
}

// sealerLockKey is TrySealerLock's key.
const sealerLockKey = 0x61756474

func bulkLoadPostgres(ctx context.Context, db *gorm.DB, opts BulkOptions, fn func(l SeedLoad) error) error {
	return WithPgxConn(ctx, db, func(pc *pgx.Conn) error {
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit this is a no-op
		// The desk's statement timeout guards requests; a load's COPY batches and index builds
		// run as long as the data asks (an index build at 1M passed 30 s on a loaded machine, and
		// the whole load rolled back).
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		// A sealer pass holds the lock for a moment; wait for it rather than fail.
		for attempt := 0; ; attempt++ {
			var got bool
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(sealerLockKey)).Scan(&got); err != nil {
				return err
			}
			if got {
				break
			}
			if attempt > 300 {
				return errors.New("bulk load: the audit sealer's lock stayed taken for 30 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		l := &pgLoad{tx: tx, spent: map[string]time.Duration{}, settle: opts.SettleWait}
		if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text::bigint`).Scan(&l.xact); err != nil {
			return err
		}
		if !opts.Checked {
			// A superuser may skip the per-row triggers: the foreign-key checks (the generator
			// numbers every reference itself) and cases' change_seq trigger, whose value (this
			// transaction's id) the rows then carry themselves. Anyone else loads with them.
			var super string
			if err := tx.QueryRow(ctx, `SELECT current_setting('is_superuser')`).Scan(&super); err != nil {
				return err
			}
			if super == "on" {
				if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
					return err
				}
			}
		}
		if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&l.lowWater); err != nil {
			return err
		}
		var rebuild []string
		if opts.RebuildIndexes {
			if rebuild, err = dropSecondaryIndexes(ctx, tx); err != nil {
				return err
			}
		}
		var heads []SealHead
		rows, err := tx.Query(ctx, `SELECT seq, hash, event_id, low_water_xact FROM audit_seals ORDER BY seq DESC LIMIT 1`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var h SealHead
			if err := rows.Scan(&h.Seq, &h.Hash, &h.EventID, &h.LowWaterXact); err != nil {
				rows.Close()
				return err
			}
			heads = append(heads, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(heads) > 0 {
			l.head = heads[0]
		}
		if err := fn(l); err != nil {
			return err
		}
		if len(rebuild) > 0 {
			start := time.Now()
			// Enough for the largest rebuilt index, audit events by entity (9.2 million entries at a
			// million cases), to sort in memory rather than on disk.
			if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '1GB'`); err != nil {
				return err
			}
			for _, def := range rebuild {
				if _, err := tx.Exec(ctx, def); err != nil {
					return fmt.Errorf("rebuild index: %w", err)
				}
			}
			l.spent["(indexes rebuilt)"] = time.Since(start)
		}
		return tx.Commit(ctx)
	})
}

type pgLoad struct {
	tx       pgx.Tx
	xact     int64
	lowWater int64
	head     SealHead
	spent    map[string]time.Duration
	settle   time.Duration
}

// FinalLowWater returns the low-water mark for the load's last seal. The load's seals carry the
// mark of its start, below its own transaction: the sealer's next pass would scan from there and
// anti-join every event the load wrote (12 s at a million cases) to find none unsealed, and go on
// doing so at every pass until a new event moves the mark. The last seal may carry a mark past the
// load's own transaction when that is true of it: no older transaction that could write this
// database's events is running (transactions of other databases in the cluster cannot: they are
// not waited for; it waits up to SettleWait for the others to end), and every event of the older
// ones is chained, which the seed's own events are and the others are checked for, from the
// chain's mark at the start of the load. Otherwise it returns the start's mark, and the next pass
// scans, as before.
func (l *pgLoad) FinalLowWater(ctx context.Context) (*int64, error) {
	start := l.lowWater
	wait := l.settle
	if wait <= 0 {
		wait = 2 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		// The activity view is read once per transaction unless cleared.
		if _, err := l.tx.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
			return nil, err
		}
		var older bool
		if err := l.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = current_database()
				AND a.pid <> pg_backend_pid() AND a.backend_xid IS NOT NULL AND age(a.backend_xid) > age($1::text::xid8::xid))
			OR EXISTS (SELECT 1 FROM pg_prepared_xacts p WHERE p.database = current_database()
				AND age(p.transaction) > age($1::text::xid8::xid))`, strconv.FormatInt(l.xact, 10)).Scan(&older); err != nil {
			return nil, err
		}
		if !older {
			break
		}
		if time.Now().After(deadline) {
			return &start, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	from := int64(0)
	if l.head.LowWaterXact != nil {
		from = *l.head.LowWaterXact
	}
	// The tables' statistics predate the load: keep the planner on the transaction index.
	if _, err := l.tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		return nil, err
	}
	var unchained bool
	if err := l.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit_events e WHERE e.xact_id >= $1 AND e.xact_id < $2
		AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id))`, from, l.xact).Scan(&unchained); err != nil {
		return nil, err
	}
	if _, err := l.tx.Exec(ctx, `SET LOCAL enable_seqscan = on`); err != nil {
		return nil, err
	}
	if unchained {
		return &start, nil
	}
	past := l.xact + 1
	return &past, nil
}

func (l *pgLoad) Spent() map[string]time.Duration { return l.spent }
func (l *pgLoad) ChangeSeq() int64                { return l.xact }

func (l *pgLoad) LowWater() *int64 { v := l.lowWater; return &v }
func (l *pgLoad) Head() SealHead   { return l.head }

func (l *pgLoad) Write(ctx context.Context, b SeedBatch) error {
	for _, t := range SeedTables {
		rows := b[t]
		if len(rows) == 0 {
			continue
		}
		start := time.Now()
		if _, err := l.tx.CopyFrom(ctx, pgx.Identifier{t}, SeedColumns[t], pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
		l.spent[t] += time.Since(start)
	}
	return nil
}

type sqliteLoad struct {
	db    *gorm.DB
	head  SealHead
	spent map[string]time.Duration
}

func (l *sqliteLoad) Spent() map[string]time.Duration { return l.spent }

// ChangeSeq is 0 on SQLite: its insert trigger numbers each case's change itself.
func (l *sqliteLoad) ChangeSeq() int64 { return 0 }

func (l *sqliteLoad) LowWater() *int64 { return nil }

// FinalLowWater is nil on SQLite, whose seals carry no mark.
func (l *sqliteLoad) FinalLowWater(context.Context) (*int64, error) { return nil, nil }
func (l *sqliteLoad) Head() SealHead                                { return l.head }

// sqliteMaxParams stays well under SQLite's bound on host parameters per statement (32766 since
// 3.32); larger statements were no faster.
const sqliteMaxParams = 8192

func (l *sqliteLoad) Write(ctx context.Context, b SeedBatch) error {
	return l.db.Transaction(func(tx *gorm.DB) error { return l.write(ctx, tx, b) })
}

func (l *sqliteLoad) write(ctx context.Context, tx *gorm.DB, b SeedBatch) error {
	for _, t := range SeedTables {
		rows := b[t]
		cols := SeedColumns[t]
		per := sqliteMaxParams / len(cols)
		start := time.Now()
		for len(rows) > 0 {
			// Statements of a few fixed sizes: gorm keeps every distinct statement prepared for the
			// connection's life, and a statement per batch remainder grew the heap by gigabytes.
			n := per
			for n > len(rows) {
				n /= 2
			}
			chunk := rows[:n]
			rows = rows[n:]
			var sb strings.Builder
			sb.WriteString("INSERT INTO " + t + " (" + strings.Join(cols, ", ") + ") VALUES ")
			one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
			args := make([]any, 0, n*len(cols))
			for i, r := range chunk {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString(one)
				args = append(args, r...)
			}
			if err := tx.WithContext(ctx).Exec(sb.String(), args...).Error; err != nil {
				return fmt.Errorf("insert %s: %w", t, err)
			}
		}
		l.spent[t] += time.Since(start)
	}
	return nil
}

// SeedFinish refreshes the planner's statistics after a seed (autovacuum may be off, and a
// million fresh rows otherwise plan as an empty table). The identities and the case numbers need
// no moving: the seed reserved its ranges before writing (SeedReserve).
func SeedFinish(ctx context.Context, db *gorm.DB) error {
	if DialectOf(db) != Postgres {
		return db.WithContext(ctx).Exec(`ANALYZE`).Error
	}
	// As long as it takes, past the desk's statement timeout.
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SET LOCAL statement_timeout = 0`).Error; err != nil {
			return err
		}
		return tx.Exec(`ANALYZE`).Error
	})
}

// keptDuringLoad are the indexes a seed fills in key order (events and postings by transaction, communications
// by case, seals and numbers as they are drawn), or the events' entity index, which costs less
// grown during the load than built after it (at 1,000,000 cases: 14 s more COPY against an 18 s
// sort of 9.2 million entries). Every other index of the seed's tables that no foreign key depends
// on is dropped for the load and built again, unique ones included, whose build checks the rows as
// the load would have: random keys (claim-code HMACs, serials, file hashes, account ids) cost far
// more inserted one by one (gift_cards 15.9 s of COPY at 1M with its keys, 9.9 s without; the
// keys built after in under 2 s).
var keptDuringLoad = []string{
	"audit_events_entity", "audit_events_xact", "audit_seals_event_id_key", "cases_ref_key", "communications_case",
	"communications_supersedes_id_key", "correction_approvals_correction_id_approver_id_key",
	"postings_correction_id_account_id_key", "postings_xact",
}

// dropSecondaryIndexes drops the indexes of the seed's tables that no primary key or foreign key
// needs, but those of keptDuringLoad, and returns the statements that make them again exactly as
// the migrations did: CREATE INDEX for a plain index, ADD CONSTRAINT for a unique constraint.
func dropSecondaryIndexes(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT t.relname, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
			c.conname, pg_get_constraintdef(c.oid)
		FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
			LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = t.oid
		WHERE t.relname = ANY($1) AND t.relnamespace = current_schema()::regnamespace
			AND NOT i.indisprimary AND NOT i.indexrelid::regclass::text = ANY($2)
			AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
		ORDER BY 2`, SeedTables, keptDuringLoad)
	if err != nil {
		return nil, err
	}
	var drops, defs []string
	for rows.Next() {
		var table, index, indexDef string
		var constraint, constraintDef *string
		if err := rows.Scan(&table, &index, &indexDef, &constraint, &constraintDef); err != nil {
			rows.Close()
			return nil, err
		}
		if constraint != nil {
			t, c := pgx.Identifier{table}.Sanitize(), pgx.Identifier{*constraint}.Sanitize()
			drops = append(drops, `ALTER TABLE `+t+` DROP CONSTRAINT `+c)
			defs = append(defs, `ALTER TABLE `+t+` ADD CONSTRAINT `+c+` `+*constraintDef)
			continue
		}
		drops = append(drops, `DROP INDEX `+pgx.Identifier{index}.Sanitize())
		defs = append(defs, indexDef)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, d := range drops {
		if _, err := tx.Exec(ctx, d); err != nil {
			return nil, err
		}
	}
	return defs, nil
}

// WithPgxConn runs fn on one connection of db's pool as pgx sees it, for what gorm cannot do
// (COPY in and out); the connection goes back to the pool after. PostgreSQL only.
func WithPgxConn(ctx context.Context, db *gorm.DB, fn func(*pgx.Conn) error) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection (%T)", dc)
		}
		return fn(sc.Conn())
	})
}
