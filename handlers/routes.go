package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
	"giftdesk/cases/export"
)

// access is what a route demands. Every route names one; there is no default.
type access struct {
	public bool        // no authentication (health, the OpenAPI document, login)
	scope  cases.Scope // API: the token scope; the user's role must reach scope.MinimumRole()
	role   cases.Role  // console: a session of a user with at least this role
	query  bool        // API: a POST that only reads (its body holds a secret): no Idempotency-Key
	// admin: an operations route (metrics, profiles) for admins, reached by a monitoring system
	// with an API token (admin scope) or by an admin's browser (console session); others are
	// refused as the API or the console refuses them.
	admin bool
}

func public() access                 { return access{public: true} }
func api(scope cases.Scope) access   { return access{scope: scope} }
func console(role cases.Role) access { return access{role: role} }
func operations() access             { return access{admin: true} }

// apiQuery is a POST that changes nothing, such as a claim-code look-up: a POST only so that the
// secret travels in the body, never in a URL. Nothing to replay, so its body and answer are not
// kept for an Idempotency-Key.
func apiQuery(scope cases.Scope) access { return access{scope: scope, query: true} }

// route is one entry of the route table.
type route struct {
	method string
	path   string
	access access
	handle gin.HandlerFunc
}

// routes is the one table of everything the desk serves.
func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/api/v1/health", public(), s.health},
		{http.MethodGet, "/api/v1/openapi.json", public(), s.openAPI},
		{http.MethodGet, "/api/v1/cases", api(cases.ScopeCasesRead), s.listCases},
		{http.MethodPost, "/api/v1/cases", api(cases.ScopeCasesWrite), s.createCase},
		{http.MethodGet, "/api/v1/cases/:ref", api(cases.ScopeCasesRead), s.getCase},
		{http.MethodPatch, "/api/v1/cases/:ref", api(cases.ScopeCasesWrite), s.updateCase},
		{http.MethodPost, "/api/v1/cases/:ref/cards", api(cases.ScopeCasesWrite), s.addCard},
		{http.MethodPost, "/api/v1/cases/:ref/communications", api(cases.ScopeCasesWrite), s.addCommunication},
		{http.MethodGet, "/api/v1/cases/:ref/communications", api(cases.ScopeCasesRead), s.listCommunications},
		{http.MethodPost, uploadPath, api(cases.ScopeCasesWrite), s.addEvidence},
		{http.MethodGet, "/api/v1/cases/:ref/evidence", api(cases.ScopeCasesRead), s.listEvidence},
		{http.MethodGet, "/api/v1/cases/:ref/timeline", api(cases.ScopeCasesRead), s.caseTimeline},
		{http.MethodGet, "/api/v1/cases/:ref/bundle.zip", api(cases.ScopeExport), s.caseBundle},
		{http.MethodGet, "/api/v1/evidence/:id", api(cases.ScopeCasesRead), s.getEvidence},
		{http.MethodGet, "/api/v1/evidence/:id/file", api(cases.ScopeCasesRead), s.evidenceFile},
		{http.MethodPost, "/api/v1/evidence/:id/verify", api(cases.ScopeCasesWrite), s.verifyEvidence},
		{http.MethodPost, "/api/v1/cases/:ref/corrections", api(cases.ScopeCorrectionsWrite), s.requestCorrection},
		{http.MethodGet, "/api/v1/corrections", api(cases.ScopeCasesRead), s.listCorrections},
		{http.MethodGet, "/api/v1/corrections/:id", api(cases.ScopeCasesRead), s.getCorrection},
		{http.MethodPost, "/api/v1/corrections/:id/cancel", api(cases.ScopeCorrectionsWrite), s.cancelCorrection},
		{http.MethodPost, "/api/v1/corrections/:id/approve", api(cases.ScopeCorrectionsDecide), s.decideCorrection(true)},
		{http.MethodPost, "/api/v1/corrections/:id/deny", api(cases.ScopeCorrectionsDecide), s.decideCorrection(false)},
		{http.MethodGet, "/api/v1/accounts/:id", api(cases.ScopeCasesRead), s.account},
		{http.MethodGet, "/api/v1/accounts/:id/postings", api(cases.ScopeCasesRead), s.postings},
		{http.MethodPost, "/api/v1/cards/lookup", apiQuery(cases.ScopeCasesRead), s.lookupCard},
		{http.MethodGet, "/api/v1/cards/:id", api(cases.ScopeCasesRead), s.getCard},
		{http.MethodPatch, "/api/v1/cards/:id", api(cases.ScopeCasesWrite), s.updateCard},
		{http.MethodGet, "/api/v1/audit", api(cases.ScopeAdmin), s.listAudit},
		{http.MethodGet, "/api/v1/export/cases.csv", api(cases.ScopeExport), s.apiExport(export.CSV)},
		{http.MethodGet, "/api/v1/export/cases.jsonl", api(cases.ScopeExport), s.apiExport(export.JSONL)},
		{http.MethodGet, "/api/v1/export/cases.xlsx", api(cases.ScopeExport), s.apiExport(export.XLSX)},

		{http.MethodGet, "/api/v1/webhooks", api(cases.ScopeAdmin), s.listWebhooks},
		{http.MethodPost, "/api/v1/webhooks", api(cases.ScopeAdmin), s.createWebhook},
		{http.MethodDelete, "/api/v1/webhooks/:id", api(cases.ScopeAdmin), s.disableWebhook},
		{http.MethodPost, "/api/v1/webhooks/:id/rotate-secret", api(cases.ScopeAdmin), s.rotateWebhookSecret},
		{http.MethodGet, "/api/v1/webhooks/:id/deliveries", api(cases.ScopeAdmin), s.webhookDeliveries},
		{http.MethodPost, "/api/v1/webhooks/:id/deliveries/:delivery/redeliver", api(cases.ScopeAdmin), s.redeliverWebhook},

		{http.MethodGet, "/login", public(), s.loginForm},
		{http.MethodPost, "/login", public(), s.login},
		{http.MethodPost, "/logout", console(cases.RoleAgent), s.logout},
		{http.MethodGet, "/", console(cases.RoleAgent), s.home},
		{http.MethodGet, "/cases", console(cases.RoleAgent), s.casesPage},
		{http.MethodPost, "/cases/bulk", console(cases.RoleAgent), s.bulkCases},
		{http.MethodGet, "/cases/export", console(cases.RoleSupervisor), s.consoleExport},
		{http.MethodPost, "/search", console(cases.RoleAgent), s.search},
		{http.MethodGet, "/account", console(cases.RoleAgent), s.accountPage},
		{http.MethodPost, "/account", console(cases.RoleAgent), s.saveAccount},
		{http.MethodGet, "/account/password", console(cases.RoleAgent), s.passwordForm},
		{http.MethodPost, "/account/password", console(cases.RoleAgent), s.changePassword},
		{http.MethodGet, "/cases/new", console(cases.RoleAgent), s.newCasePage},
		{http.MethodPost, "/cases/new", console(cases.RoleAgent), s.createCaseForm},
		{http.MethodPost, "/cases/new/code-hint", console(cases.RoleAgent), s.codeHint},
		{http.MethodGet, "/admin/users", console(cases.RoleAdmin), s.adminUsers},
		{http.MethodPost, "/admin/users", console(cases.RoleAdmin), s.adminCreateUser},
		{http.MethodPost, "/admin/users/:id/role", console(cases.RoleAdmin), s.adminUserRole},
		{http.MethodPost, "/admin/users/:id/deactivate", console(cases.RoleAdmin), s.adminUserDeactivate},
		{http.MethodPost, "/admin/users/:id/reactivate", console(cases.RoleAdmin), s.adminUserReactivate},
		{http.MethodPost, "/admin/users/:id/password", console(cases.RoleAdmin), s.adminUserPassword},
		{http.MethodGet, "/admin/tokens", console(cases.RoleAdmin), s.adminTokens},
		{http.MethodPost, "/admin/tokens", console(cases.RoleAdmin), s.adminCreateToken},
		{http.MethodPost, "/admin/tokens/:id/revoke", console(cases.RoleAdmin), s.adminRevokeToken},
		{http.MethodGet, "/admin/webhooks", console(cases.RoleAdmin), s.adminWebhooks},
		{http.MethodPost, "/admin/webhooks", console(cases.RoleAdmin), s.adminCreateWebhook},
		{http.MethodGet, "/admin/webhooks/:id", console(cases.RoleAdmin), s.adminWebhookLog},
		{http.MethodPost, "/admin/webhooks/:id/disable", console(cases.RoleAdmin), s.adminDisableWebhook},
		{http.MethodPost, "/admin/webhooks/:id/rotate", console(cases.RoleAdmin), s.adminRotateWebhook},
		{http.MethodPost, "/admin/webhooks/:id/deliveries/:delivery/redeliver", console(cases.RoleAdmin), s.adminRedeliverWebhook},

		{http.MethodGet, "/approvals", console(cases.RoleAgent), s.approvalsPage},
		{http.MethodGet, "/approvals/:id/confirm", console(cases.RoleSupervisor), s.approvalConfirm},
		{http.MethodPost, "/approvals/:id/approve", console(cases.RoleSupervisor), s.approvalApprove},
		{http.MethodPost, "/approvals/:id/deny", console(cases.RoleSupervisor), s.approvalDeny},

		{http.MethodGet, "/reports", console(cases.RoleSupervisor), s.reportsPage},
		{http.MethodGet, "/reports/volume.csv", console(cases.RoleSupervisor), s.reportCSV("volume")},
		{http.MethodGet, "/reports/volume-by-type.csv", console(cases.RoleSupervisor), s.reportCSV("volume-by-type")},
		{http.MethodGet, "/reports/volume-by-day-and-type.csv", console(cases.RoleSupervisor), s.reportCSV("volume-by-day-and-type")},
		{http.MethodGet, "/reports/times.csv", console(cases.RoleSupervisor), s.reportCSV("times")},
		{http.MethodGet, "/reports/sla.csv", console(cases.RoleSupervisor), s.reportCSV("sla")},
		{http.MethodGet, "/reports/corrections.csv", console(cases.RoleSupervisor), s.reportCSV("corrections")},
		{http.MethodGet, "/reports/cards.csv", console(cases.RoleSupervisor), s.reportCSV("cards")},

		{http.MethodGet, "/cases/:ref", console(cases.RoleAgent), s.casePage},
		{http.MethodGet, "/cases/:ref/version", console(cases.RoleAgent), s.caseVersion},
		{http.MethodGet, "/cases/:ref/bundle.zip", console(cases.RoleSupervisor), s.consoleCaseBundle},
		{http.MethodGet, "/cases/:ref/reply", console(cases.RoleAgent), s.caseReplyForm},
		{http.MethodGet, "/cases/:ref/corrections/preview", console(cases.RoleAgent), s.caseCorrectionPreview},
		{http.MethodPost, "/cases/:ref/update", console(cases.RoleAgent), s.caseUpdate},
		{http.MethodPost, "/cases/:ref/cards", console(cases.RoleAgent), s.caseAddCard},
		{http.MethodPost, "/cases/:ref/cards/:id/freeze", console(cases.RoleAgent), s.caseFreezeCard},
		{http.MethodPost, "/cases/:ref/communications", console(cases.RoleAgent), s.caseAddCommunication},
		{http.MethodPost, consoleUploadPath, console(cases.RoleAgent), s.caseAddEvidence},
		{http.MethodPost, "/cases/:ref/evidence/:id/verify", console(cases.RoleAgent), s.caseVerifyEvidence},
		{http.MethodPost, "/cases/:ref/corrections", console(cases.RoleAgent), s.caseRequestCorrection},
		{http.MethodPost, "/cases/:ref/corrections/:id/cancel", console(cases.RoleAgent), s.caseCancelCorrection},
		{http.MethodGet, "/evidence/:id/preview", console(cases.RoleAgent), s.evidencePreview},
		{http.MethodGet, "/evidence/:id/download", console(cases.RoleAgent), s.evidenceDownload},

		{http.MethodGet, "/accounts/:id", console(cases.RoleAgent), s.ledgerPage},
		{http.MethodGet, "/audit", console(cases.RoleAdmin), s.auditPage},
		{http.MethodPost, "/audit/verify", console(cases.RoleAdmin), s.auditVerify},

		{http.MethodGet, "/metrics", operations(), s.serveMetrics},
		{http.MethodGet, "/debug/pprof/*profile", operations(), s.profile},
	}
}

