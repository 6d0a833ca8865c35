package cases

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// What the bulk generator (cases/seed) needs from the desk and nothing else may use: it writes
// rows the use cases would have written, in bulk, and must hash claim codes and chain audit events
// exactly as the desk does, so that a claim-code look-up finds a seeded card and `audit verify`
// passes.

// BulkDB is the desk's database for cases/seed, which loads generated rows in bulk: in one
// transaction of its own on PostgreSQL (COPY), a transaction per batch on SQLite. Nothing else
// writes through it: every other change goes through a
// use case or Do, and is audited there.
func (d *Desk) BulkDB(ctx context.Context) *gorm.DB { return d.db.WithContext(ctx) }

// ClaimCodeHMAC is R1's stored form of a claim code, keyed as every look-up keys it.
func (d *Desk) ClaimCodeHMAC(c ClaimCode) []byte { return d.keys.ClaimCode.Sum(c) }

// DualApproval returns the desk's dual-approval thresholds (R5).
func (d *Desk) DualApproval() Thresholds { return d.thresholds }

// SLA returns the desk's first-response and resolution targets.
func (d *Desk) SLA() SLATargets { return d.sla }

// SealChain extends the audit hash chain (R10) from a head, seal by seal, with the sealer's own
// hash: the chain `audit verify` recomputes. It is for cases/seed, which dates each seal just after
// its event (events of the past, sealed as a live sealer would have sealed them).
type SealChain struct {
	d    *Desk
	head models.SealHead
	mac  hash.Hash
}

// ChainAfter returns a chain continuing head (the zero head starts a new chain).
func (d *Desk) ChainAfter(head models.SealHead) *SealChain {
	return &SealChain{d: d, head: head, mac: hmac.New(sha256.New, d.keys.Audit)}
}

// Seal returns the next seal of the chain for event e and makes it the head.
func (c *SealChain) Seal(e models.AuditEvent, sealedAt time.Time, lowWater *int64) models.AuditSeal {
	s := models.AuditSeal{Seq: c.head.Seq + 1, EventID: e.ID, SealedAt: sealedAt.UTC().Truncate(time.Microsecond), LowWaterXact: lowWater}
	s.Hash = c.d.chainHash(c.head.Hash, s, e)
	c.head = models.SealHead{Seq: s.Seq, Hash: s.Hash, EventID: e.ID, LowWaterXact: lowWater}
	return s
}

// SealCanonical is Seal for an event whose before and after documents are already canonical:
// json.Marshal of maps (sorted keys, compact), which canonicalJSON would give back unchanged. It
// skips re-encoding them, the seed's largest cost; a document that is not canonical makes `audit
// verify` fail, which the seed's tests check.
func (c *SealChain) SealCanonical(e models.AuditEvent, sealedAt time.Time, lowWater *int64) models.AuditSeal {
	s := models.AuditSeal{Seq: c.head.Seq + 1, EventID: e.ID, SealedAt: sealedAt.UTC().Truncate(time.Microsecond), LowWaterXact: lowWater}
	s.Hash = c.d.chainHashOf(c.mac, c.head.Hash, s, e, nullIfEmpty(e.BeforeState), nullIfEmpty(e.AfterState))
	c.head = models.SealHead{Seq: s.Seq, Hash: s.Hash, EventID: e.ID, LowWaterXact: lowWater}
	return s
}

func nullIfEmpty(d models.JSONDoc) json.RawMessage {
	if len(d) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(d)
}

// Head is the chain's current end.
func (c *SealChain) Head() models.SealHead { return c.head }
