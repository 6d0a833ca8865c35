package cases

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// IdempotencyWindow is how long an answer is replayed (SPEC 4.2).
const IdempotencyWindow = 24 * time.Hour

// StoredAnswer is a use case's answer as the API sends it, kept for a repeated request.
type StoredAnswer struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// IdempotentRequest is an API request sent under an Idempotency-Key (SPEC 4.2). Its key is written
// with its answer in the transaction of the change it makes: a request that committed nothing
// (refused, killed, cut off from the database) leaves no trace and may be sent again; one that
// committed is answered from the store; only one that is really still running is refused.
type IdempotentRequest struct {
	Owner string
	Key   string
	Hash  []byte // RequestHash of the request
	// Answer renders the use case's result as the caller will send it; it runs inside the
	// transaction so that the stored answer commits with the change.
	Answer func(result any) (StoredAnswer, error)
}

// Replayed is the error of a use case whose request was answered before under its key: send
// Answer as it is, without running anything.
type Replayed struct{ Answer StoredAnswer }

func (r *Replayed) Error() string { return "the request was answered before under its Idempotency-Key" }

type idempotencyCtxKey struct{}

// WithIdempotency returns ctx carrying r for the use case it is passed to.
func WithIdempotency(ctx context.Context, r *IdempotentRequest) context.Context {
	return context.WithValue(ctx, idempotencyCtxKey{}, r)
}

func idempotencyOf(ctx context.Context) *IdempotentRequest {
	r, _ := ctx.Value(idempotencyCtxKey{}).(*IdempotentRequest)
	return r
}

// IdempotencyOwner names whose keys a principal uses: keys are per token (per user in the console).
func IdempotencyOwner(p Principal) string {
	if p.TokenID != 0 {
		return "token:" + strconv.FormatInt(p.TokenID, 10)
	}
	return "user:" + strconv.FormatInt(p.UserID, 10)
}

// RequestHash is what a key is bound to: the method, the path and the body. It is keyed: a body
// may hold a claim code, and a plain hash of a short, predictable body could be guessed offline.
// The body is hashed in memory and never written anywhere (R1).
func (d *Desk) RequestHash(method, path string, body []byte) []byte {
	h := d.RequestHasher(method, path)
	h.Write(body)
	return h.Sum(nil)
}

// RequestHasher returns RequestHash as a stream, for a body whose parts arrive one by one.
func (d *Desk) RequestHasher(method, path string) hash.Hash {
	h := hmac.New(sha256.New, d.keys.Idempotency)
	h.Write([]byte(method + " " + path + "\n"))
	return h
}

// ValidIdempotencyKey checks a key: 1–255 visible ASCII characters, as the usual UUIDs and ticket
// ids are.
func ValidIdempotencyKey(key string) error {
	ok := len(key) > 0 && len(key) <= 255
	for i := 0; ok && i < len(key); i++ {
		ok = key[i] >= 0x21 && key[i] <= 0x7e
	}
	if !ok {
		return Invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
	}
	return nil
}

// AnsweredBefore returns the stored answer of an earlier request under (owner, key), ErrNotFound
// when there is none (or it expired), or idempotency_mismatch when the key was used for another
// request. It is a fast path: the authoritative check runs again inside the use case's transaction.
func (d *Desk) AnsweredBefore(ctx context.Context, owner, key string, hash []byte) (StoredAnswer, error) {
	if err := ValidIdempotencyKey(key); err != nil {
		return StoredAnswer{}, err
	}
	k, err := models.GetIdempotencyKey(ctx, d.db, owner, key)
	if errors.Is(err, models.ErrNotFound) || (err == nil && d.now().Sub(k.CreatedAt) >= IdempotencyWindow) {
		return StoredAnswer{}, ErrNotFound
	}
	if err != nil {
		return StoredAnswer{}, storeErr(err)
	}
	return storedAnswer(k, hash)
}

func storedAnswer(k models.IdempotencyKey, hash []byte) (StoredAnswer, error) {
	if subtle.ConstantTimeCompare(k.RequestHash, hash) != 1 {
		return StoredAnswer{}, &RuleError{Code: CodeIdempotencyMismatch, Field: "Idempotency-Key",
			Message: "this key was used for another request; use a new key for a new request"}
	}
	if k.State != "done" || k.StatusCode == nil {
		// Left by a version before issue 19, whose request died before its answer was stored:
		// whether it committed is unknown, and twice is worse than a later retry.
		return StoredAnswer{}, &RuleError{Code: CodeIdempotencyInProgress, Field: "Idempotency-Key",
			Message: fmt.Sprintf("a request under this key was cut off before its answer was kept; whether it changed anything is unknown: look the result up, or use a new key (this one expires at %s)",
				k.CreatedAt.Add(IdempotencyWindow).UTC().Format(time.RFC3339))}
	}
	ans := StoredAnswer{Status: *k.StatusCode, Body: k.ResponseBody}
	if len(k.ResponseHeaders) > 0 {
		if err := json.Unmarshal(k.ResponseHeaders, &ans.Headers); err != nil {
			return StoredAnswer{}, err
		}
	}
	return ans, nil
}

// claimRequest runs at the start of a use case's transaction under an Idempotency-Key: it refuses
// a key whose first request is still running (409), and stops with Replayed when the request
// committed before.
func (d *Desk) claimRequest(ctx context.Context, tx *gorm.DB, r *IdempotentRequest) error {
	if err := ValidIdempotencyKey(r.Key); err != nil {
		return err
	}
	h := sha256.Sum256([]byte(r.Owner + "\x00" + r.Key))
	free, err := models.TryRequestLock(ctx, tx, int32(binary.BigEndian.Uint32(h[:4])), int32(binary.BigEndian.Uint32(h[4:8])))
	if err != nil {
		return err
	}
	if !free {
		return &RuleError{Code: CodeIdempotencyInProgress, Field: "Idempotency-Key",
			Message: "the first request with this key is still running; retry in a moment"}
	}
	k, err := models.GetIdempotencyKey(ctx, tx, r.Owner, r.Key)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.now().Sub(k.CreatedAt) >= IdempotencyWindow {
		return models.DeleteIdempotencyKey(ctx, tx, r.Owner, r.Key)
	}
	ans, err := storedAnswer(k, r.Hash)
	if err != nil {
		return err
	}
	return &Replayed{Answer: ans}
}

// recordAnswer stores the request's answer in the transaction that made its change.
func (d *Desk) recordAnswer(ctx context.Context, tx *gorm.DB, r *IdempotentRequest, result any) error {
	ans, err := r.Answer(result)
	if err != nil {
		return err
	}
	headers, err := json.Marshal(ans.Headers)
	if err != nil {
		return err
	}
	now := d.now()
	status := ans.Status
	return models.InsertIdempotencyKey(ctx, tx, &models.IdempotencyKey{Owner: r.Owner, Key: r.Key, RequestHash: r.Hash,
		State: "done", StatusCode: &status, ResponseHeaders: models.JSONDoc(headers), ResponseBody: ans.Body,
		CreatedAt: now, CompletedAt: &now})
}
