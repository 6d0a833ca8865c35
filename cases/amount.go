package cases

import (
	"errors"
	"fmt"
	"strings"
)

// ParseMajorUnits reads an amount as a person types it, in major units ("50", "50.00", "12,34"),
// into minor units of c by its decimals: 50.00 USD is 5000, 5000 JPY is 5000. The decimal
// separator may be a point or a comma; thousands separators, signs and exponents are refused
// rather than guessed, so that "1,000" never silently becomes 1.00. The error's text is a message
// for the field that held it.
func ParseMajorUnits(s string, c Currency) (int64, error) {
	if !c.Valid() {
		return 0, errors.New("has no currency: choose the marketplace first")
	}
	d := c.Decimals()
	example := "an amount such as 50.00"
	if d == 0 {
		example = "a whole number like 5000 (" + string(c) + " has no minor units)"
	}
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if whole == "" || !allDigits(whole) || (hasFrac && (frac == "" || !allDigits(frac))) || len(whole) > 15 {
		return 0, errors.New("must be " + example)
	}
	if len(frac) > d {
		return 0, fmt.Errorf("has at most %d decimals in %s: %s", d, c, example)
	}
	var n int64
	for _, ch := range whole + frac + strings.Repeat("0", d-len(frac)) {
		n = n*10 + int64(ch-'0')
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
