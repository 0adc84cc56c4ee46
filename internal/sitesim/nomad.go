package sitesim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/internal/nomadacl"
)

// Blocking query limits, as the real server's.
const (
	maxQueryWait     = 300 * time.Second
	defaultQueryWait = 300 * time.Second
)

// httpError is an error answer: a status code and a plain-text body, as the server writes.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errNotFound(what string) error { return &httpError{http.StatusNotFound, what + " not found"} }

func errBadRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (st *Site) nomadHandler() http.Handler {
	mux := http.NewServeMux()
	q := st.query
	mux.Handle("GET /v1/jobs", q(st.listJobs))
	mux.HandleFunc("PUT /v1/jobs", st.handleRegister)
	mux.HandleFunc("POST /v1/jobs", st.handleRegister)
	mux.Handle("GET /v1/job/{id}", q(st.jobInfo))
	mux.HandleFunc("PUT /v1/job/{id}", st.handleRegister)
	mux.HandleFunc("POST /v1/job/{id}", st.handleRegister)
	mux.HandleFunc("DELETE /v1/job/{id}", st.handleDeregister)
	mux.Handle("GET /v1/job/{id}/allocations", q(st.jobAllocations))
	mux.Handle("GET /v1/job/{id}/deployment", q(st.jobLatestDeployment))
	mux.Handle("GET /v1/job/{id}/deployments", q(st.jobDeployments))
	mux.Handle("GET /v1/job/{id}/evaluations", q(st.jobEvaluations))
	mux.Handle("GET /v1/job/{id}/summary", q(st.jobSummary))
	mux.Handle("GET /v1/job/{id}/scale", q(st.jobScaleStatus))
	mux.HandleFunc("PUT /v1/job/{id}/scale", st.handleScale)
	mux.HandleFunc("POST /v1/job/{id}/scale", st.handleScale)
	mux.Handle("GET /v1/allocations", q(st.listAllocations))
	mux.Handle("GET /v1/allocation/{id}", q(st.allocationInfo))
	mux.Handle("GET /v1/deployments", q(st.listDeployments))
	mux.Handle("GET /v1/deployment/{id}", q(st.deploymentInfo))
	mux.Handle("GET /v1/deployment/allocations/{id}", q(st.deploymentAllocations))
	mux.Handle("GET /v1/evaluations", q(st.listEvaluations))
	mux.Handle("GET /v1/evaluation/{id}", q(st.evaluationInfo))
	mux.Handle("GET /v1/nodes", q(st.listNodes))
	mux.Handle("GET /v1/node/{id}", q(st.nodeInfo))
	mux.Handle("GET /v1/node/{id}/allocations", q(st.nodeAllocations))
	mux.HandleFunc("PUT /v1/node/{id}/drain", st.handleDrain)
	mux.HandleFunc("POST /v1/node/{id}/drain", st.handleDrain)
	mux.HandleFunc("PUT /v1/node/{id}/eligibility", st.handleEligibility)
	mux.HandleFunc("POST /v1/node/{id}/eligibility", st.handleEligibility)
	mux.Handle("GET /v1/regions", q(func(*http.Request) (any, error) { return []string{st.region}, nil }))
	mux.Handle("GET /v1/status/leader", q(func(*http.Request) (any, error) { return "127.0.0.1:4647", nil }))
	mux.Handle("GET /v1/status/peers", q(func(*http.Request) (any, error) { return []string{"127.0.0.1:4647"}, nil }))
	mux.Handle("GET /v1/agent/self", q(st.agentSelf))
	mux.Handle("GET /v1/acl/token/self", q(st.aclTokenSelf))
	mux.Handle("GET /v1/acl/policy/{name}", q(st.aclPolicy))
	mux.HandleFunc("GET /v1/event/stream", st.handleEventStream)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &httpError{http.StatusNotFound, "Invalid URL"})
	})
	return st.faults(st.acl(mux))
}

