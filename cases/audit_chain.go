package cases

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// R10: events are written with the change they record, by any number of writers that never wait
// on each other; afterwards one sealer at a time appends (seq, event, hash) rows to audit_seals.
// Each hash is HMAC-SHA256(audit subkey, previous hash ‖ canonical encoding of seal and event).

// MaxUnchained is how long an event may stay unchained before verification fails (R10).
const MaxUnchained = 60 * time.Second

const sealBatch = 500

// SealPass chains every event that can be chained now and returns how many it sealed. It does
// nothing when another sealer holds the lock. Safe to call from any number of processes.
func (d *Desk) SealPass(ctx context.Context) (int, error) {
	sealed := 0
	err := d.inTx(ctx, func(tx *gorm.DB) error {
		sealed = 0
		ok, err := models.TrySealerLock(ctx, tx)
		if err != nil || !ok {
			return err
		}
		// Taken before reading any event: everything older is final and will be drained below.
		lowWater, err := models.SealLowWater(ctx, tx)
		if err != nil {
			return err
		}
		head, err := models.LastSeal(ctx, tx)
		if err != nil {
			return err
		}
		scan := head
		for {
			events, err := models.SealableEvents(ctx, tx, scan, sealBatch)
			if err != nil {
				return err
			}
			for i := range events {
				e := events[i]
				seal := models.AuditSeal{Seq: head.Seq + 1, EventID: e.ID, SealedAt: d.now(), LowWaterXact: lowWater}
				seal.Hash = d.chainHash(head.Hash, seal, e)
				if err := models.InsertSeal(ctx, tx, &seal); err != nil {
					return err
				}
				head = models.SealHead{Seq: seal.Seq, Hash: seal.Hash, EventID: e.ID, LowWaterXact: lowWater}
				sealed++
			}
			// The next batch continues from where this one read, not from the new low water.
			if len(events) > 0 {
				scan.EventID = events[len(events)-1].ID
			}
			if len(events) < sealBatch {
				return nil
			}
		}
	})
	return sealed, err
}

// canonicalEvent fixes the bytes an event and its seal hash to: stable field order, UTC times at
// microsecond precision, JSON documents re-encoded with sorted keys, so that the stored row
// re-hashes to the same bytes on either database.
type canonicalEvent struct {
	Seq          int64           `json:"seq"`
	SealedAt     string          `json:"sealed_at"`
	ID           int64           `json:"id"`
	OccurredAt   string          `json:"occurred_at"`
	ActorType    string          `json:"actor_type"`
	ActorUserID  *int64          `json:"actor_user_id"`
	ActorTokenID *int64          `json:"actor_token_id"`
	ActorLabel   string          `json:"actor_label"`
	ClientIP     string          `json:"client_ip"`
	UserAgent    string          `json:"user_agent"`
	RequestID    string          `json:"request_id"`
	Action       string          `json:"action"`
	EntityType   string          `json:"entity_type"`
	EntityID     string          `json:"entity_id"`
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
}

func canonicalTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// canonicalJSON re-encodes a stored document: PostgreSQL's jsonb reorders keys and respaces.
func canonicalJSON(doc models.JSONDoc) json.RawMessage {
	if len(doc) == 0 {
		return json.RawMessage("null")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// Not JSON any more: hash the bytes as they are, which verification will flag.
		b, _ := json.Marshal(string(doc))
		return b
	}
	b, _ := json.Marshal(v)
	return b
}

func (d *Desk) chainHash(prev []byte, s models.AuditSeal, e models.AuditEvent) []byte {
	return d.chainHashOf(hmac.New(sha256.New, d.keys.Audit), prev, s, e, canonicalJSON(e.BeforeState), canonicalJSON(e.AfterState))
}

// chainHashOf is chainHash with the event's documents already in canonical form; m is an HMAC
// keyed with the audit subkey, reset here, so that a long chain reuses one.
func (d *Desk) chainHashOf(m hash.Hash, prev []byte, s models.AuditSeal, e models.AuditEvent, before, after json.RawMessage) []byte {
	c := canonicalEvent{
		Seq: s.Seq, SealedAt: canonicalTime(s.SealedAt), ID: e.ID, OccurredAt: canonicalTime(e.OccurredAt),
		ActorType: e.ActorType, ActorUserID: e.ActorUserID, ActorTokenID: e.ActorTokenID, ActorLabel: e.ActorLabel,
		ClientIP: e.ClientIP, UserAgent: e.UserAgent, RequestID: e.RequestID, Action: e.Action,
		EntityType: e.EntityType, EntityID: e.EntityID, Before: before, After: after,
	}
	body, _ := json.Marshal(c)
	m.Reset()
	if len(prev) == 0 {
		prev = make([]byte, sha256.Size)
	}
	m.Write(prev)
	m.Write(body)
	return m.Sum(nil)
}

