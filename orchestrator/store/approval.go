package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/firedrill/firedrill/drills"
)

// Approval errors.
var (
	// ErrNotAwaitingApproval: the run is not waiting for approvals (already approved, started or ended).
	ErrNotAwaitingApproval = errors.New("run is not awaiting approval")
	// ErrApprovalExpired: the run's approval window ended; the run is now blocked.
	ErrApprovalExpired = errors.New("approval window ended")
	// ErrSelfApproval: the person who asked for a run cannot approve or reject it.
	ErrSelfApproval = errors.New("the requester of a run cannot decide its approval")
)

// Approval decisions.
const (
	ApprovalApprove = "approve"
	ApprovalReject  = "reject"
)

// Timeline entries of approvals.
const (
	EventApproval = "approval"
	EventApproved = "approved"
)

// Approval is one person's decision on a run waiting for approval.
type Approval struct {
	ID    string
	RunID string
	// By is the approver.
	By drills.Actor
	// Roles are the roles the approver acted with when deciding.
	Roles    []string
	Decision string
	Comment  string
	At       time.Time
}

// ApprovalPolicy is the JSON a run records as its approval policy: one approval per role,
// each from a different person who is not the requester.
type ApprovalPolicy struct {
	Roles []string `json:"roles"`
}

// ApprovalDecideParams are the arguments of ApprovalDecide.
type ApprovalDecideParams struct {
	RunID string
	// By is the approver: an authenticated user (kind user). Required.
	By drills.Actor
	// Roles are the roles By acts with (a token's roles its user still holds): recorded with
	// the decision, and what the policy matching counts. Who may approve at all is decided
	// before the store is asked (orchestrator/control).
	Roles []string
	// Decision is ApprovalApprove or ApprovalReject.
	Decision string
	Comment  string
	At       time.Time
}

// ApprovalOutcome is what a decision did to its run.
type ApprovalOutcome struct {
	// Approval is the decision recorded; nil when the window had ended (Expired).
	Approval *Approval
	Run      *Run
	// Satisfied: the policy is met and the run moved to pending, ready for a worker.
	Satisfied bool
	// Missing lists the roles still without an approver.
	Missing []string
	// Expired: the approval window had ended; the run was ended blocked instead and nothing
	// was recorded for the approver. ApprovalDecide returns ErrApprovalExpired then.
	Expired bool
}