// acl enforces the site's tokens and region on every request: the management token may do
// anything, a client token what its policies allow.
func (st *Site) acl(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reg := r.URL.Query().Get("region"); reg != "" && reg != st.region {
			writeError(w, &httpError{http.StatusInternalServerError, "No path to region"})
			return
		}
		open := r.URL.Path == "/v1/regions" || strings.HasPrefix(r.URL.Path, "/v1/status/")
		if open || !st.aclEnabled() {
			next.ServeHTTP(w, r)
			return
		}
		secret := requestToken(r)
		if secret == st.token {
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := st.clientTokens[secret]
		if !ok || !tok.allows(r) {
			writeError(w, &httpError{http.StatusForbidden, "Permission denied"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (st *Site) aclEnabled() bool { return st.token != "" || len(st.clientTokens) > 0 }

// clientToken is a client token with its parsed policies.
type clientToken struct {
	cfg      TokenConfig
	policies nomadacl.Set
}

// allows says whether the token may make the request, by the capability Nomad's endpoint
// would ask for.
func (t *clientToken) allows(r *http.Request) bool {
	p, write := r.URL.Path, r.Method != http.MethodGet
	ns := r.URL.Query().Get("namespace")
	if ns == "" || ns == "*" {
		ns = "default"
	}
	switch {
	case p == "/v1/acl/token/self", p == "/v1/agent/self":
		return true
	case strings.HasPrefix(p, "/v1/acl/policy/"):
		_, mine := t.cfg.Policies[strings.TrimPrefix(p, "/v1/acl/policy/")]
		return mine
	case strings.HasPrefix(p, "/v1/node"):
		return t.policies.AllowsNode(write)
	case strings.HasSuffix(p, "/scale") && write:
		return t.policies.AllowsNamespace(ns, nomadacl.CapScaleJob) || t.policies.AllowsNamespace(ns, nomadacl.CapSubmitJob)
	case (p == "/v1/jobs" || strings.HasPrefix(p, "/v1/job/")) && write:
		return t.policies.AllowsNamespace(ns, nomadacl.CapSubmitJob)
	case p == "/v1/jobs":
		return t.policies.AllowsNamespace(ns, nomadacl.CapListJobs)
	default: // jobs, allocations, deployments, evaluations, events: reading
		return t.policies.AllowsNamespace(ns, nomadacl.CapReadJob)
	}
}

// aclTokenSelf answers /v1/acl/token/self: 400 when ACLs are off, as a server started
// without them does.
func (st *Site) aclTokenSelf(r *http.Request) (any, error) {
	if !st.aclEnabled() {
		return nil, &httpError{http.StatusBadRequest, "ACL support disabled"}
	}
	secret := requestToken(r)
	if secret == st.token {
		return &api.ACLToken{AccessorID: "management-" + st.name, SecretID: secret, Name: "management", Type: "management", Global: true}, nil
	}
	tok := st.clientTokens[secret]
	names := make([]string, 0, len(tok.cfg.Policies))
	for n := range tok.cfg.Policies {
		names = append(names, n)
	}
	slices.Sort(names)
	return &api.ACLToken{AccessorID: "accessor-" + tok.cfg.Name, SecretID: secret, Name: tok.cfg.Name, Type: "client", Policies: names}, nil
}

// aclPolicy answers /v1/acl/policy/{name} for the management token and for the tokens the
// policy is attached to.
func (st *Site) aclPolicy(r *http.Request) (any, error) {
	name := r.PathValue("name")
	for _, tok := range st.cfg.Tokens {
		if rules, ok := tok.Policies[name]; ok {
			return &api.ACLPolicy{Name: name, Rules: rules}, nil
		}
	}
	return nil, errNotFound("ACL policy")
}

func requestToken(r *http.Request) string {
	if tok := r.Header.Get("X-Nomad-Token"); tok != "" {
		return tok
	}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(auth)
	}
	return ""
}

func setMetaHeaders(w http.ResponseWriter, index uint64) {
	h := w.Header()
	h.Set("X-Nomad-Index", strconv.FormatUint(index, 10))
	h.Set("X-Nomad-KnownLeader", "true")
	h.Set("X-Nomad-LastContact", "0")
}

func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{http.StatusInternalServerError, err.Error()}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(he.code)
	_, _ = io.WriteString(w, he.msg)
}

func writeBody(w http.ResponseWriter, index uint64, body []byte) {
	setMetaHeaders(w, index)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func namespaceOf(r *http.Request) string {
	if ns := r.URL.Query().Get("namespace"); ns != "" {
		return ns
	}
	return DefaultNamespace
}

func nsMatch(want, ns string) bool { return want == "*" || want == ns }

func parseBlocking(r *http.Request) (uint64, time.Duration, error) {
	qv := r.URL.Query()
	var idx uint64
	if s := qv.Get("index"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, errBadRequest("Invalid index: %v", err)
		}
		idx = v
	}
	wait := defaultQueryWait
	if s := qv.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, 0, errBadRequest("Invalid wait time: %v", err)
		}
		wait = min(d, maxQueryWait)
	}
	return idx, wait, nil
}

// query serves a read, as a blocking query when ?index= is given: fn runs with st.mu held
// once the state index passes the requested one, or the wait elapses.
func (st *Site) query(fn func(*http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		minIdx, wait, err := parseBlocking(r)
		if err != nil {
			writeError(w, err)
			return
		}
		var deadline <-chan time.Time
		if minIdx > 0 {
			timer := time.NewTimer(wait)
			defer timer.Stop()
			deadline = timer.C
		}
		timedOut := false
		for {
			st.mu.Lock()
			ready := minIdx == 0 || st.index > minIdx || timedOut
			ch := st.changed
			st.mu.Unlock()
			if ready {
				idx, body, err := st.answer(r, fn)
				if err != nil {
					writeError(w, err)
					return
				}
				writeBody(w, idx, body)
				return
			}
			select {
			case <-ch:
			case <-deadline:
				timedOut = true
			case <-r.Context().Done():
				return
			case <-st.done:
				writeError(w, &httpError{http.StatusServiceUnavailable, "server shutting down"})
				return
			}
		}
	})
}

