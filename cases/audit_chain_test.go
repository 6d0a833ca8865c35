package cases_test

import (
	"context"
	"fmt"
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

// clock is a settable test clock at microsecond precision.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func deskWithClock(db *gorm.DB, c *clock) *cases.Desk {
	return cases.New(cases.Config{DB: db, Keys: casestest.Keys, Now: c.Now})
}

// writer makes the user whose tokens the tests create, directly in the table so that it writes no
// audit event of its own.
func writer(t *testing.T, db *gorm.DB) {
	t.Helper()
	now := models.Now()
	u := models.User{Email: "writer@example.com", Name: "Writer", Role: "agent", PasswordHash: "unused", Active: true, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateUser(context.Background(), db, &u); err != nil && !models.IsUniqueViolation(err) {
		t.Fatal(err)
	}
}

// writeEvent produces one audit event through a real use case: creating an API token, which is
// cheap (no password hashing), so that concurrency tests measure the database, not argon2.
func writeEvent(desk *cases.Desk, name string) error {
	_, _, err := desk.CreateToken(context.Background(), cases.CLIActor, cases.NewToken{Email: "writer@example.com",
		Name: name, Scopes: []cases.Scope{cases.ScopeCasesRead}})
	return err
}

// writeEvents produces n audit events.
func writeEvents(t *testing.T, db *gorm.DB, desk *cases.Desk, prefix string, n int) {
	t.Helper()
	writer(t, db)
	for i := 0; i < n; i++ {
		if err := writeEvent(desk, fmt.Sprintf("%s%d", prefix, i)); err != nil {
			t.Fatal(err)
		}
	}
}

func mustSeal(t *testing.T, desk *cases.Desk) int {
	t.Helper()
	n, err := desk.SealPass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustVerify(t *testing.T, desk *cases.Desk) cases.AuditReport {
	t.Helper()
	r, err := desk.VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAuditChainSealsAndVerifies(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		c := newClock()
		desk := deskWithClock(db, c)
		writeEvents(t, db, desk, "a", 5)
		if n := mustSeal(t, desk); n != 5 {
			t.Fatalf("sealed %d, want 5", n)
		}
		if n := mustSeal(t, desk); n != 0 {
			t.Fatalf("second pass sealed %d, want 0", n)
		}
		writeEvents(t, db, desk, "b", 3)
		mustSeal(t, desk)
		r := mustVerify(t, desk)
		if !r.Intact() || r.Sealed != 8 || r.Pending != 0 {
			t.Fatalf("report %+v, want 8 sealed and intact", r)
		}
		var head []byte
		if err := db.Raw(`SELECT hash FROM audit_seals WHERE seq = 8`).Row().Scan(&head); err != nil {
			t.Fatal(err)
		}
		if r.HeadSeq != 8 || r.HeadHash != fmt.Sprintf("%x", head) {
			t.Fatalf("report names head %d %s, want seal 8's %x", r.HeadSeq, r.HeadHash, head)
		}
		// A fresh unchained event is fine for a minute, then it is a failure.
		writeEvents(t, db, desk, "c", 1)
		if r := mustVerify(t, desk); !r.Intact() || r.Pending != 1 {
			t.Fatalf("fresh unchained event: %+v", r)
		}
		c.Advance(61 * time.Second)
		r = mustVerify(t, desk)
		if r.Intact() || !strings.Contains(r.Problem, "unchained") || r.BadEvent == 0 {
			t.Fatalf("event unchained for 61 s: %+v", r)
		}
		// Sealing it now does not hide that it waited too long.
		mustSeal(t, desk)
		if r := mustVerify(t, desk); r.Intact() || !strings.Contains(r.Problem, "left unchained too long") {
			t.Fatalf("late seal: %+v", r)
		}
	})
}

func TestAuditTamperingIsFound(t *testing.T) {
	tamper := []struct {
		name   string
		do     func(t *testing.T, db *gorm.DB, victim int64)
		expect string
	}{
		{"altered", func(t *testing.T, db *gorm.DB, victim int64) {
			modelstest.DisableAppendOnly(t, db, "audit_events")
			modelstest.Exec(t, db, `UPDATE audit_events SET action = 'user.deleted' WHERE id = ?`, victim)
		}, "altered"},
		{"after_state altered", func(t *testing.T, db *gorm.DB, victim int64) {
			modelstest.DisableAppendOnly(t, db, "audit_events")
			modelstest.Exec(t, db, `UPDATE audit_events SET after_state = NULL WHERE id = ?`, victim)
		}, "altered"},
		{"deleted with triggers disabled", func(t *testing.T, db *gorm.DB, victim int64) {
			modelstest.DisableAppendOnly(t, db, "audit_events")
			modelstest.DisableAppendOnly(t, db, "audit_seals")
			modelstest.Exec(t, db, `DELETE FROM audit_seals WHERE event_id = ?`, victim)
			modelstest.Exec(t, db, `DELETE FROM audit_events WHERE id = ?`, victim)
		}, "missing"},
		{"seal rewritten", func(t *testing.T, db *gorm.DB, victim int64) {
			modelstest.DisableAppendOnly(t, db, "audit_seals")
			modelstest.Exec(t, db, `UPDATE audit_seals SET hash = ? WHERE event_id = ?`, make([]byte, 32), victim)
		}, "altered"},
		{"inserted out of the chain", func(t *testing.T, db *gorm.DB, victim int64) {
			modelstest.Exec(t, db, `INSERT INTO audit_events (occurred_at, actor_type, action, entity_type, entity_id) VALUES (?, 'cli', 'user.created', 'user', '999')`,
				time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		}, "unchained"},
		{"dated in the future", func(t *testing.T, db *gorm.DB, victim int64) {
			modelstest.Exec(t, db, `INSERT INTO audit_events (occurred_at, actor_type, action, entity_type, entity_id) VALUES (?, 'cli', 'user.created', 'user', '999')`,
				time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
		}, "future"},
		{"hidden behind the head", func(t *testing.T, db *gorm.DB, victim int64) {
			// Placed where the sealer no longer looks: an old transaction id on PostgreSQL, a
			// low id on SQLite. Dated now, so only its place betrays it.
			if models.DialectOf(db) == models.Postgres {
				modelstest.Exec(t, db, `INSERT INTO audit_events (occurred_at, actor_type, action, entity_type, entity_id, xact_id) VALUES (?, 'cli', 'user.created', 'user', '999', 3)`,
					time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
			} else {
				modelstest.Exec(t, db, `INSERT INTO audit_events (id, occurred_at, actor_type, action, entity_type, entity_id) VALUES (-5, ?, 'cli', 'user.created', 'user', '999')`,
					time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
			}
		}, "inserted out of the chain"},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
				c := newClock()
				desk := deskWithClock(db, c)
				writeEvents(t, db, desk, "t", 4)
				mustSeal(t, desk)
				if r := mustVerify(t, desk); !r.Intact() {
					t.Fatalf("intact chain reported broken: %+v", r)
				}
				victim := modelstest.Count(t, db, `SELECT event_id FROM audit_seals WHERE seq = 2`)
				tt.do(t, db, victim)
				r := mustVerify(t, desk)
				if r.Intact() || !strings.Contains(r.Problem, tt.expect) {
					t.Fatalf("after tampering: %+v, want a problem about %q", r, tt.expect)
				}
				if (tt.expect == "altered" || tt.expect == "missing") && r.BadSeq != 2 {
					t.Fatalf("first bad seq = %d, want 2: %s", r.BadSeq, r.Problem)
				}
			})
		})
	}
}

func TestConcurrentSealersChainOnce(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		desk := deskWithClock(db, newClock())
		writeEvents(t, db, desk, "s", 30)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := desk.SealPass(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		mustSeal(t, desk)
		r := mustVerify(t, desk)
		if !r.Intact() || r.Sealed != 30 {
			t.Fatalf("report %+v, want 30 sealed once", r)
		}
	})
}

