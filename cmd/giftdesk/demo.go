package main

import (
	"context"
	"fmt"
	"time"

	"giftdesk/cases"
	"giftdesk/cases/demo"
)

// loadDemo adds the demo users the desk lacks, printing their passwords once, and the demo cases
// when the desk has no case at all (cases/demo).
func loadDemo(ctx context.Context, desk *cases.Desk, e *env, spoolDir string) error {
	created, err := demo.AddUsers(ctx, desk)
	for _, u := range created {
		fmt.Fprintf(e.stderr, "giftdesk: demo %s %s, password %s\n", u.Role, u.Email, u.Password)
	}
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := demo.Load(ctx, desk, spoolDir)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(e.stderr, "giftdesk: demo cases skipped: the desk already has cases")
		return nil
	}
	fmt.Fprintf(e.stderr, "giftdesk: loaded %d demo cases in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