// answer runs fn with st.mu held and encodes its result with the state index.
func (st *Site) answer(r *http.Request, fn func(*http.Request) (any, error)) (uint64, []byte, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	v, err := fn(r)
	if err != nil {
		return 0, nil, err
	}
	body, err := json.Marshal(v)
	return st.index, body, err
}

// write serves a change: fn runs with st.mu held inside one transaction.
func (st *Site) write(w http.ResponseWriter, fn func(t *tx) (any, error)) {
	idx, body, err := func() (uint64, []byte, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.closed {
			return 0, nil, &httpError{http.StatusServiceUnavailable, "server shutting down"}
		}
		t := st.begin()
		defer st.commit(t)
		v, err := fn(t)
		if err != nil {
			return 0, nil, err
		}
		body, err := json.Marshal(v)
		return t.idx, body, err
	}()
	if err != nil {
		writeError(w, err)
		return
	}
	writeBody(w, idx, body)
}

func decodeRequest(r *http.Request, v any) error {
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(v); err != nil {
		return errBadRequest("Failed to decode request body: %v", err)
	}
	return nil
}

// lookupJob finds a job by ID in the request's namespace. The caller holds st.mu.
func (st *Site) lookupJob(r *http.Request) (*jobState, error) {
	js := st.jobs[jobKey{namespaceOf(r), r.PathValue("id")}]
	if js == nil {
		return nil, errNotFound("job")
	}
	return js, nil
}

