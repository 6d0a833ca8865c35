package cases

import "testing"

// TestDecisionsFor: R5 as the console offers it, for every kind of reader. People are told
// apart by user id, as the decisions do: the email of the requester below differs in case only.
func TestDecisionsFor(t *testing.T) {
	pending := CorrectionView{Status: "pending", RequestedBy: "agent@example.com", requestedByID: 1, RequiredApprovals: 2}
	approved := pending
	approved.Approvals = []ApprovalView{{By: "sup1@example.com", byID: 2}}
	sup1 := Principal{UserID: 2, Email: "sup1@example.com", Role: RoleSupervisor}
	sup2 := Principal{UserID: 3, Email: "sup2@example.com", Role: RoleSupervisor}
	admin := Principal{UserID: 4, Email: "admin@example.com", Role: RoleAdmin}
	agent := Principal{UserID: 1, Email: "agent@example.com", Role: RoleAgent}
	requester := Principal{UserID: 1, Email: "Agent@Example.com", Role: RoleSupervisor}
	applied := pending
	applied.Status = "applied"
	for _, tc := range []struct {
		name          string
		p             Principal
		c             CorrectionView
		approve, deny bool
	}{
		{"supervisor", sup1, pending, true, true},
		{"admin", admin, pending, true, true},
		{"agent", Principal{UserID: 9, Email: "other@example.com", Role: RoleAgent}, pending, false, false},
		{"requester, an agent", agent, pending, false, false},
		{"requester, a supervisor", requester, pending, false, false},
		{"first approver of a dual one", sup1, approved, false, true},
		{"second supervisor of a dual one", sup2, approved, true, true},
		{"decided", sup2, applied, false, false},
	} {
		r := DecisionsFor(tc.p, tc.c)
		if r.Approve != tc.approve || r.Deny != tc.deny || (!r.Approve && r.Why == "") {
			t.Errorf("%s: %+v, want approve %v deny %v and a reason when not approving", tc.name, r, tc.approve, tc.deny)
		}
	}
}
