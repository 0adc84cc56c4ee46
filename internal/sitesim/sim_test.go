package sitesim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// testTimeout bounds each wait so that a broken emulator fails instead of hanging; it is a
// guard, not an assertion about speed.
const testTimeout = 60 * time.Second

// testConfig has a primary running auth <- payments and a DR site with them as pilot lights.
func testConfig() Config {
	jobs := func(running bool) []JobConfig {
		return []JobConfig{
			{ID: "auth", Running: running},
			{ID: "payments", Count: 2, Running: running, DependsOn: []string{"auth"}},
		}
	}
	return Config{
		StartDelay:  20 * time.Millisecond,
		HealthDelay: 20 * time.Millisecond,
		Sites: []SiteConfig{
			{Name: "sangam", Region: "kr-sangam", Datacenter: "sangam-1", Jobs: jobs(true)},
			{Name: "yatap", Region: "kr-yatap", Datacenter: "yatap-1", Jobs: jobs(false)},
		},
	}
}

func setup(t *testing.T, cfg Config) *Sim {
	t.Helper()
	sim, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sim
}

func newClient(t *testing.T, st *Site, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: st.NomadAddress(), Region: st.Region(), SecretID: token})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func qo(ctx context.Context) *api.QueryOptions { return (&api.QueryOptions{}).WithContext(ctx) }
func wo(ctx context.Context) *api.WriteOptions { return (&api.WriteOptions{}).WithContext(ctx) }

// healthz asks the toy service of job on st.
func healthz(t *testing.T, st *Site, job string) (int, healthReply) {
	t.Helper()
	resp, err := http.Get(st.IngressAddress() + "/" + job + "/healthz")
	if err != nil {
		t.Fatalf("GET healthz: %v", err)
	}
	defer resp.Body.Close()
	var r healthReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("decode healthz: %v", err)
	}
	return resp.StatusCode, r
}

// waitAllocs follows the job's allocations with blocking queries until done returns true.
func waitAllocs(t *testing.T, ctx context.Context, c *api.Client, job string, done func([]*api.AllocationListStub) bool) []*api.AllocationListStub {
	t.Helper()
	var idx uint64
	for {
		q := &api.QueryOptions{WaitIndex: idx, WaitTime: 10 * time.Second}
		allocs, meta, err := c.Jobs().Allocations(job, false, q.WithContext(ctx))
		if err != nil {
			t.Fatalf("Allocations(%s): %v", job, err)
		}
		if done(allocs) {
			return allocs
		}
		idx = meta.LastIndex
	}
}

func live(allocs []*api.AllocationListStub) []*api.AllocationListStub {
	var out []*api.AllocationListStub
	for _, a := range allocs {
		if a.DesiredStatus == api.AllocDesiredStatusRun && (a.ClientStatus == "pending" || a.ClientStatus == "running") {
			out = append(out, a)
		}
	}
	return out
}

func healthyCount(allocs []*api.AllocationListStub) int {
	n := 0
	for _, a := range live(allocs) {
		if a.ClientStatus == "running" && a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && *a.DeploymentStatus.Healthy {
			n++
		}
	}
	return n
}

func allHealthy(n int) func([]*api.AllocationListStub) bool {
	return func(as []*api.AllocationListStub) bool { return len(live(as)) == n && healthyCount(as) == n }
}

func statusCode(t *testing.T, err error) int {
	t.Helper()
	var ure api.UnexpectedResponseError
	if !errors.As(err, &ure) {
		t.Fatalf("error %v (%T) is not an api.UnexpectedResponseError", err, err)
	}
	return ure.StatusCode()
}

