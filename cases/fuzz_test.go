package cases

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// FuzzParseClaimCode: parsing never panics, normalization is idempotent, an accepted code is
// 10–20 upper-case letters and digits with a letter, and no error message repeats the input.
func FuzzParseClaimCode(f *testing.F) {
	for _, s := range []string{"AB12-CDEF34-GH56", "6046123412341234", "", "a b\tc\nd-e", "OOOO0000IIII", "ß", "\x00\xff",
		"AB12\u00a0CDEF34\u2013GH56\u200b", "ＡＢ１２－ｃｄｅｆ３４\u3000ＧＨ５６", "AB12\u00adCDEF34\u2060GH56\ufeff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n := NormalizeClaimCode(raw)
		if NormalizeClaimCode(n) != n {
			t.Fatalf("normalization not idempotent: %q → %q → %q", raw, n, NormalizeClaimCode(n))
		}
		code, err := ParseClaimCode(raw)
		if err != nil {
			if len(n) >= 4 && strings.Contains(err.Error(), n) {
				t.Fatalf("error repeats the input: %v", err)
			}
			return
		}
		c := code.Reveal()
		if c != n || len(c) < 10 || len(c) > 20 || strings.IndexFunc(c, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) >= 0 || !strings.ContainsAny(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("accepted a bad code %q from %q", c, raw)
		}
		if strings.Contains(code.String(), c) {
			t.Fatalf("String() shows the code")
		}
	})
}

// FuzzRedact: redaction never panics, keeps valid UTF-8 valid, is idempotent, and never leaves
// the code in the output, wherever the fuzzer hides it in the text.
func FuzzRedact(f *testing.F) {
	f.Add("call about AB12-CDEF34-GH56 please", "AB12-CDEF34-GH56")
	f.Add("ab12 cdef34 gh56ab12cdef34gh56", "AB12CDEF34GH56")
	f.Add("GH56GH56GH56GH56", "GH56GH56GH56GH56")
	f.Add("xxAAAAAAAAAAAAAyy", "AAAAAAAAAAAA")
	f.Add("[claim code ••••GH56]", "CLAIMCODEGH56")
	f.Add("ＡＢ１２\u00a0ｃｄｅｆ３４\u2011GH56", "AB12CDEF34GH56")
	f.Fuzz(func(t *testing.T, text, rawCode string) {
		code, err := ParseClaimCode(rawCode)
		if err != nil {
			return
		}
		r := NewRedactor(testCodeKey, []StoredCode{{HMAC: testCodeKey.Sum(code), Last4: code.Last4()}})
		spaced := strings.Join(strings.Split(code.Reveal(), ""), "\u00a0")
		for _, in := range []string{text, text + rawCode, rawCode + text, text + strings.ToLower(rawCode) + text, text + spaced + text, width.Widen.String(rawCode) + text} {
			out := r.Redact(in)
			if containsCode(out, code.Reveal()) {
				t.Fatalf("code survived redaction:\n in %q\nout %q", in, out)
			}
			if utf8.ValidString(in) && !utf8.ValidString(out) {
				t.Fatalf("redaction broke UTF-8: %q", out)
			}
			if again := r.Redact(out); again != out {
				t.Fatalf("redaction not idempotent:\n%q\n%q", out, again)
			}
		}
	})
}
