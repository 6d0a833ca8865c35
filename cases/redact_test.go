package cases

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/width"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func redactorFor(t testing.TB, codes ...string) *Redactor {
	t.Helper()
	var stored []StoredCode
	for _, raw := range codes {
		c, err := ParseClaimCode(raw)
		if err != nil {
			t.Fatalf("test code %q: %v", raw, err)
		}
		stored = append(stored, StoredCode{HMAC: testCodeKey.Sum(c), Last4: c.Last4()})
	}
	return NewRedactor(testCodeKey, stored)
}

func TestRedact(t *testing.T) {
	r := redactorFor(t, "AB12-CDEF34-GH56", "ZZZZ-YYYY-XXXX-9999")
	tests := []struct{ in, want string }{
		{"code AB12-CDEF34-GH56 typed", "code [claim code ••••GH56] typed"},
		{"code ab12cdef34gh56.", "code [claim code ••••GH56]."},
		{"code AB12 CDEF 34 GH56, thanks", "code [claim code ••••GH56], thanks"},
		{"AB12-\nCDEF34 -GH56", "[claim code ••••GH56]"},
		{"two: AB12CDEF34GH56 and zzzz yyyy xxxx 9999!", "two: [claim code ••••GH56] and [claim code ••••9999]!"},
		{"twice AB12CDEF34GH56/AB12CDEF34GH56", "twice [claim code ••••GH56]/[claim code ••••GH56]"},
		{"glued xAB12CDEF34GH56", "glued x[claim code ••••GH56]"},
		{"not it: AB12CDEF34GH57", "not it: AB12CDEF34GH57"},
		{"partial AB12CDEF34 only", "partial AB12CDEF34 only"},
		{"broken by dots AB12.CDEF34.GH56", "broken by dots AB12.CDEF34.GH56"},
		{"", ""},
		{"ünïcödé AB12CDEF34GH56 ✓", "ünïcödé [claim code ••••GH56] ✓"},
		{"no-break AB12\u00a0CDEF34\u00a0GH56.", "no-break [claim code ••••GH56]."},
		{"en dash AB12–CDEF34—GH56", "en dash [claim code ••••GH56]"},
		{"soft AB12\u00adCDEF34\u200bGH56!", "soft [claim code ••••GH56]!"},
		{"nb hyphen AB12\u2011CDEF34\u2011GH56", "nb hyphen [claim code ••••GH56]"},
		{"fullwidth ＡＢ１２ＣＤＥＦ３４ｇｈ５６", "fullwidth [claim code ••••GH56]"},
		{"ideographic space AB12\u3000CDEF34 GH56", "ideographic space [claim code ••••GH56]"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactWithoutCodesIsIdentity(t *testing.T) {
	r := NewRedactor(testCodeKey, []StoredCode{{HMAC: nil, Last4: ""}})
	if !r.Empty() || r.Redact("AB12CDEF34GH56") != "AB12CDEF34GH56" {
		t.Fatal("a redactor with no codes must leave text alone")
	}
	var nilRedactor *Redactor
	if nilRedactor.Redact("x") != "x" {
		t.Fatal("nil redactor must leave text alone")
	}
}

// containsCode is the test oracle, written apart from the redactor: it folds width with
// x/text, maps every rune to itself upper-cased, drops what R2 (read broadly) lets break a code,
// cuts the text at anything else, and looks for the code in each piece.
func containsCode(s, normalizedCode string) bool {
	folded := width.Fold.String(s)
	mapped := strings.Map(func(r rune) rune {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			return unicode.ToUpper(r)
		case unicode.IsSpace(r), unicode.Is(unicode.Pd, r), unicode.Is(unicode.Cf, r), r == '−':
			return -1
		}
		return '|'
	}, folded)
	for _, piece := range strings.Split(mapped, "|") {
		if strings.Contains(piece, normalizedCode) {
			return true
		}
	}
	return false
}

func TestContainsCodeHelper(t *testing.T) {
	if !containsCode("x ab12-cdef34 gh56 y", "AB12CDEF34GH56") || containsCode("AB12.CDEF34GH56", "AB12CDEF34GH56") ||
		!containsCode("ＡＢ１２\u00adcdef34–gh56", "AB12CDEF34GH56") {
		t.Fatal("containsCode helper is wrong")
	}
}

func BenchmarkRedact20000(b *testing.B) {
	r := redactorFor(b, "AB12-CDEF34-GH56")
	text := strings.Repeat("the customer read GH56 twice and then ", 600)[:20000]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Redact(text)
	}
}
