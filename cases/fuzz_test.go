package cases

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/width"

	"giftdesk/models"
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

// FuzzCursors: every cursor decoder of the desk (list, time-ordered, timeline, change feed)
// never panics, refuses with validation_failed, and takes a cursor only in the form its encoder
// writes: a decoded cursor re-encodes to the very string it came from. The second input is
// encoded and must decode back to itself.
func FuzzCursors(f *testing.F) {
	for _, s := range []string{"", "MQ", "MA", "MDAx", "KzE", "LTE", "MR", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA", "OTIyMzM3MjAzNjg1NDc3NTgwNw",
		"MTczMjkwMDAwMDAwMDAwMC40Mg", "YS4xNzMyOTAwMDAwMDAwMDAwLmNvbW11bmljYXRpb24uNw", "YzEuMg", "0", "c", "!!", "MQ==", "M Q"} {
		f.Add(s, int64(42))
	}
	f.Add("", int64(1))
	f.Add("", int64(9223372036854775807))
	f.Add("", int64(-1))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		if id, err := DecodeCursor(s); err == nil {
			if s != "" && (id <= 0 || EncodeCursor(id) != s) {
				t.Fatalf("list cursor %q decodes to %d, which encodes as %q", s, id, EncodeCursor(id))
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("list cursor %q: %v is not a validation error", s, err)
		}
		if n > 0 {
			if id, err := DecodeCursor(EncodeCursor(n)); err != nil || id != n {
				t.Fatalf("list cursor of %d decodes to %d (%v)", n, id, err)
			}
		}

		if at, id, err := decodeTimeCursor(s); err == nil {
			if s != "" && encodeTimeCursor(at, id) != s {
				t.Fatalf("time cursor %q decodes to %v/%d, which encodes as %q", s, at, id, encodeTimeCursor(at, id))
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("time cursor %q: %v is not a validation error", s, err)
		}
		at := time.UnixMicro(n % (int64(4000*365*24*3600) * 1_000_000)).UTC()
		if n > 0 && CheckTimeRange(at) == nil {
			if gotAt, gotID, err := decodeTimeCursor(encodeTimeCursor(at, n)); err != nil || !gotAt.Equal(at) || gotID != n {
				t.Fatalf("time cursor of %v/%d decodes to %v/%d (%v)", at, n, gotAt, gotID, err)
			}
		}

		if k, desc, err := decodeTimelineCursor(s); err == nil {
			if again := encodeTimelineCursor(TimelineEntry{At: k.At, Kind: k.Kind, ID: k.ID}, desc); again != s {
				t.Fatalf("timeline cursor %q decodes to %+v, which encodes as %q", s, k, again)
			}
		}
		if n > 0 && CheckTimeRange(at) == nil {
			for _, kind := range models.TimelineKinds {
				e := TimelineEntry{At: at, Kind: kind, ID: n}
				k, desc, err := decodeTimelineCursor(encodeTimelineCursor(e, n%2 == 0))
				if err != nil || !k.At.Equal(at) || k.Kind != kind || k.ID != n || desc != (n%2 == 0) {
					t.Fatalf("timeline cursor of %+v decodes to %+v %v (%v)", e, k, desc, err)
				}
			}
		}

		if pos, ok := decodeChangeCursor(s); ok && s != ChangeFeedStart && pos.cursor() != s {
			t.Fatalf("change cursor %q decodes to %+v, which encodes as %q", s, pos, pos.cursor())
		}
		if n >= 0 {
			if pos, ok := decodeChangeCursor(changePos{seq: n, id: n / 3}.cursor()); !ok || pos != (changePos{seq: n, id: n / 3}) {
				t.Fatalf("change cursor of %d/%d decodes to %+v", n, n/3, pos)
			}
		}
	})
}

// plainNumber is an independent reading of "a number" for FuzzSpreadsheetSafe: what strconv
// parses as a float, written with digits, signs, a point and an exponent only (no hexadecimal,
// Inf, NaN or digit separators, which strconv takes and a spreadsheet does not).
func plainNumber(s string) bool {
	if strings.Trim(s, "0123456789+-.eE") != "" || !strings.ContainsAny(s, "0123456789") {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// FuzzSpreadsheetSafe: a neutralised cell is the text itself or the text behind one apostrophe;
// it never starts with = + - @, a tab or a carriage return unless it is a plain number; numbers
// and harmless texts are left as they are; neutralising twice changes nothing (SPEC 4.4).
func FuzzSpreadsheetSafe(f *testing.F) {
	for _, s := range []string{"", "=1+1", "+1", "-1", "-1.5e3", "+.5", "-", "@SUM(A1)", "\tx", "\r\n=cmd", "=HYPERLINK(\"x\")",
		"-0x1F", "+Inf", "-NaN", "1_000", "-1e", "'=1", "GD-000042", "plain", "-12.", "+-1", "－1", "＝1+1", "\n=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := SpreadsheetSafe(s)
		if out != s && out != "'"+s {
			t.Fatalf("%q became %q: neither itself nor itself behind an apostrophe", s, out)
		}
		if out != "" && strings.ContainsRune("=+-@\t\r", rune(out[0])) && !plainNumber(out) {
			t.Fatalf("%q is left starting with %q and is not a number", out, out[0])
		}
		if out != s && (s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0]))) {
			t.Fatalf("%q, harmless, was changed to %q", s, out)
		}
		if plainNumber(s) && out != s {
			t.Fatalf("the number %q was changed to %q", s, out)
		}
		if again := SpreadsheetSafe(out); again != out {
			t.Fatalf("neutralising twice: %q then %q", out, again)
		}
	})
}
