package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/password"
	"github.com/firedrill/firedrill/orchestrator/notify"
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
	// Notifier is told of the runs operations leave waiting for approval (approval_needed)
	// and of those they end without a worker (run_ended: rejected, approval window ended,
	// aborted while waiting). Optional: nil sends no notifications. A notification that cannot
	// be queued is logged; it never fails the operation.
	Notifier Notifier
	// Reports is what exporting and publishing reports needs; nil refuses both as a conflict
	// (reading stored reports still works).
	Reports *Reports
	// Sessions bounds console sessions; zero fields take the defaults.
	Sessions SessionPolicy
	// PasswordParams are the argon2id parameters new passwords are hashed with. Defaults to
	// password.DefaultParams; tests set cheaper ones.
	PasswordParams *password.Params
}

// Notifier receives the announcements operations make. *notify.Notifier is one.
type Notifier interface {
	Notify(ctx context.Context, e notify.Event) error
}

// Estate is the server's estate, read once at start-up.
type Estate struct {
	// Path is the estate file; plans submitted by relative name resolve from its directory.
	Path   string
	Estate *drills.Estate
	Source []byte
	// Files, when set, holds the estate's directory: the plans PlanList, PlanGet and the
	// report's schedules read come from it instead of the disk (serve --demo's embedded
	// example, examples.FS). Nil reads Path's directory.
	Files fs.FS
}

// readFile reads a file of the estate by its path as the estate writes it (relative to the
// estate's directory unless absolute): from Files when set, else from the disk.
func (e *Estate) readFile(path string) (io.ReadCloser, error) {
	if e.Files == nil {
		return os.Open(e.resolve(path))
	}
	if filepath.IsAbs(path) || !filepath.IsLocal(path) {
		return nil, fs.ErrNotExist
	}
	return e.Files.Open(filepath.ToSlash(filepath.Clean(path)))
}

// readDir lists a directory of the estate, as readFile reads files.
func (e *Estate) readDir(dir string) ([]fs.DirEntry, error) {
	if e.Files == nil {
		return os.ReadDir(e.resolve(dir))
	}
	return fs.ReadDir(e.Files, dir)
}

// resolve is where a plan path of the estate (a schedule's plan, a submitted plan_file) is:
// relative to the estate file's directory unless absolute, as the scheduler reads it.
func (e *Estate) resolve(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(e.Path), path)
}

// Control carries out the operations people take. It is safe for concurrent use.
type Control struct {
	cfg      Config
	log      *slog.Logger
	sessions SessionPolicy

	dummyOnce sync.Once
	dummy     string

	compliance complianceCache
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
	if cfg.Sessions.Idle < 0 || cfg.Sessions.MaxAge < 0 {
		return nil, errors.New("control: Config.Sessions: Idle and MaxAge must be 0 (the defaults) or more")
	}
	sessions := cfg.Sessions.withDefaults()
	if sessions.Idle > sessions.MaxAge {
		return nil, fmt.Errorf("control: Config.Sessions: Idle %s is longer than MaxAge %s", sessions.Idle, sessions.MaxAge)
	}
	return &Control{cfg: cfg, log: cfg.Logger.With("component", "control"), sessions: sessions}, nil
}

// ---- Authentication -------------------------------------------------------------------

// Whoami describes the caller.
type Whoami struct {
	Actor drills.Actor `json:"actor"`
	Roles []string     `json:"roles"`
	// Operations lists what the caller may do, from the authorization table.
	Operations     []Operation `json:"operations"`
	TokenExpiresAt *time.Time  `json:"token_expires_at,omitempty"`
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
	// FiredrillVersion and FiredrillCommit are the build that created the run; empty for runs
	// recorded before versions were.
	FiredrillVersion string `json:"firedrill_version,omitempty"`
	FiredrillCommit  string `json:"firedrill_commit,omitempty"`
}

// RunView is a run with all its evidence: steps, measurements, approvals, decisions, the
// whole timeline, participants, notes and findings.
type RunView struct {
	Run          RunSummary        `json:"run"`
	Steps        []StepView        `json:"steps"`
	Services     []MeasurementView `json:"services"`
	Approvals    []ApprovalView    `json:"approvals"`
	Decisions    []DecisionView    `json:"decisions"`
	Timeline     []EventView       `json:"timeline"`
	MissingRoles []string          `json:"missing_roles,omitempty"`
	// Participants are who took part (against the plan's intended participants); Notes the
	// deviations and lessons noted; Findings what the run revealed (and any finding added
	// about it).
	Participants []ParticipantView `json:"participants"`
	Notes        []NoteView        `json:"notes"`
	Findings     []FindingView     `json:"findings"`
	// Integrity is what checking the run's part of the audit log found.
	Integrity IntegrityView `json:"integrity"`
}

