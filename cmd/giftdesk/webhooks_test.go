package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/webhooks"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestServeDeliversWebhooks: serve runs the dispatcher; an event written while it runs reaches
// the endpoint, signed.
func TestServeDeliversWebhooks(t *testing.T) {
	url := modelstest.URL(t, models.Postgres)
	c := newCLI(t, url)
	c.vars["GIFTDESK_SECRET_KEY"] = fmt.Sprintf("%x", modelstest.MasterKey)
	c.vars["GIFTDESK_WEBHOOK_ALLOW_PRIVATE"] = "1"
	var got atomic.Int32
	var secret []byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if webhooks.Verify(secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), b, r.Header.Get("webhook-signature")) {
			got.Add(1)
		}
	}))
	defer rcv.Close()
	db, err := models.Open(context.Background(), models.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	ep, err := webhooks.New(webhooks.Config{Desk: desk, AllowPrivate: true}).Create(context.Background(),
		cases.Principal{Role: cases.RoleAdmin}, cases.CLIActor, webhooks.NewEndpoint{URL: rcv.URL, Events: []string{"case.created"}})
	if err != nil {
		t.Fatal(err)
	}
	if secret, err = webhooks.ParseSecret(ep.Secret); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, &env{getenv: func(k string) string { return c.vars[k] },
			stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb, ready: func(a string) { addrc <- a }})
	}()
	<-addrc
	fv := int64(2500)
	u, err := desk.AddUser(context.Background(), cases.CLIActor, cases.NewUser{Email: "agent@example.com", Name: "Agent",
		Role: cases.RoleAgent, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	agent := cases.Principal{UserID: u.ID, Email: u.Email, Role: cases.RoleAgent}
	if _, _, err := desk.CreateCase(context.Background(), agent, cases.CLIActor, cases.NewCase{Type: "other", Summary: "Webhook test",
		Customer: cases.AccountInput{AccountID: "A1B2C3D4", Marketplace: "US"},
		Cards:    []cases.CardInput{{Serial: "6046123412341234", FaceValueMinor: &fv, Currency: "USD", Marketplace: "US"}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for got.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, errb.String())
	}
	if got.Load() != 1 {
		t.Fatalf("the receiver got %d signed deliveries, want 1", got.Load())
	}
}
