package cases

import (
	"fmt"
	"strings"
)

// timelineLabels name the timeline's kinds for people.
var timelineLabels = map[string]string{
	"case_created": "case opened", "card_added": "card added", "card_frozen": "card frozen", "card_unfrozen": "card unfrozen",
	"case_updated": "case changed", "case_flagged": "flagged", "communication": "communication", "evidence_added": "evidence added",
	"evidence_verified": "evidence verified", "evidence_rejected": "evidence rejected", "correction_requested": "correction requested",
	"correction_approved": "approved", "correction_applied": "applied", "correction_reversed": "reversed", "correction_denied": "denied",
	"correction_cancelled": "cancelled",
}

// TimelineLabel names a timeline entry's kind for people, as the case page and the bundle's
// summary show it.
func TimelineLabel(kind string) string {
	if l, ok := timelineLabels[kind]; ok {
		return l
	}
	return strings.ReplaceAll(kind, "_", " ")
}

// TimelineChangeText renders one side of a timeline entry's change (before or after) for people:
// a text as it is, a list joined by commas, nothing as "none". The console and the bundle's
// summary both show changes with it.
func TimelineChangeText(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		return x
	case []string:
		if len(x) == 0 {
			return "none"
		}
		return strings.Join(x, ", ")
	case []any:
		if len(x) == 0 {
			return "none"
		}
		out := make([]string, 0, len(x))
		for _, p := range x {
			out = append(out, fmt.Sprint(p))
		}
		return strings.Join(out, ", ")
	}
	return fmt.Sprint(v)
}
