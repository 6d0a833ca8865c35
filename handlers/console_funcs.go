package handlers

import (
	"fmt"
	"html/template"
	"maps"
	"math"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
	"giftdesk/templates"
)

// pageFuncs are the functions pages call: presentation only, never a rule.
func pageFuncs(assets *templates.Assets, now func() time.Time) template.FuncMap {
	funcs := casePageFuncs()
	maps.Copy(funcs, template.FuncMap{
		// asset is the content-named URL of a static file (templates.Assets).
		"asset": assets.URL,
		// when renders a time as a <time> element: relative ("3 h ago"), with the absolute time
		// in the user's zone on hover and the machine-readable instant in datetime.
		"when": func(t any, zone *time.Location) template.HTML {
			at, ok := timeOf(t)
			if !ok {
				return ""
			}
			if zone == nil {
				zone = time.UTC
			}
			abs := at.In(zone).Format("Mon 2 Jan 2006 15:04 MST")
			return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
				at.UTC().Format(time.RFC3339), template.HTMLEscapeString(abs), template.HTMLEscapeString(relative(at, now()))))
		},
		// fieldID and fieldError name and describe a form field (see formErrors).
		"fieldID": fieldID,
		"fieldError": func(errs formErrors, field string) map[string]string {
			return map[string]string{"Field": field, "Message": errs.For(field)}
		},
		// words renders an enumeration value for people: waiting_on_customer is "waiting on customer".
		"words": words,
		// money renders minor units in their currency: 5000 USD is "50.00 USD" (FormatMinor
		// names the currency itself).
		"money": func(amount int64, currency string) string {
			return cases.FormatMinor(amount, cases.Currency(currency))
		},
	})
	return funcs
}

func timeOf(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil {
			return time.Time{}, false
		}
		return *t, !t.IsZero()
	}
	return time.Time{}, false
}

// relative says how far t is from now, in the largest unit that fits: "just now", "5 min ago",
// "in 3 h", "2 d ago".
func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	d = time.Duration(math.Abs(float64(d)))
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%d d", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// staticFile serves the embedded assets. A content-named URL never changes its bytes, so browsers
// keep it for a year without asking again; a plain name, or a content name that is not the current
// content's, is revalidated against the content's ETag.
func (s *Server) staticFile(assets *templates.Assets) gin.HandlerFunc {
	files := http.FS(templates.Static())
	return func(c *gin.Context) {
		name, hashed, ok := assets.Resolve(strings.TrimPrefix(c.Param("file"), "/"))
		if !ok {
			c.Header("Cache-Control", "no-store") // a file added later may take this name
			s.notFound(c)
			return
		}
		c.Header("ETag", assets.ETag(name))
		if hashed {
			c.Header("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			c.Header("Cache-Control", "no-cache")
		}
		c.Request.URL.Path = "/" + name
		http.FileServer(files).ServeHTTP(c.Writer, c.Request)
	}
}

// words renders an enumeration value for people: waiting_on_customer is "waiting on customer". A
// pointer is read through (a case's resolution is a *string), nil is "".
func words(v any) string {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return ""
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return ""
	}
	return strings.ReplaceAll(fmt.Sprint(rv.Interface()), "_", " ")
}
