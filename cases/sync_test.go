package cases

import (
	"encoding/base64"
	"testing"
)

// TestChangeCursorsRoundTripAndRefuseTheRest: a change cursor reads back as the position it was
// made from, and anything but the canonical form of one (or the start, "0") is refused, so that
// a cursor cannot name a position the feed never handed out.
func TestChangeCursorsRoundTripAndRefuseTheRest(t *testing.T) {
	for _, c := range []changePos{{0, 0}, {1, 2}, {1 << 40, 0}, {748, 9_000_000_000}} {
		got, ok := decodeChangeCursor(c.cursor())
		if !ok || got != c {
			t.Errorf("%+v: read back as %+v, %t", c, got, ok)
		}
	}
	if got, ok := decodeChangeCursor(ChangeFeedStart); !ok || got != (changePos{}) {
		t.Errorf("the start reads as %+v, %t", got, ok)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, bad := range []string{"", "00", "nonsense", enc("42"), enc("c1"), enc("c1.2x"), enc("c1.2.3"), enc("c-1.2"),
		enc("c1.-2"), enc("c01.2"), enc("c1.02"), enc(" c1.2"), enc("c1.2") + "=", enc("c99999999999999999999.1")} {
		if got, ok := decodeChangeCursor(bad); ok {
			t.Errorf("%q was read as %+v", bad, got)
		}
	}
}
