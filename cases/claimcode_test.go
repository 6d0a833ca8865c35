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
	a, _ := ParseClaimCode("ab12-cdef34-gh56")
	b, _ := ParseClaimCode("AB12 CDEF34 GH56")
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
