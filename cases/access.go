package cases

import (
	"fmt"
	"slices"
	"strings"
)

// Role is a user's role. Admin implies supervisor rights, supervisor implies agent rights.
type Role string

// The roles of SPEC §2.
const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// Roles lists the roles from least to most rights.
var Roles = []Role{RoleAgent, RoleSupervisor, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Includes reports whether a user of role r has the rights of role need.
func (r Role) Includes(need Role) bool {
	return r.Valid() && need.Valid() && slices.Index(Roles, r) >= slices.Index(Roles, need)
}

// Scope is an API token scope (R13).
type Scope string

// The scopes of R13.
const (
	ScopeCasesRead         Scope = "cases:read"
	ScopeCasesWrite        Scope = "cases:write"
	ScopeCorrectionsWrite  Scope = "corrections:write"
	ScopeCorrectionsDecide Scope = "corrections:decide"
	ScopeExport            Scope = "export"
	ScopeAdmin             Scope = "admin"
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeCasesRead, ScopeCasesWrite, ScopeCorrectionsWrite, ScopeCorrectionsDecide, ScopeExport, ScopeAdmin}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return slices.Contains(Scopes, s) }

// MinimumRole is the least role a user needs for what scope s allows: deciding corrections is a
// supervisor's, administration an admin's, the rest an agent's.
func (s Scope) MinimumRole() Role {
	switch s {
	case ScopeCorrectionsDecide:
		return RoleSupervisor
	case ScopeAdmin:
		return RoleAdmin
	}
	return RoleAgent
}

// ParseScopes reads a comma-separated scope list, refusing unknown or no scopes.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		sc := Scope(part)
		if !sc.Valid() {
			return nil, Invalid("scopes", fmt.Sprintf("unknown scope %q; known: %s", part, joinNames(Scopes)))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, Invalid("scopes", "name at least one scope: "+joinNames(Scopes))
	}
	return out, nil
}

// Principal is who a request acts as: a user signed in to the console, or a user through one
// of their API tokens (then limited by the token's scopes as well as the user's role).
type Principal struct {
	UserID  int64
	Email   string
	Name    string
	Role    Role
	TokenID int64   // 0 for a console session
	Scopes  []Scope // the token's scopes; nil for a console session
	// Preferences shape the console's pages, never a decision.
	Preferences Preferences
}

// ViaToken reports whether the principal authenticated with an API token.
func (p Principal) ViaToken() bool { return p.TokenID != 0 }

// RequireScope applies R13 to an API call: the token's scope is checked first
// (scope_required), then the user's current role (role_required).
func (p Principal) RequireScope(s Scope) error {
	if p.ViaToken() && !slices.Contains(p.Scopes, s) {
		return Forbidden(CodeScopeRequired, fmt.Sprintf("this token lacks the %s scope", s))
	}
	return p.RequireRole(s.MinimumRole())
}

// RequireExport is the one rule for taking data out of the desk in bulk (exports, case
// bundles). Through the API it is the export scope (R13): an admin grants it to a token on
// purpose, whatever the role of the token's user, as for a reporting integration. In the console,
// which has no scopes, it is the supervisor role: agents work cases one at a time and do not carry
// the desk's data, customers' evidence included, away in files.
func (p Principal) RequireExport() error {
	if p.ViaToken() {
		return p.RequireScope(ScopeExport)
	}
	return p.RequireRole(RoleSupervisor)
}

// RequireRole checks that the principal's user has at least role r.
func (p Principal) RequireRole(r Role) error {
	if !p.Role.Includes(r) {
		return Forbidden(CodeRoleRequired, fmt.Sprintf("this needs the %s role", r))
	}
	return nil
}
