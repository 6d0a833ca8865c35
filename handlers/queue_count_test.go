package handlers

import (
	"testing"

	"giftdesk/cases"
)

// TestQueueCountText: a queue's tab shows its count, with a thousands separator, and a "+" when
// the queue holds more than the desk counted.
func TestQueueCountText(t *testing.T) {
	for _, tt := range []struct {
		count cases.QueueCount
		want  string
	}{
		{cases.QueueCount{Count: 0}, "0"},
		{cases.QueueCount{Count: 999}, "999"},
		{cases.QueueCount{Count: 1000}, "1,000"},
		{cases.QueueCount{Count: cases.QueueCountLimit, More: true}, "1,000+"},
	} {
		if got := queueCountText(tt.count); got != tt.want {
			t.Errorf("%+v shows %q, want %q", tt.count, got, tt.want)
		}
	}
}
