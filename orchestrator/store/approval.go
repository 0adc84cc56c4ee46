package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// ErrNotAllowed: this person may not take this decision.
	ErrNotAllowed = errors.New("not allowed")
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
	ID       string
	RunID    string
	Approver string
	// Roles are the roles the approver held when deciding.
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
	RunID    string
	Approver string
	// Decision is ApprovalApprove or ApprovalReject.
	Decision string
	Comment  string
	At       time.Time
}

// ApprovalOutcome is what a decision did to its run.
type ApprovalOutcome struct {
	Approval *Approval
	Run      *Run
	// Satisfied: the policy is met and the run moved to pending, ready for a worker.
	Satisfied bool
	// Missing lists the roles still without an approver.
	Missing []string
}

// Requester returns the person who asked for a run, from its triggered_by ("cli:alice" ->
// "alice"); "" when a schedule or the system did.
func Requester(triggeredBy string) string {
	who, ok := strings.CutPrefix(triggeredBy, "cli:")
	if !ok {
		return ""
	}
	who, _, _ = strings.Cut(who, " ")
	return who
}

// ApprovalDecide records an approval or rejection. The approver must be an enabled user who
// holds a role the policy needs and is not the requester. A rejection ends the run blocked
// (nothing was touched); an approval that completes the policy moves the run to pending.
// Past the run's approval deadline the run ends blocked and ErrApprovalExpired is returned.
func (s *Store) ApprovalDecide(ctx context.Context, p *ApprovalDecideParams) (*ApprovalOutcome, error) {
	if p == nil || p.RunID == "" || p.Approver == "" {
		return nil, errors.New("approval: RunID and Approver are required")
	}
	if p.Decision != ApprovalApprove && p.Decision != ApprovalReject {
		return nil, fmt.Errorf("approval: decision %q is not %q or %q", p.Decision, ApprovalApprove, ApprovalReject)
	}
	at := s.now(p.At)
	out := &ApprovalOutcome{}
	var expired bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		run, err := lockRun(tx, p.RunID)
		if err != nil {
			return err
		}
		if run.State != string(drills.RunAwaitingApproval) {
			return fmt.Errorf("%w (state %s)", ErrNotAwaitingApproval, run.State)
		}
		if run.ApprovalDeadline != nil && at.After(*run.ApprovalDeadline) {
			expired = true
			return endUnclaimed(tx, run.ID, at, drills.RunBlocked, fmt.Sprintf("approval window ended at %s before the policy was met", run.ApprovalDeadline.UTC().Format(time.RFC3339)))
		}
		policy, err := policyOf(run.ApprovalPolicy)
		if err != nil {
			return err
		}
		var user userModel
		if err := tx.Where("name = ?", p.Approver).Take(&user).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: %s is not a known user (firedrill user add)", ErrNotAllowed, p.Approver)
			}
			return err
		}
		u, err := userOf(&user)
		if err != nil {
			return err
		}
		if u.Disabled {
			return fmt.Errorf("%w: user %s is disabled", ErrNotAllowed, u.Name)
		}
		requester := Requester(run.TriggeredBy)
		if u.Name == requester {
			return fmt.Errorf("%w: %s asked for this run and cannot approve it", ErrNotAllowed, u.Name)
		}
		if !slices.ContainsFunc(policy.Roles, u.HasRole) {
			return fmt.Errorf("%w: %s holds none of the roles the policy needs (%s)", ErrNotAllowed, u.Name, strings.Join(policy.Roles, ", "))
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		roles, _ := json.Marshal(u.Roles)
		m := approvalModel{ID: id.String(), RunID: run.ID, Approver: u.Name, Roles: jsonDoc(roles), Decision: p.Decision, Comment: p.Comment, DecidedAt: at}
		if err := tx.Create(&m).Error; err != nil {
			if err = translate(err); errors.Is(err, ErrDuplicate) {
				return fmt.Errorf("%s already decided on this run: %w", u.Name, ErrDuplicate)
			}
			return err
		}
		out.Approval = approvalOf(&m)
		if err := appendEvent(tx, run.ID, at, EventApproval, "", p.Comment, map[string]any{"by": u.Name, "decision": p.Decision, "roles": u.Roles}); err != nil {
			return err
		}
		if p.Decision == ApprovalReject {
			msg := "rejected by " + u.Name
			if p.Comment != "" {
				msg += ": " + p.Comment
			}
			return endUnclaimed(tx, run.ID, at, drills.RunBlocked, msg)
		}
		var all []approvalModel
		if err := tx.Where("run_id = ? AND decision = ?", run.ID, ApprovalApprove).Find(&all).Error; err != nil {
			return err
		}
		approvers := make([]drills.Approver, 0, len(all))
		for i := range all {
			a := approvalOf(&all[i])
			approvers = append(approvers, drills.Approver{Name: a.Approver, Roles: a.Roles})
		}
		out.Satisfied, out.Missing = drills.MatchApprovers(policy.Roles, approvers, requester)
		if !out.Satisfied {
			return nil
		}
		if err := tx.Model(&runModel{}).Where("id = ?", run.ID).UpdateColumns(map[string]any{
			"state": string(drills.RunPending), "state_reason": "approved", "updated_at": at,
		}).Error; err != nil {
			return err
		}
		return appendEvent(tx, run.ID, at, EventApproved, "", "approval policy met", map[string]any{"approvers": approverNames(approvers)})
	})
	if err != nil {
		return nil, fmt.Errorf("decide approval of run %s: %w", p.RunID, translate(err))
	}
	if expired {
		return nil, fmt.Errorf("decide approval of run %s: %w", p.RunID, ErrApprovalExpired)
	}
	run, err := s.RunGet(ctx, p.RunID)
	if err != nil {
		return nil, err
	}
	out.Run = run
	return out, nil
}

