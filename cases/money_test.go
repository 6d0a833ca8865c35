package cases

import (
	"math"
	"testing"
)

func TestMarketplaceCurrencies(t *testing.T) {
	want := map[Marketplace]Currency{"US": "USD", "CA": "CAD", "MX": "MXN", "BR": "BRL", "UK": "GBP", "DE": "EUR",
		"FR": "EUR", "IT": "EUR", "ES": "EUR", "NL": "EUR", "JP": "JPY", "IN": "INR", "AU": "AUD"}
	if len(Marketplaces()) != len(want) {
		t.Fatalf("%d marketplaces, want %d", len(Marketplaces()), len(want))
	}
	for m, c := range want {
		if !m.Valid() || m.Currency() != c || !c.Valid() {
			t.Errorf("%s: currency %q, want %q", m, m.Currency(), c)
		}
	}
	for _, bad := range []Marketplace{"GB", "us", "", "EU"} {
		if bad.Valid() {
			t.Errorf("%q accepted as a marketplace", bad)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	for _, tt := range []struct {
		amount int64
		c      Currency
		want   string
	}{
		{5000, "USD", "50.00 USD"}, {5, "EUR", "0.05 EUR"}, {-5, "EUR", "-0.05 EUR"}, {0, "GBP", "0.00 GBP"},
		{5000, "JPY", "5000 JPY"}, {-75000, "JPY", "-75000 JPY"}, {123456789, "INR", "1234567.89 INR"},
		{math.MinInt64, "USD", "-92233720368547758.08 USD"},
	} {
		if got := FormatMinor(tt.amount, tt.c); got != tt.want {
			t.Errorf("FormatMinor(%d, %s) = %q, want %q", tt.amount, tt.c, got, tt.want)
		}
	}
}

func TestDualApprovalThresholds(t *testing.T) {
	d := DefaultThresholds()
	want := Thresholds{"USD": 50000, "CAD": 70000, "MXN": 1000000, "BRL": 250000, "GBP": 40000, "EUR": 45000,
		"JPY": 75000, "INR": 4000000, "AUD": 75000}
	for c, v := range want {
		if d[c] != v {
			t.Errorf("default threshold %s = %d, want %d", c, d[c], v)
		}
	}
	if d.RequiredApprovals(49999, "USD") != 1 || d.RequiredApprovals(50000, "USD") != 2 {
		t.Error("USD threshold is inclusive at 50000")
	}
	custom, err := ParseThresholds("usd=100, JPY = 5")
	if err != nil || custom["USD"] != 100 || custom["JPY"] != 5 || custom["EUR"] != 45000 {
		t.Fatalf("ParseThresholds = %v, %v", custom, err)
	}
	for _, bad := range []string{"USD", "XXX=5", "USD=-1", "USD=0", "USD=1.5", "USD=abc"} {
		if _, err := ParseThresholds(bad); err == nil {
			t.Errorf("ParseThresholds(%q) accepted", bad)
		}
	}
}