// AuditReport is the outcome of VerifyAudit.
type AuditReport struct {
	Sealed   int64 // events in the chain
	Pending  int64 // events recorded less than MaxUnchained ago and not chained yet
	BadEvent int64 // first bad event's id, 0 when intact (or when the bad thing is a missing seal)
	BadSeq   int64 // its place in the chain, 0 for an unchained event
	Problem  string
	// HeadSeq and HeadHash (hex) are the last seal this verification checked: the head to note
	// down as an anchor. Read within the walk, never afterwards, so that a sealer running
	// meanwhile cannot make the report name a seal it did not check.
	HeadSeq  int64
	HeadHash string
}

// Intact reports whether verification found nothing wrong.
func (r AuditReport) Intact() bool { return r.Problem == "" }

// VerifyAudit recomputes the chain and reports the first event that was altered, removed or
// inserted out of the chain, or that stayed unchained for more than MaxUnchained. A break in the
// chain is reported before lateness: a late seal must not hide tampering further on.
func (d *Desk) VerifyAudit(ctx context.Context) (AuditReport, error) {
	var r, late AuditReport
	prev := make([]byte, sha256.Size)
	next := int64(1)
	var head models.SealHead
	for {
		batch, err := models.SealsFrom(ctx, d.db, next, 1000)
		if err != nil {
			return r, storeErr(err)
		}
		for _, se := range batch {
			s, e := se.Seal, se.Event
			switch {
			case s.Seq != next:
				r.BadSeq, r.Problem = next, fmt.Sprintf("seals %d to %d are missing: chained events were removed", next, s.Seq-1)
			case e.ID == 0:
				r.BadEvent, r.BadSeq, r.Problem = s.EventID, s.Seq, fmt.Sprintf("event %d (seq %d) was removed", s.EventID, s.Seq)
			case !hmac.Equal(d.chainHash(prev, s, e), s.Hash):
				r.BadEvent, r.BadSeq, r.Problem = e.ID, s.Seq, fmt.Sprintf("event %d (seq %d) was altered, or the chain was rewritten before it", e.ID, s.Seq)
			case late.Problem == "" && (s.SealedAt.Sub(e.OccurredAt) > MaxUnchained || e.OccurredAt.Sub(s.SealedAt) > MaxUnchained):
				late.BadEvent, late.BadSeq, late.Problem = e.ID, s.Seq, fmt.Sprintf("event %d (seq %d) is dated %s and was chained %s: inserted out of the chain or left unchained too long",
					e.ID, s.Seq, canonicalTime(e.OccurredAt), canonicalTime(s.SealedAt))
			}
			if r.Problem != "" {
				return r, nil
			}
			prev, next = s.Hash, next+1
			head = models.SealHead{Seq: s.Seq, Hash: s.Hash, EventID: s.EventID, LowWaterXact: s.LowWaterXact}
			r.Sealed++
		}
		if len(batch) < 1000 {
			break
		}
	}
	behind, err := models.UnsealedBehind(ctx, d.db, head, 1)
	if err != nil {
		return r, storeErr(err)
	}
	if len(behind) > 0 {
		r.BadEvent, r.Problem = behind[0].ID, fmt.Sprintf("event %d is not chained although the chain has passed it: inserted out of the chain", behind[0].ID)
		return r, nil
	}
	now := d.now()
	outside, err := models.UnsealedOutside(ctx, d.db, now.Add(-MaxUnchained), now.Add(MaxUnchained), 1)
	if err != nil {
		return r, storeErr(err)
	}
	if len(outside) > 0 {
		e := outside[0]
		r.BadEvent = e.ID
		if e.OccurredAt.After(now) {
			r.Problem = fmt.Sprintf("event %d is dated %s, in the future, and is not chained", e.ID, canonicalTime(e.OccurredAt))
		} else {
			r.Problem = fmt.Sprintf("event %d has stayed unchained for %s (more than %s)", e.ID, now.Sub(e.OccurredAt).Round(time.Second), MaxUnchained)
		}
		return r, nil
	}
	if late.Problem != "" {
		late.Sealed = r.Sealed
		return late, nil
	}
	r.HeadSeq, r.HeadHash = head.Seq, hex.EncodeToString(head.Hash)
	events, _, err := models.CountAudit(ctx, d.db)
	if err != nil {
		return r, storeErr(err)
	}
	r.Pending = events - r.Sealed
	return r, nil
}