func TestStartSettled(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	primary, dr := sim.Site("sangam"), sim.Site("yatap")
	if len(sim.Sites()) != 2 || sim.Site("nope") != nil {
		t.Fatalf("Sites() = %d sites", len(sim.Sites()))
	}
	for _, job := range []string{"auth", "payments"} {
		if !primary.JobHealthy(job) {
			t.Errorf("primary %s not healthy at start", job)
		}
		if code, _ := healthz(t, primary, job); code != http.StatusOK {
			t.Errorf("primary healthz %s = %d, want 200", job, code)
		}
		if dr.JobHealthy(job) {
			t.Errorf("dr %s healthy at start", job)
		}
		if code, r := healthz(t, dr, job); code != http.StatusServiceUnavailable || r.Reason == "" {
			t.Errorf("dr healthz %s = %d %+v, want 503 with a reason", job, code, r)
		}
	}

	c := newClient(t, dr, "")
	job, meta, err := c.Jobs().Info("payments", qo(ctx))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !*job.Stop || *job.Status != "dead" || *job.Type != "service" || *job.Namespace != "default" ||
		*job.TaskGroups[0].Count != 2 || *job.TaskGroups[0].Name != DefaultGroup || *job.Region != "kr-yatap" {
		t.Errorf("pilot light job = stop %v status %q type %q ns %q count %d region %q", *job.Stop, *job.Status,
			*job.Type, *job.Namespace, *job.TaskGroups[0].Count, *job.Region)
	}
	if meta.LastIndex == 0 || !meta.KnownLeader {
		t.Errorf("QueryMeta = %+v, want an index and a known leader", meta)
	}
	list, _, err := c.Jobs().List(qo(ctx))
	if err != nil || len(list) != 2 || list[0].ID != "auth" || list[0].Status != "dead" || !list[0].Stop {
		t.Fatalf("List = %+v, %v", list, err)
	}

	pc := newClient(t, primary, "")
	d, _, err := pc.Jobs().LatestDeployment("payments", qo(ctx))
	if err != nil || d == nil || d.Status != api.DeploymentStatusSuccessful || d.TaskGroups["app"].HealthyAllocs != 2 {
		t.Fatalf("primary LatestDeployment = %+v, %v", d, err)
	}
	d, _, err = c.Jobs().LatestDeployment("payments", qo(ctx))
	if err != nil || d != nil {
		t.Fatalf("pilot light LatestDeployment = %+v, %v; want nil", d, err)
	}

	self, err := c.Agent().Self()
	if err != nil {
		t.Fatalf("Agent.Self: %v", err)
	}
	if r, _ := c.Agent().Region(); r != "kr-yatap" {
		t.Errorf("Agent.Region = %q", r)
	}
	if dc, _ := c.Agent().Datacenter(); dc != "yatap-1" || self.Member.Name == "" {
		t.Errorf("Agent.Datacenter = %q, member %q", dc, self.Member.Name)
	}
	if regions, err := c.Regions().List(); err != nil || len(regions) != 1 || regions[0] != "kr-yatap" {
		t.Errorf("Regions = %v, %v", regions, err)
	}
	if leader, err := c.Status().Leader(); err != nil || leader == "" {
		t.Errorf("Leader = %q, %v", leader, err)
	}
	nodes, _, err := c.Nodes().List(qo(ctx))
	if err != nil || len(nodes) != DefaultNodes {
		t.Fatalf("Nodes.List = %d, %v", len(nodes), err)
	}
	for _, n := range nodes {
		if n.Status != "ready" || n.SchedulingEligibility != "eligible" || n.Datacenter != "yatap-1" {
			t.Errorf("node %+v", n)
		}
		info, _, err := c.Nodes().Info(n.ID, qo(ctx))
		if err != nil || info.Name != n.Name {
			t.Errorf("Nodes.Info(%s) = %v, %v", n.ID, info, err)
		}
	}
}

