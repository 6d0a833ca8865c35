package main

import (
	"context"
	"log/slog"

	"giftdesk/cases"
	"giftdesk/cases/webhooks"
	"giftdesk/handlers"
)

// startDispatcher delivers the outbox's webhook events until ctx ends (SPEC 4.3), and returns a
// function that waits for the attempts in flight. Every serve process runs one: on PostgreSQL
// they share the work through leased claims; on SQLite the one process is the one dispatcher.
func startDispatcher(ctx context.Context, desk *cases.Desk, allowPrivate bool, log *slog.Logger) func() {
	d := webhooks.New(webhooks.Config{Desk: desk, AllowPrivate: allowPrivate}).NewDispatcher(webhooks.DispatcherConfig{Logger: log,
		Sender: handlers.NewWebhookSender(allowPrivate)})
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	return func() { <-done }
}
