package sitesim

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"
)

// maxEventBatches bounds the event buffer a stream can resume from.
const maxEventBatches = 10000

type jobKey struct{ ns, id string }

// jobState is a registered job. job is the server's copy, kept current (Status, indexes);
// snap is an immutable copy of the current version that its allocations point to.
type jobState struct {
	job        *api.Job
	snap       *api.Job
	deployment string         // ID of the latest deployment, or ""
	queued     map[string]int // allocations that could not be placed, by group
}

type eventBatch struct {
	Index  uint64
	Events []wireEvent
}

// wireEvent is an event as the real server writes it; api.Event decodes it.
type wireEvent struct {
	Topic      string
	Type       string
	Key        string
	Namespace  string
	FilterKeys []string
	Index      uint64
	Payload    map[string]json.RawMessage
}

// tx is one state change: every object it touches gets its index, and its events are
// published as one batch.
type tx struct {
	idx    uint64
	now    time.Time
	events []wireEvent
}

func (t *tx) emit(topic, typ, key, ns string, filterKeys []string, name string, obj any) {
	b, err := json.Marshal(obj)
	if err != nil {
		// The payloads are api structs, which always marshal.
		panic(fmt.Sprintf("sitesim: marshal %s payload: %v", name, err))
	}
	t.events = append(t.events, wireEvent{
		Topic: topic, Type: typ, Key: key, Namespace: ns, FilterKeys: filterKeys, Index: t.idx,
		Payload: map[string]json.RawMessage{name: b},
	})
}

func (t *tx) emitAlloc(a *api.Allocation) {
	// The real server sends allocations without their job in events.
	c := *a
	c.Job = nil
	t.emit(string(api.TopicAllocation), "AllocationUpdated", a.ID, a.Namespace,
		[]string{a.JobID, a.DeploymentID}, "Allocation", &c)
}

func (t *tx) emitDeployment(d *api.Deployment) {
	t.emit(string(api.TopicDeployment), "DeploymentStatusUpdate", d.ID, d.Namespace,
		[]string{d.JobID}, "Deployment", d)
}

func (t *tx) emitNode(typ string, n *api.Node) {
	t.emit(string(api.TopicNode), typ, n.ID, "", nil, "Node", n)
}

// begin starts a state change. The caller holds st.mu and must call commit.
func (st *Site) begin() *tx {
	st.index++
	return &tx{idx: st.index, now: st.clock.Now()}
}

// commit derives job statuses and the toy services' health, publishes the events and wakes
// blocking queries and streams.
func (st *Site) commit(t *tx) {
	st.refreshJobStatuses(t)
	st.refreshHealth(t.now)
	if len(t.events) > 0 {
		st.events = append(st.events, eventBatch{Index: t.idx, Events: t.events})
		if n := len(st.events) - maxEventBatches; n > 0 {
			st.events = slices.Delete(st.events, 0, n)
		}
	}
	close(st.changed)
	st.changed = make(chan struct{})
}

// after runs fn after d on a real timer unless the site closes first. The caller holds st.mu.
func (st *Site) after(d time.Duration, fn func()) {
	if st.closed {
		return
	}
	st.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer st.wg.Done()
		st.mu.Lock()
		_, ok := st.timers[t]
		delete(st.timers, t)
		st.mu.Unlock()
		if ok {
			fn()
		}
	})
	st.timers[t] = struct{}{}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func deepCopyJob(j *api.Job) *api.Job {
	b, err := json.Marshal(j)
	if err != nil {
		panic(fmt.Sprintf("sitesim: copy job: %v", err))
	}
	var c api.Job
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("sitesim: copy job: %v", err))
	}
	return &c
}

// specOf is the job without what the server sets, for comparing versions.
func specOf(j *api.Job, ignoreCounts bool) []byte {
	c := deepCopyJob(j)
	c.Status, c.StatusDescription, c.Stable, c.Version, c.SubmitTime = nil, nil, nil, nil, nil
	c.CreateIndex, c.ModifyIndex, c.JobModifyIndex = nil, nil, nil
	if ignoreCounts {
		c.Stop = nil
		for _, tg := range c.TaskGroups {
			tg.Count = nil
		}
	}
	b, _ := json.Marshal(c)
	return b
}

func isLive(a *api.Allocation) bool {
	return a.DesiredStatus == api.AllocDesiredStatusRun &&
		(a.ClientStatus == api.AllocClientStatusPending || a.ClientStatus == api.AllocClientStatusRunning)
}