func (st *Site) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req api.JobRegisterRequest
	if err := decodeRequest(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Job == nil {
		writeError(w, errBadRequest("Job must be specified"))
		return
	}
	if slices.Contains(req.Job.TaskGroups, nil) {
		writeError(w, errBadRequest("task groups must not be null"))
		return
	}
	if id := r.PathValue("id"); id != "" && (req.Job.ID == nil || *req.Job.ID != id) {
		writeError(w, errBadRequest("Job ID does not match name"))
		return
	}
	if reg := req.Job.Region; reg != nil && *reg != "" && *reg != api.GlobalRegion && *reg != st.region {
		writeError(w, &httpError{http.StatusInternalServerError, "No path to region"})
		return
	}
	if req.Job.Multiregion != nil {
		writeError(w, errBadRequest("Multiregion jobs are unlicensed."))
		return
	}
	st.applyJobDefaults(req.Job, namespaceOf(r))
	if err := validateJob(req.Job); err != nil {
		writeError(w, errBadRequest("%s", err.Error()))
		return
	}
	st.write(w, func(t *tx) (any, error) {
		if req.EnforceIndex {
			js := st.jobs[jobKey{*req.Job.Namespace, *req.Job.ID}]
			switch {
			case js == nil && req.JobModifyIndex != 0:
				return nil, errBadRequest("Enforcing job modify index %d: job does not exist", req.JobModifyIndex)
			case js != nil && req.JobModifyIndex == 0:
				return nil, errBadRequest("Enforcing job modify index 0: job already exists")
			case js != nil && *js.job.JobModifyIndex != req.JobModifyIndex:
				return nil, errBadRequest("Enforcing job modify index %d: job exists with conflicting job modify index: %d",
					req.JobModifyIndex, *js.job.JobModifyIndex)
			}
		}
		js, ev := st.registerJob(t, req.Job, req.PreserveCounts, "job-register")
		return &api.JobRegisterResponse{EvalID: ev.ID, EvalCreateIndex: ev.CreateIndex,
			JobModifyIndex: *js.job.JobModifyIndex}, nil
	})
}

func (st *Site) handleDeregister(w http.ResponseWriter, r *http.Request) {
	purge, _ := strconv.ParseBool(r.URL.Query().Get("purge"))
	st.write(w, func(t *tx) (any, error) {
		js, err := st.lookupJob(r)
		if err != nil {
			return nil, err
		}
		ev := st.deregisterJob(t, js, purge)
		return &api.JobDeregisterResponse{EvalID: ev.ID, EvalCreateIndex: ev.CreateIndex,
			JobModifyIndex: *js.job.JobModifyIndex}, nil
	})
}

func (st *Site) handleScale(w http.ResponseWriter, r *http.Request) {
	var req api.ScalingRequest
	if err := decodeRequest(r, &req); err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("id")
	if req.Target["Job"] != id {
		writeError(w, errBadRequest("job ID in payload did not match URL"))
		return
	}
	group := req.Target["Group"]
	if group == "" {
		writeError(w, errBadRequest("missing task group name for scaling action"))
		return
	}
	if req.Count != nil && *req.Count < 0 {
		writeError(w, errBadRequest("scaling action count can't be negative"))
		return
	}
	st.write(w, func(t *tx) (any, error) {
		js, err := st.lookupJob(r)
		if err != nil {
			return nil, err
		}
		if js.job.LookupTaskGroup(group) == nil {
			return nil, errBadRequest("task group %q specified for scaling does not exist in job", group)
		}
		if req.JobModifyIndex != 0 && req.JobModifyIndex != *js.job.JobModifyIndex {
			return nil, errBadRequest("Enforcing job modify index %d: job exists with conflicting job modify index: %d",
				req.JobModifyIndex, *js.job.JobModifyIndex)
		}
		if req.Count == nil {
			ev := st.newEval(t, js, "scaling")
			return &api.JobRegisterResponse{EvalID: ev.ID, EvalCreateIndex: ev.CreateIndex,
				JobModifyIndex: *js.job.JobModifyIndex}, nil
		}
		if *js.job.Stop {
			return nil, errBadRequest("job %q is stopped and cannot be scaled", id)
		}
		job := deepCopyJob(js.job)
		job.LookupTaskGroup(group).Count = new(int(*req.Count))
		js, ev := st.registerJob(t, job, false, "scaling")
		return &api.JobRegisterResponse{EvalID: ev.ID, EvalCreateIndex: ev.CreateIndex,
			JobModifyIndex: *js.job.JobModifyIndex}, nil
	})
}

