package cases

import "regexp"

// decimalNumber is a plain decimal number as a spreadsheet reads one: no hexadecimal, no Inf or
// NaN, no digit separators (strconv.ParseFloat accepts all of those).
var decimalNumber = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// SpreadsheetSafe keeps a spreadsheet from reading a text cell as a formula (CSV injection, SPEC
// 4.4): a text that starts with = + - @, a tab or a carriage return gets a leading apostrophe,
// unless it is a number. Every CSV the desk writes passes its cells through it.
func SpreadsheetSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
	default:
		return s
	}
	if decimalNumber.MatchString(s) {
		return s
	}
	return "'" + s
}