// ApprovalDecide records an approval or rejection by an authenticated person who is not the
// run's requester (ErrSelfApproval), once per person and run (ErrDuplicate). A rejection ends
// the run blocked (nothing was touched); an approval that completes the policy, one distinct
// person per role, moves the run to pending. Past the run's approval deadline the run ends
// blocked and ErrApprovalExpired is returned.
func (s *Store) ApprovalDecide(ctx context.Context, p *ApprovalDecideParams) (*ApprovalOutcome, error) {
	var out *ApprovalOutcome
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = s.ApprovalDecideTx(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.Expired {
		return out, fmt.Errorf("decide approval of run %s: %w", p.RunID, ErrApprovalExpired)
	}
	return out, nil
}

// ApprovalDecideTx is ApprovalDecide in tx. An ended window is not an error here: the
// outcome says Expired, and tx must commit for the run to stay ended.
func (s *Store) ApprovalDecideTx(ctx context.Context, tx *Tx, p *ApprovalDecideParams) (*ApprovalOutcome, error) {
	if p == nil || p.RunID == "" {
		return nil, errors.New("approval: RunID is required")
	}
	if err := checkActor("approval: By", p.By); err != nil {
		return nil, err
	}
	if !p.By.Authenticated() {
		return nil, fmt.Errorf("approval: %s is not an authenticated user", p.By)
	}
	if p.Decision != ApprovalApprove && p.Decision != ApprovalReject {
		return nil, fmt.Errorf("approval: decision %q is not %q or %q", p.Decision, ApprovalApprove, ApprovalReject)
	}
	out, err := approvalDecideTx(tx.with(ctx), p, s.now(p.At))
	if err != nil {
		return nil, fmt.Errorf("decide approval of run %s: %w", p.RunID, translate(err))
	}
	return out, nil
}

func approvalDecideTx(tx *gorm.DB, p *ApprovalDecideParams, at time.Time) (*ApprovalOutcome, error) {
	out := &ApprovalOutcome{}
	run, err := lockRun(tx, p.RunID)
	if err != nil {
		return nil, err
	}
	if run.State != string(drills.RunAwaitingApproval) {
		return nil, fmt.Errorf("%w (state %s)", ErrNotAwaitingApproval, run.State)
	}
	if run.ApprovalDeadline != nil && at.After(*run.ApprovalDeadline) {
		if err := endUnclaimed(tx, run, at, drills.RunBlocked, fmt.Sprintf("approval window ended at %s before the policy was met", run.ApprovalDeadline.UTC().Format(time.RFC3339))); err != nil {
			return nil, err
		}
		out.Expired, out.Run = true, runOf(run)
		return out, nil
	}
	policy, err := policyOf(run.ApprovalPolicy)
	if err != nil {
		return nil, err
	}
	requester := requesterOf(run)
	if requester != "" && p.By.Name == requester {
		return nil, fmt.Errorf("%w: %s asked for run %s", ErrSelfApproval, p.By.Name, run.ID)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	roles := slices.Clone(p.Roles)
	if roles == nil {
		roles = []string{}
	}
	slices.Sort(roles)
	m := approvalModel{ID: id.String(), RunID: run.ID, Approver: colsOf(p.By), Roles: mustJSON(slices.Compact(roles)), Decision: p.Decision, Comment: p.Comment, DecidedAt: at}
	if err := tx.Create(&m).Error; err != nil {
		if err = translate(err); errors.Is(err, ErrDuplicate) {
			return nil, fmt.Errorf("%s already decided on this run: %w", p.By.Name, ErrDuplicate)
		}
		return nil, err
	}
	out.Approval = approvalOf(&m)
	if err := appendEvent(tx, run.ID, at, EventApproval, "", p.Comment, map[string]any{"by": p.By, "decision": p.Decision, "roles": out.Approval.Roles}); err != nil {
		return nil, err
	}
	if p.Decision == ApprovalReject {
		msg := "rejected by " + p.By.Name
		if p.Comment != "" {
			msg += ": " + p.Comment
		}
		if err := endUnclaimed(tx, run, at, drills.RunBlocked, msg); err != nil {
			return nil, err
		}
		out.Missing, out.Run = policy.Roles, runOf(run)
		return out, nil
	}
	var all []approvalModel
	if err := tx.Where("run_id = ? AND decision = ?", run.ID, ApprovalApprove).Order("decided_at, id").Find(&all).Error; err != nil {
		return nil, err
	}
	approvers := make([]drills.Approver, 0, len(all))
	for i := range all {
		a := approvalOf(&all[i])
		approvers = append(approvers, drills.Approver{Name: a.By.Name, Roles: a.Roles})
	}
	out.Satisfied, out.Missing = drills.MatchApprovers(policy.Roles, approvers, requester)
	if out.Satisfied {
		if err := checkTransition(drills.RunState(run.State), drills.RunPending); err != nil {
			return nil, err
		}
		if err := tx.Model(&runModel{}).Where("id = ?", run.ID).UpdateColumns(map[string]any{
			"state": string(drills.RunPending), "state_reason": "approved", "updated_at": at,
		}).Error; err != nil {
			return nil, err
		}
		run.State, run.StateReason, run.UpdatedAt = string(drills.RunPending), "approved", at
		if err := appendEvent(tx, run.ID, at, EventApproved, "", "approval policy met", map[string]any{"approvers": approverNames(approvers)}); err != nil {
			return nil, err
		}
	}
	out.Run = runOf(run)
	return out, nil
}

// requesterOf is the person who asked for the run, whose approval never counts; "" when a
// schedule or the system asked.
func requesterOf(m *runModel) string {
	if a := m.RequestedBy.actor(); a.IsPerson() {
		return a.Name
	}
	return ""
}

// MissingApprovals returns the roles of the run's policy that its approvals do not cover yet,
// matched as ApprovalDecide matches them (one distinct person per role, never the requester).
func MissingApprovals(run *Run, approvals []*Approval) []string {
	requester := ""
	if run.RequestedBy.IsPerson() {
		requester = run.RequestedBy.Name
	}
	approvers := make([]drills.Approver, 0, len(approvals))
	for _, a := range approvals {
		if a.Decision == ApprovalApprove {
			approvers = append(approvers, drills.Approver{Name: a.By.Name, Roles: a.Roles})
		}
	}
	_, missing := drills.MatchApprovers(run.ApprovalRoles, approvers, requester)
	return missing
}

// ApprovalList returns a run's approvals and rejections, oldest first.
func (s *Store) ApprovalList(ctx context.Context, runID string) ([]*Approval, error) {
	return approvalList(s.db.WithContext(ctx), runID)
}

func approvalList(db *gorm.DB, runID string) ([]*Approval, error) {
	var ms []approvalModel
	if err := db.Where("run_id = ?", runID).Order("decided_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("approvals of run %s: %w", runID, translate(err))
	}
	out := make([]*Approval, 0, len(ms))
	for i := range ms {
		out = append(out, approvalOf(&ms[i]))
	}
	return out, nil
}

// ApprovalListRuns returns the approvals and rejections of each of runIDs, oldest first.
func (s *Store) ApprovalListRuns(ctx context.Context, runIDs []string) (map[string][]*Approval, error) {
	out := make(map[string][]*Approval, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	var ms []approvalModel
	if err := s.db.WithContext(ctx).Where("run_id IN ?", runIDs).Order("decided_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("approvals of %d runs: %w", len(runIDs), translate(err))
	}
	for i := range ms {
		a := approvalOf(&ms[i])
		out[a.RunID] = append(out[a.RunID], a)
	}
	return out, nil
}

// RunApprovalsExpire ends, blocked, every run still awaiting approval past its deadline, and
// returns their IDs.
func (s *Store) RunApprovalsExpire(ctx context.Context, now time.Time) ([]string, error) {
	now = s.now(now)
	var ids []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var due []string
		if err := tx.Model(&runModel{}).Where("state = ? AND approval_deadline IS NOT NULL AND approval_deadline < ?", string(drills.RunAwaitingApproval), now).
			Order("created_at, id").Pluck("id", &due).Error; err != nil {
			return err
		}
		for _, id := range due {
			r, err := lockRun(tx, id)
			if err != nil {
				return err
			}
			if r.State != string(drills.RunAwaitingApproval) {
				continue // decided meanwhile
			}
			reason := fmt.Sprintf("approval window ended at %s before the policy was met", r.ApprovalDeadline.UTC().Format(time.RFC3339))
			if err := endUnclaimed(tx, r, now, drills.RunBlocked, reason); err != nil {
				return err
			}
			ids = append(ids, r.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expire approvals: %w", translate(err))
	}
	return ids, nil
}

// lockRun reads a run inside tx, row-locking it on PostgreSQL.
func lockRun(tx *gorm.DB, runID string) (*runModel, error) {
	var runs []runModel
	if err := tx.Raw(`UPDATE runs SET updated_at = updated_at WHERE id = ? RETURNING *`, runID).Scan(&runs).Error; err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, ErrNotFound
	}
	return &runs[0], nil
}

// endUnclaimed ends a run that no replica holds (awaiting approval), which the caller locked
// in tx, in a terminal state, and updates m to match.
func endUnclaimed(tx *gorm.DB, m *runModel, at time.Time, state drills.RunState, reason string) error {
	if err := checkTransition(drills.RunState(m.State), state); err != nil {
		return err
	}
	if err := tx.Model(&runModel{}).Where("id = ?", m.ID).UpdateColumns(map[string]any{
		"state": string(state), "state_reason": reason, "ended_at": at, "updated_at": at,
	}).Error; err != nil {
		return err
	}
	m.State, m.StateReason, m.EndedAt, m.UpdatedAt = string(state), reason, &at, at
	return appendEvent(tx, m.ID, at, EventRunFinished, "", reason, map[string]any{"state": state})
}

func policyOf(doc *jsonDoc) (ApprovalPolicy, error) {
	var p ApprovalPolicy
	if doc == nil || len(*doc) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(*doc, &p); err != nil {
		return p, fmt.Errorf("approval policy: %w", err)
	}
	return p, nil
}

// approvalRolesOf reads the roles of a run's recorded policy; nil when it has none.
func approvalRolesOf(doc *jsonDoc) []string {
	p, err := policyOf(doc)
	if err != nil {
		return nil
	}
	return p.Roles
}

// checkApprovalRoles checks the roles a policy names: known roles, each once.
func checkApprovalRoles(roles []string) error {
	seen := map[string]bool{}
	for _, r := range roles {
		if !drills.IsRole(r) {
			return fmt.Errorf("approval role %q is not one of %v", r, drills.Roles)
		}
		if seen[r] {
			return fmt.Errorf("approval role %s is named twice", r)
		}
		seen[r] = true
	}
	return nil
}

func approvalOf(m *approvalModel) *Approval {
	var roles []string
	_ = json.Unmarshal(m.Roles, &roles)
	return &Approval{ID: m.ID, RunID: m.RunID, By: m.Approver.actor(), Roles: roles, Decision: m.Decision, Comment: m.Comment, At: m.DecidedAt.UTC()}
}

func approverNames(as []drills.Approver) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}