// ApprovalList returns a run's approvals and rejections, oldest first.
func (s *Store) ApprovalList(ctx context.Context, runID string) ([]*Approval, error) {
	var ms []approvalModel
	if err := s.db.WithContext(ctx).Where("run_id = ?", runID).Order("decided_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("approvals of run %s: %w", runID, translate(err))
	}
	out := make([]*Approval, 0, len(ms))
	for i := range ms {
		out = append(out, approvalOf(&ms[i]))
	}
	return out, nil
}

// RunApprovalsExpire ends, blocked, every run still awaiting approval past its deadline, and
// returns their IDs.
func (s *Store) RunApprovalsExpire(ctx context.Context, now time.Time) ([]string, error) {
	now = s.now(now)
	var ids []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var runs []runModel
		if err := tx.Where("state = ? AND approval_deadline IS NOT NULL AND approval_deadline < ?", string(drills.RunAwaitingApproval), now).Find(&runs).Error; err != nil {
			return err
		}
		for _, r := range runs {
			reason := fmt.Sprintf("approval window ended at %s before the policy was met", r.ApprovalDeadline.UTC().Format(time.RFC3339))
			if err := endUnclaimed(tx, r.ID, now, drills.RunBlocked, reason); err != nil {
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

// endUnclaimed ends a run that no replica holds (awaiting approval) in a terminal state.
func endUnclaimed(tx *gorm.DB, runID string, at time.Time, state drills.RunState, reason string) error {
	if err := tx.Model(&runModel{}).Where("id = ?", runID).UpdateColumns(map[string]any{
		"state": string(state), "state_reason": reason, "ended_at": at, "updated_at": at,
	}).Error; err != nil {
		return err
	}
	return appendEvent(tx, runID, at, EventRunFinished, "", reason, map[string]any{"state": state})
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

func approvalOf(m *approvalModel) *Approval {
	var roles []string
	_ = json.Unmarshal(m.Roles, &roles)
	return &Approval{ID: m.ID, RunID: m.RunID, Approver: m.Approver, Roles: roles, Decision: m.Decision, Comment: m.Comment, At: m.DecidedAt.UTC()}
}

func approverNames(as []drills.Approver) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}
