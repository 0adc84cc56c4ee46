package nomad

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// WaitHealthy waits until each service's job runs healthy on a site: every wanted allocation
// of the current job version running with a healthy deployment status, and the version's
// deployment (if any) successful. It watches with blocking queries, so the moment the
// cluster changes is the moment it looks again.
//
// With a RestorationWatcher it also probes, while it waits, the checks of every service that
// has some: the moment they first pass is the service's restored observation, caught in the
// window the site's Nomad events open. Probing ends with the wait; a service whose checks do
// not pass by then is left to the plan's http.wait_healthy step, and never fails this one.
type WaitHealthy struct {
	clients     *Clients
	restoration actions.RestorationWatcher
}

// Spec implements actions.Action.
func (a *WaitHealthy) Spec() drills.ActionSpec { return spec(drills.ActionNomadWaitHealthy) }

// Run implements actions.Action.
func (a *WaitHealthy) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	sc, err := a.clients.For(req.Site)
	if err != nil {
		return nil, err
	}
	jobs := map[string]any{}
	ev := map[string]any{"site": req.Site.Name, "jobs": jobs}
	res := &actions.Result{Evidence: ev}
	stopWatching := a.watchRestoration(ctx, req, res)
	for _, svc := range req.Services {
		job := svc.NomadJob
		if job == "" {
			job = svc.Name
		}
		jobEv, err := a.waitJob(ctx, sc, job)
		jobs[job] = jobEv
		if err != nil {
			// A job that cannot become healthy ends the wait early (its deployment failed):
			// the services already up may be about to pass their checks, and that moment is
			// a fact of the drill. A wait that ran out of time has had its chance.
			grace := restorationGrace
			if ctx.Err() != nil {
				grace = 0
			}
			stopWatching(grace)
			return res, fmt.Errorf("job %s on %s: %w", job, req.Site.Name, err)
		}
		jobEv["healthy_at"] = req.Clock.Now().UTC()
	}
	stopWatching(0)
	return res, nil
}

// restorationGrace is how long the checks are still probed after a job's failure ended the
// wait early, for the services whose checks pass or never will.
const restorationGrace = time.Second

// watchRestoration starts probing the checks of each of the step's services that has some,
// and returns the function that stops it, after up to grace for the probes still running,
// and adds what it caught to res: an observation per service whose checks passed, and the
// probes' evidence under "restoration".
func (a *WaitHealthy) watchRestoration(ctx context.Context, req *actions.Request, res *actions.Result) (stop func(grace time.Duration)) {
	if a.restoration == nil {
		return func(time.Duration) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	type caught struct {
		obs *actions.Observation
		ev  map[string]any
	}
	var watched []*drills.Service
	for _, svc := range req.Services {
		if len(svc.Checks) > 0 {
			watched = append(watched, svc)
		}
	}
	results := make([]caught, len(watched))
	var wg sync.WaitGroup
	for i, svc := range watched {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An error is the wait's end before the checks passed: not this step's failure.
			obs, ev, _ := a.restoration.WatchRestoration(ctx, req, svc)
			results[i] = caught{obs: obs, ev: ev}
		}()
	}
	return func(grace time.Duration) {
		if grace > 0 {
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			t := req.Clock.NewTimer(grace)
			select {
			case <-done:
			case <-t.C():
			case <-ctx.Done():
			}
			t.Stop()
		}
		cancel()
		wg.Wait()
		if len(watched) == 0 {
			return
		}
		services := map[string]any{}
		for i, svc := range watched {
			r := results[i]
			if r.ev == nil {
				r.ev = map[string]any{}
			}
			r.ev["passed"] = r.obs != nil
			services[svc.Name] = r.ev
			if r.obs != nil {
				res.Observations = append(res.Observations, *r.obs)
			}
		}
		res.Evidence["restoration"] = services
	}
}

// jobHealth is what one look at a job found.
type jobHealth struct {
	healthy bool
	// state describes why the job is not healthy yet, for the timeout message.
	state string
	// fatal is set when waiting longer cannot help (the deployment failed).
	fatal error
	// deployment is set when only the deployment is not done yet: it is what to watch next.
	deployment *api.Deployment
	evidence   map[string]any
}

func (a *WaitHealthy) waitJob(ctx context.Context, sc *siteClient, jobID string) (map[string]any, error) {
	wait := a.clients.cfg.BlockingWait
	var index, depIndex uint64
	var watchDep *api.Deployment
	polls := 0
	last := "not looked at yet"
	for {
		polls++
		allocIndex := index
		if watchDep != nil {
			// A deployment's progress does not bump the allocation index on a real cluster,
			// so block on the deployment itself, then look at the allocations without waiting.
			if err := a.watchDeployment(ctx, sc, watchDep, &depIndex); err != nil {
				if ctx.Err() != nil {
					return map[string]any{"polls": polls}, fmt.Errorf("%s: %w", last, ctx.Err())
				}
				return map[string]any{"polls": polls}, err
			}
			allocIndex = 0
		}
		var allocs []*api.AllocationListStub
		var meta *api.QueryMeta
		err := sc.call(ctx, "list allocations of "+jobID, wait+a.clients.cfg.CallTimeout, func(ctx context.Context) error {
			q := &api.QueryOptions{WaitIndex: allocIndex, WaitTime: wait}
			al, m, err := sc.client.Jobs().Allocations(jobID, false, q.WithContext(ctx))
			allocs, meta = al, m
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return map[string]any{"polls": polls}, fmt.Errorf("%s: %w", last, ctx.Err())
			}
			return map[string]any{"polls": polls}, err
		}
		h, err := a.look(ctx, sc, jobID, allocs)
		if err != nil {
			if ctx.Err() != nil {
				return map[string]any{"polls": polls}, fmt.Errorf("%s: %w", last, ctx.Err())
			}
			return map[string]any{"polls": polls}, err
		}
		h.evidence["polls"] = polls
		if h.fatal != nil {
			return h.evidence, h.fatal
		}
		if h.healthy {
			return h.evidence, nil
		}
		last = h.state
		if h.deployment == nil || watchDep == nil || h.deployment.ID != watchDep.ID {
			depIndex = 0
		}
		watchDep = h.deployment
		// Indexes can go backwards after a leader change; start over then.
		if meta != nil && meta.LastIndex > index {
			index = meta.LastIndex
		} else if meta != nil && meta.LastIndex < index {
			index = 0
		}
		if ctx.Err() != nil {
			return h.evidence, fmt.Errorf("%s: %w", last, ctx.Err())
		}
	}
}

