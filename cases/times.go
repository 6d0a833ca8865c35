package cases

import (
	"errors"
	"time"
)

// EarliestTime and LatestTime bound every time the desk accepts, whoever gives it (a card's
// redeemed_at, a communication's occurred_at, a receipt's purchased_at, a list filter, a list
// cursor). Gift cards, support calls and receipts are younger than the Unix epoch, and RFC 3339,
// JSON answers and both databases' time columns hold four-digit years only: a time outside is a
// typo or an attack (0001-01-01T00:00:00+01:00 is 1 BC in UTC), never a fact. Facts also may not
// lie in the future; each field says how far.
var (
	EarliestTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	LatestTime   = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// errTimeRange is the message of a time outside [EarliestTime, LatestTime].
var errTimeRange = errors.New("must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z")

// CheckTimeRange refuses a time outside [EarliestTime, LatestTime]. Every time the desk is given
// passes here, parsed or decoded.
func CheckTimeRange(t time.Time) error {
	if t.Before(EarliestTime) || t.After(LatestTime) {
		return errTimeRange
	}
	return nil
}

// ParseTime reads a time given to the desk: RFC 3339 within the range of CheckTimeRange. The
// error's text is a message for the field that held it.
func ParseTime(s string) (time.Time, error) {
	t, err := parseRFC3339(s)
	if err != nil {
		return time.Time{}, errors.New("must be an RFC 3339 time, e.g. 2026-11-20T10:00:00Z")
	}
	if err := CheckTimeRange(t); err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// ParseTimeOrDate reads an RFC 3339 time or a YYYY-MM-DD date (a receipt's purchased_at), within
// the range of CheckTimeRange; dateOnly says which it was.
func ParseTimeOrDate(s string) (t time.Time, dateOnly bool, err error) {
	if t, err = time.Parse(time.DateOnly, s); err == nil {
		return t, true, CheckTimeRange(t)
	}
	if t, err = parseRFC3339(s); err != nil {
		return time.Time{}, false, errors.New("must be an RFC 3339 time or a YYYY-MM-DD date")
	}
	return t, false, CheckTimeRange(t)
}

// parseRFC3339 is time.Parse(time.RFC3339) without what RFC 3339 forbids and Go lets through: an
// offset of 24 hours or more (+24:00).
func parseRFC3339(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	if _, offset := t.Zone(); offset <= -24*3600 || offset >= 24*3600 {
		return time.Time{}, errors.New("offset out of range")
	}
	return t, nil
}

// fact reads the time of something that happened: in range and at most slack after now.
func (f *fieldErrors) fact(field, s string, now time.Time, slack time.Duration) *time.Time {
	t, err := ParseTime(s)
	switch {
	case err != nil:
		f.add(field, err.Error())
		return nil
	case t.After(now.Add(slack)):
		f.add(field, "must not be in the future")
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	return &t
}
