package nomad

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Scale sets the count of a service's task group, or of all of them, on a site: typically to
// grow a warm-standby job on the DR site to full size. Setting a count that is already set
// changes nothing, so the step is idempotent.
type Scale struct{ clients *Clients }

// Spec implements actions.Action.
func (a *Scale) Spec() drills.ActionSpec { return spec(drills.ActionNomadScale) }

// Run implements actions.Action.
func (a *Scale) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	_, jobID, err := jobOf(req)
	if err != nil {
		return nil, err
	}
	step := req.Instance.Step
	count64, ok := step.Int("count")
	if !ok {
		return nil, errors.New("param count is required")
	}
	if count64 < 0 || count64 > 1<<31-1 {
		return nil, fmt.Errorf("param count: %d is out of range", count64)
	}
	count := int(count64)
	sc, err := a.clients.For(req.Site)
	if err != nil {
		return nil, err
	}
	ev := map[string]any{"site": req.Site.Name, "job": jobID}

	var job *api.Job
	err = sc.call(ctx, "read job "+jobID, 0, func(ctx context.Context) error {
		j, _, err := sc.client.Jobs().Info(jobID, (&api.QueryOptions{}).WithContext(ctx))
		job = j
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return &actions.Result{Evidence: ev}, fmt.Errorf("job %s is not registered on site %s: %w", jobID, req.Site.Name, err)
	}
	if err != nil {
		return &actions.Result{Evidence: ev}, err
	}
	previous := map[string]int{}
	var groups []string
	for _, tg := range job.TaskGroups {
		if tg == nil || tg.Name == nil {
			continue
		}
		groups = append(groups, *tg.Name)
		if tg.Count != nil {
			previous[*tg.Name] = *tg.Count
		}
	}
	sort.Strings(groups)
	ev["previous_counts"] = previous

	targets := groups
	if g := step.String("group"); g != "" {
		if !slices.Contains(groups, g) {
			return &actions.Result{Evidence: ev}, fmt.Errorf("param group: job %s on site %s has no task group %q (its groups: %s)",
				jobID, req.Site.Name, g, strings.Join(groups, ", "))
		}
		targets = []string{g}
	}
	if len(targets) == 0 {
		return &actions.Result{Evidence: ev}, fmt.Errorf("job %s on site %s has no task group to scale", jobID, req.Site.Name)
	}

	counts := map[string]int{}
	evals := map[string]string{}
	ev["counts"], ev["eval_ids"] = counts, evals
	// The meta ties the scaling event Nomad records to the drill that caused it.
	meta := map[string]any{"firedrill_run": req.RunID, "firedrill_step": req.Instance.Key}
	for _, g := range targets {
		var resp *api.JobRegisterResponse
		err := sc.call(ctx, fmt.Sprintf("scale %s.%s to %d", jobID, g, count), 0, func(ctx context.Context) error {
			r, _, err := sc.client.Jobs().Scale(jobID, g, &count, "firedrill drill", false, meta, (&api.WriteOptions{}).WithContext(ctx))
			resp = r
			return err
		})
		if err != nil {
			return &actions.Result{Evidence: ev}, err
		}
		counts[g] = count
		if resp != nil {
			evals[g] = resp.EvalID
		}
	}
	return &actions.Result{Evidence: ev}, nil
}