// IntegrityView says whether a run's record agrees with the hash-chained audit log: every
// timeline event is in the log unaltered, the log's rows for it hash and link, and the run's
// state is the one its audited events end in.
type IntegrityView struct {
	// Verified is true when nothing was found wrong.
	Verified bool `json:"verified"`
	// AuditRows is how many audit rows of the run were checked.
	AuditRows int64 `json:"audit_rows"`
	// AuditPending is how many of the run's events were committed moments ago and wait to be
	// chained: their copied content was checked, their place in the chain is still to come.
	AuditPending int64 `json:"audit_pending,omitempty"`
	// Problem names the first missing or altered row; empty when verified.
	Problem string `json:"problem,omitempty"`
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
	// Instructions are what the plan tells the person to do, for a manual step.
	Instructions string `json:"instructions,omitempty"`
}

// MeasurementView is what a run measured for one service.
type MeasurementView struct {
	Service     string `json:"service"`
	Criticality string `json:"criticality"`
	// RTOEvidence and RPOEvidence: met, missed or not_evidenced (never measured, so never
	// met); Met: both were measured and met.
	RTOEvidence    drills.Evidence `json:"rto_evidence"`
	RPOEvidence    drills.Evidence `json:"rpo_evidence"`
	Met            bool            `json:"met"`
	RTOObjectiveMS int64           `json:"rto_objective_ms"`
	RTOActualMS    *int64          `json:"rto_actual_ms"`
	Restored       bool            `json:"restored"`
	RestoredAt     *time.Time      `json:"restored_at,omitempty"`
	RTOMet         bool            `json:"rto_met"`
	RPOObjectiveMS int64           `json:"rpo_objective_ms"`
	RPOActualMS    *int64          `json:"rpo_actual_ms"`
	RPOLostRows    *int64          `json:"rpo_lost_rows"`
	RPOMet         *bool           `json:"rpo_met"`
	// RPOResolutionMS bounds the RPO's error (the canary's write interval); nil without a
	// canary figure. ResolutionMS is the RTO's.
	RPOResolutionMS *int64 `json:"rpo_resolution_ms"`
	ResolutionMS    int64  `json:"resolution_ms"`
	// ResolutionMethod says how the restored moment that bounds ResolutionMS was caught (an
	// actions.Resolution* value: poll, nomad_event_stream, nomad_blocking_query); empty when
	// the service was not restored.
	ResolutionMethod string          `json:"resolution_method,omitempty"`
	Reason           string          `json:"reason,omitempty"`
	Evidence         json.RawMessage `json:"evidence,omitempty"`
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

// RunAbortParams abort a run.
type RunAbortParams struct {
	RunID string `json:"-"`
	// Reason is required and recorded.
	Reason string `json:"reason"`
}

// StepDecideParams decide a step waiting for a person.
type StepDecideParams struct {
	RunID   string `json:"-"`
	StepKey string `json:"-"`
	// Decision is done, failed, retry or abort.
	Decision string `json:"decision"`
	Comment  string `json:"comment,omitempty"`
}

// ApprovalWaiting is a run waiting for approvals.
type ApprovalWaiting struct {
	Run          RunSummary `json:"run"`
	MissingRoles []string   `json:"missing_roles"`
	// CanApprove: the caller may approve it (holds a missing role, did not ask for it, has
	// not decided yet).
	CanApprove bool       `json:"can_approve"`
	Deadline   *time.Time `json:"deadline,omitempty"`
	// Plan is what the run will do, from the plan version it was submitted with; nil when
	// that version no longer parses.
	Plan *PlanOutline `json:"plan,omitempty"`
}

// PlanOutline is what a run's plan will touch: the services it fails over and its steps, as
// an approver reads them.
type PlanOutline struct {
	Description string            `json:"description,omitempty"`
	Services    []string          `json:"services"`
	Steps       []PlanStepOutline `json:"steps"`
	// RollbackSteps counts the steps that return the estate afterwards; NoRollbackReason says
	// why a plan has none.
	RollbackSteps    int    `json:"rollback_steps"`
	NoRollbackReason string `json:"no_rollback_reason,omitempty"`
}

// PlanStepOutline is one step of a plan.
type PlanStepOutline struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	Site   string `json:"site,omitempty"`
	// ForEach names the services the step acts on, one after the other.
	ForEach   []string `json:"for_each,omitempty"`
	Milestone string   `json:"milestone,omitempty"`
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

// ---- Schedules, calendar, services ------------------------------------------------------

// ScheduleView is a schedule as the estate declares it and the database records it.
// (Moved from the CLI: keeps its JSON keys.)
type ScheduleView struct {
	Name string `json:"name"`
	// Plan is the plan file as the estate writes it; PlanName the plan's name once recorded.
	Plan     string `json:"plan"`
	PlanName string `json:"plan_name,omitempty"`
	Cron     string `json:"cron"`
	TimeZone string `json:"time_zone"`
	// Missed is the missed-fire policy; StartWithin the start window ("1h").
	Missed      string   `json:"missed"`
	StartWithin string   `json:"start_within"`
	Blackouts   []string `json:"blackouts"`
	// Approval lists the roles a fire's run needs: the schedule's policy, else the estate's
	// default.
	Approval []string `json:"approval_roles"`
	// InEstate: the estate defines it; Recorded: the database knows it (serve has started).
	InEstate bool `json:"in_estate"`
	Recorded bool `json:"recorded"`
	Paused   bool `json:"paused"`
	// PausedBy, PausedReason and PausedAt say who paused it, while it is paused.
	PausedBy     *drills.Actor `json:"paused_by,omitempty"`
	PausedReason string        `json:"paused_reason,omitempty"`
	PausedAt     *time.Time    `json:"paused_at,omitempty"`
	LastFire     *time.Time    `json:"last_fire,omitempty"`
	// NextFire is the next fire while active; NextFireLoc the same in the schedule's zone.
	NextFire    *time.Time `json:"next_fire,omitempty"`
	NextFireLoc string     `json:"next_fire_local,omitempty"`
}

// State says in a few words whether the schedule fires: "active", "paused by alice", ...
func (v *ScheduleView) State() string {
	switch {
	case !v.InEstate:
		return "not in estate"
	case v.Paused && v.PausedBy != nil:
		return "paused by " + v.PausedBy.Name
	case v.Paused:
		return "paused"
	case !v.Recorded:
		return "active (not yet recorded: start firedrill serve)"
	}
	return "active"
}

// ScheduleDetail is one schedule with its recorded fires and the next ones.
type ScheduleDetail struct {
	Schedule ScheduleView `json:"schedule"`
	// RecentFires are the latest decided fires, newest first.
	RecentFires []FireView `json:"recent_fires"`
	// NextFires are the next fires, blacked-out ones included (they show why a date is skipped).
	NextFires []UpcomingFire `json:"next_fires"`
}

// FireView is one decided fire of a schedule.
type FireView struct {
	FireTime time.Time `json:"fire_time"`
	// Local is the fire time in the schedule's zone.
	Local    string `json:"local"`
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
	RunID    string `json:"run_id,omitempty"`
	// DecidedBy is the replica that decided.
	DecidedBy string `json:"decided_by"`
}

// UpcomingFire is one future fire of a schedule.
type UpcomingFire struct {
	At       time.Time `json:"at"`
	Local    string    `json:"local"`
	Blackout string    `json:"blackout,omitempty"`
}

// SchedulePauseParams pause or resume a schedule.
type SchedulePauseParams struct {
	Name   string `json:"-"`
	Reason string `json:"reason,omitempty"`
}

// CalendarParams bound the calendar.
type CalendarParams struct {
	// From and To are local dates (their time of day is ignored), both included. Required.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Schedule, when set, keeps that schedule's fires only.
	Schedule string `json:"schedule,omitempty"`
}

// Calendar is the fires due in a period and each service's due status.
// (Moved from the CLI: keeps its JSON keys.)
type Calendar struct {
	// From and To are the period's local dates, YYYY-MM-DD.
	From string `json:"from"`
	To   string `json:"to"`
	// Fires are the fires whose local date lies in the period, by time.
	Fires []CalendarFire `json:"fires"`
	// Services are the services with a drill_every: overdue first, then by next due date.
	Services []ServiceDue `json:"services"`
	// BlackoutDays are the local dates of the period a blackout of a schedule covers (wholly
	// or in part), by date.
	BlackoutDays []BlackoutDay `json:"blackout_days"`
}

// BlackoutDay is a date a blackout covers.
type BlackoutDay struct {
	Date     string `json:"date"`
	Blackout string `json:"blackout"`
	Reason   string `json:"reason,omitempty"`
	// From and To are the window's local times of day when it covers part of the day.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Schedules are the schedules it keeps from firing.
	Schedules []string `json:"schedules"`
}

// CalendarFire is one fire in the calendar.
type CalendarFire struct {
	Schedule string    `json:"schedule"`
	Plan     string    `json:"plan"`
	At       time.Time `json:"at"`
	Local    string    `json:"local"`
	TimeZone string    `json:"time_zone"`
	// Blackout names the blackout that suppresses the fire, if one does.
	Blackout string `json:"blackout,omitempty"`
	// Decision is how the scheduler decided the fire, once it has (run, skipped_blackout,
	// skipped_paused, skipped_missed, superseded); Reason says why it skipped it; RunID is the
	// run it started.
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
	RunID    string `json:"run_id,omitempty"`
}

// Skipped reports whether the fire did not, or will not, start a run: decided so, or due in
// a blackout.
func (f *CalendarFire) Skipped() bool {
	if f.Decision != "" {
		return f.Decision != store.FireRun
	}
	return f.Blackout != ""
}

// ServiceDue is when a service's next drill is due.
type ServiceDue struct {
	Service string `json:"service"`
	// Every is the longest time allowed between two passed drills ("365d").
	Every        string     `json:"every"`
	LastPassed   *time.Time `json:"last_passed,omitempty"`
	NextDue      *time.Time `json:"next_due,omitempty"`
	Overdue      bool       `json:"overdue"`
	NeverDrilled bool       `json:"never_drilled"`
}

// ServiceView is a service of the estate with its due status.
type ServiceView struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	Criticality string   `json:"criticality"`
	RTOMS       int64    `json:"rto_ms"`
	RPOMS       int64    `json:"rpo_ms"`
	DependsOn   []string `json:"depends_on"`
	// DrillEvery is the required drill interval ("365d"); empty when none is required, and
	// then the due fields are unset.
	DrillEvery   string     `json:"drill_every,omitempty"`
	LastPassed   *time.Time `json:"last_passed,omitempty"`
	NextDue      *time.Time `json:"next_due,omitempty"`
	Overdue      bool       `json:"overdue"`
	NeverDrilled bool       `json:"never_drilled"`
}

