package main

import (
	"context"
	"errors"
	"fmt"

	"giftdesk/cases"
)

// demoUsers are the people of the demo data set: one of each role below admin, so that four-eyes
// and approvals can be tried at once.
var demoUsers = []cases.NewUser{
	{Email: "agent@demo.giftdesk", Name: "Alex Agent", Role: cases.RoleAgent},
	{Email: "supervisor@demo.giftdesk", Name: "Sam Supervisor", Role: cases.RoleSupervisor},
	{Email: "supervisor2@demo.giftdesk", Name: "Sky Supervisor", Role: cases.RoleSupervisor},
}

// loadDemo adds the demo users when the desk has none of them yet, printing their passwords once.
// Demo cases join them once cases can be created (issue 14).
func loadDemo(ctx context.Context, desk *cases.Desk, e *env) error {
	for _, u := range demoUsers {
		u.Password = randomDemoPassword()
		view, err := desk.AddUser(ctx, cases.Actor{Kind: "system"}, u)
		if errors.Is(err, cases.ErrEmailTaken) {
			continue // loaded on an earlier start
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "giftdesk: demo %s %s, password %s\n", view.Role, view.Email, u.Password)
	}
	return nil
}

func randomDemoPassword() string {
	b := make([]byte, 9)
	_, _ = randRead(b)
	return fmt.Sprintf("demo-%x", b)
}
