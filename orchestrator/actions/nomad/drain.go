package nomad

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Drain modes of nomad.drain_site.
const (
	DrainModeDrain      = "drain"
	DrainModeIneligible = "ineligible"
)

// forceDeadline is how Nomad's DrainSpec says "stop everything now" (the CLI's -force); a
// zero Deadline would mean "no deadline at all", the opposite of a fire.
const forceDeadline = -1 * time.Second

// DrainSite takes every node of a site's datacenter out of service: the whole-site loss of a
// data-centre fire. In drain mode it returns only once no allocation runs on those nodes any
// more, so that the step's end (T0 when it is the disaster milestone) means "the failure has
// been injected", not "the failure was requested".
type DrainSite struct{ clients *Clients }

// Spec implements actions.Action.
func (a *DrainSite) Spec() drills.ActionSpec { return spec(drills.ActionNomadDrainSite) }

// Run implements actions.Action.
func (a *DrainSite) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	step := req.Instance.Step
	mode := step.String("mode")
	if mode == "" {
		mode = DrainModeDrain
	}
	if mode != DrainModeDrain && mode != DrainModeIneligible {
		return nil, fmt.Errorf("param mode: %q is neither %q nor %q", mode, DrainModeDrain, DrainModeIneligible)
	}
	deadline := step.Duration("deadline")
	if deadline < 0 {
		return nil, fmt.Errorf("param deadline: must not be negative, got %s", deadline)
	}
	ignoreSystem := step.Bool("ignore_system_jobs")
	sc, err := a.clients.For(req.Site)
	if err != nil {
		return nil, err
	}
	ev := map[string]any{"site": req.Site.Name, "datacenter": req.Site.Nomad.Datacenter, "mode": mode}
	nodes, err := siteNodes(ctx, sc, req.Site)
	if err != nil {
		return &actions.Result{Evidence: ev}, err
	}
	ev["nodes"] = nodeEvidence(nodes)

	if mode == DrainModeDrain {
		// What was running before, so the report can say what the drain stopped.
		var before []*api.AllocationListStub
		err = sc.call(ctx, "list allocations", 0, func(ctx context.Context) error {
			al, _, err := sc.client.Allocations().List((&api.QueryOptions{Namespace: "*"}).WithContext(ctx))
			before = al
			return err
		})
		if err != nil {
			return &actions.Result{Evidence: ev}, err
		}
		live := len(liveOn(before, nodes, ignoreSystem))
		ev["running_allocations_before"] = live
		// A disaster that stops nothing proves nothing: the drill would measure an RTO from
		// a T0 at which the site was already empty (a second run against sites already failed
		// over). A resumed step whose drain this run already made is the exception.
		if live == 0 && step.Milestone == drills.MilestoneDisaster && !drainedBy(nodes, req.RunID) {
			return &actions.Result{Evidence: ev}, fmt.Errorf("drain site %s: the disaster removed nothing: no allocation ran on its %d nodes, so there was nothing to fail over", req.Site.Name, len(nodes))
		}
	}

	start := req.Clock.Now()
	done := 0
	for _, n := range nodes {
		if mode == DrainModeDrain {
			spec := &api.DrainSpec{Deadline: forceDeadline, IgnoreSystemJobs: ignoreSystem}
			if deadline > 0 {
				spec.Deadline = deadline
			}
			err = sc.call(ctx, "drain node "+n.Name, 0, func(ctx context.Context) error {
				_, err := sc.client.Nodes().UpdateDrainOpts(n.ID, &api.DrainOptions{
					DrainSpec: spec, MarkEligible: false,
					Meta: map[string]string{"message": drainMessage(req.RunID)},
				}, (&api.WriteOptions{}).WithContext(ctx))
				return err
			})
		} else {
			err = sc.call(ctx, "mark node "+n.Name+" ineligible", 0, func(ctx context.Context) error {
				_, err := sc.client.Nodes().ToggleEligibility(n.ID, false, (&api.WriteOptions{}).WithContext(ctx))
				return err
			})
		}
		if err != nil {
			ev["drained"] = done
			return &actions.Result{Evidence: ev}, err
		}
		done++
	}
	ev["drained"] = done
	if mode == DrainModeDrain {
		ev["deadline"] = deadline.String()
		ev["ignore_system_jobs"] = ignoreSystem
		if err := waitNodesEmpty(ctx, sc, nodes, ignoreSystem); err != nil {
			return &actions.Result{Evidence: ev}, fmt.Errorf("drain site %s: %w", req.Site.Name, err)
		}
		ev["empty_after_ms"] = req.Clock.Now().Sub(start).Milliseconds()
	}
	return &actions.Result{Evidence: ev}, nil
}

// drainedBy reports whether every node already carries a drain made by this run (a resumed
// disaster step).
func drainedBy(nodes []*api.NodeListStub, runID string) bool {
	for _, n := range nodes {
		if n.LastDrain == nil || n.LastDrain.Meta["message"] != drainMessage(runID) {
			return false
		}
	}
	return len(nodes) > 0
}

func drainMessage(runID string) string { return "firedrill drill " + runID }

