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

// demoCases are a few cases of the kinds the desk handles, opened by the demo agent.
func demoCases() []cases.NewCase {
	five, fifty := int64(5000), int64(2500)
	return []cases.NewCase{
		{Type: "wrong_account", Priority: "high", Summary: "Gift card redeemed on the work account",
			Description:     "Customer redeemed a $50 card on their work account instead of their personal one.",
			Customer:        cases.AccountInput{AccountID: "DEMO-WORK-1001", Marketplace: "US", Email: "jordan@work.example", Name: "Jordan Lee"},
			IntendedAccount: &cases.AccountInput{AccountID: "DEMO-HOME-1001", Marketplace: "US", Email: "jordan@home.example"},
			Cards: []cases.CardInput{{ClaimCode: "DEMO-WXYZ-2026", FaceValueMinor: &five, Currency: "USD", Marketplace: "US",
				Status: "redeemed", RedeemedTo: "DEMO-WORK-1001", RedeemedAt: "2026-11-20T10:00:00Z"}},
			External: &cases.ExternalInput{System: "zendesk", ID: "demo-81234"}, Tags: []string{"phone"}},
		{Type: "unactivated_card", Summary: "Store never activated the card at the register",
			Description: "Receipt shows the purchase; redemption fails with 'card not activated'.",
			Customer:    cases.AccountInput{AccountID: "DEMO-UK-2002", Marketplace: "UK", Email: "sam@example.co.uk", Name: "Sam Patel"},
			Cards:       []cases.CardInput{{Serial: "6046 2002 2002 2002", FaceValueMinor: &fifty, Currency: "GBP", Marketplace: "UK", Status: "not_activated"}}},
		{Type: "scam_victim", Priority: "urgent", Summary: "Paid a 'tax fine' in gift cards over the phone",
			Customer: cases.AccountInput{AccountID: "DEMO-US-3003", Marketplace: "US", Name: "Alex Kim"}, Tags: []string{"scam"}},
	}
}

// loadDemo adds the demo users when the desk has none of them yet, printing their passwords once,
// and the demo cases when the desk has no case at all.
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
	empty, err := desk.HasNoCases(ctx)
	if err != nil || !empty {
		return err
	}
	agent, err := desk.PrincipalByEmail(ctx, demoUsers[0].Email)
	if err != nil {
		return err
	}
	for _, in := range demoCases() {
		if _, _, err := desk.CreateCase(ctx, agent, cases.Actor{Kind: "system"}, in); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "giftdesk: loaded %d demo cases\n", len(demoCases()))
	return nil
}

func randomDemoPassword() string {
	b := make([]byte, 9)
	_, _ = randRead(b)
	return fmt.Sprintf("demo-%x", b)
}
