package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestAccountPreferences: an agent picks the zone their times are shown in and turns shortcuts
// off; a zone that does not exist is refused next to its field, the input kept (issue 21).
func TestAccountPreferences(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		cookie := h.session("agent@example.com", cases.RoleAgent)
		post := func(form url.Values) *httpResponse {
			w := h.do(request{method: http.MethodPost, path: "/account", cookie: cookie, body: strings.NewReader(form.Encode()),
				header: sameOrigin})
			return &httpResponse{w.Code, w.Body.String(), w.Header().Get("Location")}
		}
		page := h.do(request{method: http.MethodGet, path: "/account", cookie: cookie})
		if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `value="UTC"`) || strings.Contains(page.Body.String(), `data-shortcuts="off"`) {
			t.Fatalf("account page: %d %s", page.Code, page.Body)
		}
		bad := post(url.Values{"time_zone": {"Mars/Olympus_Mons"}, "shortcuts": {"on"}})
		if bad.code != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `aria-invalid="true"`) ||
			!strings.Contains(bad.body, `value="Mars/Olympus_Mons"`) || !strings.Contains(bad.body, `id="f-time_zone-error"`) {
			t.Fatalf("a zone that does not exist: %d %s", bad.code, bad.body)
		}
		if ok := post(url.Values{"time_zone": {"Europe/Berlin"}}); ok.code != http.StatusSeeOther || ok.location != "/account?saved=1" {
			t.Fatalf("saving: %d %s", ok.code, ok.location)
		}
		page = h.do(request{method: http.MethodGet, path: "/account?saved=1", cookie: cookie})
		if !strings.Contains(page.Body.String(), `value="Europe/Berlin"`) || !strings.Contains(page.Body.String(), `data-shortcuts="off"`) ||
			!strings.Contains(page.Body.String(), "settings are saved") {
			t.Fatalf("saved settings: %s", page.Body)
		}
		if n := modelstest.Count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'user.preferences_changed'`); n != 1 {
			t.Fatalf("%d audit events for one change of settings", n)
		}
	})
}

type httpResponse struct {
	code           int
	body, location string
}

// TestStaticAssetsAreNamedByContent: pages name each asset by its content hash, served for a
// year; the vendored htmx is pinned at 2.0.x and ships with its licence (issue 21).
func TestStaticAssetsAreNamedByContent(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, modelstest.Dialects[1]))
	login := h.do(request{method: http.MethodGet, path: "/login"}).Body.String()
	for _, want := range []string{"giftdesk.css", "vendor/htmx-2.0.11/htmx.min.js", "giftdesk.js"} {
		i := strings.Index(login, want[:strings.LastIndex(want, ".")]+".")
		if i < 0 {
			t.Fatalf("the login page names no %s: %s", want, login)
		}
		start := strings.LastIndex(login[:i], `"`) + 1
		u := login[start : start+strings.Index(login[start:], `"`)]
		w := h.do(request{method: http.MethodGet, path: u})
		if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("%s: %d, Cache-Control %q", u, w.Code, w.Header().Get("Cache-Control"))
		}
		if plain := h.do(request{method: http.MethodGet, path: "/static/" + want}); plain.Code != http.StatusOK || plain.Header().Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s by its plain name: %d %q", want, plain.Code, plain.Header().Get("Cache-Control"))
		}
	}
	if w := h.do(request{method: http.MethodGet, path: "/static/vendor/htmx-2.0.11/LICENSE"}); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Zero-Clause BSD") {
		t.Fatalf("htmx licence: %d %.80s", w.Code, w.Body)
	}
	if w := h.do(request{method: http.MethodGet, path: "/static/nothing.css"}); w.Code != http.StatusNotFound {
		t.Fatalf("an unknown asset: %d", w.Code)
	}
}

// TestHtmxRequestWithoutASessionRedirectsTheWindow: a fragment asked for by htmx after the
// session ended gets HX-Redirect to the sign-in page (and back), never the sign-in page swapped
// into a corner of the page.
func TestHtmxRequestWithoutASessionRedirectsTheWindow(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, modelstest.Dialects[1]))
	w := h.do(request{method: http.MethodPost, path: "/cases/new/code-hint", cookie: "expired", body: strings.NewReader("x=1"),
		header: map[string]string{"HX-Request": "true", "HX-Current-URL": "http://desk.example/cases/new?type=wrong_account", "Sec-Fetch-Site": "same-origin"}})
	if w.Code != http.StatusUnauthorized || w.Header().Get("HX-Redirect") != "/login?next=%2Fcases%2Fnew%3Ftype%3Dwrong_account" || w.Body.Len() != 0 {
		t.Fatalf("htmx without a session: %d HX-Redirect %q body %q", w.Code, w.Header().Get("HX-Redirect"), w.Body)
	}
	if w := h.do(request{method: http.MethodGet, path: "/cases/new", cookie: "expired"}); w.Code != http.StatusSeeOther {
		t.Fatalf("a page without a session: %d", w.Code)
	}
}

// TestWordsReadsThroughPointers: an enumeration shown to people reads through a pointer (a
// resolution is a *string) instead of printing its address (walk review of issue 21).
func TestWordsReadsThroughPointers(t *testing.T) {
	r := "no_action"
	var none *string
	for in, want := range map[any]string{"waiting_on_customer": "waiting on customer", &r: "no action", none: "", nil: ""} {
		if got := words(in); got != want {
			t.Errorf("words(%v) = %q, want %q", in, got, want)
		}
	}
}
