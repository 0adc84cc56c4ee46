package nomad

import (
	"context"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Preflighter checks the plan's Nomad clusters before a run touches anything: every site the
// plan uses answers with a leader, and the DR site has nodes to run the failed-over jobs on.
type Preflighter struct{ clients *Clients }

// NewPreflighter returns the Nomad pre-flight checks, over the same site clients as the actions.
func NewPreflighter(clients *Clients) *Preflighter { return &Preflighter{clients: clients} }

// Preflight implements actions.Preflighter. Checks: "reachable" for every site of the plan
// that has a nomad block (its cluster reports a leader), "capacity" for the plan's to site
// (at least one node of its datacenter ready, eligible and not draining).
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
		if name == req.Plan.To && check.OK {
			out = append(out, p.capacity(ctx, sc, req))
		}
	}
	return out
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

var _ actions.Preflighter = (*Preflighter)(nil)
