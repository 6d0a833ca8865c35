package cases

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestTransitionsFollowR11(t *testing.T) {
	allowed := map[Status][]Status{
		StatusNew:               {StatusInvestigating, StatusWaitingOnCustomer, StatusResolved},
		StatusInvestigating:     {StatusWaitingOnCustomer, StatusResolved},
		StatusWaitingOnCustomer: {StatusInvestigating, StatusResolved},
		StatusResolved:          {StatusInvestigating, StatusClosed},
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			res := Resolution("")
			if to == StatusResolved {
				res = ResolutionNoAction
			}
			err := CheckTransition(from, to, res)
			want := slices.Contains(allowed[from], to)
			if want && err != nil {
				t.Errorf("%s → %s refused: %v", from, to, err)
			}
			if !want {
				var re *RuleError
				if !errors.As(err, &re) || re.Code != CodeInvalidTransition {
					t.Errorf("%s → %s: err = %v, want invalid_transition", from, to, err)
				}
			}
		}
	}
}

func TestTransitionErrorNamesAllowedTargets(t *testing.T) {
	err := CheckTransition(StatusNew, StatusClosed, "")
	for _, s := range []string{"investigating", "waiting_on_customer", "resolved"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Fatalf("error %v does not name %s", err, s)
		}
	}
}

func TestResolutionRules(t *testing.T) {
	if err := CheckTransition(StatusInvestigating, StatusResolved, ""); err == nil {
		t.Error("resolved without a resolution accepted")
	}
	if err := CheckTransition(StatusNew, StatusInvestigating, ResolutionCorrected); err == nil {
		t.Error("a resolution without resolved accepted")
	}
	if err := CheckTransition(StatusNew, StatusResolved, "fixed"); err == nil {
		t.Error("unknown resolution accepted")
	}
	if err := CheckTransition(StatusPendingApproval, StatusInvestigating, ""); err == nil {
		t.Error("a user moved a case out of pending_approval")
	}
	if err := CheckTransition(StatusInvestigating, StatusPendingApproval, ""); err == nil {
		t.Error("a user moved a case into pending_approval")
	}
}

func TestCaseTypesNeedingCards(t *testing.T) {
	for _, ty := range CaseTypes {
		want := ty == TypeWrongAccount || ty == TypeUnactivatedCard || ty == TypeRegionalMismatch || ty == TypeCodeProblem
		if ty.NeedsCards() != want {
			t.Errorf("%s.NeedsCards() = %v", ty, ty.NeedsCards())
		}
	}
	if TypeUnactivatedCard.CreditSource() != SystemActivationLiability || TypeCodeProblem.CreditSource() != SystemActivationLiability ||
		TypePromoCredit.CreditSource() != SystemGoodwill || TypeScamVictim.CreditSource() != SystemGoodwill {
		t.Error("credit sources differ from SPEC 4.2")
	}
}

func TestRolesAndScopes(t *testing.T) {
	if !RoleAdmin.Includes(RoleSupervisor) || !RoleSupervisor.Includes(RoleAgent) || RoleAgent.Includes(RoleSupervisor) {
		t.Fatal("role order wrong")
	}
	agentToken := Principal{Role: RoleAgent, TokenID: 1, Scopes: []Scope{ScopeCasesRead, ScopeCorrectionsDecide}}
	var re *RuleError
	if err := agentToken.RequireScope(ScopeCasesWrite); !errors.As(err, &re) || re.Code != CodeScopeRequired {
		t.Errorf("missing scope: %v", err)
	}
	if err := agentToken.RequireScope(ScopeCorrectionsDecide); !errors.As(err, &re) || re.Code != CodeRoleRequired {
		t.Errorf("scope beyond role: %v, want role_required", err)
	}
	if err := agentToken.RequireScope(ScopeCasesRead); err != nil {
		t.Errorf("granted scope refused: %v", err)
	}
	session := Principal{Role: RoleSupervisor}
	if err := session.RequireScope(ScopeCorrectionsDecide); err != nil {
		t.Errorf("a console session is limited by role only: %v", err)
	}
	if _, err := ParseScopes("cases:read,bogus"); err == nil {
		t.Error("unknown scope accepted")
	}
	if s, err := ParseScopes(" cases:read , export,cases:read"); err != nil || len(s) != 2 {
		t.Errorf("ParseScopes = %v, %v", s, err)
	}
}

func TestMasterKeyParsing(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	if k, err := ParseMasterKey(hex64); err != nil || len(k) != 32 {
		t.Errorf("hex key: %v", err)
	}
	// 44 base64 characters of 32 bytes; also not hex.
	if k, err := ParseMasterKey("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="); err != nil || len(k) != 32 {
		t.Errorf("base64 key: %v", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("ab", 31), "!!!!" + strings.Repeat("a", 60)} {
		if _, err := ParseMasterKey(bad); err == nil {
			t.Errorf("ParseMasterKey(%q) accepted", bad)
		}
	}
	a, err := DeriveKeys([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := DeriveKeys([]byte(strings.Repeat("j", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint == b.Fingerprint || string(a.ClaimCode) == string(a.Token) || string(a.Session) == string(a.Webhook) {
		t.Error("subkeys must differ per key and per purpose")
	}
	if strings.Contains(a.Fingerprint, hexOf(strings.Repeat("k", 32))[:16]) {
		t.Error("the fingerprint must not reveal the key")
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(out)
}

func TestPasswords(t *testing.T) {
	if err := CheckPasswordPolicy("elevenchars"); err == nil {
		t.Error("11 characters accepted")
	}
	if err := CheckPasswordPolicy("twelve chars"); err != nil {
		t.Errorf("12 characters refused: %v", err)
	}
	if err := CheckPasswordPolicy("ééééééééééé"); err == nil {
		t.Error("11 runes (22 bytes) accepted: the policy counts characters")
	}
	if err := CheckPasswordPolicy(strings.Repeat("x", MaxPasswordBytes+1)); err == nil {
		t.Error("oversized password accepted")
	}
	h, err := HashPassword("correct horse battery")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q, %v", h, err)
	}
	if ok, err := VerifyPassword(h, "correct horse battery"); err != nil || !ok {
		t.Errorf("right password refused (%v)", err)
	}
	if ok, err := VerifyPassword(h, "correct horse batterY"); err != nil || ok {
		t.Errorf("wrong password accepted, or not checked (%v)", err)
	}
	if _, err := VerifyPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("foreign hash format accepted")
	}
}
