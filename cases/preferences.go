package cases

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// Preferences are a user's console settings: the zone times are shown in and whether keyboard
// shortcuts are on. They shape pages, never a decision.
type Preferences struct {
	TimeZone  string `json:"time_zone"`
	Shortcuts bool   `json:"shortcuts"`
}

// Location is the preferences' time zone, UTC when it is unknown to this machine.
func (p Preferences) Location() *time.Location {
	if loc, err := time.LoadLocation(p.TimeZone); err == nil && p.TimeZone != "" {
		return loc
	}
	return time.UTC
}

func preferencesOf(u models.User) Preferences {
	return Preferences{TimeZone: u.TimeZone, Shortcuts: u.Shortcuts}
}

// SetPreferences saves the signed-in user's console settings, audited. The time zone must be an
// IANA name such as Europe/Berlin.
func (d *Desk) SetPreferences(ctx context.Context, a Actor, in Preferences) (Preferences, error) {
	if a.Principal == nil {
		return Preferences{}, errNoSession
	}
	zone := strings.TrimSpace(in.TimeZone)
	if zone == "" {
		zone = "UTC"
	}
	if _, err := time.LoadLocation(zone); err != nil || len(zone) > 64 || zone == "Local" {
		return Preferences{}, Invalid("time_zone", "must be a time zone name such as Europe/Berlin or America/New_York")
	}
	out := Preferences{TimeZone: zone, Shortcuts: in.Shortcuts}
	err := d.inTx(ctx, func(tx *gorm.DB) error {
		u, err := models.UserByID(ctx, tx, a.Principal.UserID)
		if err != nil {
			return err
		}
		if err := models.UpdateUser(ctx, tx, u.ID, map[string]any{"time_zone": out.TimeZone, "shortcuts": out.Shortcuts, "updated_at": d.now()}); err != nil {
			return err
		}
		return d.audit(ctx, tx, a, "user.preferences_changed", "user", u.ID, preferencesOf(u), out)
	})
	if err != nil {
		return Preferences{}, err
	}
	return out, nil
}