// TestWritersNeverWaitForTheChain holds the sealer's lock in an open transaction while 50
// writers record events concurrently: they all finish, so no writer takes that lock (R10). Then
// the chain seals and verifies.
func TestWritersNeverWaitForTheChain(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
		release := func() {}
		if models.DialectOf(db) == models.Postgres {
			held := make(chan struct{})
			done := make(chan struct{})
			go func() {
				if err := db.Transaction(func(tx *gorm.DB) error {
					ok, err := models.TrySealerLock(ctx, tx)
					if err != nil || !ok {
						t.Errorf("take sealer lock: %v %v", ok, err)
					}
					close(held)
					<-done
					return nil
				}); err != nil {
					t.Errorf("transaction holding the sealer lock: %v", err)
				}
			}()
			<-held
			release = func() { close(done) }
		}
		writer(t, db)
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- writeEvent(desk, fmt.Sprintf("w%d", i))
			}(i)
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(60 * time.Second):
			t.Fatal("writers blocked while the sealer lock was held")
		}
		elapsed := time.Since(start)
		release()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// A sealer skips while another holds the lock, then chains everything.
		deadline := time.Now().Add(10 * time.Second)
		for sealed := 0; sealed < 50 && time.Now().Before(deadline); {
			n, err := desk.SealPass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sealed += n
		}
		r := mustVerify(t, desk)
		if !r.Intact() || r.Sealed != 50 {
			t.Fatalf("after 50 concurrent writers: %+v", r)
		}
		t.Logf("50 writers finished in %s with the sealer lock held", elapsed)
	})
}

