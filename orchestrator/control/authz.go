package control

import (
	"slices"
	"strings"

	"github.com/firedrill/firedrill/drills"
)

// Operation names one thing a caller does or reads. Every exported method of Control checks
// exactly one.
type Operation string

// Operations.
const (
	// OpRunRead: list runs and read one with its evidence and timeline.
	OpRunRead Operation = "run.read"
	// OpRunSubmit: ask for a run of a plan.
	OpRunSubmit Operation = "run.submit"
	// OpRunApprove: approve or reject a run awaiting approval (the run's policy then says
	// whose approval counts, and never the requester's).
	OpRunApprove Operation = "run.approve"
	// OpRunAbort: abort a run.
	OpRunAbort Operation = "run.abort"
	// OpStepDecide: decide a step that waits for a person (done, failed, retry, abort).
	OpStepDecide Operation = "step.decide"
	// OpApprovalList: list the runs waiting for the caller's approval.
	OpApprovalList Operation = "approval.list"
	// OpFreezeRead: say whether a freeze is on.
	OpFreezeRead Operation = "freeze.read"
	// OpFreezeSet: turn the freeze on (optionally aborting running runs) or off.
	OpFreezeSet Operation = "freeze.set"
	// OpScheduleRead: read schedules, the calendar and which services are due.
	OpScheduleRead Operation = "schedule.read"
	// OpSchedulePause: pause or resume a schedule.
	OpSchedulePause Operation = "schedule.pause"
	// OpEstateRead: read the sites and services of the estate.
	OpEstateRead Operation = "estate.read"
	// OpPlanValidate: validate a plan against the estate.
	OpPlanValidate Operation = "plan.validate"
	// OpUserRead: list users, their roles and the history of grants.
	OpUserRead Operation = "user.read"
	// OpUserManage: create and disable users, grant and revoke roles.
	OpUserManage Operation = "user.manage"
	// OpTokenManage: create, list and revoke API tokens.
	OpTokenManage Operation = "token.manage"
	// OpReportRead: list and read compliance reports and download their bundles. An auditor
	// sees published reports only; the other roles that may read reports see drafts too.
	OpReportRead Operation = "report.read"
	// OpReportExport: export a draft report (build, sign and store its bundle).
	OpReportExport Operation = "report.export"
	// OpReportPublish: publish a draft report: the sign-off, after which it never changes.
	OpReportPublish Operation = "report.publish"
	// OpReportVerify: verify an uploaded bundle against this server's public key, as
	// `firedrill report verify` does offline, and read that public key.
	OpReportVerify Operation = "report.verify"
	// OpProfileRead: list the regulator profiles and read one, with its rules and sources.
	OpProfileRead Operation = "profile.read"
	// OpFindingRead: list findings and read one with its history.
	OpFindingRead Operation = "finding.read"
	// OpFindingManage: add findings; change their owner, root cause, due date, severity and
	// status (open, in progress, fixed). Closing one is a passing drill's, never a person's.
	OpFindingManage Operation = "finding.manage"
	// OpFindingAccept: accept a finding's risk, with a reason: a compliance decision.
	OpFindingAccept Operation = "finding.accept_risk"
	// OpComplianceRead: evaluate the estate under a regulator profile now (the dashboard's
	// compliance column), without exporting a report. Not the auditor's: an auditor sees
	// published reports only.
	OpComplianceRead Operation = "compliance.read"
	// OpRunRecord: record a run's participants, its deviations from the plan and its lessons.
	OpRunRecord Operation = "run.record"
	// OpAuditRead: search the audit log of operations (who did or tried what, to which
	// target, how it went) and check its hash chain. The admin's, who answers for access, and
	// compliance's, who answers to the regulator for who did what. Not the auditor's: a
	// regulator sees published reports, whose bundles carry their runs' audit chain, not the
	// bank's whole log with its staff's names and refused attempts; not the viewer's, a
	// read-only look at drills.
	OpAuditRead Operation = "audit.read"
)

