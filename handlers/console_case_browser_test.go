package handlers

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// browserWith is browser with extra Chromium flags (a colour scheme, a zoom factor).
func browserWith(t *testing.T, flags map[string]any) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("GIFTDESK_TEST_REQUIRE_BROWSER") == "1" {
			t.Fatal("GIFTDESK_TEST_REQUIRE_BROWSER=1 but no chromium on PATH")
		}
		t.Skip("browser tests SKIPPED: no chromium on PATH (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Headless,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 800))
	for k, v := range flags {
		opts = append(opts, chromedp.Flag(k, v))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// drawnPNG is a small real image, so that the preview shows something.
func drawnPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 160; x++ {
			c := color.RGBA{250, 250, 245, 255}
			if y%24 < 3 && x > 12 && x < 148 {
				c = color.RGBA{60, 60, 60, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBrowserCasePage opens a worked case as an agent, in light and dark and at 200 % zoom,
// saving screenshots; the page must meet no 404 or 500 and show no claim code.
func TestBrowserCasePage(t *testing.T) {
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	cc := newConsoleCase(t, h)
	second := h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	if w := h.upload(cc.apiToken, cc.ref, receipt, "receipt.png", drawnPNG(t)); w.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	if w := h.upload(second, cc.ref, map[string]string{"kind": "card_photo"}, "card.png", append(pngBytes, 'x')); w.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	for _, body := range []string{
		`{"channel":"phone","direction":"inbound","body":"Customer redeemed the card on the work account by mistake.","representative_name":"Sam","reference":"CALL-1","duration_seconds":420}`,
		`{"channel":"email","direction":"outbound","body":"We asked for the account emails.","counterpart_name":"Pat Doe"}`,
	} {
		if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + cc.ref + "/communications", token: cc.apiToken, body: strings.NewReader(body)}); w.Code != http.StatusCreated {
			t.Fatalf("communication: %d %s", w.Code, w.Body)
		}
	}
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	dir := os.Getenv("GIFTDESK_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, look := range []struct {
		name  string
		flags map[string]any
	}{
		{"case-light", map[string]any{"blink-settings": "preferredColorScheme=1"}},
		{"case-dark", map[string]any{"blink-settings": "preferredColorScheme=0"}},
		{"case-zoom200", map[string]any{"force-device-scale-factor": "2", "window-size": "640,400", "blink-settings": "preferredColorScheme=1"}},
	} {
		p := &page{t: t, ctx: browserWith(t, look.flags), dir: dir}
		css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
		p.do(chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(css("#email")),
			chromedp.SendKeys(css("#email"), "agent@example.com"), chromedp.SendKeys(css("#password"), "correct horse battery"),
			chromedp.Click(css("main button[type=submit]")), chromedp.WaitVisible(css("header nav")),
			chromedp.Navigate(ts.URL+"/cases/"+cc.ref), chromedp.WaitVisible(css("#case-title")))
		if title := p.value(chromedp.Title()); title != cc.ref+" · giftdesk" {
			t.Fatalf("title %q", title)
		}
		main := p.text("main")
		noClaimCode(t, main)
		p.screenshot(look.name)
	}
	if strings.Contains(h.logs.String(), `"status":404`) || strings.Contains(h.logs.String(), `"status":500`) {
		t.Fatalf("the browser met a 404 or 500: %s", h.logs.String())
	}
}
