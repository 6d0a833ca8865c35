package cases

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"hash"
	"strconv"
	"time"

	"giftdesk/models"
)

// IdempotencyWindow is how long an answer is replayed (SPEC 4.2).
const IdempotencyWindow = 24 * time.Hour

// StoredAnswer is a remembered API answer, replayed for a repeated request.
type StoredAnswer struct {
	Status  int
	Headers map[string]string
	Body    []byte
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
func (d *Desk) RequestHash(method, path string, body []byte) []byte {
	h := d.RequestHasher(method, path)
	h.Write(body)
	return h.Sum(nil)
}

// RequestHasher returns RequestHash as a stream, for bodies too large to hold.
func (d *Desk) RequestHasher(method, path string) hash.Hash {
	h := hmac.New(sha256.New, d.keys.Idempotency)
	h.Write([]byte(method + " " + path + "\n"))
	return h
}

// validKey accepts 1–255 visible ASCII characters, as the usual UUIDs and ticket ids are.
func validKey(key string) bool {
	if len(key) == 0 || len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// BeginIdempotent claims (owner, key) for a request. It returns the stored answer when the same
// request was answered before (replay it), nil when the caller goes ahead, or a refusal: another
// body under the key (422 idempotency_mismatch), or the first request still running (409
// idempotency_in_progress). A request whose answer was never recorded (its server died after
// committing) stays in progress until the key expires: it is never run twice.
func (d *Desk) BeginIdempotent(ctx context.Context, owner, key string, hash []byte) (*StoredAnswer, error) {
	if !validKey(key) {
		return nil, Invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
	}
	now := d.now()
	for attempt := 0; attempt < 2; attempt++ {
		claimed, err := models.ClaimIdempotencyKey(ctx, d.db, &models.IdempotencyKey{Owner: owner, Key: key,
			RequestHash: hash, State: "in_progress", CreatedAt: now})
		if err != nil {
			return nil, storeErr(err)
		}
		if claimed {
			return nil, nil
		}
		k, err := models.GetIdempotencyKey(ctx, d.db, owner, key)
		if errors.Is(err, models.ErrNotFound) {
			continue // forgotten between the two statements: claim again
		}
		if err != nil {
			return nil, storeErr(err)
		}
		if now.Sub(k.CreatedAt) >= IdempotencyWindow {
			if err := models.DeleteIdempotencyKey(ctx, d.db, owner, key); err != nil {
				return nil, storeErr(err)
			}
			continue
		}
		if subtle.ConstantTimeCompare(k.RequestHash, hash) != 1 {
			return nil, &RuleError{Code: CodeIdempotencyMismatch, Field: "Idempotency-Key",
				Message: "this key was used for another request; use a new key for a new request"}
		}
		if k.State != "done" || k.StatusCode == nil {
			return nil, &RuleError{Code: CodeIdempotencyInProgress, Field: "Idempotency-Key",
				Message: "the first request with this key has not finished; retry later or look the result up"}
		}
		ans := &StoredAnswer{Status: *k.StatusCode, Body: k.ResponseBody}
		if len(k.ResponseHeaders) > 0 {
			_ = json.Unmarshal(k.ResponseHeaders, &ans.Headers)
		}
		return ans, nil
	}
	return nil, &RuleError{Code: CodeIdempotencyInProgress, Field: "Idempotency-Key", Message: "the key is busy; retry later"}
}

// FinishIdempotent records the answer to a claimed request. Answers a retry could change
// (server errors, conflicts, rate limits) are not kept: the key is freed for the retry.
func (d *Desk) FinishIdempotent(ctx context.Context, owner, key string, ans StoredAnswer) error {
	switch {
	case ans.Status >= 500, ans.Status == 408, ans.Status == 409, ans.Status == 425, ans.Status == 429:
		return storeErr(models.DeleteIdempotencyKey(ctx, d.db, owner, key))
	}
	headers, err := json.Marshal(ans.Headers)
	if err != nil {
		return err
	}
	return storeErr(models.CompleteIdempotencyKey(ctx, d.db, owner, key, ans.Status, models.JSONDoc(headers), ans.Body, d.now()))
}
