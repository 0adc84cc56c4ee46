package nomad

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Preflighter checks the plan's Nomad clusters before a run touches anything: every site the
// plan uses answers with a leader and its token allows what the plan will do there, the DR
// site has nodes to run the failed-over jobs on, and the drill would prove something: each
// service runs on the from site and the DR site is in standby.
type Preflighter struct{ clients *Clients }

// NewPreflighter returns the Nomad pre-flight checks, over the same site clients as the actions.
func NewPreflighter(clients *Clients) *Preflighter { return &Preflighter{clients: clients} }

// Preflight implements actions.Preflighter. Checks: "reachable" for every site of the plan
// that has a nomad block (its cluster reports a leader), "credentials" for each of them (the
// token allows every call the plan's steps, rollback and cleanup make there), "capacity" for
// the plan's to site (at least one node of its datacenter ready, eligible and not draining),
// "serving" for each service on the from site (its job runs allocations there) and "standby"
// for each on the to site (its job running exactly the service's pilot-light count, 0 by
// default: absent or stopped), for plans that drive Nomad (drills.Plan.DrivesNomad).
func (p *Preflighter) Preflight(ctx context.Context, req *actions.PreflightRequest) []actions.PreflightCheck {
	var out []actions.PreflightCheck
	for _, name := range req.Plan.Sites() {
		site := req.Config.Site(name)
		if site == nil || site.Nomad == nil {
			continue
		}
		check := actions.PreflightCheck{Check: "reachable", Site: name}
		sc, err := p.clients.For(site)
		if err != nil {
			check.Detail = err.Error()
			out = append(out, check)
			continue
		}
		var leader string
		err = sc.call(ctx, "read leader", 0, func(ctx context.Context) error {
			_, err := sc.client.Raw().Query("/v1/status/leader", &leader, (&api.QueryOptions{}).WithContext(ctx))
			return err
		})
		switch {
		case err != nil:
			check.Detail = err.Error()
		case leader == "":
			check.Detail = fmt.Sprintf("nomad %s: the cluster has no leader", name)
		default:
			check.OK = true
			check.Detail = "leader " + leader
		}
		out = append(out, check)
		if !check.OK {
			continue
		}
		out = append(out, p.credentials(ctx, sc, site, req.Plan))
		if name == req.Plan.To {
			out = append(out, p.capacity(ctx, sc, req))
		}
	}
	return append(out, p.steadyState(ctx, req)...)
}

// capacity checks that the DR site's datacenter has a node the failed-over jobs can be
// placed on.
func (p *Preflighter) capacity(ctx context.Context, sc *siteClient, req *actions.PreflightRequest) actions.PreflightCheck {
	site := req.Config.Site(req.Plan.To)
	check := actions.PreflightCheck{Check: "capacity", Site: site.Name}
	nodes, err := siteNodes(ctx, sc, site)
	if err != nil {
		check.Detail = err.Error()
		return check
	}
	usable := 0
	var cpu, mem int64
	for _, n := range nodes {
		if n.Status != api.NodeStatusReady || n.SchedulingEligibility != api.NodeSchedulingEligible || n.Drain {
			continue
		}
		usable++
		if n.NodeResources != nil {
			cpu += int64(n.NodeResources.Cpu.CpuShares)
			mem += n.NodeResources.Memory.MemoryMB
		}
	}
	dc := site.Nomad.Datacenter
	if dc == "" {
		dc = "the cluster"
	}
	check.Detail = fmt.Sprintf("%d of %d nodes ready and eligible in %s", usable, len(nodes), dc)
	if cpu > 0 || mem > 0 {
		check.Detail += fmt.Sprintf(" (%d MHz CPU, %d MB memory)", cpu, mem)
	}
	if usable == 0 {
		check.Detail = fmt.Sprintf("no node ready and eligible in %s: %d nodes, none can take an allocation", dc, len(nodes))
		return check
	}
	check.OK = true
	return check
}