// look decides whether the job is healthy given its allocations.
func (a *WaitHealthy) look(ctx context.Context, sc *siteClient, jobID string, allocs []*api.AllocationListStub) (*jobHealth, error) {
	var job *api.Job
	err := sc.call(ctx, "read job "+jobID, 0, func(ctx context.Context) error {
		j, _, err := sc.client.Jobs().Info(jobID, (&api.QueryOptions{}).WithContext(ctx))
		job = j
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return &jobHealth{state: "job is not registered", evidence: map[string]any{}}, nil
	}
	if err != nil {
		return nil, err
	}
	version := uint64(0)
	if job.Version != nil {
		version = *job.Version
	}
	want := 0
	for _, tg := range job.TaskGroups {
		if tg != nil && tg.Count != nil {
			want += *tg.Count
		}
	}
	var healthyIDs []string
	running, pending, failed := 0, 0, 0
	for _, al := range allocs {
		if al.JobVersion != version || al.DesiredStatus != "run" {
			continue
		}
		switch al.ClientStatus {
		case "running":
			running++
			if ds := al.DeploymentStatus; ds != nil && ds.Healthy != nil && *ds.Healthy {
				healthyIDs = append(healthyIDs, al.ID)
			}
		case "pending":
			pending++
		case "failed", "lost":
			failed++
		}
	}
	sort.Strings(healthyIDs)
	ev := map[string]any{
		"version": version, "wanted": want, "running": running, "healthy": len(healthyIDs),
		"pending": pending, "failed": failed, "healthy_allocations": healthyIDs,
	}
	h := &jobHealth{evidence: ev}
	if job.Stop != nil && *job.Stop {
		h.state = "job is stopped"
		return h, nil
	}
	if len(healthyIDs) < want || want == 0 {
		h.state = fmt.Sprintf("%d of %d allocations healthy (%d running, %d pending, %d failed)", len(healthyIDs), want, running, pending, failed)
		if failed == 0 {
			return h, nil
		}
		// Allocations failed: once the version's deployment failed, no more are placed for
		// it, and waiting cannot help.
		dep, err := a.latestDeployment(ctx, sc, jobID)
		if err != nil {
			return nil, err
		}
		if dep != nil && dep.JobVersion == version && dep.Status == "failed" {
			ev["deployment_id"], ev["deployment_status"] = dep.ID, dep.Status
			h.fatal = fmt.Errorf("deployment %s of version %d is failed: %s (%s)", dep.ID, version, dep.StatusDescription, h.state)
		}
		return h, nil
	}

	dep, err := a.latestDeployment(ctx, sc, jobID)
	if err != nil {
		return nil, err
	}
	if dep != nil && dep.JobVersion == version {
		ev["deployment_id"] = dep.ID
		ev["deployment_status"] = dep.Status
		switch dep.Status {
		case "successful":
		case "failed", "cancelled":
			h.fatal = fmt.Errorf("deployment %s of version %d is %s: %s", dep.ID, version, dep.Status, dep.StatusDescription)
			return h, nil
		default:
			h.state = fmt.Sprintf("allocations healthy but deployment %s is %s", dep.ID, dep.Status)
			h.deployment = dep
			return h, nil
		}
	}
	h.healthy = true
	return h, nil
}

// latestDeployment is the job's latest deployment, nil when it has none.
func (a *WaitHealthy) latestDeployment(ctx context.Context, sc *siteClient, jobID string) (*api.Deployment, error) {
	var dep *api.Deployment
	err := sc.call(ctx, "read deployment of "+jobID, 0, func(ctx context.Context) error {
		d, _, err := sc.client.Jobs().LatestDeployment(jobID, (&api.QueryOptions{}).WithContext(ctx))
		dep = d
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return dep, nil
}

// watchDeployment blocks until the deployment changes (or the blocking wait ends). *index is
// the last index seen for it, 0 at first; the deployment's own modify index is the floor.
func (a *WaitHealthy) watchDeployment(ctx context.Context, sc *siteClient, dep *api.Deployment, index *uint64) error {
	wait := a.clients.cfg.BlockingWait
	waitIndex := max(*index, dep.ModifyIndex)
	var meta *api.QueryMeta
	err := sc.call(ctx, "watch deployment "+dep.ID, wait+a.clients.cfg.CallTimeout, func(ctx context.Context) error {
		q := &api.QueryOptions{WaitIndex: waitIndex, WaitTime: wait}
		_, m, err := sc.client.Deployments().Info(dep.ID, q.WithContext(ctx))
		meta = m
		return err
	})
	if errors.Is(err, ErrNotFound) {
		// Garbage-collected or replaced: the next look finds the job's latest one.
		*index = 0
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case meta == nil:
	case meta.LastIndex >= waitIndex:
		*index = meta.LastIndex
	default:
		// The index went backwards (a leader change): start over.
		*index = 0
	}
	return nil
}