// TestRegisterFromPilotLight is the DR path: a stopped job is started, its allocations go
// pending -> running -> healthy, its deployment succeeds and the toy service turns healthy.
func TestRegisterFromPilotLight(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	dr := sim.Site("yatap")
	c := newClient(t, dr, "")

	// Payments first: its allocations get healthy, but its service waits for auth.
	job, _, err := c.Jobs().Info("payments", qo(ctx))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	job.Stop = new(false)
	resp, wm, err := c.Jobs().RegisterOpts(job, &api.RegisterOptions{PreserveCounts: true}, wo(ctx))
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if resp.EvalID == "" || resp.JobModifyIndex == 0 || wm.LastIndex == 0 {
		t.Errorf("Register = %+v %+v", resp, wm)
	}
	if ev, _, err := c.Evaluations().Info(resp.EvalID, qo(ctx)); err != nil || ev.JobID != "payments" {
		t.Errorf("Evaluations.Info = %+v, %v", ev, err)
	}
	waitAllocs(t, ctx, c, "payments", allHealthy(2))
	if code, r := healthz(t, dr, "payments"); code != http.StatusServiceUnavailable || r.Reason == "" {
		t.Errorf("healthz payments without auth = %d %+v, want 503", code, r)
	}
	if dr.JobHealthy("payments") {
		t.Error("payments healthy without auth")
	}

	before := time.Now()
	auth, _, err := c.Jobs().Info("auth", qo(ctx))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	auth.Stop = new(false)
	if _, _, err := c.Jobs().Register(auth, wo(ctx)); err != nil {
		t.Fatalf("Register auth: %v", err)
	}
	waitAllocs(t, ctx, c, "auth", allHealthy(1))
	code, r := healthz(t, dr, "payments")
	after := time.Now()
	if code != http.StatusOK || r.Status != "ok" || r.Site != "yatap" || r.Service != "payments" {
		t.Fatalf("healthz payments = %d %+v, want 200 ok", code, r)
	}
	authAt, ok1 := dr.HealthyAt("auth")
	payAt, ok2 := dr.HealthyAt("payments")
	if !ok1 || !ok2 || authAt.Before(before) || payAt.After(after) || payAt.Before(authAt) {
		t.Errorf("HealthyAt auth %v payments %v, want before %v <= auth <= payments <= %v", authAt, payAt, before, after)
	}

	d, _, err := c.Jobs().LatestDeployment("payments", qo(ctx))
	if err != nil || d == nil {
		t.Fatalf("LatestDeployment = %v, %v", d, err)
	}
	// The deployment may still be settling right after the last alloc turned healthy.
	for d.Status == api.DeploymentStatusRunning {
		q := &api.QueryOptions{WaitIndex: d.ModifyIndex}
		if d, _, err = c.Deployments().Info(d.ID, q.WithContext(ctx)); err != nil {
			t.Fatalf("Deployments.Info: %v", err)
		}
	}
	if d.Status != api.DeploymentStatusSuccessful || d.TaskGroups["app"].DesiredTotal != 2 || d.TaskGroups["app"].HealthyAllocs != 2 {
		t.Errorf("deployment = %s %+v", d.Status, d.TaskGroups["app"])
	}
	deps, _, err := c.Deployments().List(qo(ctx))
	if err != nil || len(deps) != 2 {
		t.Errorf("Deployments.List = %d, %v", len(deps), err)
	}
	info, _, err := c.Jobs().Info("payments", qo(ctx))
	if err != nil || *info.Status != "running" || *info.Stop || *info.Version != 1 || !*info.Stable {
		t.Errorf("Info after start = status %q stop %v version %d stable %v, %v", *info.Status, *info.Stop, *info.Version, *info.Stable, err)
	}
	sum, _, err := c.Jobs().Summary("payments", qo(ctx))
	if err != nil || sum.Summary["app"].Running != 2 {
		t.Errorf("Summary = %+v, %v", sum, err)
	}
	allocs, _, err := c.Allocations().List(qo(ctx))
	if err != nil || len(allocs) != 3 {
		t.Fatalf("Allocations.List = %d, %v", len(allocs), err)
	}
	a, _, err := c.Allocations().Info(allocs[0].ID, qo(ctx))
	if err != nil || a.Job == nil || a.NodeID == "" || a.ClientStatus != "running" {
		t.Errorf("Allocations.Info = %+v, %v", a, err)
	}
	nodeAllocs, _, err := c.Nodes().Allocations(a.NodeID, qo(ctx))
	if err != nil || len(nodeAllocs) == 0 {
		t.Errorf("Nodes.Allocations = %d, %v", len(nodeAllocs), err)
	}

	// Registering the same job again changes nothing.
	if _, _, err := c.Jobs().Register(info, wo(ctx)); err != nil {
		t.Fatalf("re-Register: %v", err)
	}
	again, _, _ := c.Jobs().Info("payments", qo(ctx))
	if *again.Version != *info.Version || !dr.JobHealthy("payments") {
		t.Errorf("re-Register bumped version %d -> %d or broke health", *info.Version, *again.Version)
	}
}

