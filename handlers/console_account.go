package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

type accountView struct {
	Chrome    chrome
	TimeZone  string
	Shortcuts bool
	Zones     []string
	Saved     bool
	Errors    formErrors
}

// commonZones are offered as the time zone field's suggestions; any IANA name is accepted.
var commonZones = []string{"UTC", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"America/Toronto", "America/Mexico_City", "America/Sao_Paulo", "Europe/London", "Europe/Berlin", "Europe/Paris",
	"Europe/Rome", "Europe/Madrid", "Europe/Amsterdam", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney"}

// accountPage serves GET /account: the user's console settings.
func (s *Server) accountPage(c *gin.Context) {
	ch := chromeOf(c)
	s.render(c, http.StatusOK, pageAccount, accountView{Chrome: ch, TimeZone: ch.User.Preferences.TimeZone,
		Shortcuts: ch.User.Preferences.Shortcuts, Zones: commonZones, Saved: c.Query("saved") == "1"})
}

// saveAccount serves POST /account.
func (s *Server) saveAccount(c *gin.Context) {
	in := preferencesForm(c)
	if _, err := s.desk.SetPreferences(c.Request.Context(), actor(c), in); err != nil {
		errs, ok := formErrorsOf(err)
		if !ok {
			s.failPage(c, err)
			return
		}
		s.render(c, http.StatusUnprocessableEntity, pageAccount, accountView{Chrome: chromeOf(c), TimeZone: in.TimeZone,
			Shortcuts: in.Shortcuts, Zones: commonZones, Errors: errs})
		return
	}
	redirectSeeOther(c, "/account?saved=1")
}
