package cases_test

import (
	"testing"

	"giftdesk/cases"
)

// TestSpreadsheetSafe: cells a spreadsheet would run as formulas get an apostrophe; numbers do not.
func TestSpreadsheetSafe(t *testing.T) {
	for in, want := range map[string]string{"=1+2": "'=1+2", "+A1": "'+A1", "-x": "'-x", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "\rx": "'\rx", "-12.50": "-12.50", "+3": "+3", "": "", "GD-1000001": "GD-1000001", "a=b": "a=b",
		"-Inf": "'-Inf", "+NaN": "'+NaN", "-0x1p3": "'-0x1p3", "-1_000": "'-1_000", "-1e5": "-1e5", "-.5": "-.5",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")", "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0"} {
		if got := cases.SpreadsheetSafe(in); got != want {
			t.Errorf("SpreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
