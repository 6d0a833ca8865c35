package cases_test

import (
	"testing"
	"time"

	"giftdesk/cases"
)

// TestTimeRange: one range for every time the desk is given, whatever its offset.
func TestTimeRange(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"2026-11-20T10:00:00Z", true},
		{"1970-01-01T00:00:00Z", true},
		{"1970-01-01T01:00:00+01:00", true},
		{"9999-12-31T23:59:59Z", true},
		{"0001-01-01T00:00:00+01:00", false}, // 1 BC in UTC
		{"2026-11-20T10:00:00+24:00", false}, // RFC 3339 offsets run to 23:59
		{"2026-11-20T10:00:00-24:00", false},
		{"2026-11-20T10:00:00+23:59", true},
		{"0000-01-01T00:00:00Z", false},
		{"1969-12-31T23:59:59Z", false},
		{"1970-01-01T00:30:00+01:00", false}, // 1969 in UTC
		{"9999-12-31T23:59:59-01:00", false}, // year 10000 in UTC: no RFC 3339 answer could carry it
		{"2026-11-20", false},
		{"yesterday", false},
	} {
		_, err := cases.ParseTime(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTime(%q) = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
	for _, tt := range []struct {
		in       string
		ok, date bool
	}{
		{"2026-11-19", true, true}, {"1970-01-01", true, true}, {"1969-12-31", false, true}, {"0001-01-01", false, true},
		{"2026-11-19T10:00:00Z", true, false}, {"0001-01-01T00:00:00+01:00", false, false}, {"19/11/2026", false, false},
	} {
		_, date, err := cases.ParseTimeOrDate(tt.in)
		if (err == nil) != tt.ok || (err == nil && date != tt.date) {
			t.Errorf("ParseTimeOrDate(%q) = %v, %v; want ok %v, date %v", tt.in, date, err, tt.ok, tt.date)
		}
	}
	if cases.CheckTimeRange(time.Unix(0, 0).Add(-time.Nanosecond)) == nil || cases.CheckTimeRange(time.Now()) != nil {
		t.Fatal("CheckTimeRange misplaces its bounds")
	}
}
