package handlers

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestBrowserQueueRowsByKeyboard: on a queue, j and k move the focus through the rows and Enter
// opens the focused one (issue 21, item 7).
func TestBrowserQueueRowsByKeyboard(t *testing.T) {
	p := newPage(t)
	d := newConsoleDesk(t, newHarness(t, modelstest.Open(t, models.Postgres)))
	var refs []string // newest first
	for _, account := range []string{"KEYS0001", "KEYS0002", "KEYS0003"} {
		refs = append([]string{d.patch(d.caseWith("normal", account), `{"assignee":"agent@example.com"}`).Ref}, refs...)
	}
	ts := httptest.NewServer(d.srv)
	defer ts.Close()
	key := func(k string) chromedp.Action[chromedp.Void] {
		if k == "Enter" {
			k = "\r"
		}
		return chromedp.KeyEvent(k)
	}
	focused := func() string {
		t.Helper()
		return p.value(chromedp.Evaluate[string](`document.activeElement.tagName === 'TR' ? document.activeElement.querySelector('th a').textContent : ''`))
	}
	p.do(chromedp.Navigate(ts.URL+"/login"), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: d.cookie, URL: ts.URL})
		return err
	}), chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("tbody tr")))
	p.do(key("j"))
	if got := focused(); got != refs[0] {
		t.Fatalf("j focused %q, want %s", got, refs[0])
	}
	p.do(key("j"), key("j"), key("k"))
	if got := focused(); got != refs[1] {
		t.Fatalf("j j k focused %q, want %s", got, refs[1])
	}
	p.screenshot("queue-row-focused")
	p.do(key("Enter"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if at := p.value(chromedp.Location()); !strings.HasSuffix(at, "/cases/"+refs[1]) {
		t.Fatalf("Enter opened %q, want the case %s", at, refs[1])
	}
}
