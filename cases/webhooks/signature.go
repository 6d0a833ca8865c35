// Package webhooks sends the desk's events to the endpoints administrators register (SPEC 4.3,
// issue 23): endpoints with their signing secrets, the URL checks, Standard Webhooks signatures
// and the dispatcher that turns outbox events into deliveries and sends them.
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret, as Standard Webhooks writes them.
const SecretPrefix = "whsec_"

// secretBytes is the length of a generated secret: 256 bits.
const secretBytes = 32

// Secrets of other lengths are refused: under 24 bytes is too weak, over 64 is not a key but a
// mistake.
const minSecretBytes, maxSecretBytes = 24, 64

// NewSecret draws a secret and returns it in its written form (whsec_ and base64) and as the
// key it stands for.
func NewSecret() (string, []byte, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", nil, err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), key, nil
}

// ParseSecret reads a secret written as whsec_ and standard base64 and returns its key.
func ParseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New("must start with " + SecretPrefix + " followed by base64")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("must be " + SecretPrefix + " followed by standard base64")
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, errors.New("must decode to 24 to 64 bytes")
	}
	return key, nil
}

// Sign returns the Standard Webhooks signature of one message: "v1," and the base64 of
// HMAC-SHA256 over "id.timestamp.body" keyed by key.
func Sign(key []byte, id string, at time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(at.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignatureHeader is the webhook-signature header for a message signed with each of keys,
// space-separated: during a rotation the receiver may still know only the previous secret.
func SignatureHeader(keys [][]byte, id string, at time.Time, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, at, body)
	}
	return strings.Join(sigs, " ")
}

// Verify reports whether header (a webhook-signature value) holds a v1 signature of the message
// made with key. It is what a receiver does; the desk's tests use it.
func Verify(key []byte, id, timestamp string, body []byte, header string) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	want := Sign(key, id, time.Unix(sec, 0), body)
	for _, sig := range strings.Fields(header) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
