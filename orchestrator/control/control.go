package control

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Config configures a Control.
type Config struct {
	// Store is the database; required.
	Store *store.Store
	// Estate is the estate the server works from (serve --config); nil when the server has
	// none, in which case submitting runs, validating plans and reading schedules, the
	// calendar, sites and services are refused as a conflict.
	Estate *Estate
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// Logger defaults to one that discards.
	Logger *slog.Logger
}

// Estate is the server's estate, read once at start-up.
type Estate struct {
	// Path is the estate file; plans submitted by relative name resolve from its directory.
	Path   string
	Estate *drills.Estate
	Source []byte
}

// Control carries out the operations people take. It is safe for concurrent use.
type Control struct {
	cfg Config
	log *slog.Logger
}

// New returns a Control.
func New(cfg Config) (*Control, error) {
	if cfg.Store == nil {
		return nil, errors.New("control: Config.Store is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Control{cfg: cfg, log: cfg.Logger.With("component", "control")}, nil
}

// errNotBuilt marks an operation whose body is not written yet.
var errNotBuilt = &Error{Category: CategoryInternal, Message: "not implemented"}

// ---- Authentication -------------------------------------------------------------------

// Authenticate turns an API token into the caller it stands for, acting through via. A
// missing, unknown, expired or revoked token, or one whose user is disabled, is an
// unauthenticated *Error; the token itself never appears in an error or a log.
func (c *Control) Authenticate(ctx context.Context, token string, via drills.Via) (*Caller, error) {
	return nil, errNotBuilt
}

// Whoami describes the caller.
type Whoami struct {
	Actor drills.Actor `json:"actor"`
	Roles []string     `json:"roles"`
	// Operations lists what the caller may do, from the authorization table.
	Operations     []Operation `json:"operations"`
	TokenExpiresAt *time.Time  `json:"token_expires_at,omitempty"`
}

// WhoamiGet says who the caller is and what it may do. Every authenticated caller may ask.
func (c *Control) WhoamiGet(ctx context.Context, caller *Caller) (*Whoami, error) {
	return nil, errNotBuilt
}

// ---- Runs -------------------------------------------------------------------------------

// RunSubmitParams ask for a run of a plan against the server's estate.
type RunSubmitParams struct {
	// PlanFile names the plan for diagnostics and resolves its relative paths (jobspecs):
	// relative to the estate's directory. Required.
	PlanFile string `json:"plan_file"`
	// PlanSource is the plan's HCL (or JSON when PlanFile ends in .json). Required.
	PlanSource string `json:"plan_source"`
	// Force submits a plan that fails services over without their dependencies; the run
	// records it and never counts as passed.
	Force bool `json:"force,omitempty"`
	// Comment is recorded with the request.
	Comment string `json:"comment,omitempty"`
}

// RunListParams filter and page the run list, newest first.
type RunListParams struct {
	States []drills.RunState `json:"states,omitempty"`
	Plan   string            `json:"plan,omitempty"`
	// Schedule filters runs fired by that schedule.
	Schedule string `json:"schedule,omitempty"`
	// RequestedBy filters runs a user asked for.
	RequestedBy string `json:"requested_by,omitempty"`
	// Since and Until bound the creation time.
	Since *time.Time `json:"since,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	// Limit defaults to 50, at most 1000.
	Limit int `json:"limit,omitempty"`
	// Cursor is the NextCursor of the previous page; empty for the first.
	Cursor string `json:"cursor,omitempty"`
}

// RunList is one page of runs.
type RunList struct {
	Runs []RunSummary `json:"runs"`
	// NextCursor fetches the next page; empty on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// RunSummary is a run as lists show it.
type RunSummary struct {
	ID               string          `json:"id"`
	Plan             string          `json:"plan"`
	PlanSHA256       string          `json:"plan_sha256,omitempty"`
	EstateSHA256     string          `json:"estate_sha256"`
	From             string          `json:"from_site"`
	To               string          `json:"to_site"`
	State            drills.RunState `json:"state"`
	Reason           string          `json:"reason,omitempty"`
	RequestedBy      drills.Actor    `json:"requested_by"`
	Forced           bool            `json:"forced"`
	Schedule         string          `json:"schedule,omitempty"`
	FireTime         *time.Time      `json:"fire_time,omitempty"`
	CreatedAt        time.Time       `json:"created_at"`
	StartedAt        *time.Time      `json:"started_at,omitempty"`
	EndedAt          *time.Time      `json:"ended_at,omitempty"`
	T0               *time.Time      `json:"t0_disaster,omitempty"`
	T1               *time.Time      `json:"t1_restored,omitempty"`
	RTOActualMS      *int64          `json:"rto_actual_ms,omitempty"`
	ObjectivesMet    *bool           `json:"objectives_met,omitempty"`
	Passed           bool            `json:"passed"`
	ApprovalRoles    []string        `json:"approval_roles,omitempty"`
	ApprovalDeadline *time.Time      `json:"approval_deadline,omitempty"`
	AbortRequestedAt *time.Time      `json:"abort_requested_at,omitempty"`
	AbortRequestedBy *drills.Actor   `json:"abort_requested_by,omitempty"`
	AbortReason      string          `json:"abort_reason,omitempty"`
}

// RunView is a run with all its evidence: steps, measurements, approvals, decisions and the
// whole timeline.
type RunView struct {
	Run          RunSummary        `json:"run"`
	Steps        []StepView        `json:"steps"`
	Services     []MeasurementView `json:"services"`
	Approvals    []ApprovalView    `json:"approvals"`
	Decisions    []DecisionView    `json:"decisions"`
	Timeline     []EventView       `json:"timeline"`
	MissingRoles []string          `json:"missing_roles,omitempty"`
}

// StepView is one attempt of one step.
type StepView struct {
	Seq        int              `json:"seq"`
	Key        string           `json:"key"`
	Name       string           `json:"name"`
	Action     string           `json:"action"`
	Site       string           `json:"site,omitempty"`
	Service    string           `json:"service,omitempty"`
	Attempt    int              `json:"attempt"`
	State      drills.StepState `json:"state"`
	Idempotent bool             `json:"idempotent"`
	StartedAt  time.Time        `json:"started_at"`
	EndedAt    *time.Time       `json:"ended_at,omitempty"`
	DurationMS *int64           `json:"duration_ms,omitempty"`
	Error      string           `json:"error,omitempty"`
	Evidence   json.RawMessage  `json:"evidence,omitempty"`
	// AwaitingDecision: a person must decide this step (a manual step, an unknown outcome).
	AwaitingDecision bool `json:"awaiting_decision,omitempty"`
}

// MeasurementView is what a run measured for one service.
type MeasurementView struct {
	Service        string          `json:"service"`
	Criticality    string          `json:"criticality"`
	RTOObjectiveMS int64           `json:"rto_objective_ms"`
	RTOActualMS    *int64          `json:"rto_actual_ms"`
	Restored       bool            `json:"restored"`
	RestoredAt     *time.Time      `json:"restored_at,omitempty"`
	RTOMet         bool            `json:"rto_met"`
	RPOObjectiveMS int64           `json:"rpo_objective_ms"`
	RPOActualMS    *int64          `json:"rpo_actual_ms"`
	RPOLostRows    *int64          `json:"rpo_lost_rows"`
	RPOMet         *bool           `json:"rpo_met"`
	ResolutionMS   int64           `json:"resolution_ms"`
	Reason         string          `json:"reason,omitempty"`
	Evidence       json.RawMessage `json:"evidence,omitempty"`
}

// ApprovalView is one approval or rejection.
type ApprovalView struct {
	By       drills.Actor `json:"by"`
	Roles    []string     `json:"roles"`
	Decision string       `json:"decision"`
	Comment  string       `json:"comment,omitempty"`
	At       time.Time    `json:"at"`
}

// DecisionView is a person's decision on a step.
type DecisionView struct {
	StepKey  string       `json:"step_key"`
	Decision string       `json:"decision"`
	By       drills.Actor `json:"by"`
	Comment  string       `json:"comment,omitempty"`
	At       time.Time    `json:"at"`
}

// EventView is one entry of a run's timeline.
type EventView struct {
	Seq     int             `json:"seq"`
	At      time.Time       `json:"at"`
	Kind    string          `json:"kind"`
	StepKey string          `json:"step_key,omitempty"`
	Message string          `json:"message,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// RunSubmit records a run of a plan. When an approval policy applies (the plan's, else the
// estate's default) the run waits in awaiting_approval for distinct people of the roles it
// names, never the requester; otherwise it is pending and a worker starts it.
func (c *Control) RunSubmit(ctx context.Context, caller *Caller, p *RunSubmitParams) (*RunSummary, error) {
	return nil, errNotBuilt
}

// RunListGet returns a page of runs.
func (c *Control) RunListGet(ctx context.Context, caller *Caller, p *RunListParams) (*RunList, error) {
	return nil, errNotBuilt
}

// RunGet returns a run with all its evidence.
func (c *Control) RunGet(ctx context.Context, caller *Caller, runID string) (*RunView, error) {
	return nil, errNotBuilt
}

// ApprovalDecideParams approve or reject a run.
type ApprovalDecideParams struct {
	RunID   string `json:"-"`
	Comment string `json:"comment,omitempty"`
}

// ApprovalOutcome is what an approval or rejection did to its run.
type ApprovalOutcome struct {
	Run RunSummary `json:"run"`
	// PolicyMet: every role has its approver and the run is pending.
	PolicyMet    bool     `json:"policy_met"`
	MissingRoles []string `json:"missing_roles"`
}

// RunApprove approves a run awaiting approval as the caller.
func (c *Control) RunApprove(ctx context.Context, caller *Caller, p *ApprovalDecideParams) (*ApprovalOutcome, error) {
	return nil, errNotBuilt
}

// RunReject rejects a run awaiting approval: it ends blocked, nothing touched.
func (c *Control) RunReject(ctx context.Context, caller *Caller, p *ApprovalDecideParams) (*ApprovalOutcome, error) {
	return nil, errNotBuilt
}

// RunAbortParams abort a run.
type RunAbortParams struct {
	RunID string `json:"-"`
	// Reason is required and recorded.
	Reason string `json:"reason"`
}

// RunAbort asks a run to abort; its replica stops the current step and rolls back.
func (c *Control) RunAbort(ctx context.Context, caller *Caller, p *RunAbortParams) (*RunSummary, error) {
	return nil, errNotBuilt
}

// StepDecideParams decide a step waiting for a person.
type StepDecideParams struct {
	RunID   string `json:"-"`
	StepKey string `json:"-"`
	// Decision is done, failed, retry or abort.
	Decision string `json:"decision"`
	Comment  string `json:"comment,omitempty"`
}

// StepDecide records a person's decision on a step.
func (c *Control) StepDecide(ctx context.Context, caller *Caller, p *StepDecideParams) (*DecisionView, error) {
	return nil, errNotBuilt
}

// ApprovalWaiting is a run waiting for approvals.
type ApprovalWaiting struct {
	Run          RunSummary `json:"run"`
	MissingRoles []string   `json:"missing_roles"`
	// CanApprove: the caller may approve it (holds a missing role, did not ask for it, has
	// not decided yet).
	CanApprove bool       `json:"can_approve"`
	Deadline   *time.Time `json:"deadline,omitempty"`
}

// ApprovalsWaiting lists the runs awaiting approval, those the caller can approve first.
func (c *Control) ApprovalsWaiting(ctx context.Context, caller *Caller) ([]ApprovalWaiting, error) {
	return nil, errNotBuilt
}

// ---- Freeze -----------------------------------------------------------------------------

// FreezeView says whether a freeze is on.
type FreezeView struct {
	Active   bool          `json:"active"`
	Reason   string        `json:"reason,omitempty"`
	SetBy    *drills.Actor `json:"set_by,omitempty"`
	SetAt    *time.Time    `json:"set_at,omitempty"`
	LiftedBy *drills.Actor `json:"lifted_by,omitempty"`
	LiftedAt *time.Time    `json:"lifted_at,omitempty"`
	// AbortedRuns lists the runs a freeze with abort_running asked to abort.
	AbortedRuns []string `json:"aborted_runs,omitempty"`
}

// FreezeOnParams turn the freeze on.
type FreezeOnParams struct {
	Reason string `json:"reason"`
	// AbortRunning also asks every run not yet ended to abort, in the same transaction.
	AbortRunning bool `json:"abort_running,omitempty"`
}

// FreezeGet says whether a freeze is on.
func (c *Control) FreezeGet(ctx context.Context, caller *Caller) (*FreezeView, error) {
	return nil, errNotBuilt
}

// FreezeOn turns the freeze on.
func (c *Control) FreezeOn(ctx context.Context, caller *Caller, p *FreezeOnParams) (*FreezeView, error) {
	return nil, errNotBuilt
}

// FreezeOff lifts the freeze.
func (c *Control) FreezeOff(ctx context.Context, caller *Caller) (*FreezeView, error) {
	return nil, errNotBuilt
}

// ---- Schedules, calendar, services ------------------------------------------------------

// ScheduleView is a schedule as the estate declares it and the database records it.
// (Moved from the CLI: keep its JSON keys.)
type ScheduleView struct {
	Name string `json:"name"`
	// the remaining fields move from cmd/firedrill's scheduleRow, keys unchanged.
}

// ScheduleDetail is one schedule with its recorded fires and the next ones.
type ScheduleDetail struct {
	Schedule ScheduleView `json:"schedule"`
}

// SchedulePauseParams pause or resume a schedule.
type SchedulePauseParams struct {
	Name   string `json:"-"`
	Reason string `json:"reason,omitempty"`
}

// ScheduleList lists the schedules.
func (c *Control) ScheduleList(ctx context.Context, caller *Caller) ([]ScheduleView, error) {
	return nil, errNotBuilt
}

// ScheduleGet returns one schedule.
func (c *Control) ScheduleGet(ctx context.Context, caller *Caller, name string) (*ScheduleDetail, error) {
	return nil, errNotBuilt
}

// SchedulePause pauses a schedule: its fires are skipped until it is resumed.
func (c *Control) SchedulePause(ctx context.Context, caller *Caller, p *SchedulePauseParams) (*ScheduleView, error) {
	return nil, errNotBuilt
}

// ScheduleResume resumes a paused schedule.
func (c *Control) ScheduleResume(ctx context.Context, caller *Caller, p *SchedulePauseParams) (*ScheduleView, error) {
	return nil, errNotBuilt
}

// CalendarParams bound the calendar.
type CalendarParams struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Calendar is the fires due in a period and each service's due status.
// (Moved from the CLI: keep its JSON keys.)
type Calendar struct{}

// CalendarGet returns the calendar.
func (c *Control) CalendarGet(ctx context.Context, caller *Caller, p *CalendarParams) (*Calendar, error) {
	return nil, errNotBuilt
}

// ServiceView is a service of the estate with its due status.
type ServiceView struct {
	Name string `json:"name"`
}

// SiteView is a site of the estate (never its secrets).
type SiteView struct {
	Name string `json:"name"`
}

// ServiceList lists the estate's services with their due status.
func (c *Control) ServiceList(ctx context.Context, caller *Caller) ([]ServiceView, error) {
	return nil, errNotBuilt
}

// SiteList lists the estate's sites.
func (c *Control) SiteList(ctx context.Context, caller *Caller) ([]SiteView, error) {
	return nil, errNotBuilt
}

// PlanValidateParams validate a plan against the estate.
type PlanValidateParams struct {
	PlanFile   string `json:"plan_file"`
	PlanSource string `json:"plan_source"`
	Force      bool   `json:"force,omitempty"`
}

// Diagnostic is one positioned problem, as the CLI prints it (file:line:col: message).
type Diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// PlanValidation is the outcome of validating a plan.
type PlanValidation struct {
	Valid       bool         `json:"valid"`
	Plan        string       `json:"plan,omitempty"`
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// PlanValidate validates a plan against the server's estate.
func (c *Control) PlanValidate(ctx context.Context, caller *Caller, p *PlanValidateParams) (*PlanValidation, error) {
	return nil, errNotBuilt
}

// ---- Users, roles, tokens ---------------------------------------------------------------

// UserView is a user with their roles.
type UserView struct {
	Name       string     `json:"name"`
	Roles      []string   `json:"roles"`
	Disabled   bool       `json:"disabled"`
	CreatedAt  time.Time  `json:"created_at"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// UserCreateParams create a user.
type UserCreateParams struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// RoleChangeParams grant or revoke a role.
type RoleChangeParams struct {
	User string `json:"-"`
	Role string `json:"role"`
}

// RoleGrantView is one recorded grant or revocation: who changed what for whom, and when.
type RoleGrantView struct {
	User   string       `json:"user"`
	Role   string       `json:"role"`
	Change string       `json:"change"`
	By     drills.Actor `json:"by"`
	At     time.Time    `json:"at"`
}

// UserList lists users.
func (c *Control) UserList(ctx context.Context, caller *Caller) ([]UserView, error) {
	return nil, errNotBuilt
}

// UserGet returns one user.
func (c *Control) UserGet(ctx context.Context, caller *Caller, name string) (*UserView, error) {
	return nil, errNotBuilt
}

// UserCreate creates a user with roles; the grants are recorded.
func (c *Control) UserCreate(ctx context.Context, caller *Caller, p *UserCreateParams) (*UserView, error) {
	return nil, errNotBuilt
}

// UserDisable disables a user; their tokens stop working at once.
func (c *Control) UserDisable(ctx context.Context, caller *Caller, name string) (*UserView, error) {
	return nil, errNotBuilt
}

// RoleGrant grants a role.
func (c *Control) RoleGrant(ctx context.Context, caller *Caller, p *RoleChangeParams) (*UserView, error) {
	return nil, errNotBuilt
}

// RoleRevoke revokes a role.
func (c *Control) RoleRevoke(ctx context.Context, caller *Caller, p *RoleChangeParams) (*UserView, error) {
	return nil, errNotBuilt
}

// RoleGrantList returns the history of role changes, of one user or ("") of all.
func (c *Control) RoleGrantList(ctx context.Context, caller *Caller, user string) ([]RoleGrantView, error) {
	return nil, errNotBuilt
}

// TokenCreateParams create an API token for a user.
type TokenCreateParams struct {
	User        string `json:"user"`
	Description string `json:"description,omitempty"`
	// Roles the token acts with: a subset of the user's; default all of them.
	Roles []string `json:"roles,omitempty"`
	// ExpiresIn is a Go duration ("720h"); default 90 days, at most a year.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// TokenView is a token without its secret.
type TokenView struct {
	ID          string        `json:"id"`
	User        string        `json:"user"`
	Description string        `json:"description,omitempty"`
	Roles       []string      `json:"roles"`
	CreatedAt   time.Time     `json:"created_at"`
	CreatedBy   drills.Actor  `json:"created_by"`
	ExpiresAt   time.Time     `json:"expires_at"`
	LastUsedAt  *time.Time    `json:"last_used_at,omitempty"`
	RevokedAt   *time.Time    `json:"revoked_at,omitempty"`
	RevokedBy   *drills.Actor `json:"revoked_by,omitempty"`
}

// NewToken is a token just created: the only time its secret is shown.
type NewToken struct {
	TokenView
	Secret string `json:"secret"`
}

// TokenCreate creates a token; the secret is returned once and stored only as a hash.
func (c *Control) TokenCreate(ctx context.Context, caller *Caller, p *TokenCreateParams) (*NewToken, error) {
	return nil, errNotBuilt
}

// TokenList lists tokens, of one user or ("") of all.
func (c *Control) TokenList(ctx context.Context, caller *Caller, user string) ([]TokenView, error) {
	return nil, errNotBuilt
}

// TokenRevoke revokes a token; it stops working at once.
func (c *Control) TokenRevoke(ctx context.Context, caller *Caller, id string) (*TokenView, error) {
	return nil, errNotBuilt
}

// ---- Direct database access (no server yet) ---------------------------------------------

// BootstrapParams create the first admin.
type BootstrapParams struct {
	Name string
	// By is who ran the bootstrap on the host (an ActorLocal).
	By drills.Actor
}

// Bootstrap creates the first admin and a one-time token for them, and refuses (conflict)
// once any admin exists. It is the one operation without a caller: it runs on a firedrill host
// with direct access to the database (firedrill user bootstrap).
func (c *Control) Bootstrap(ctx context.Context, p *BootstrapParams) (*NewToken, error) {
	return nil, errNotBuilt
}
