package cases

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Marketplace is a two-letter marketplace code of SPEC §2 (US, UK, JP, ...).
type Marketplace string

// Currency is an ISO-4217 currency code.
type Currency string

// marketplaceCurrency is SPEC §2's fixed table: every marketplace has exactly one currency.
var marketplaceCurrency = map[Marketplace]Currency{
	"US": "USD", "CA": "CAD", "MX": "MXN", "BR": "BRL",
	"UK": "GBP", "DE": "EUR", "FR": "EUR", "IT": "EUR", "ES": "EUR", "NL": "EUR",
	"JP": "JPY", "IN": "INR", "AU": "AUD",
}

// currencyDecimals lists the minor-unit exponent of each currency the desk knows.
var currencyDecimals = map[Currency]int{
	"USD": 2, "CAD": 2, "MXN": 2, "BRL": 2, "GBP": 2, "EUR": 2, "JPY": 0, "INR": 2, "AUD": 2,
}

// Marketplaces returns every known marketplace code in a stable order.
func Marketplaces() []Marketplace {
	out := make([]Marketplace, 0, len(marketplaceCurrency))
	for m := range marketplaceCurrency {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Currencies returns every known currency code in a stable order.
func Currencies() []Currency {
	out := make([]Currency, 0, len(currencyDecimals))
	for c := range currencyDecimals {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Valid reports whether m is one of SPEC §2's marketplaces.
func (m Marketplace) Valid() bool { _, ok := marketplaceCurrency[m]; return ok }

// Currency returns the one currency of marketplace m, or "" when m is unknown.
func (m Marketplace) Currency() Currency { return marketplaceCurrency[m] }

// Valid reports whether c is a currency of some marketplace.
func (c Currency) Valid() bool { _, ok := currencyDecimals[c]; return ok }

// Decimals returns the number of minor-unit digits of c (JPY 0, the others 2).
func (c Currency) Decimals() int { return currencyDecimals[c] }

// FormatMinor renders an amount in minor units as a decimal string with its currency,
// e.g. 5000 USD → "50.00 USD", 5000 JPY → "5000 JPY", -5 EUR → "-0.05 EUR".
func FormatMinor(amount int64, c Currency) string {
	d := c.Decimals()
	neg := amount < 0
	// Work on the magnitude as uint64 so that math.MinInt64 does not overflow on negation.
	mag := uint64(amount)
	if neg {
		mag = -mag
	}
	digits := strconv.FormatUint(mag, 10)
	if d > 0 {
		if len(digits) <= d {
			digits = strings.Repeat("0", d-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-d] + "." + digits[len(digits)-d:]
	}
	if neg {
		digits = "-" + digits
	}
	return digits + " " + string(c)
}

// Thresholds maps a currency to the amount (minor units) at or above which a correction
// needs two approvals (R5).
type Thresholds map[Currency]int64

// DefaultThresholds returns R5's default dual-approval table.
func DefaultThresholds() Thresholds {
	return Thresholds{
		"USD": 50000, "CAD": 70000, "MXN": 1000000, "BRL": 250000, "GBP": 40000,
		"EUR": 45000, "JPY": 75000, "INR": 4000000, "AUD": 75000,
	}
}

// RequiredApprovals returns how many distinct supervisors must approve amount in c.
func (t Thresholds) RequiredApprovals(amount int64, c Currency) int {
	if limit, ok := t[c]; ok && amount >= limit {
		return 2
	}
	return 1
}

// ParseThresholds reads GIFTDESK_DUAL_APPROVAL's form, "USD=50000,JPY=75000", on top of
// the defaults: currencies not named keep R5's values.
func ParseThresholds(s string) (Thresholds, error) {
	t := DefaultThresholds()
	if strings.TrimSpace(s) == "" {
		return t, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		code, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not CURRENCY=AMOUNT", part)
		}
		c := Currency(strings.ToUpper(strings.TrimSpace(code)))
		if !c.Valid() {
			return nil, fmt.Errorf("unknown currency %q", strings.TrimSpace(code))
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("amount for %s must be a positive integer in minor units", c)
		}
		t[c] = n
	}
	return t, nil
}
