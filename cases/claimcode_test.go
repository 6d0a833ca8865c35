package cases

import (
	"errors"
	"strings"
	"testing"
)

var testCodeKey = ClaimCodeKey([]byte("0123456789abcdef0123456789abcdef"))

func TestNormalizeClaimCode(t *testing.T) {
	for in, want := range map[string]string{
		"ab12-cdef34-gh56":      "AB12CDEF34GH56",
		" AB12 CDEF\t34\nGH56 ": "AB12CDEF34GH56",
		"ab12\r\ncdef-34--gh56": "AB12CDEF34GH56",
		"":                      "",
		"é-x":                   "éX", // non-ASCII stays, so validation can refuse it
	} {
		if got := NormalizeClaimCode(in); got != want {
			t.Errorf("NormalizeClaimCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseClaimCode(t *testing.T) {
	tests := []struct {
		in        string
		wantCode  string // "" when refused
		wantError string
		hints     int
	}{
		{in: "AB12-CDEF34-GH56", wantCode: "AB12CDEF34GH56", hints: 3}, // B, 1 and 5
		{in: "wxyz-wxyz-wx", wantCode: "WXYZWXYZWX"},
		{in: "ACDEFGHJKLMNPQRTUVWX", wantCode: "ACDEFGHJKLMNPQRTUVWX"}, // 20: the longest
		{in: "ACDEFGHJK2", wantCode: "ACDEFGHJK2"},                     // 10: the shortest
		{in: "ACDEFGHJK", wantError: CodeInvalidClaimCode},             // 9
		{in: "ACDEFGHJKLMNPQRTUVWXY", wantError: CodeInvalidClaimCode}, // 21
		{in: "6046 1234 1234 1234", wantError: CodeSerialNotClaimCode},
		{in: "604612341234", wantError: CodeSerialNotClaimCode}, // 12 digits
		{in: "60461234123", wantError: CodeInvalidClaimCode},    // 11 digits: too few to be a serial, no letter
		{in: "1234567890123456789012345", wantError: CodeSerialNotClaimCode},
		{in: "AB12.CDEF34.GH56", wantError: CodeInvalidClaimCode},
		{in: "AB12CDEF34GH5'; DROP TABLE cases;--", wantError: CodeInvalidClaimCode},
		{in: "", wantError: CodeInvalidClaimCode},
		{in: strings.Repeat("A", 10000), wantError: CodeInvalidClaimCode},
		{in: "ÀB12CDEF34GH56", wantError: CodeInvalidClaimCode},
		{in: "OOOO0000IIII", wantCode: "OOOO0000IIII", hints: 2},
		{in: "BBSS8855XXYY", wantCode: "BBSS8855XXYY", hints: 2},
	}
	for _, tt := range tests {
		code, err := ParseClaimCode(tt.in)
		if tt.wantError != "" {
			var re *RuleError
			if !errors.As(err, &re) || re.Code != tt.wantError {
				t.Errorf("ParseClaimCode(%.30q) err = %v, want %s", tt.in, err, tt.wantError)
			}
			if err != nil && NormalizeClaimCode(tt.in) != "" && strings.Contains(err.Error(), NormalizeClaimCode(tt.in)) {
				t.Errorf("error message repeats the code")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseClaimCode error must unwrap to ErrInvalid (422)")
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseClaimCode(%q) err = %v", tt.in, err)
			continue
		}
		if code.Reveal() != tt.wantCode || len(code.Hints) != tt.hints {
			t.Errorf("ParseClaimCode(%q) = %q with %d hints %v, want %q with %d", tt.in, code.Reveal(), len(code.Hints), code.Hints, tt.wantCode, tt.hints)
		}
	}
}

func TestSerialMessageSaysSerial(t *testing.T) {
	_, err := ParseClaimCode("6046123412341234")
	if err == nil || !strings.Contains(err.Error(), "serial number") {
		t.Fatalf("err = %v, want a message naming the serial number", err)
	}
}

// A ClaimCode printed any way a careless log line might print it shows only its last four.
func TestClaimCodeNeverPrintsInClear(t *testing.T) {
	code, err := ParseClaimCode("QW12-ER34-TY56-UI78")
	if err != nil {
		t.Fatal(err)
	}
	clear := code.Reveal()
	for _, s := range []string{
		code.String(), code.GoString(), code.LogValue().String(),
		sprintf("%v", code), sprintf("%+v", code), sprintf("%#v", code), sprintf("%s", code),
		sprintf("%v", []ClaimCode{code}), mustJSON(t, code), mustJSON(t, struct{ C ClaimCode }{code}),
	} {
		if strings.Contains(s, clear) || strings.Contains(s, "QW12") {
			t.Errorf("claim code leaked in %q", s)
		}
		if !strings.Contains(s, "UI78") {
			t.Errorf("masked form %q lost the last four", s)
		}
	}
}

func TestClaimCodeHMACIsKeyedAndStable(t *testing.T) {
	a, err := ParseClaimCode("ab12-cdef34-gh56")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseClaimCode("AB12 CDEF34 GH56")
	if err != nil {
		t.Fatal(err)
	}
	if string(testCodeKey.Sum(a)) != string(testCodeKey.Sum(b)) {
		t.Fatal("the same code in two spellings must hash the same")
	}
	other := ClaimCodeKey([]byte("another key, another desk, 32by"))
	if string(testCodeKey.Sum(a)) == string(other.Sum(a)) {
		t.Fatal("the HMAC must depend on the key")
	}
	if len(testCodeKey.Sum(a)) != 32 {
		t.Fatal("HMAC-SHA256 is 32 bytes")
	}
}

// separatorCases are what R1 lets a customer paste inside a claim code, and some characters it
// does not: a separator must be dropped by ParseClaimCode and let the redactor see the code; any
// other character must make both refuse.
var separatorCases = []struct {
	name string
	sep  string
	ok   bool
}{
	{"space", " ", true},
	{"tab", "\t", true},
	{"newline", "\n", true},
	{"carriage return and newline", "\r\n", true},
	{"vertical tab", "\v", true},
	{"form feed", "\f", true},
	{"next line", "\u0085", true},
	{"no-break space", "\u00a0", true},
	{"ogham space mark", "\u1680", true},
	{"en space", "\u2002", true},
	{"em space", "\u2003", true},
	{"thin space", "\u2009", true},
	{"hair space", "\u200a", true},
	{"line separator", "\u2028", true},
	{"paragraph separator", "\u2029", true},
	{"narrow no-break space", "\u202f", true},
	{"medium mathematical space", "\u205f", true},
	{"ideographic space", "\u3000", true},
	{"hyphen-minus", "-", true},
	{"two hyphens", "--", true},
	{"hyphen", "\u2010", true},
	{"non-breaking hyphen", "\u2011", true},
	{"figure dash", "\u2012", true},
	{"en dash", "\u2013", true},
	{"em dash", "\u2014", true},
	{"horizontal bar", "\u2015", true},
	{"minus sign", "\u2212", true},
	{"small hyphen-minus", "\ufe63", true},
	{"fullwidth hyphen-minus", "\uff0d", true},
	{"soft hyphen", "\u00ad", true},
	{"zero-width space", "\u200b", true},
	{"zero-width non-joiner", "\u200c", true},
	{"zero-width joiner", "\u200d", true},
	{"word joiner", "\u2060", true},
	{"zero-width no-break space", "\ufeff", true},
	{"mixed", " \u00a0\u2013\u200b", true},
	{"dot", ".", false},
	{"slash", "/", false},
	{"underscore", "_", false},
	{"middle dot", "\u00b7", false},
	{"bullet", "\u2022", false},
	{"combining acute", "\u0301", false},
	{"NUL", "\x00", false},
	{"invalid UTF-8", "\xff", false},
}

// TestParseAndRedactAcceptTheSameSeparators: R1 says parsing a code and redacting it in free
// text accept exactly the same separators.
func TestParseAndRedactAcceptTheSameSeparators(t *testing.T) {
	r := redactorFor(t, "AB12CDEF34GH56")
	for _, tt := range separatorCases {
		for _, raw := range []string{
			"AB12" + tt.sep + "CDEF34" + tt.sep + "GH56",
			"ab12" + tt.sep + "cdef34" + tt.sep + "gh56",
			"ＡＢ１２" + tt.sep + "ｃｄｅｆ３４" + tt.sep + "ＧＨ５６",
		} {
			code, err := ParseClaimCode(raw)
			parsed := err == nil && code.Reveal() == "AB12CDEF34GH56"
			redacted := r.Redact("code "+raw+" read out") == "code [claim code ••••GH56] read out"
			if parsed != tt.ok || redacted != tt.ok {
				t.Errorf("%s: parsed %v (err %v), redacted %v; want both %v", tt.name, parsed, err, redacted, tt.ok)
			}
		}
	}
}

// TestEveryRuneParseAndRedactAgree puts each rune of the Basic Multilingual Plane inside a code:
// the code parses to itself exactly when the redactor finds it in text.
func TestEveryRuneParseAndRedactAgree(t *testing.T) {
	r := redactorFor(t, "AB12CDEF34GH56")
	for ru := rune(0); ru <= 0xffff; ru++ {
		if ru >= 0xd800 && ru <= 0xdfff {
			continue // surrogates are no runes
		}
		raw := "AB12CD" + string(ru) + "EF34GH56"
		code, err := ParseClaimCode(raw)
		parsed := err == nil && code.Reveal() == "AB12CDEF34GH56"
		redacted := r.Redact("x "+raw+" y") == "x [claim code ••••GH56] y"
		if parsed != redacted {
			t.Errorf("U+%04X: parse accepts it %v, redaction %v", ru, parsed, redacted)
		}
	}
}

// TestMayHoldClaimCode: the text the desk echoes without a case to redact against is never echoed
// when it could hold a code, whatever the separators (review of issue 19).
func TestMayHoldClaimCode(t *testing.T) {
	for s, want := range map[string]bool{
		"AB12CDEF34GH56": true, "note: AB12CDEF34GH56": true, "ABCD-EFGH-JKLM": true, "ab12 cdef34 gh56": true,
		"ＡＢ１２ＣＤＥＦ３４ＧＨ５６": true, "AB12\u00a0CDEF34\u200bGH56": true,
		"representative": false, "representative_name": false, "faceValueMinor": false, "frozen_reason": false,
		"store_nme": false, "AB12CDEF3": false, "a.b.c.d.e.f.g.h.i.j.k.1": false,
	} {
		if got := MayHoldClaimCode(s); got != want {
			t.Errorf("MayHoldClaimCode(%q) = %v, want %v", s, got, want)
		}
	}
}