// waitNodesEmpty blocks until no allocation runs on the nodes any more.
func waitNodesEmpty(ctx context.Context, sc *siteClient, nodes []*api.NodeListStub, ignoreSystem bool) error {
	wait := sc.c.cfg.BlockingWait
	var index uint64
	last := "not looked at yet"
	for {
		var allocs []*api.AllocationListStub
		var meta *api.QueryMeta
		// Allocations of every namespace: nodes are not namespaced, the site's jobs may be.
		err := sc.call(ctx, "list allocations", wait+sc.c.cfg.CallTimeout, func(ctx context.Context) error {
			q := &api.QueryOptions{Namespace: "*", WaitIndex: index, WaitTime: wait}
			al, m, err := sc.client.Allocations().List(q.WithContext(ctx))
			allocs, meta = al, m
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w", last, ctx.Err())
			}
			return err
		}
		live := liveOn(allocs, nodes, ignoreSystem)
		if len(live) == 0 {
			return nil
		}
		last = fmt.Sprintf("%d allocations still running on the drained nodes (%s)", len(live), truncList(live, 5))
		if meta != nil && meta.LastIndex > index {
			index = meta.LastIndex
		} else if meta != nil && meta.LastIndex < index {
			index = 0
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", last, ctx.Err())
		}
	}
}

// liveOn returns, sorted, the allocations pending or running on the nodes (system jobs'
// aside when they are ignored). A stopping allocation counts until its client reports it
// terminal: a process still serving is no fire.
func liveOn(allocs []*api.AllocationListStub, nodes []*api.NodeListStub, ignoreSystem bool) []string {
	onSite := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		onSite[n.ID] = true
	}
	var live []string
	for _, al := range allocs {
		if !onSite[al.NodeID] || (al.ClientStatus != "pending" && al.ClientStatus != "running") {
			continue
		}
		if ignoreSystem && (al.JobType == "system" || al.JobType == "sysbatch") {
			continue
		}
		live = append(live, al.Name+" on "+al.NodeName)
	}
	sort.Strings(live)
	return live
}

// UndrainSite returns every node of a site's datacenter to service: the rollback of
// nomad.drain_site. Both calls are made for every node, so that nodes only marked
// ineligible, drained, or already back all end eligible.
type UndrainSite struct{ clients *Clients }

// Spec implements actions.Action.
func (a *UndrainSite) Spec() drills.ActionSpec { return spec(drills.ActionNomadUndrainSite) }

// Run implements actions.Action.
func (a *UndrainSite) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	sc, err := a.clients.For(req.Site)
	if err != nil {
		return nil, err
	}
	ev := map[string]any{"site": req.Site.Name, "datacenter": req.Site.Nomad.Datacenter}
	nodes, err := siteNodes(ctx, sc, req.Site)
	if err != nil {
		return &actions.Result{Evidence: ev}, err
	}
	ev["nodes"] = nodeEvidence(nodes)
	for _, n := range nodes {
		err := sc.call(ctx, "cancel drain of node "+n.Name, 0, func(ctx context.Context) error {
			_, err := sc.client.Nodes().UpdateDrainOpts(n.ID, &api.DrainOptions{DrainSpec: nil, MarkEligible: true},
				(&api.WriteOptions{}).WithContext(ctx))
			return err
		})
		if err != nil {
			return &actions.Result{Evidence: ev}, err
		}
		// MarkEligible only applies when a drain is removed; a node that was only marked
		// ineligible needs its own toggle.
		err = sc.call(ctx, "mark node "+n.Name+" eligible", 0, func(ctx context.Context) error {
			_, err := sc.client.Nodes().ToggleEligibility(n.ID, true, (&api.WriteOptions{}).WithContext(ctx))
			return err
		})
		if err != nil {
			return &actions.Result{Evidence: ev}, err
		}
	}
	ev["undrained"] = len(nodes)
	return &actions.Result{Evidence: ev}, nil
}

// siteNodes lists the nodes of the site's datacenter (every node when the site names none).
// None is an error: a mistyped datacenter must not pass for a drained site.
func siteNodes(ctx context.Context, sc *siteClient, site *drills.Site) ([]*api.NodeListStub, error) {
	var all []*api.NodeListStub
	err := sc.call(ctx, "list nodes", 0, func(ctx context.Context) error {
		ns, _, err := sc.client.Nodes().List((&api.QueryOptions{}).WithContext(ctx))
		all = ns
		return err
	})
	if err != nil {
		return nil, err
	}
	dc := site.Nomad.Datacenter
	var out []*api.NodeListStub
	dcs := map[string]bool{}
	for _, n := range all {
		dcs[n.Datacenter] = true
		if dc == "" || n.Datacenter == dc {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		if dc == "" {
			return nil, fmt.Errorf("site %s: the Nomad cluster has no node", site.Name)
		}
		names := make([]string, 0, len(dcs))
		for d := range dcs {
			names = append(names, d)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("site %s: no Nomad node in datacenter %q (the cluster's datacenters: %s)", site.Name, dc, truncList(names, 10))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// nodeEvidence is what a report shows of the nodes a step acted on.
func nodeEvidence(nodes []*api.NodeListStub) []map[string]any {
	out := make([]map[string]any, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, map[string]any{"id": n.ID, "name": n.Name, "datacenter": n.Datacenter, "status": n.Status})
	}
	return out
}

// truncList joins at most n items, saying how many were left out.
func truncList(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