func isHealthy(a *api.Allocation) bool {
	return isLive(a) && a.ClientStatus == api.AllocClientStatusRunning &&
		a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && *a.DeploymentStatus.Healthy
}

// jobAllocs returns the job's allocations (all of them, terminal too), oldest first.
func (st *Site) jobAllocs(ns, id string) []*api.Allocation {
	var out []*api.Allocation
	for _, a := range st.allocs {
		if a.JobID == id && a.Namespace == ns {
			out = append(out, a)
		}
	}
	sortAllocs(out)
	return out
}

func sortAllocs(as []*api.Allocation) {
	slices.SortFunc(as, func(a, b *api.Allocation) int {
		return cmp.Or(cmp.Compare(a.CreateIndex, b.CreateIndex), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
}

func (st *Site) sortedJobs() []*jobState {
	out := make([]*jobState, 0, len(st.jobs))
	for _, js := range st.jobs {
		out = append(out, js)
	}
	slices.SortFunc(out, func(a, b *jobState) int {
		return cmp.Or(cmp.Compare(*a.job.ID, *b.job.ID), cmp.Compare(*a.job.Namespace, *b.job.Namespace))
	})
	return out
}

func (st *Site) node(id string) *api.Node {
	for _, n := range st.nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// pickNode returns the eligible node with the fewest live allocations, or nil.
func (st *Site) pickNode() *api.Node {
	load := make(map[string]int)
	for _, a := range st.allocs {
		if isLive(a) {
			load[a.NodeID]++
		}
	}
	var best *api.Node
	for _, n := range st.nodes {
		if n.Status != api.NodeStatusReady || n.SchedulingEligibility != api.NodeSchedulingEligible || n.DrainStrategy != nil {
			continue
		}
		if best == nil || load[n.ID] < load[best.ID] {
			best = n
		}
	}
	return best
}

// applyJobDefaults fills in what the server defaults, as the client's Register does not
// canonicalize.
func (st *Site) applyJobDefaults(j *api.Job, ns string) {
	if j.Namespace == nil || *j.Namespace == "" {
		j.Namespace = &ns
	}
	if j.Region == nil || *j.Region == "" || *j.Region == api.GlobalRegion {
		j.Region = new(st.region)
	}
	if len(j.Datacenters) == 0 {
		j.Datacenters = []string{"*"}
	}
	j.Canonicalize()
}

func validateJob(j *api.Job) error {
	if j.ID == nil || *j.ID == "" {
		return errors.New("missing job ID")
	}
	if len(j.TaskGroups) == 0 {
		return errors.New("missing job task groups")
	}
	seen := make(map[string]bool)
	for i, tg := range j.TaskGroups {
		if tg == nil || tg.Name == nil || *tg.Name == "" {
			return fmt.Errorf("task group %d: missing task group name", i+1)
		}
		if seen[*tg.Name] {
			return fmt.Errorf("task group %d: redefines %q", i+1, *tg.Name)
		}
		seen[*tg.Name] = true
		if tg.Count != nil && *tg.Count < 0 {
			return fmt.Errorf("task group %s: count can't be negative", *tg.Name)
		}
	}
	return nil
}

// registerJob stores a new version of a job (unless the spec is unchanged), creates its
// deployment and places or stops allocations. in has defaults applied and is validated.
func (st *Site) registerJob(t *tx, in *api.Job, preserveCounts bool, triggeredBy string) (*jobState, *api.Evaluation) {
	key := jobKey{*in.Namespace, *in.ID}
	js := st.jobs[key]
	if js != nil && preserveCounts {
		for _, tg := range in.TaskGroups {
			if old := js.job.LookupTaskGroup(*tg.Name); old != nil {
				tg.Count = new(*old.Count)
			}
		}
	}
	if js != nil && bytes.Equal(specOf(js.job, false), specOf(in, false)) {
		// An unchanged job only gets a new evaluation.
		return js, st.newEval(t, js, triggeredBy)
	}
	inPlace := js != nil && bytes.Equal(specOf(js.job, true), specOf(in, true))
	if js == nil {
		js = &jobState{queued: make(map[string]int)}
		st.jobs[key] = js
		in.Version = new(uint64(0))
		in.CreateIndex = new(t.idx)
		in.SubmitTime = new(t.now.UnixNano())
	} else {
		in.Version = new(*js.job.Version + 1)
		in.CreateIndex = new(*js.job.CreateIndex)
		in.SubmitTime = new(t.now.UnixNano())
	}
	in.ModifyIndex = new(t.idx)
	in.JobModifyIndex = new(t.idx)
	in.Stable = new(false)
	in.Status = new("pending")
	in.StatusDescription = new("")
	js.job = in
	js.snap = deepCopyJob(in)

	// A newer version cancels the running deployment.
	if old := st.deployments[js.deployment]; old != nil && old.Status == api.DeploymentStatusRunning {
		desc := "Cancelled due to newer version of job"
		if *in.Stop {
			desc = "Cancelled because job is stopped"
		}
		st.setDeploymentStatus(t, old, api.DeploymentStatusCancelled, desc)
	}
	if !inPlace {
		for _, a := range st.jobAllocs(key.ns, key.id) {
			if isLive(a) {
				st.stopAlloc(t, a, "alloc is being updated due to job update", false)
			}
		}
	}
	var dep *api.Deployment
	if !*in.Stop && *in.Type == api.JobTypeService {
		dep = st.newDeployment(t, js)
		if inPlace {
			for _, a := range st.jobAllocs(key.ns, key.id) {
				if !isLive(a) || in.LookupTaskGroup(a.TaskGroup) == nil {
					continue
				}
				a.DeploymentID = dep.ID
				a.Job = js.snap
				a.ModifyIndex, a.AllocModifyIndex, a.ModifyTime = t.idx, t.idx, t.now.UnixNano()
				ds := dep.TaskGroups[a.TaskGroup]
				ds.PlacedAllocs++
				if isHealthy(a) {
					ds.HealthyAllocs++
				}
				t.emitAlloc(a)
			}
		}
	}
	t.emit(string(api.TopicJob), "JobRegistered", key.id, key.ns, nil, "Job", in)
	ev := st.newEval(t, js, triggeredBy)
	st.reconcile(t, js, ev)
	if dep != nil {
		st.checkDeployment(t, dep)
	}
	return js, ev
}

// deregisterJob stops a job (Stop=true, a new version) and, with purge, removes it.
func (st *Site) deregisterJob(t *tx, js *jobState, purge bool) *api.Evaluation {
	j := js.job
	key := jobKey{*j.Namespace, *j.ID}
	if !*j.Stop {
		j.Stop = new(true)
		j.Version = new(*j.Version + 1)
		j.JobModifyIndex = new(t.idx)
		j.ModifyIndex = new(t.idx)
		js.snap = deepCopyJob(j)
	}
	if d := st.deployments[js.deployment]; d != nil && d.Status == api.DeploymentStatusRunning {
		st.setDeploymentStatus(t, d, api.DeploymentStatusCancelled, "Cancelled because job is stopped")
	}
	ev := st.newEval(t, js, "job-deregister")
	st.reconcile(t, js, ev)
	if purge {
		delete(st.jobs, key)
	}
	c := deepCopyJob(j)
	c.Status = new("dead")
	t.emit(string(api.TopicJob), "JobDeregistered", key.id, key.ns, nil, "Job", c)
	return ev
}

func (st *Site) newEval(t *tx, js *jobState, triggeredBy string) *api.Evaluation {
	ev := &api.Evaluation{
		ID: newID(), Priority: *js.job.Priority, Type: *js.job.Type, TriggeredBy: triggeredBy,
		Namespace: *js.job.Namespace, JobID: *js.job.ID, JobModifyIndex: *js.job.JobModifyIndex,
		DeploymentID: js.deployment, Status: "complete",
		CreateIndex: t.idx, ModifyIndex: t.idx, CreateTime: t.now.UnixNano(), ModifyTime: t.now.UnixNano(),
	}
	st.evals[ev.ID] = ev
	return ev
}

func (st *Site) newDeployment(t *tx, js *jobState) *api.Deployment {
	j := js.job
	d := &api.Deployment{
		ID: newID(), Namespace: *j.Namespace, JobID: *j.ID, JobVersion: *j.Version,
		JobModifyIndex: *j.ModifyIndex, JobSpecModifyIndex: *j.JobModifyIndex, JobCreateIndex: *j.CreateIndex,
		TaskGroups: make(map[string]*api.DeploymentState),
		Status:     api.DeploymentStatusRunning, StatusDescription: "Deployment is running",
		CreateIndex: t.idx, ModifyIndex: t.idx, CreateTime: t.now.UnixNano(), ModifyTime: t.now.UnixNano(),
	}
	for _, tg := range j.TaskGroups {
		ds := &api.DeploymentState{DesiredTotal: *tg.Count}
		if u := tg.Update; u != nil {
			if u.ProgressDeadline != nil {
				ds.ProgressDeadline = *u.ProgressDeadline
				ds.RequireProgressBy = t.now.Add(*u.ProgressDeadline).UTC()
			}
			if u.AutoRevert != nil {
				ds.AutoRevert = *u.AutoRevert
			}
		}
		d.TaskGroups[*tg.Name] = ds
	}
	st.deployments[d.ID] = d
	js.deployment = d.ID
	t.emitDeployment(d)
	return d
}

func (st *Site) setDeploymentStatus(t *tx, d *api.Deployment, status, desc string) {
	d.Status, d.StatusDescription = status, desc
	d.ModifyIndex, d.ModifyTime = t.idx, t.now.UnixNano()
	t.emitDeployment(d)
	if status == api.DeploymentStatusSuccessful {
		if js := st.jobs[jobKey{d.Namespace, d.JobID}]; js != nil && *js.job.Version == d.JobVersion {
			js.job.Stable = new(true)
			js.job.ModifyIndex = new(t.idx)
		}
	}
}

// checkDeployment marks a running deployment successful once every group is healthy.
func (st *Site) checkDeployment(t *tx, d *api.Deployment) {
	if d.Status != api.DeploymentStatusRunning {
		return
	}
	for _, ds := range d.TaskGroups {
		if ds.HealthyAllocs < ds.DesiredTotal {
			return
		}
	}
	st.setDeploymentStatus(t, d, api.DeploymentStatusSuccessful, "Deployment completed successfully")
}

// reconcile makes the job's live allocations match its groups' counts: it stops the extra
// ones and places the missing ones on eligible nodes. Failed allocations of the current
// version keep their slot (they are not rescheduled).
func (st *Site) reconcile(t *tx, js *jobState, ev *api.Evaluation) {
	j := js.job
	allocs := st.jobAllocs(*j.Namespace, *j.ID)
	clear(js.queued)
	if *j.Stop {
		for _, a := range allocs {
			if isLive(a) {
				st.stopAlloc(t, a, "alloc not needed due to job update", false)
			}
		}
		return
	}
	for _, a := range allocs {
		if isLive(a) && j.LookupTaskGroup(a.TaskGroup) == nil {
			st.stopAlloc(t, a, "alloc not needed due to job update", false)
		}
	}
	dep := st.deployments[js.deployment]
	if dep != nil && dep.Status != api.DeploymentStatusRunning {
		dep = nil
	}
	blocked := false
	for _, tg := range j.TaskGroups {
		group, want := *tg.Name, *tg.Count
		var live []*api.Allocation
		used := make(map[int]bool)
		occupied := 0
		for _, a := range allocs {
			if a.TaskGroup != group {
				continue
			}
			keeps := isLive(a) || (a.ClientStatus == api.AllocClientStatusFailed &&
				a.DesiredStatus == api.AllocDesiredStatusRun && a.Job != nil && *a.Job.Version == *j.Version)
			if !keeps {
				continue
			}
			occupied++
			used[allocIndex(a.Name)] = true
			if isLive(a) {
				live = append(live, a)
			}
		}
		// Stop the newest extras first.
		for i := len(live) - 1; i >= 0 && occupied > want; i-- {
			st.stopAlloc(t, live[i], "alloc not needed due to job update", false)
			occupied--
		}
		for idx := 0; occupied < want; idx++ {
			if used[idx] {
				continue
			}
			n := st.pickNode()
			if n == nil {
				js.queued[group] = want - occupied
				blocked = true
				break
			}
			st.placeAlloc(t, js, group, idx, n, dep, ev)
			occupied++
		}
	}
	if blocked && ev != nil {
		bl := *ev
		bl.ID, bl.Status, bl.TriggeredBy, bl.PreviousEval = newID(), "blocked", "queued-allocs", ev.ID
		bl.QueuedAllocations = copyCounts(js.queued)
		st.evals[bl.ID] = &bl
		ev.BlockedEval = bl.ID
		ev.QueuedAllocations = copyCounts(js.queued)
		ev.FailedTGAllocs = make(map[string]*api.AllocationMetric)
		for g := range js.queued {
			ev.FailedTGAllocs[g] = &api.AllocationMetric{NodesEvaluated: len(st.nodes), NodesFiltered: len(st.nodes),
				NodesInPool: len(st.nodes), NodePool: "default"}
		}
	}
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// reconcileAll re-evaluates every job, as node changes do.
func (st *Site) reconcileAll(t *tx) {
	for _, js := range st.sortedJobs() {
		st.reconcile(t, js, nil)
	}
}

func allocIndex(name string) int {
	i := len(name) - 1
	if i < 0 || name[i] != ']' {
		return -1
	}
	j := i - 1
	for j >= 0 && name[j] != '[' {
		j--
	}
	n := 0
	if _, err := fmt.Sscanf(name[j+1:i], "%d", &n); err != nil {
		return -1
	}
	return n
}

func (st *Site) placeAlloc(t *tx, js *jobState, group string, idx int, n *api.Node, dep *api.Deployment, ev *api.Evaluation) {
	j := js.job
	a := &api.Allocation{
		ID: newID(), Namespace: *j.Namespace, Name: fmt.Sprintf("%s.%s[%d]", *j.ID, group, idx),
		NodeID: n.ID, NodeName: n.Name, JobID: *j.ID, Job: js.snap, TaskGroup: group,
		DesiredStatus: api.AllocDesiredStatusRun, ClientStatus: api.AllocClientStatusPending,
		TaskStates:       map[string]*api.TaskState{},
		DeploymentStatus: &api.AllocDeploymentStatus{ModifyIndex: t.idx},
		CreateIndex:      t.idx, ModifyIndex: t.idx, AllocModifyIndex: t.idx,
		CreateTime: t.now.UnixNano(), ModifyTime: t.now.UnixNano(),
	}
	if ev != nil {
		a.EvalID = ev.ID
	}
	if tg := j.LookupTaskGroup(group); tg != nil {
		for _, task := range tg.Tasks {
			if task != nil && task.Name != "" {
				a.TaskStates[task.Name] = &api.TaskState{State: "pending"}
			}
		}
	}
	if dep != nil {
		a.DeploymentID = dep.ID
		dep.TaskGroups[group].PlacedAllocs++
		dep.ModifyIndex = t.idx
	}
	st.allocs[a.ID] = a
	t.emitAlloc(a)
	id := a.ID
	st.after(st.startDelay, func() { st.allocStarted(id) })
}

func (st *Site) touchAlloc(t *tx, a *api.Allocation) {
	a.ModifyIndex, a.ModifyTime = t.idx, t.now.UnixNano()
	t.emitAlloc(a)
}

func (st *Site) setTaskStates(a *api.Allocation, state string, now time.Time, failed bool) {
	for name, ts := range a.TaskStates {
		c := *ts
		c.State = state
		c.Failed = failed
		switch state {
		case "running":
			c.StartedAt = now.UTC()
		case "dead":
			c.FinishedAt = now.UTC()
		}
		a.TaskStates[name] = &c
	}
}

// stopAlloc moves a live allocation to desired stop and client complete.
func (st *Site) stopAlloc(t *tx, a *api.Allocation, desc string, migrate bool) {
	a.DesiredStatus = api.AllocDesiredStatusStop
	a.DesiredDescription = desc
	if migrate {
		a.DesiredTransition.Migrate = new(true)
	}
	if a.ClientStatus == api.AllocClientStatusPending || a.ClientStatus == api.AllocClientStatusRunning {
		a.ClientStatus = api.AllocClientStatusComplete
		a.ClientDescription = "All tasks have completed"
		st.setTaskStates(a, "dead", t.now, false)
	}
	a.AllocModifyIndex = t.idx
	st.touchAlloc(t, a)
}

func (st *Site) allocStarted(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	a := st.allocs[id]
	if st.closed || a == nil || a.DesiredStatus != api.AllocDesiredStatusRun || a.ClientStatus != api.AllocClientStatusPending {
		return
	}
	t := st.begin()
	a.ClientStatus = api.AllocClientStatusRunning
	a.ClientDescription = "Tasks are running"
	st.setTaskStates(a, "running", t.now, false)
	st.touchAlloc(t, a)
	st.after(st.healthDelay, func() { st.allocHealthDecided(id) })
	st.commit(t)
}

func (st *Site) allocHealthDecided(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	a := st.allocs[id]
	if st.closed || a == nil || !isLive(a) || a.ClientStatus != api.AllocClientStatusRunning ||
		(a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil) {
		return
	}
	t := st.begin()
	if st.failing[a.JobID] {
		st.failAlloc(t, a)
	} else {
		a.DeploymentStatus = &api.AllocDeploymentStatus{Healthy: new(true), Timestamp: t.now.UTC(), ModifyIndex: t.idx}
		st.touchAlloc(t, a)
		if d := st.deployments[a.DeploymentID]; d != nil && d.Status == api.DeploymentStatusRunning {
			d.TaskGroups[a.TaskGroup].HealthyAllocs++
			d.ModifyIndex, d.ModifyTime = t.idx, t.now.UnixNano()
			st.checkDeployment(t, d)
		}
	}
	st.commit(t)
}

// failAlloc makes an allocation fail: unhealthy, client failed, its deployment failed.
func (st *Site) failAlloc(t *tx, a *api.Allocation) {
	a.ClientStatus = api.AllocClientStatusFailed
	a.ClientDescription = "Failed tasks"
	st.setTaskStates(a, "dead", t.now, true)
	a.DeploymentStatus = &api.AllocDeploymentStatus{Healthy: new(false), Timestamp: t.now.UTC(), ModifyIndex: t.idx}
	st.touchAlloc(t, a)
	if d := st.deployments[a.DeploymentID]; d != nil && d.Status == api.DeploymentStatusRunning {
		d.TaskGroups[a.TaskGroup].UnhealthyAllocs++
		st.setDeploymentStatus(t, d, api.DeploymentStatusFailed, "Failed due to unhealthy allocations")
	}
}

// refreshJobStatuses derives each job's Status from its allocations, as the server does.
func (st *Site) refreshJobStatuses(t *tx) {
	for _, js := range st.jobs {
		j := js.job
		status := "pending"
		switch {
		case *j.Stop:
			status = "dead"
		default:
			live, failed, queued := false, false, 0
			for _, a := range st.allocs {
				if a.JobID != *j.ID || a.Namespace != *j.Namespace {
					continue
				}
				if isLive(a) {
					live = true
				} else if a.ClientStatus == api.AllocClientStatusFailed && a.DesiredStatus == api.AllocDesiredStatusRun {
					failed = true
				}
			}
			for _, n := range js.queued {
				queued += n
			}
			switch {
			case live:
				status = "running"
			case failed && queued == 0:
				status = "dead"
			}
		}
		if *j.Status != status {
			j.Status = new(status)
			j.ModifyIndex = new(t.idx)
		}
	}
}

// health reports whether the toy service of job is healthy on the site, and if not why.
// The caller holds st.mu.
func (st *Site) health(job string, seen map[string]bool) (bool, string) {
	if seen[job] {
		return false, fmt.Sprintf("dependency cycle through %s", job)
	}
	seen[job] = true
	defer delete(seen, job)
	js := st.jobs[jobKey{DefaultNamespace, job}]
	if js == nil {
		return false, "job not registered"
	}
	if *js.job.Stop {
		return false, "job stopped"
	}
	healthy := make(map[string]int)
	for _, a := range st.allocs {
		if a.JobID == job && a.Namespace == DefaultNamespace && isHealthy(a) {
			healthy[a.TaskGroup]++
		}
	}
	for _, tg := range js.job.TaskGroups {
		if *tg.Count == 0 {
			return false, fmt.Sprintf("group %s has count 0", *tg.Name)
		}
		if healthy[*tg.Name] < *tg.Count {
			return false, fmt.Sprintf("group %s: %d of %d allocations healthy", *tg.Name, healthy[*tg.Name], *tg.Count)
		}
	}
	for _, d := range st.deps[job] {
		if ok, why := st.health(d, seen); !ok {
			return false, fmt.Sprintf("dependency %s unhealthy: %s", d, why)
		}
	}
	return true, ""
}

func (st *Site) refreshHealth(now time.Time) {
	names := make(map[string]bool)
	for k := range st.jobs {
		if k.ns == DefaultNamespace {
			names[k.id] = true
		}
	}
	for name := range st.healthy {
		names[name] = true
	}
	for name := range names {
		ok, _ := st.health(name, map[string]bool{})
		if ok && !st.healthy[name] {
			st.healthyAt[name] = now
			st.log.Debug("service healthy", "job", name)
		}
		st.healthy[name] = ok
	}
}
