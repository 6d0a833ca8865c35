package cases

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// MinMasterKeyBytes is the shortest master key accepted (SPEC 4.1).
const MinMasterKeyBytes = 32

// ParseMasterKey reads GIFTDESK_SECRET_KEY's form: 64 or more hex characters (tried first),
// else standard base64, decoding to at least 32 bytes. The error never repeats the value.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2*MinMasterKeyBytes {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("must be 64+ hex characters or standard base64 of at least 32 bytes")
	}
	if len(b) < MinMasterKeyBytes {
		return nil, errors.New("must decode to at least 32 bytes")
	}
	return b, nil
}

// Keys holds the per-purpose subkeys derived from the master key with HKDF-SHA256, so that a
// leak of one (a session store, say) reveals nothing about the others.
type Keys struct {
	ClaimCode   ClaimCodeKey
	Session     []byte
	Token       []byte
	Webhook     []byte // encrypts webhook secrets at rest
	Audit       []byte // keys the audit hash chain, so that rewriting it needs the master key
	Throttle    []byte // hashes the emails counted by sign-in throttling
	Idempotency []byte // keys the hash of remembered requests, whose bodies may hold claim codes
	Fingerprint string // identifies the master key without revealing it; stored in the database
}

// DeriveKeys derives every subkey from master.
func DeriveKeys(master []byte) (Keys, error) {
	if len(master) < MinMasterKeyBytes {
		return Keys{}, errors.New("master key shorter than 32 bytes")
	}
	derive := func(purpose string) ([]byte, error) {
		return hkdf.Key(sha256.New, master, nil, "giftdesk/v1/"+purpose, 32)
	}
	var k Keys
	var err error
	var claim, fp []byte
	if claim, err = derive("claim-code"); err != nil {
		return Keys{}, err
	}
	if k.Session, err = derive("session"); err != nil {
		return Keys{}, err
	}
	if k.Token, err = derive("api-token"); err != nil {
		return Keys{}, err
	}
	if k.Webhook, err = derive("webhook-secret"); err != nil {
		return Keys{}, err
	}
	if k.Audit, err = derive("audit-chain"); err != nil {
		return Keys{}, err
	}
	if k.Throttle, err = derive("login-throttle"); err != nil {
		return Keys{}, err
	}
	if k.Idempotency, err = derive("idempotency"); err != nil {
		return Keys{}, err
	}
	if fp, err = derive("fingerprint"); err != nil {
		return Keys{}, err
	}
	k.ClaimCode = ClaimCodeKey(claim)
	k.Fingerprint = hex.EncodeToString(fp[:16])
	return k, nil
}
