package cases

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"

	"gorm.io/gorm"
)

// webhookSecretAAD binds a sealed webhook secret to its purpose.
var webhookSecretAAD = []byte("giftdesk/v1/webhook-secret")

// SealWebhookSecret encrypts a webhook endpoint's signing secret with the webhook subkey
// (AES-256-GCM, a random nonce before the ciphertext): the desk must sign with the secret, so it
// is stored encrypted rather than hashed, and a copy of the database alone does not reveal it.
func (d *Desk) SealWebhookSecret(secret []byte) ([]byte, error) {
	aead, err := webhookAEAD(d.keys.Webhook)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, secret, webhookSecretAAD), nil
}

// OpenWebhookSecret decrypts what SealWebhookSecret sealed.
func (d *Desk) OpenWebhookSecret(sealed []byte) ([]byte, error) {
	aead, err := webhookAEAD(d.keys.Webhook)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("webhook secret: sealed value too short")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], webhookSecretAAD)
}

func webhookAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// DoAnswering is Do for a use case of a sub-package that an API request may send under an
// Idempotency-Key: result returns what fn produced, stored with the change when ctx carries the
// request (WithIdempotency), so that the key is consumed exactly when the change commits.
func (d *Desk) DoAnswering(ctx context.Context, a Actor, result func() any, fn func(w *Work) error) error {
	if w := workOf(ctx); w != nil {
		return storeErr(fn(w))
	}
	return d.inTxAnswering(ctx, result, func(tx *gorm.DB) error {
		w := &Work{desk: d, Tx: tx, Actor: a, Now: d.now()}
		w.ctx = context.WithValue(ctx, workCtxKey{}, w)
		return fn(w)
	})
}
