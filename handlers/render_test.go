package handlers

import (
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// renderFailing renders the account page without a signed-in user, which fails halfway through
// the template (it names .Chrome.User.Name), on a server whose log the test reads.
func renderFailing(t *testing.T, prepare func(*Server)) (*httptest.ResponseRecorder, string) {
	t.Helper()
	logs := &syncBuffer{}
	srv, err := New(Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(srv)
	}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/account", nil)
	srv.render(c, http.StatusOK, pageAccount, accountView{})
	return w, logs.String()
}

// TestTemplateErrorIsACleanErrorPage: a page that fails to render is answered as a whole 500
// error page, not as a 200 cut off where the template failed.
func TestTemplateErrorIsACleanErrorPage(t *testing.T) {
	w, logs := renderFailing(t, nil)
	body := w.Body.String()
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500; body %q", w.Code, body)
	}
	if strings.Contains(body, "Your account") || strings.Count(body, "<html") != 1 || !strings.Contains(body, "Something went wrong") ||
		!strings.HasSuffix(strings.TrimSpace(body), "</html>") {
		t.Fatalf("want only the whole error page, got %q", body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(logs, "render page") || !strings.Contains(logs, "account.html") {
		t.Errorf("the failure is not logged: %s", logs)
	}
}

// TestBrokenErrorPageFallsBackToText: when the error page itself fails, the answer is still a
// whole 500, in plain text.
func TestBrokenErrorPageFallsBackToText(t *testing.T) {
	w, _ := renderFailing(t, func(s *Server) {
		s.pages[pageError] = template.Must(template.New("error.html").Parse(`<p>{{.Nope}}</p>`))
	})
	if body := w.Body.String(); w.Code != http.StatusInternalServerError || strings.Contains(body, "<") || !strings.Contains(body, "Internal Server Error") {
		t.Fatalf("status %d body %q", w.Code, body)
	}
}

// TestNewRefusesAMissingPage: a page the server renders but the binary lacks stops the start.
func TestNewRefusesAMissingPage(t *testing.T) {
	saved := consolePages
	t.Cleanup(func() { consolePages = saved })
	consolePages = append(slices.Clone(saved), "queue.html")
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "queue.html") {
		t.Fatalf("New with a missing page: %v", err)
	}
}
