package seed

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
)

// person is a seeded member of staff.
type person struct {
	id    int64
	email string
	name  string
}

// staffing is who works the seeded cases: agents record and request, supervisors decide.
type staffing struct {
	agents      []person
	supervisors []person
}

var agentNames = []string{"Avery Brooks", "Jordan Reyes", "Sam Okafor", "Riley Chen", "Morgan Patel", "Casey Novak",
	"Taylor Haddad", "Jamie Lindqvist", "Alex Moreau", "Robin Tanaka", "Quinn Adeyemi", "Drew Kowalski"}

var supervisorNames = []string{"Dana Whitfield", "Priya Raman", "Lukas Becker", "Marisol Vega"}

// ensureStaff adds the seed's agents and supervisors the desk lacks, each with a one-time
// password nobody is told (an admin resets it to let one in), and returns all of them.
func ensureStaff(ctx context.Context, desk *cases.Desk) (staffing, error) {
	var s staffing
	add := func(names []string, role cases.Role, prefix string) ([]person, error) {
		var out []person
		for i, name := range names {
			email := fmt.Sprintf("%s%02d@seed.giftdesk.test", prefix, i+1)
			_, _, err := desk.AddUserWithOneTimePassword(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: name, Role: role})
			if err != nil && !errors.Is(err, cases.ErrEmailTaken) {
				return nil, fmt.Errorf("seed user %s: %w", email, err)
			}
			p, err := desk.PrincipalByEmail(ctx, email)
			if err != nil {
				return nil, fmt.Errorf("seed user %s: %w", email, err)
			}
			out = append(out, person{id: p.UserID, email: p.Email, name: p.Name})
		}
		return out, nil
	}
	var err error
	if s.agents, err = add(agentNames, cases.RoleAgent, "agent"); err != nil {
		return s, err
	}
	if s.supervisors, err = add(supervisorNames, cases.RoleSupervisor, "supervisor"); err != nil {
		return s, err
	}
	return s, nil
}

// systemIDs are the row ids of the system accounts corrections move money from.
type systemIDs struct {
	activation, goodwill int64
}

func systemAccounts(ctx context.Context, db *gorm.DB) (systemIDs, error) {
	a, err := models.AccountByAccountID(ctx, db, "system:activation_liability")
	if err != nil {
		return systemIDs{}, err
	}
	g, err := models.AccountByAccountID(ctx, db, "system:goodwill")
	if err != nil {
		return systemIDs{}, err
	}
	return systemIDs{activation: a.ID, goodwill: g.ID}, nil
}