func TestDeregister(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	primary := sim.Site("sangam")
	c := newClient(t, primary, "")

	if _, _, err := c.Jobs().Deregister("auth", false, wo(ctx)); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	// Unhealthy at once: the dependent too.
	for _, job := range []string{"auth", "payments"} {
		if code, _ := healthz(t, primary, job); code != http.StatusServiceUnavailable {
			t.Errorf("healthz %s after deregister = %d, want 503", job, code)
		}
	}
	job, _, err := c.Jobs().Info("auth", qo(ctx))
	if err != nil || !*job.Stop || *job.Status != "dead" {
		t.Fatalf("Info after deregister = %v, %v", job, err)
	}
	allocs, _, err := c.Jobs().Allocations("auth", false, qo(ctx))
	if err != nil || len(allocs) != 1 || allocs[0].DesiredStatus != "stop" || allocs[0].ClientStatus != "complete" {
		t.Fatalf("Allocations after deregister = %+v, %v", allocs, err)
	}

	if _, _, err := c.Jobs().Deregister("auth", true, wo(ctx)); err != nil {
		t.Fatalf("Deregister purge: %v", err)
	}
	_, _, err = c.Jobs().Info("auth", qo(ctx))
	if code := statusCode(t, err); code != http.StatusNotFound {
		t.Errorf("Info after purge: status %d, want 404", code)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	c := newClient(t, sim.Site("sangam"), "")
	_, _, err := c.Jobs().Info("nope", qo(ctx))
	var ure api.UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != http.StatusNotFound || ure.Body() != "job not found" {
		t.Fatalf("Info(nope) = %v, want 404 job not found", err)
	}
	if _, _, err := c.Jobs().Deregister("nope", false, wo(ctx)); statusCode(t, err) != http.StatusNotFound {
		t.Errorf("Deregister(nope) = %v, want 404", err)
	}
	if _, _, err := c.Jobs().Summary("nope", qo(ctx)); statusCode(t, err) != http.StatusNotFound {
		t.Errorf("Summary(nope) = %v, want 404", err)
	}
	if _, _, err := c.Allocations().Info("nope", qo(ctx)); statusCode(t, err) != http.StatusNotFound {
		t.Errorf("Allocations.Info(nope) = %v, want 404", err)
	}
	if d, _, err := c.Jobs().LatestDeployment("nope", qo(ctx)); err != nil || d != nil {
		t.Errorf("LatestDeployment(nope) = %v, %v; want nil, nil", d, err)
	}

	wrong, err := api.NewClient(&api.Config{Address: sim.Site("sangam").NomadAddress(), Region: "kr-yatap"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := wrong.Jobs().List(qo(ctx)); statusCode(t, err) != http.StatusInternalServerError {
		t.Errorf("List in a wrong region = %v, want 500 No path to region", err)
	}
}

func TestACL(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Sites[0].Token = "s3cret"
	sim := setup(t, cfg)
	ctx := testCtx(t)
	st := sim.Site("sangam")

	for _, tok := range []string{"", "wrong"} {
		_, _, err := newClient(t, st, tok).Jobs().List(qo(ctx))
		var ure api.UnexpectedResponseError
		if !errors.As(err, &ure) || ure.StatusCode() != http.StatusForbidden || ure.Body() != "Permission denied" {
			t.Errorf("List with token %q = %v, want 403 Permission denied", tok, err)
		}
	}
	if _, _, err := newClient(t, st, "s3cret").Jobs().List(qo(ctx)); err != nil {
		t.Errorf("List with the token: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, st.NomadAddress()+"/v1/jobs", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Bearer token: status %d, want 200", resp.StatusCode)
	}
	// The other site has no ACL.
	if _, _, err := newClient(t, sim.Site("yatap"), "").Jobs().List(qo(ctx)); err != nil {
		t.Errorf("List on a site without ACL: %v", err)
	}
}

func TestBlockingQuery(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	c := newClient(t, sim.Site("yatap"), "")
	_, meta, err := c.Jobs().List(qo(ctx))
	if err != nil {
		t.Fatal(err)
	}
	idx := meta.LastIndex

	// Nothing changes: the query waits out its wait time and returns the same index.
	q := &api.QueryOptions{WaitIndex: idx, WaitTime: 50 * time.Millisecond}
	_, meta, err = c.Jobs().Info("auth", q.WithContext(ctx))
	if err != nil || meta.LastIndex != idx {
		t.Fatalf("idle blocking query = index %d, %v; want %d", meta.LastIndex, err, idx)
	}

	// A change wakes a query that would otherwise wait 5 minutes.
	type result struct {
		job  *api.Job
		meta *api.QueryMeta
		err  error
	}
	done := make(chan result, 1)
	go func() {
		q := &api.QueryOptions{WaitIndex: idx, WaitTime: 5 * time.Minute}
		job, meta, err := c.Jobs().Info("auth", q.WithContext(ctx))
		done <- result{job, meta, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("blocking query returned before any change: %+v", r)
	default:
	}
	job, _, err := c.Jobs().Info("auth", qo(ctx))
	if err != nil {
		t.Fatal(err)
	}
	job.Stop = new(false)
	if _, _, err := c.Jobs().Register(job, wo(ctx)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.meta.LastIndex <= idx {
			t.Fatalf("woken query = %v, %v; want index > %d", r.meta, r.err, idx)
		}
	case <-ctx.Done():
		t.Fatal("blocking query not woken by a change")
	}

	// A cancelled context ends a held query.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, meta, _ := c.Jobs().List(qo(ctx))
		q := &api.QueryOptions{WaitIndex: meta.LastIndex + 1000, WaitTime: 5 * time.Minute}
		_, _, err := c.Jobs().List(q.WithContext(cctx))
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled blocking query = %v, want context.Canceled", err)
	}
}

func TestScale(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	primary := sim.Site("sangam")
	c := newClient(t, primary, "")

	if _, _, err := c.Jobs().Scale("auth", "app", new(3), "drill", false, nil, wo(ctx)); err != nil {
		t.Fatalf("Scale up: %v", err)
	}
	waitAllocs(t, ctx, c, "auth", allHealthy(3))
	st, _, err := c.Jobs().ScaleStatus("auth", qo(ctx))
	if err != nil || st.TaskGroups["app"].Desired != 3 || st.TaskGroups["app"].Placed != 3 {
		t.Fatalf("ScaleStatus = %+v, %v", st, err)
	}
	if !primary.JobHealthy("auth") {
		t.Error("auth unhealthy after scale up")
	}

	if _, _, err := c.Jobs().Scale("auth", "app", new(1), "drill", false, nil, wo(ctx)); err != nil {
		t.Fatalf("Scale down: %v", err)
	}
	allocs, _, err := c.Jobs().Allocations("auth", false, qo(ctx))
	if err != nil || len(live(allocs)) != 1 || healthyCount(allocs) != 1 {
		t.Fatalf("after scale down: %d live, %d healthy, %v", len(live(allocs)), healthyCount(allocs), err)
	}
	if !primary.JobHealthy("auth") {
		t.Error("auth unhealthy after scale down")
	}
	job, _, _ := c.Jobs().Info("auth", qo(ctx))
	if *job.TaskGroups[0].Count != 1 {
		t.Errorf("count after scale = %d", *job.TaskGroups[0].Count)
	}

	if _, _, err := c.Jobs().Scale("auth", "nope", new(2), "", false, nil, wo(ctx)); statusCode(t, err) != http.StatusBadRequest {
		t.Errorf("Scale of an unknown group = %v, want 400", err)
	}
	bad := &api.ScalingRequest{Count: new(int64(2)), Target: map[string]string{"Job": "payments", "Group": "app"}}
	if _, _, err := c.Jobs().ScaleWithRequest("auth", bad, wo(ctx)); statusCode(t, err) != http.StatusBadRequest {
		t.Errorf("Scale with a mismatched target = %v, want 400", err)
	}
}

// TestDrainSite drains every node of the primary: the whole-site loss.
func TestDrainSite(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	primary := sim.Site("sangam")
	c := newClient(t, primary, "")

	nodes, _, err := c.Nodes().List(qo(ctx))
	if err != nil {
		t.Fatal(err)
	}
	// Draining one node moves its allocations to the others.
	if _, err := c.Nodes().UpdateDrain(nodes[0].ID, &api.DrainSpec{Deadline: time.Hour}, false, wo(ctx)); err != nil {
		t.Fatalf("UpdateDrain: %v", err)
	}
	waitAllocs(t, ctx, c, "payments", allHealthy(2))
	for _, n := range nodes[1:] {
		if _, err := c.Nodes().UpdateDrain(n.ID, &api.DrainSpec{Deadline: -1}, false, wo(ctx)); err != nil {
			t.Fatalf("UpdateDrain: %v", err)
		}
	}
	for _, job := range []string{"auth", "payments"} {
		if primary.JobHealthy(job) {
			t.Errorf("%s healthy with every node drained", job)
		}
		if code, _ := healthz(t, primary, job); code != http.StatusServiceUnavailable {
			t.Errorf("healthz %s = %d, want 503", job, code)
		}
		allocs, _, err := c.Jobs().Allocations(job, false, qo(ctx))
		if err != nil || len(live(allocs)) != 0 {
			t.Errorf("%s: %d live allocations, %v", job, len(live(allocs)), err)
		}
		sum, _, err := c.Jobs().Summary(job, qo(ctx))
		if err != nil || sum.Summary["app"].Queued == 0 {
			t.Errorf("%s summary = %+v, %v; want queued allocations", job, sum, err)
		}
	}
	for _, n := range nodes {
		info, _, err := c.Nodes().Info(n.ID, qo(ctx))
		if err != nil || info.SchedulingEligibility != "ineligible" || info.LastDrain == nil || info.LastDrain.Status != api.DrainStatusComplete {
			t.Errorf("node after drain = %+v, %v", info, err)
		}
	}
	// Re-placement is impossible: registering anew queues everything.
	if _, _, err := c.Jobs().Scale("auth", "app", new(2), "", false, nil, wo(ctx)); err != nil {
		t.Fatal(err)
	}
	if allocs, _, _ := c.Jobs().Allocations("auth", false, qo(ctx)); len(live(allocs)) != 0 {
		t.Errorf("allocations placed on a drained site: %d", len(live(allocs)))
	}

	// Making one node eligible again lets the jobs come back.
	if _, err := c.Nodes().ToggleEligibility(nodes[0].ID, true, wo(ctx)); err != nil {
		t.Fatalf("ToggleEligibility: %v", err)
	}
	waitAllocs(t, ctx, c, "auth", allHealthy(2))
	waitAllocs(t, ctx, c, "payments", allHealthy(2))
	if err := primary.WaitJobHealthy(ctx, "payments"); err != nil {
		t.Fatal(err)
	}
}

func TestFailJob(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	dr := sim.Site("yatap")
	c := newClient(t, dr, "")
	dr.FailJob("auth", true)

	job, _, err := c.Jobs().Info("auth", qo(ctx))
	if err != nil {
		t.Fatal(err)
	}
	job.Stop = new(false)
	if _, _, err := c.Jobs().Register(job, wo(ctx)); err != nil {
		t.Fatal(err)
	}
	waitAllocs(t, ctx, c, "auth", func(as []*api.AllocationListStub) bool {
		return len(as) == 1 && as[0].ClientStatus == "failed"
	})
	d, _, err := c.Jobs().LatestDeployment("auth", qo(ctx))
	if err != nil || d.Status != api.DeploymentStatusFailed {
		t.Errorf("deployment = %+v, %v; want failed", d, err)
	}
	if code, _ := healthz(t, dr, "auth"); code != http.StatusServiceUnavailable {
		t.Errorf("healthz = %d, want 503", code)
	}

	// Recovery: clear the fault and start a new version.
	dr.FailJob("auth", false)
	if _, _, err := c.Jobs().Deregister("auth", false, wo(ctx)); err != nil {
		t.Fatal(err)
	}
	job, _, _ = c.Jobs().Info("auth", qo(ctx))
	job.Stop = new(false)
	if _, _, err := c.Jobs().Register(job, wo(ctx)); err != nil {
		t.Fatal(err)
	}
	if err := dr.WaitJobHealthy(ctx, "auth"); err != nil {
		t.Fatal(err)
	}

	// A running job fails at once.
	primary := sim.Site("sangam")
	primary.FailJob("auth", true)
	if primary.JobHealthy("auth") || primary.JobHealthy("payments") {
		t.Error("primary auth or payments healthy after FailJob")
	}
}