// TestLateCommitIsNeverSkipped: transaction A records an event and stays open while B records
// one and commits. B is chained at once (a long transaction must not stall the chain); once A
// commits, its event is chained too, never skipped (R10). PostgreSQL only: SQLite serialises
// writers, so there a late commit cannot happen.
func TestLateCommitIsNeverSkipped(t *testing.T) {
	db := modelstest.Open(t, models.Postgres)
	ctx := context.Background()
	c := newClock()
	desk := deskWithClock(db, c)
	event := func(tx *gorm.DB, id string) {
		e := models.AuditEvent{OccurredAt: c.Now(), ActorType: "cli", Action: "test", EntityType: "test", EntityID: id}
		if err := models.InsertAuditEvent(ctx, tx, &e); err != nil {
			t.Fatal(err)
		}
	}
	aInserted, aCommit, aDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(aDone)
		if err := db.Transaction(func(tx *gorm.DB) error {
			event(tx, "A")
			close(aInserted)
			<-aCommit
			return nil
		}); err != nil {
			t.Errorf("transaction A: %v", err)
		}
	}()
	<-aInserted
	event(db, "B")
	if n := mustSeal(t, desk); n != 1 {
		t.Fatalf("sealed %d events while an older transaction was open, want B alone", n)
	}
	event(db, "C")
	if n := mustSeal(t, desk); n != 1 {
		t.Fatalf("sealed %d, want C", n)
	}
	close(aCommit)
	<-aDone
	if n := mustSeal(t, desk); n != 1 {
		t.Fatalf("sealed %d after the late commit, want A", n)
	}
	c.Advance(30 * time.Second)
	if r := mustVerify(t, desk); !r.Intact() || r.Sealed != 3 || r.Pending != 0 {
		t.Fatalf("report %+v", r)
	}
}

// TestLongTransactionElsewhereDoesNotStallTheChain: a transaction open in another database of the
// cluster holds the snapshot xmin back; events must still be chained at once.
func TestLongTransactionElsewhereDoesNotStallTheChain(t *testing.T) {
	other := modelstest.Open(t, models.Postgres)
	db := modelstest.Open(t, models.Postgres)
	holding, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if err := other.Transaction(func(tx *gorm.DB) error {
			err := tx.Exec(`INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('LONG1', 'US', now(), now())`).Error
			close(holding)
			if err != nil {
				return err
			}
			<-release
			return nil
		}); err != nil {
			t.Errorf("the long transaction in the other database: %v", err)
		}
	}()
	<-holding
	defer func() { close(release); <-done }()
	desk := deskWithClock(db, newClock())
	writeEvents(t, db, desk, "l", 5)
	if n := mustSeal(t, desk); n != 5 {
		t.Fatalf("sealed %d of 5 while another database held a transaction open", n)
	}
}
