package cases

import (
	"fmt"
	"strings"
	"time"

	"giftdesk/models"
)

// SLATarget is how soon a case of one priority needs a first response and a resolution.
type SLATarget struct {
	FirstResponse time.Duration
	Resolution    time.Duration
}

// SLATargets maps each priority to its targets.
type SLATargets map[Priority]SLATarget

// DefaultSLATargets are the desk's targets unless GIFTDESK_SLA says otherwise.
func DefaultSLATargets() SLATargets {
	return SLATargets{
		PriorityUrgent: {time.Hour, 8 * time.Hour},
		PriorityHigh:   {4 * time.Hour, 24 * time.Hour},
		PriorityNormal: {8 * time.Hour, 72 * time.Hour},
		PriorityLow:    {24 * time.Hour, 7 * 24 * time.Hour},
	}
}

// ParseSLATargets reads "urgent=1h/8h,high=4h/24h" on top of the defaults.
func ParseSLATargets(s string) (SLATargets, error) {
	t := DefaultSLATargets()
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, spec, ok := strings.Cut(part, "=")
		first, res, ok2 := strings.Cut(spec, "/")
		p := Priority(strings.TrimSpace(name))
		if !ok || !ok2 || !p.Valid() {
			return nil, fmt.Errorf("%q is not PRIORITY=FIRST_RESPONSE/RESOLUTION, e.g. urgent=1h/8h", part)
		}
		fr, err1 := time.ParseDuration(strings.TrimSpace(first))
		rd, err2 := time.ParseDuration(strings.TrimSpace(res))
		if err1 != nil || err2 != nil || fr <= 0 || rd < fr {
			return nil, fmt.Errorf("%q: durations must be positive, resolution no sooner than first response", part)
		}
		t[p] = SLATarget{fr, rd}
	}
	return t, nil
}

// slaView is c's SLA at now. The first response is the first outbound communication (recorded by
// AddCommunication): once given, its target is met and no longer counts as breached, however late
// it came; the resolution target counts until the case is no longer open.
func slaView(c models.Case, now time.Time) SLAView {
	v := SLAView{FirstResponseDue: c.FirstResponseDue, FirstResponseAt: c.FirstRespondedAt, ResolutionDue: c.ResolutionDue}
	if !Status(c.Status).Open() {
		return v
	}
	firstLate := c.FirstResponseDue != nil && c.FirstRespondedAt == nil && now.After(*c.FirstResponseDue)
	resolutionLate := c.ResolutionDue != nil && now.After(*c.ResolutionDue)
	v.Breached = firstLate || resolutionLate
	return v
}
