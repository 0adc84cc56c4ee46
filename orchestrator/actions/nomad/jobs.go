package nomad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Actions returns every nomad.* action, sharing the given clients.
func Actions(c *Clients) []actions.Action { return ActionsWatchingRestoration(c, nil) }

// ActionsWatchingRestoration is Actions with nomad.wait_healthy probing, beside its wait, the
// checks of each service that has some (restoration; nil probes nothing), so that a plan
// whose restored milestone follows nomad.wait_healthy measures the moment the service
// answered, not the first poll of the step after it.
func ActionsWatchingRestoration(c *Clients, restoration actions.RestorationWatcher) []actions.Action {
	return []actions.Action{
		&StopJob{clients: c},
		&RunJob{clients: c},
		&WaitHealthy{clients: c, restoration: restoration},
		&DrainSite{clients: c},
		&UndrainSite{clients: c},
		&Scale{clients: c},
	}
}

func spec(name string) drills.ActionSpec {
	s, ok := drills.LookupAction(name)
	if !ok {
		// The names are constants of package drills; a test pins every one.
		panic("nomad: unknown action " + name)
	}
	return s
}

// jobOf returns the Nomad job ID of the instance's single service.
func jobOf(req *actions.Request) (*drills.Service, string, error) {
	if len(req.Services) != 1 {
		return nil, "", fmt.Errorf("expected one service, got %d", len(req.Services))
	}
	svc := req.Services[0]
	job := svc.NomadJob
	if job == "" {
		job = svc.Name
	}
	return svc, job, nil
}

// StopJob deregisters a service's job on a site. Stopping a job that is already gone is a
// success: the step is idempotent, and a site that lost the job is already in the wanted state.
// As the disaster, it must remove running allocations; it checkpoints what it is about to stop
// first, so that its attempt after a takeover tells that earlier stop from "nothing to remove".
type StopJob struct{ clients *Clients }

// Spec implements actions.Action.
func (a *StopJob) Spec() drills.ActionSpec { return spec(drills.ActionNomadStopJob) }