func (st *Site) listJobs(r *http.Request) (any, error) {
	ns, prefix := namespaceOf(r), r.URL.Query().Get("prefix")
	out := []*api.JobListStub{}
	for _, js := range st.sortedJobs() {
		j := js.job
		if !nsMatch(ns, *j.Namespace) || !strings.HasPrefix(*j.ID, prefix) {
			continue
		}
		out = append(out, &api.JobListStub{
			ID: *j.ID, ParentID: *j.ParentID, Name: *j.Name, Namespace: *j.Namespace,
			Datacenters: j.Datacenters, Type: *j.Type, Priority: *j.Priority, Stop: *j.Stop,
			Status: *j.Status, StatusDescription: *j.StatusDescription, JobSummary: st.summary(js),
			CreateIndex: *j.CreateIndex, ModifyIndex: *j.ModifyIndex, JobModifyIndex: *j.JobModifyIndex,
			SubmitTime: *j.SubmitTime,
		})
	}
	return out, nil
}

func (st *Site) jobInfo(r *http.Request) (any, error) {
	js, err := st.lookupJob(r)
	if err != nil {
		return nil, err
	}
	return js.job, nil
}

func allocStub(a *api.Allocation) *api.AllocationListStub {
	s := &api.AllocationListStub{
		ID: a.ID, EvalID: a.EvalID, Name: a.Name, Namespace: a.Namespace, NodeID: a.NodeID, NodeName: a.NodeName,
		JobID: a.JobID, TaskGroup: a.TaskGroup, DesiredStatus: a.DesiredStatus, DesiredDescription: a.DesiredDescription,
		ClientStatus: a.ClientStatus, ClientDescription: a.ClientDescription, TaskStates: a.TaskStates,
		DeploymentStatus: a.DeploymentStatus, FollowupEvalID: a.FollowupEvalID, NextAllocation: a.NextAllocation,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex, CreateTime: a.CreateTime, ModifyTime: a.ModifyTime,
	}
	if a.Job != nil {
		s.JobType, s.JobVersion = *a.Job.Type, *a.Job.Version
	}
	return s
}

func (st *Site) jobAllocations(r *http.Request) (any, error) {
	all, _ := strconv.ParseBool(r.URL.Query().Get("all"))
	ns, id := namespaceOf(r), r.PathValue("id")
	var since uint64
	if js := st.jobs[jobKey{ns, id}]; js != nil && !all {
		since = *js.job.CreateIndex
	}
	out := []*api.AllocationListStub{}
	for _, a := range st.jobAllocs(ns, id) {
		if a.CreateIndex >= since {
			out = append(out, allocStub(a))
		}
	}
	return out, nil
}

// jobDeploymentList returns the job's deployments, newest first.
func (st *Site) jobDeploymentList(r *http.Request) []*api.Deployment {
	all, _ := strconv.ParseBool(r.URL.Query().Get("all"))
	ns, id := namespaceOf(r), r.PathValue("id")
	var since uint64
	if js := st.jobs[jobKey{ns, id}]; js != nil && !all {
		since = *js.job.CreateIndex
	}
	out := []*api.Deployment{}
	for _, d := range st.deployments {
		if d.Namespace == ns && d.JobID == id && d.JobCreateIndex >= since {
			out = append(out, d)
		}
	}
	sortDeployments(out)
	return out
}

func sortDeployments(ds []*api.Deployment) {
	slices.SortFunc(ds, func(a, b *api.Deployment) int {
		return cmp.Or(cmp.Compare(b.CreateIndex, a.CreateIndex), cmp.Compare(a.ID, b.ID))
	})
}