// steadyState checks that the drill would fail something over: every service's job runs on
// the from site, and the DR site holds it in standby (at its declared pilot-light count,
// absent or stopped when that is 0). A second run against sites already failed over is blocked
// here instead of "passing" with nothing removed.
func (p *Preflighter) steadyState(ctx context.Context, req *actions.PreflightRequest) []actions.PreflightCheck {
	from, to := req.Config.Site(req.Plan.From), req.Config.Site(req.Plan.To)
	if from == nil || from.Nomad == nil || to == nil || to.Nomad == nil || !req.Plan.DrivesNomad() {
		return nil
	}
	fromC, err1 := p.clients.For(from)
	toC, err2 := p.clients.For(to)
	if err1 != nil || err2 != nil {
		return nil // reported by the reachable checks
	}
	var out []actions.PreflightCheck
	for _, name := range req.Plan.Services {
		svc := req.Config.Service(name)
		if svc == nil {
			continue
		}
		job := svc.NomadJob
		if job == "" {
			job = svc.Name
		}
		serving := actions.PreflightCheck{Check: "serving", Site: from.Name, Subject: svc.Name}
		primary, state, err := runningAllocs(ctx, fromC, job)
		switch {
		case err != nil:
			serving.Detail = err.Error()
		case primary == 0:
			serving.Detail = fmt.Sprintf("%s is not serving on %s: nothing to fail over (job %s %s)", svc.Name, from.Name, job, state)
		default:
			serving.OK = true
			serving.Detail = fmt.Sprintf("job %s runs %d allocations on %s", job, primary, from.Name)
		}
		out = append(out, serving)

		standby := actions.PreflightCheck{Check: "standby", Site: to.Name, Subject: svc.Name}
		dr, state, err := runningAllocs(ctx, toC, job)
		if err != nil {
			standby.Detail = err.Error()
		} else {
			standby.OK, standby.Detail = standbyState(svc, job, state, to.Name, dr, from.Name, primary)
		}
		out = append(out, standby)
	}
	return out
}

// standbyState decides whether the DR site holds the service in its declared standby: it
// runs exactly the service's pilot-light count (drills.Service.PilotLight, 0 unless the
// estate says otherwise), which must be fewer than the from site runs. More is a DR site that
// already serves, so the drill would prove nothing; fewer is a standby that is not what the
// estate declares, so the measured restoration would not be the one the estate promises.
func standbyState(svc *drills.Service, job, state, to string, dr int, from string, primary int) (bool, string) {
	pilot := svc.PilotLight
	switch {
	case dr > pilot && pilot == 0:
		return false, fmt.Sprintf("%s already runs on %s (%d allocations, %d on %s): the DR site is not in standby, so the drill would prove nothing", svc.Name, to, dr, primary, from)
	case dr > pilot:
		return false, fmt.Sprintf("%s runs %d allocations on %s, its pilot light is %d: not in standby, so the drill would prove nothing", svc.Name, dr, to, pilot)
	case dr < pilot:
		return false, fmt.Sprintf("%s runs %d allocations on %s, its pilot light is %d: the standby is not the one the estate declares (job %s %s)", svc.Name, dr, to, pilot, job, state)
	case primary > 0 && pilot >= primary:
		return false, fmt.Sprintf("%s runs %d allocations on %s, its pilot light, and %d on %s: the DR site already runs it in full, so the drill would prove nothing", svc.Name, dr, to, primary, from)
	case pilot == 0:
		return true, fmt.Sprintf("job %s %s on %s: in standby", job, state, to)
	default:
		return true, fmt.Sprintf("job %s runs %d allocations on %s, its pilot light (%d on %s): in standby", job, dr, to, primary, from)
	}
}

// runningAllocs counts the job's allocations that are wanted and pending or running, and
// says in words what the job is when it runs none ("is not registered", "is stopped").
func runningAllocs(ctx context.Context, sc *siteClient, job string) (int, string, error) {
	var info *api.Job
	err := sc.call(ctx, "read job "+job, 0, func(ctx context.Context) error {
		j, _, err := sc.client.Jobs().Info(job, (&api.QueryOptions{}).WithContext(ctx))
		info = j
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return 0, "is not registered", nil
	}
	if err != nil {
		return 0, "", err
	}
	if info.Stop != nil && *info.Stop {
		return 0, "is stopped", nil
	}
	var allocs []*api.AllocationListStub
	err = sc.call(ctx, "list allocations of job "+job, 0, func(ctx context.Context) error {
		al, _, err := sc.client.Jobs().Allocations(job, false, (&api.QueryOptions{}).WithContext(ctx))
		allocs = al
		return err
	})
	if err != nil {
		return 0, "", err
	}
	n := 0
	for _, al := range allocs {
		if al.DesiredStatus == "run" && (al.ClientStatus == "pending" || al.ClientStatus == "running") {
			n++
		}
	}
	return n, "runs no allocation", nil
}

var _ actions.Preflighter = (*Preflighter)(nil)