// Permissions is the one authorization table: for each operation, the roles that may take it.
// The CLI, the API, the console and the tests all read it; nothing else decides who may do
// what.
var Permissions = map[Operation][]string{
	OpRunRead:        {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance, drills.RoleAuditor, drills.RoleViewer},
	OpRunSubmit:      {drills.RoleSRE},
	OpRunApprove:     {drills.RoleSRE, drills.RoleCompliance},
	OpRunAbort:       {drills.RoleSRE, drills.RoleCompliance},
	OpStepDecide:     {drills.RoleSRE},
	OpApprovalList:   {drills.RoleSRE, drills.RoleCompliance},
	OpFreezeRead:     {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance, drills.RoleViewer},
	OpFreezeSet:      {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance},
	OpScheduleRead:   {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance, drills.RoleViewer},
	OpSchedulePause:  {drills.RoleCompliance},
	OpEstateRead:     {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance, drills.RoleViewer},
	OpPlanValidate:   {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance},
	OpUserRead:       {drills.RoleAdmin},
	OpUserManage:     {drills.RoleAdmin},
	OpTokenManage:    {drills.RoleAdmin},
	OpReportRead:     {drills.RoleAdmin, drills.RoleCompliance, drills.RoleAuditor},
	OpReportExport:   {drills.RoleCompliance},
	OpReportPublish:  {drills.RoleCompliance},
	OpReportVerify:   {drills.RoleAdmin, drills.RoleCompliance, drills.RoleAuditor},
	OpProfileRead:    {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance, drills.RoleAuditor, drills.RoleViewer},
	OpFindingRead:    {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance, drills.RoleViewer},
	OpFindingManage:  {drills.RoleSRE, drills.RoleCompliance},
	OpFindingAccept:  {drills.RoleCompliance},
	OpRunRecord:      {drills.RoleSRE, drills.RoleCompliance},
	OpComplianceRead: {drills.RoleAdmin, drills.RoleSRE, drills.RoleCompliance, drills.RoleViewer},
	OpAuditRead:      {drills.RoleAdmin, drills.RoleCompliance},
}

// Scope narrows an operation for a caller who holds it through Role alone: that caller
// reaches only what Reaches says, and is refused (or, in a list, not shown) the rest.
type Scope struct {
	Role    string
	Reaches string
}

// Scopes is the authorization table's second half: for an operation, the role that grants it
// only in part. A caller who also holds another role granting the operation is not narrowed.
// An auditor reads what regulators are shown: the published reports, and the runs they cover
// (report_runs, written with each report's bundle), nothing else.
var Scopes = map[Operation]Scope{
	OpRunRead:    {Role: drills.RoleAuditor, Reaches: "the runs a published report covers"},
	OpReportRead: {Role: drills.RoleAuditor, Reaches: "published reports"},
}

// Scoped reports whether caller takes op only within Scopes[op]: it holds the scope's role,
// and no other role that grants op.
func Scoped(op Operation, caller *Caller) bool {
	sc, ok := Scopes[op]
	if !ok || !caller.HasRole(sc.Role) {
		return false
	}
	for _, r := range Permissions[op] {
		if r != sc.Role && caller.HasRole(r) {
			return false
		}
	}
	return true
}

// Operations lists every operation, sorted.
func Operations() []Operation {
	ops := make([]Operation, 0, len(Permissions))
	for op := range Permissions {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// Allowed reports whether a caller holding roles may take op.
func Allowed(op Operation, roles []string) bool {
	return slices.ContainsFunc(Permissions[op], func(r string) bool { return slices.Contains(roles, r) })
}

// Caller is an authenticated party: who it is (the actor recorded with what it does) and the
// roles it acts with (a token's roles that its user still holds).
type Caller struct {
	Actor drills.Actor
	Roles []string
}

// HasRole reports whether the caller acts with role.
func (c *Caller) HasRole(role string) bool { return c != nil && slices.Contains(c.Roles, role) }

// Authorize returns nil when caller may take op, else a forbidden (or unauthenticated) *Error
// that says which roles would do. Only a person firedrill authenticated (an actor of kind
// user, as Authenticate makes) is authorized: roles held by anything else (a local user, a
// schedule, the system) count for nothing.
func Authorize(caller *Caller, op Operation) error {
	if caller == nil || !caller.Actor.Authenticated() {
		return unauthenticatedf("%s needs an authenticated caller: give an API token (FIREDRILL_TOKEN)", op)
	}
	if Allowed(op, caller.Roles) {
		return nil
	}
	return forbiddenf("%s may not %s: it needs one of the roles %s (the caller acts as %s)",
		caller.Actor.Name, op, strings.Join(Permissions[op], ", "), rolesOrNone(caller.Roles))
}

func rolesOrNone(roles []string) string {
	if len(roles) == 0 {
		return "no role"
	}
	return strings.Join(roles, ", ")
}