func (st *Site) jobLatestDeployment(r *http.Request) (any, error) {
	if ds := st.jobDeploymentList(r); len(ds) > 0 {
		return ds[0], nil
	}
	return nil, nil
}

func (st *Site) jobDeployments(r *http.Request) (any, error) { return st.jobDeploymentList(r), nil }

func (st *Site) jobEvaluations(r *http.Request) (any, error) {
	ns, id := namespaceOf(r), r.PathValue("id")
	out := []*api.Evaluation{}
	for _, ev := range st.evals {
		if ev.Namespace == ns && ev.JobID == id {
			out = append(out, ev)
		}
	}
	sortEvals(out)
	return out, nil
}

func sortEvals(evs []*api.Evaluation) {
	slices.SortFunc(evs, func(a, b *api.Evaluation) int {
		return cmp.Or(cmp.Compare(b.CreateIndex, a.CreateIndex), cmp.Compare(a.ID, b.ID))
	})
}

func (st *Site) summary(js *jobState) *api.JobSummary {
	j := js.job
	s := &api.JobSummary{JobID: *j.ID, Namespace: *j.Namespace, Summary: make(map[string]api.TaskGroupSummary),
		CreateIndex: *j.CreateIndex, ModifyIndex: *j.ModifyIndex}
	for _, tg := range j.TaskGroups {
		s.Summary[*tg.Name] = api.TaskGroupSummary{Queued: js.queued[*tg.Name]}
	}
	for _, a := range st.jobAllocs(*j.Namespace, *j.ID) {
		if a.CreateIndex < *j.CreateIndex {
			continue
		}
		g := s.Summary[a.TaskGroup]
		switch a.ClientStatus {
		case api.AllocClientStatusPending:
			g.Starting++
		case api.AllocClientStatusRunning:
			g.Running++
		case api.AllocClientStatusComplete:
			g.Complete++
		case api.AllocClientStatusFailed:
			g.Failed++
		case api.AllocClientStatusLost:
			g.Lost++
		default:
			g.Unknown++
		}
		s.Summary[a.TaskGroup] = g
		s.ModifyIndex = max(s.ModifyIndex, a.ModifyIndex)
	}
	return s
}

func (st *Site) jobSummary(r *http.Request) (any, error) {
	js, err := st.lookupJob(r)
	if err != nil {
		return nil, err
	}
	return st.summary(js), nil
}

func (st *Site) jobScaleStatus(r *http.Request) (any, error) {
	js, err := st.lookupJob(r)
	if err != nil {
		return nil, err
	}
	j := js.job
	out := &api.JobScaleStatusResponse{JobID: *j.ID, Namespace: *j.Namespace, JobCreateIndex: *j.CreateIndex,
		JobModifyIndex: *j.JobModifyIndex, JobStopped: *j.Stop, TaskGroups: make(map[string]api.TaskGroupScaleStatus)}
	for _, tg := range j.TaskGroups {
		s := api.TaskGroupScaleStatus{Desired: *tg.Count}
		for _, a := range st.jobAllocs(*j.Namespace, *j.ID) {
			if a.TaskGroup != *tg.Name || !isLive(a) {
				continue
			}
			s.Placed++
			if a.ClientStatus == api.AllocClientStatusRunning {
				s.Running++
			}
			if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
				if *a.DeploymentStatus.Healthy {
					s.Healthy++
				} else {
					s.Unhealthy++
				}
			}
		}
		out.TaskGroups[*tg.Name] = s
	}
	return out, nil
}

func (st *Site) listAllocations(r *http.Request) (any, error) {
	ns, prefix := namespaceOf(r), r.URL.Query().Get("prefix")
	var as []*api.Allocation
	for _, a := range st.allocs {
		if nsMatch(ns, a.Namespace) && strings.HasPrefix(a.ID, prefix) {
			as = append(as, a)
		}
	}
	sortAllocs(as)
	out := make([]*api.AllocationListStub, 0, len(as))
	for _, a := range as {
		out = append(out, allocStub(a))
	}
	return out, nil
}