// register mounts the table, putting each route behind what its access demands. A route without
// a scope that is not explicitly public is a programming error and stops the start.
func (s *Server) register(r *gin.Engine) {
	registerRoutes(r, s, s.routes())
}

// uploadPath and consoleUploadPath are the routes whose body is a multipart upload, with its own
// limit.
const (
	uploadPath        = "/api/v1/cases/:ref/evidence"
	consoleUploadPath = "/cases/:ref/evidence"
)

func registerRoutes(r *gin.Engine, s *Server, table []route) {
	apiGroup := r.Group("/api/v1") // every answer is no-store: see noStoreButAssets
	pages := r.Group("/")
	for _, rt := range table {
		rel, isAPI := cutPrefix(rt.path, "/api/v1")
		var chain []gin.HandlerFunc
		switch {
		case (rt.path == uploadPath || rt.path == consoleUploadPath) && rt.method == http.MethodPost:
			chain = append(chain, s.limitUpload)
		case isAPI:
			chain = append(chain, limitJSONBody)
		}
		if !isAPI && rt.method != http.MethodGet && rt.method != http.MethodHead {
			chain = append(chain, s.crossOrigin)
		}
		switch {
		case rt.access.public:
		case !isAPI && rt.access.admin && rt.method == http.MethodGet:
			chain = append(chain, s.tokenOrSession, s.rateLimit, s.requireAdmin)
		case isAPI && rt.access.scope.Valid():
			chain = append(chain, s.authenticateToken, s.rateLimit, s.requireScope(rt.access.scope))
			if rt.path == uploadPath && rt.method == http.MethodPost {
				chain = append(chain, s.uploadSlot)
			}
			if rt.method == http.MethodPost && !rt.access.query {
				chain = append(chain, s.idempotent)
			}
		case !isAPI && rt.access.role.Valid():
			chain = append(chain, s.consoleSession, s.requireRole(rt.access.role))
			if rt.path == consoleUploadPath && rt.method == http.MethodPost {
				chain = append(chain, s.uploadSlot)
			}
		default:
			panic("handlers: route " + rt.method + " " + rt.path + " has no access rule fitting its kind")
		}
		chain = append(chain, rt.handle)
		if isAPI {
			apiGroup.Handle(rt.method, rel, chain...)
		} else {
			pages.Handle(rt.method, rt.path, chain...)
		}
	}
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}