// Run implements actions.Action.
func (a *StopJob) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	_, job, err := jobOf(req)
	if err != nil {
		return nil, err
	}
	sc, err := a.clients.For(req.Site)
	if err != nil {
		return nil, err
	}
	purge := req.Instance.Step.Bool("purge")
	ev := map[string]any{"site": req.Site.Name, "job": job, "purge": purge}
	disaster := req.Instance.Step.Milestone == drills.MilestoneDisaster
	if disaster {
		// A disaster that stops nothing proves nothing: look at what runs before stopping it.
		var allocs []*api.AllocationListStub
		err := sc.call(ctx, "list allocations of job "+job, 0, func(ctx context.Context) error {
			al, _, err := sc.client.Jobs().Allocations(job, false, (&api.QueryOptions{}).WithContext(ctx))
			allocs = al
			return err
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return &actions.Result{Evidence: ev}, err
		}
		live := 0
		for _, al := range allocs {
			if al.DesiredStatus == "run" && (al.ClientStatus == "pending" || al.ClientStatus == "running") {
				live++
			}
		}
		ev["running_allocations_before"] = live
		if live == 0 {
			earlier := earlierStop(req.Earlier, req.Site.Name, job)
			if earlier == nil {
				return &actions.Result{Evidence: ev}, fmt.Errorf("stop job %s on %s: the disaster removed nothing: the job runs no allocation there, so there was nothing to fail over", job, req.Site.Name)
			}
			// An earlier attempt of this step (its replica died before recording the result)
			// checkpointed this stop: what it removed is the disaster's effect. The job is
			// deregistered again below so that the site ends in the wanted state whatever the
			// earlier attempt reached.
			ev["stopped_by_attempt"] = earlier.Attempt
			ev["running_allocations_before"] = earlier.Evidence["running_allocations_before"]
		} else if req.Checkpoints != nil {
			// Recorded before the stop, so that an attempt after a takeover knows the job ran
			// until this attempt stopped it. Not recorded, the job is not stopped.
			if err := req.Checkpoints.Checkpoint(ctx, map[string]any{
				"stopping_job": job, "site": req.Site.Name, "running_allocations_before": live,
			}); err != nil {
				return &actions.Result{Evidence: ev}, fmt.Errorf("stop job %s on %s: %w; the job was not stopped", job, req.Site.Name, err)
			}
		}
	}
	var evalID string
	err = sc.call(ctx, "deregister job "+job, 0, func(ctx context.Context) error {
		id, _, err := sc.client.Jobs().Deregister(job, purge, (&api.WriteOptions{}).WithContext(ctx))
		evalID = id
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		ev["already_absent"] = true
		return &actions.Result{Evidence: ev}, nil
	case err != nil:
		return &actions.Result{Evidence: ev}, err
	}
	ev["eval_id"] = evalID
	return &actions.Result{Evidence: ev}, nil
}

// earlierStop returns the checkpoint in which an earlier attempt of the step was about to
// stop job on site, the latest one; nil when none was.
func earlierStop(earlier []actions.Checkpoint, site, job string) *actions.Checkpoint {
	for i := len(earlier) - 1; i >= 0; i-- {
		ev := earlier[i].Evidence
		if ev["stopping_job"] == job && ev["site"] == site {
			return &earlier[i]
		}
	}
	return nil
}

// RunJob starts a service's job on a site. With a jobspec parameter it registers that file
// (adapted to the site's region and datacenter); without one it re-registers the job the site
// already holds, stopped, as a pilot light: the usual warm-standby set-up of a DR cluster.
type RunJob struct{ clients *Clients }

// Spec implements actions.Action.
func (a *RunJob) Spec() drills.ActionSpec { return spec(drills.ActionNomadRunJob) }

// Run implements actions.Action.
func (a *RunJob) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	svc, jobID, err := jobOf(req)
	if err != nil {
		return nil, err
	}
	sc, err := a.clients.For(req.Site)
	if err != nil {
		return nil, err
	}
	step := req.Instance.Step
	ev := map[string]any{"site": req.Site.Name, "job": jobID}

	var job *api.Job
	if specPath := step.String("jobspec"); specPath != "" {
		path := strings.ReplaceAll(specPath, "{service}", svc.Name)
		if !filepath.IsAbs(path) && req.Plan != nil && req.Plan.File != "" {
			path = filepath.Join(filepath.Dir(req.Plan.File), path)
		}
		job, err = a.readJobspec(path, jobID)
		if err != nil {
			return &actions.Result{Evidence: ev}, err
		}
		// The jobspec was written for the primary; the DR cluster is another region.
		job.Region = &req.Site.Nomad.Region
		if dc := req.Site.Nomad.Datacenter; dc != "" {
			job.Datacenters = []string{dc}
		}
		ev["source"] = "jobspec:" + path
	} else {
		err = sc.call(ctx, "read job "+jobID, 0, func(ctx context.Context) error {
			j, _, err := sc.client.Jobs().Info(jobID, (&api.QueryOptions{}).WithContext(ctx))
			job = j
			return err
		})
		if errors.Is(err, ErrNotFound) {
			return &actions.Result{Evidence: ev}, fmt.Errorf("job %s is not registered on site %s: give the step a jobspec, or register a stopped pilot-light job there: %w", jobID, req.Site.Name, err)
		}
		if err != nil {
			return &actions.Result{Evidence: ev}, err
		}
		ev["source"] = "pilot-light"
		if job.Version != nil {
			ev["previous_version"] = *job.Version
		}
	}

	stop := false
	job.Stop = &stop
	count, hasCount := step.Int("count")
	counts := map[string]int{}
	for _, tg := range job.TaskGroups {
		if tg == nil {
			continue
		}
		n := 1
		switch {
		case hasCount:
			n = int(count)
		case tg.Count != nil && *tg.Count > 0:
			n = *tg.Count
		}
		tg.Count = &n
		if tg.Name != nil {
			counts[*tg.Name] = n
		}
	}
	ev["group_counts"] = counts

	var resp *api.JobRegisterResponse
	err = sc.call(ctx, "register job "+jobID, 0, func(ctx context.Context) error {
		r, _, err := sc.client.Jobs().Register(job, (&api.WriteOptions{}).WithContext(ctx))
		resp = r
		return err
	})
	if err != nil {
		return &actions.Result{Evidence: ev}, err
	}
	ev["eval_id"] = resp.EvalID
	ev["job_modify_index"] = resp.JobModifyIndex
	if len(resp.Warnings) > 0 {
		ev["warnings"] = resp.Warnings
	}
	return &actions.Result{Evidence: ev}, nil
}

// readJobspec reads a JSON jobspec, as `nomad job run -output` prints it ({"Job": {...}}) or
// the bare job object, and checks that it is the service's job.
func (a *RunJob) readJobspec(path, wantID string) (*api.Job, error) {
	read := a.clients.cfg.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(path)
	if err != nil {
		return nil, fmt.Errorf("read jobspec: %w", err)
	}
	var wrapped struct{ Job *api.Job }
	if err := json.Unmarshal(b, &wrapped); err != nil {
		return nil, fmt.Errorf("jobspec %s: not valid JSON: %w", path, err)
	}
	job := wrapped.Job
	if job == nil {
		job = new(api.Job)
		if err := json.Unmarshal(b, job); err != nil {
			return nil, fmt.Errorf("jobspec %s: not valid JSON: %w", path, err)
		}
	}
	if job.ID == nil || *job.ID == "" {
		return nil, fmt.Errorf("jobspec %s: the job has no ID", path)
	}
	if *job.ID != wantID {
		return nil, fmt.Errorf("jobspec %s: job ID %q is not the service's nomad_job %q", path, *job.ID, wantID)
	}
	if len(job.TaskGroups) == 0 {
		return nil, fmt.Errorf("jobspec %s: the job has no task group", path)
	}
	return job, nil
}