func (st *Site) allocationInfo(r *http.Request) (any, error) {
	a := st.allocs[r.PathValue("id")]
	if a == nil {
		return nil, errNotFound("alloc")
	}
	return a, nil
}

func (st *Site) listDeployments(r *http.Request) (any, error) {
	ns, prefix := namespaceOf(r), r.URL.Query().Get("prefix")
	out := []*api.Deployment{}
	for _, d := range st.deployments {
		if nsMatch(ns, d.Namespace) && strings.HasPrefix(d.ID, prefix) {
			out = append(out, d)
		}
	}
	sortDeployments(out)
	return out, nil
}

func (st *Site) deploymentInfo(r *http.Request) (any, error) {
	d := st.deployments[r.PathValue("id")]
	if d == nil {
		return nil, errNotFound("deployment")
	}
	return d, nil
}

func (st *Site) deploymentAllocations(r *http.Request) (any, error) {
	id := r.PathValue("id")
	var as []*api.Allocation
	for _, a := range st.allocs {
		if a.DeploymentID == id {
			as = append(as, a)
		}
	}
	sortAllocs(as)
	out := make([]*api.AllocationListStub, 0, len(as))
	for _, a := range as {
		out = append(out, allocStub(a))
	}
	return out, nil
}

func (st *Site) listEvaluations(r *http.Request) (any, error) {
	ns, prefix := namespaceOf(r), r.URL.Query().Get("prefix")
	out := []*api.Evaluation{}
	for _, ev := range st.evals {
		if nsMatch(ns, ev.Namespace) && strings.HasPrefix(ev.ID, prefix) {
			out = append(out, ev)
		}
	}
	sortEvals(out)
	return out, nil
}

func (st *Site) evaluationInfo(r *http.Request) (any, error) {
	ev := st.evals[r.PathValue("id")]
	if ev == nil {
		return nil, errNotFound("eval")
	}
	return ev, nil
}

func (st *Site) listNodes(r *http.Request) (any, error) {
	prefix := r.URL.Query().Get("prefix")
	out := []*api.NodeListStub{}
	for _, n := range st.nodes {
		if !strings.HasPrefix(n.ID, prefix) {
			continue
		}
		out = append(out, &api.NodeListStub{
			Address: "127.0.0.1", ID: n.ID, Datacenter: n.Datacenter, Name: n.Name, NodeClass: n.NodeClass,
			NodePool: n.NodePool, Version: n.Attributes["nomad.version"], Drain: n.Drain,
			SchedulingEligibility: n.SchedulingEligibility, Status: n.Status, StatusDescription: n.StatusDescription,
			Drivers: n.Drivers, LastDrain: n.LastDrain, CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex,
		})
	}
	return out, nil
}

func (st *Site) nodeInfo(r *http.Request) (any, error) {
	n := st.node(r.PathValue("id"))
	if n == nil {
		return nil, errNotFound("node")
	}
	return n, nil
}

func (st *Site) nodeAllocations(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if st.node(id) == nil {
		return nil, errNotFound("node")
	}
	out := []*api.Allocation{}
	for _, a := range st.allocs {
		if a.NodeID == id {
			out = append(out, a)
		}
	}
	sortAllocs(out)
	return out, nil
}

func (st *Site) handleDrain(w http.ResponseWriter, r *http.Request) {
	var req api.NodeUpdateDrainRequest
	if err := decodeRequest(r, &req); err != nil {
		writeError(w, err)
		return
	}
	st.write(w, func(t *tx) (any, error) {
		n := st.node(r.PathValue("id"))
		if n == nil {
			return nil, errNotFound("node")
		}
		if req.DrainSpec != nil {
			st.drainNode(t, n, req.DrainSpec, req.Meta)
		} else {
			st.cancelDrain(t, n, req.MarkEligible)
		}
		return &api.NodeDrainUpdateResponse{NodeModifyIndex: n.ModifyIndex, EvalIDs: []string{}, EvalCreateIndex: t.idx}, nil
	})
}

