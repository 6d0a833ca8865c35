package cases

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Password length bounds. The upper bound keeps a hostile input from costing more than a normal one.
const (
	MinPasswordRunes = 12
	MaxPasswordBytes = 1024
)

// CheckPasswordPolicy refuses passwords shorter than 12 characters or absurdly long.
func CheckPasswordPolicy(pw string) error {
	if !utf8.ValidString(pw) {
		return Invalid("password", "must be valid UTF-8 text")
	}
	if utf8.RuneCountInString(pw) < MinPasswordRunes {
		return Invalid("password", fmt.Sprintf("must be at least %d characters", MinPasswordRunes))
	}
	if len(pw) > MaxPasswordBytes {
		return Invalid("password", fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes))
	}
	return nil
}

// argonSlots bounds concurrent argon2id work: each run holds 19 MiB and a core, and a burst of
// sign-in attempts must queue rather than exhaust memory.
var argonSlots = make(chan struct{}, max(2, runtime.NumCPU()))

func argonKey(pw, salt []byte, iters, mem uint32, threads uint8, keyLen uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	return argon2.IDKey(pw, salt, iters, mem, threads, keyLen)
}

// HashPassword returns the argon2id hash of pw in the PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argonKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime,
		argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the PHC-format hash, in constant time.
func VerifyPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("unknown password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("unsupported argon2 version")
	}
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil {
		return false, errors.New("bad argon2 parameters")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("bad argon2 salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false, errors.New("bad argon2 key")
	}
	if mem > 4*argonMemoryKiB || iters > 10 || threads > 8 || len(want) > 64 {
		return false, errors.New("argon2 parameters out of range")
	}
	got := argonKey([]byte(pw), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// randomPassword returns a password for the bootstrap admin: crypto/rand's 26-character base32
// text, 128 bits.
func randomPassword() string { return rand.Text() }
