package cases

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ClaimCode is a normalized gift-card claim code (R1). It is a secret: its String, GoString,
// JSON and slog forms show only the last four characters, so that a stray log line or %v
// never prints it. Use Reveal only to hash it.
type ClaimCode struct {
	normalized string
	// Hints warns the agent about characters that are easy to misread (R2).
	Hints []string
}

// Last4 returns the last four characters of the normalized code: the only part the desk stores.
func (c ClaimCode) Last4() string {
	if len(c.normalized) < 4 {
		return c.normalized
	}
	return c.normalized[len(c.normalized)-4:]
}

// Masked returns the code as the desk shows it: ••••LAST4.
func (c ClaimCode) Masked() string { return "••••" + c.Last4() }

// String returns the masked form.
func (c ClaimCode) String() string { return c.Masked() }

// GoString returns the masked form, so %#v does not leak the code either.
func (c ClaimCode) GoString() string { return "cases.ClaimCode(" + c.Masked() + ")" }

// LogValue makes slog print the masked form.
func (c ClaimCode) LogValue() slog.Value { return slog.StringValue(c.Masked()) }

// MarshalJSON writes the masked form.
func (c ClaimCode) MarshalJSON() ([]byte, error) { return []byte(`"` + c.Masked() + `"`), nil }

// Reveal returns the normalized code in clear. Callers must only feed it to a ClaimCodeKey.
func (c ClaimCode) Reveal() string { return c.normalized }

// NormalizeClaimCode applies R1's normalization: letters upper-cased, fullwidth letters and digits
// folded to ASCII, every separator a customer may paste (isCodeSeparator) removed. Other characters
// are kept, an invalid UTF-8 byte as U+FFFD, so that validation can refuse them and a second
// normalization changes nothing.
func NormalizeClaimCode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if ch, ok := foldCodeRune(r); ok {
			b.WriteByte(ch)
		} else if !isCodeSeparator(r) {
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// MayHoldClaimCode reports whether s holds a run that could be a claim code not known to the desk:
// ten or more letters and digits, possibly broken by separators, with a digit or with every letter
// typed in upper case. It is for text the desk echoes without a case to redact against (the name of
// an unknown JSON field): "representative" and "faceValueMinor" read as words, "AB12CDEF34GH56"
// and "ABCD-EFGH-JKLM" do not.
func MayHoldClaimCode(s string) bool {
	run, digit, lower := 0, false, false
	for _, r := range s {
		if ch, ok := foldCodeRune(r); ok {
			run++
			digit = digit || (ch >= '0' && ch <= '9')
			lower = lower || (r >= 'a' && r <= 'z') || (r >= 'ａ' && r <= 'ｚ')
			if run >= 10 && (digit || !lower) {
				return true
			}
			continue
		}
		if !isCodeSeparator(r) {
			run, digit, lower = 0, false, false
		}
	}
	return false
}

// foldCodeRune maps a letter or digit as a code may be typed or pasted (either case, fullwidth
// forms from East Asian input methods) to its upper-case ASCII form.
func foldCodeRune(r rune) (byte, bool) {
	switch {
	case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return byte(r), true
	case r >= 'a' && r <= 'z':
		return byte(r - 'a' + 'A'), true
	case r >= '０' && r <= '９':
		return byte(r - '０' + '0'), true
	case r >= 'Ａ' && r <= 'Ｚ':
		return byte(r - 'Ａ' + 'A'), true
	case r >= 'ａ' && r <= 'ｚ':
		return byte(r - 'ａ' + 'A'), true
	}
	return 0, false
}

// isCodeSeparator is R1's one list of the characters a claim code may be broken by: parsing drops
// them and the redactor lets a code in free text run across them, so that a code the desk accepts
// is a code it redacts. Spaces of any kind (Unicode White_Space: tab, newline, no-break, ideographic,
// ...), dashes of any kind (Unicode Pd: en and em dash, non-breaking hyphen, ..., and the minus sign
// office software types for one) and invisible format characters (Unicode Cf: soft hyphen,
// zero-width space and joiners, word joiner, byte-order mark, ...), as text pasted from mail, office
// documents and chat carries them. Other punctuation (. / _ and the like) is no separator.
func isCodeSeparator(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == '-'
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || unicode.Is(unicode.Cf, r) || r == '\u2212'
}

// Claim-code length bounds of R2, after normalization.
const (
	minClaimCodeLen   = 10
	maxClaimCodeLen   = 20
	minSerialLikeLen  = 12
	maxClaimCodeInput = 200 // a longer input is refused before normalization; no real code is that long
)

// confusables are R2's easily confused pairs, with the hint the agent sees.
var confusables = []struct {
	chars string
	hint  string
}{
	{"O0", "contains O or 0: letter O and digit zero are easy to confuse, read them back to the customer"},
	{"I1", "contains I or 1: letter I and digit one are easy to confuse, read them back to the customer"},
	{"B8", "contains B or 8: letter B and digit eight are easy to confuse, read them back to the customer"},
	{"S5", "contains S or 5: letter S and digit five are easy to confuse, read them back to the customer"},
}

// ParseClaimCode normalizes and validates a claim code as R2 says: 10–20 letters and digits
// with at least one letter. Twelve or more digits alone are refused as a serial number. The
// error never repeats the code.
func ParseClaimCode(raw string) (ClaimCode, error) {
	if len(raw) > maxClaimCodeInput {
		return ClaimCode{}, &RuleError{Code: CodeInvalidClaimCode, Field: "claim_code",
			Message: "a claim code is 10 to 20 letters and digits"}
	}
	n := NormalizeClaimCode(raw)
	digits, letters := 0, 0
	for i := 0; i < len(n); i++ {
		switch ch := n[i]; {
		case ch >= '0' && ch <= '9':
			digits++
		case ch >= 'A' && ch <= 'Z':
			letters++
		default:
			return ClaimCode{}, &RuleError{Code: CodeInvalidClaimCode, Field: "claim_code",
				Message: "a claim code holds only letters and digits (spaces and dashes are ignored)"}
		}
	}
	if letters == 0 && digits >= minSerialLikeLen {
		return ClaimCode{}, &RuleError{Code: CodeSerialNotClaimCode, Field: "claim_code",
			Message: "this looks like the card's serial number (digits only), not its claim code: " +
				"the claim code is under the scratch-off strip and contains letters"}
	}
	if len(n) < minClaimCodeLen || len(n) > maxClaimCodeLen {
		return ClaimCode{}, &RuleError{Code: CodeInvalidClaimCode, Field: "claim_code",
			Message: "a claim code is 10 to 20 letters and digits"}
	}
	if letters == 0 {
		return ClaimCode{}, &RuleError{Code: CodeInvalidClaimCode, Field: "claim_code",
			Message: "a claim code contains at least one letter"}
	}
	code := ClaimCode{normalized: n}
	for _, c := range confusables {
		if strings.ContainsAny(n, c.chars) {
			code.Hints = append(code.Hints, c.hint)
		}
	}
	return code, nil
}

// ClaimCodeKey is the HKDF subkey R1's HMAC is keyed with.
type ClaimCodeKey []byte

// Sum returns HMAC-SHA256(key, normalized code): the only form of a code the desk stores.
func (k ClaimCodeKey) Sum(c ClaimCode) []byte {
	return k.sumNormalized(c.normalized)
}

func (k ClaimCodeKey) sumNormalized(n string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(n))
	return m.Sum(nil)
}

// newMAC returns a reusable HMAC for hot loops (the redactor tries many candidates).
func (k ClaimCodeKey) newMAC() hash.Hash { return hmac.New(sha256.New, k) }