// drainNode stops every allocation on n and re-places them on the other eligible nodes, if
// any. The drain completes at once; the node stays ineligible.
func (st *Site) drainNode(t *tx, n *api.Node, spec *api.DrainSpec, meta map[string]string) {
	n.DrainStrategy = &api.DrainStrategy{DrainSpec: *spec, StartedAt: t.now.UTC()}
	if spec.Deadline > 0 {
		n.DrainStrategy.ForceDeadline = t.now.Add(spec.Deadline).UTC()
	}
	n.Drain = true
	n.SchedulingEligibility = api.NodeSchedulingIneligible
	n.LastDrain = &api.DrainMetadata{StartedAt: t.now.UTC(), UpdatedAt: t.now.UTC(), Status: api.DrainStatusDraining, Meta: meta}
	n.ModifyIndex = t.idx
	t.emitNode("NodeDrain", n)
	for _, a := range st.allocs {
		if a.NodeID == n.ID && isLive(a) {
			st.stopAlloc(t, a, "alloc is being migrated", true)
		}
	}
	st.reconcileAll(t)
	n.DrainStrategy = nil
	n.Drain = false
	n.LastDrain.Status = api.DrainStatusComplete
	n.LastDrain.UpdatedAt = t.now.UTC()
	t.emitNode("NodeDrain", n)
}

func (st *Site) cancelDrain(t *tx, n *api.Node, markEligible bool) {
	if n.DrainStrategy != nil && n.LastDrain != nil {
		n.LastDrain.Status = api.DrainStatusCanceled
		n.LastDrain.UpdatedAt = t.now.UTC()
	}
	n.DrainStrategy = nil
	n.Drain = false
	if markEligible {
		n.SchedulingEligibility = api.NodeSchedulingEligible
	}
	n.ModifyIndex = t.idx
	t.emitNode("NodeDrain", n)
	if markEligible {
		st.reconcileAll(t)
	}
}

func (st *Site) handleEligibility(w http.ResponseWriter, r *http.Request) {
	var req api.NodeUpdateEligibilityRequest
	if err := decodeRequest(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Eligibility != api.NodeSchedulingEligible && req.Eligibility != api.NodeSchedulingIneligible {
		writeError(w, errBadRequest("invalid scheduling eligibility %q", req.Eligibility))
		return
	}
	st.write(w, func(t *tx) (any, error) {
		n := st.node(r.PathValue("id"))
		if n == nil {
			return nil, errNotFound("node")
		}
		if n.DrainStrategy != nil && req.Eligibility == api.NodeSchedulingEligible {
			return nil, errBadRequest("can not set node's scheduling eligibility to eligible while it is draining")
		}
		n.SchedulingEligibility = req.Eligibility
		n.ModifyIndex = t.idx
		t.emitNode("NodeEligibility", n)
		if req.Eligibility == api.NodeSchedulingEligible {
			st.reconcileAll(t)
		}
		return &api.NodeEligibilityUpdateResponse{NodeModifyIndex: n.ModifyIndex, EvalIDs: []string{}, EvalCreateIndex: t.idx}, nil
	})
}

func (st *Site) agentSelf(*http.Request) (any, error) {
	name := st.name + "-server-1"
	return &api.AgentSelf{
		Config: map[string]any{"Region": st.region, "Datacenter": st.datacenter, "NodeName": name, "Version": map[string]any{"Version": "1.10.0"}},
		Member: api.AgentMember{Name: name + "." + st.region, Addr: "127.0.0.1", Port: 4648, Status: "alive",
			Tags: map[string]string{"region": st.region, "dc": st.datacenter, "role": "nomad"}},
		Stats: map[string]map[string]string{},
	}, nil
}