// SiteView is a site of the estate (never its secrets, nor where they are kept).
type SiteView struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Ingress string `json:"ingress,omitempty"`
	// Nomad is the site's Nomad cluster; nil for a site without one.
	Nomad *NomadView `json:"nomad,omitempty"`
	// Databases names the site's databases.
	Databases []string `json:"databases"`
}

// NomadView is where a site's Nomad cluster answers.
type NomadView struct {
	Address    string `json:"address"`
	Region     string `json:"region,omitempty"`
	Datacenter string `json:"datacenter,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
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
	// What a valid plan will touch: its outline (services, steps, rollback), the site lost
	// (From) and the one taking over (To), every site a step acts on, and the roles that must
	// approve a run of it (none: it starts at once) within ApprovalWithin.
	Outline        *PlanOutline `json:"outline,omitempty"`
	From           string       `json:"from,omitempty"`
	To             string       `json:"to,omitempty"`
	Sites          []string     `json:"sites,omitempty"`
	ApprovalRoles  []string     `json:"approval_roles,omitempty"`
	ApprovalWithin string       `json:"approval_within,omitempty"`
}

// ---- Users, roles, tokens ---------------------------------------------------------------

// UserView is a user with their roles.
type UserView struct {
	Name       string        `json:"name"`
	Roles      []string      `json:"roles"`
	Disabled   bool          `json:"disabled"`
	CreatedAt  time.Time     `json:"created_at"`
	CreatedBy  drills.Actor  `json:"created_by"`
	DisabledAt *time.Time    `json:"disabled_at,omitempty"`
	DisabledBy *drills.Actor `json:"disabled_by,omitempty"`
	// SignInMethods are how the user may sign in to the console: "password" (a local
	// account's password is set), "oidc" (linked to the identity provider).
	SignInMethods []string `json:"sign_in_methods"`
	// LastSignInAt is the user's latest console sign-in; absent when never, and outside
	// UserList and UserGet.
	LastSignInAt *time.Time `json:"last_sign_in_at,omitempty"`
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

// ---- Direct database access (no server yet) ---------------------------------------------

// BootstrapParams create the first admin.
type BootstrapParams struct {
	Name string
	// By is who ran the bootstrap on the host (an ActorLocal).
	By drills.Actor
}
