package sitesim

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func TestEventStream(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	dr := sim.Site("yatap")
	c := newClient(t, dr, "")

	topics := map[api.Topic][]string{
		api.TopicJob:        {"auth"},
		api.TopicAllocation: {"auth"},
		api.TopicDeployment: {"*"},
		api.TopicNode:       nil,
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.EventStream().Stream(sctx, topics, 0, qo(ctx))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}

	job, _, err := c.Jobs().Info("auth", qo(ctx))
	if err != nil {
		t.Fatal(err)
	}
	job.Stop = new(false)
	if _, _, err := c.Jobs().Register(job, wo(ctx)); err != nil {
		t.Fatal(err)
	}
	// Payments is filtered out by the topics.
	pay, _, _ := c.Jobs().Info("payments", qo(ctx))
	pay.Stop = new(false)
	if _, _, err := c.Jobs().Register(pay, wo(ctx)); err != nil {
		t.Fatal(err)
	}

	var (
		states       []string // auth's allocation, in order
		registered   bool
		lastIndex    uint64
		deployStates []string
	)
	for len(deployStates) == 0 || deployStates[len(deployStates)-1] != api.DeploymentStatusSuccessful || !strings.HasSuffix(strings.Join(states, ","), "running/true") {
		var evs *api.Events
		select {
		case evs = <-stream:
		case <-ctx.Done():
			t.Fatalf("stream stalled: states %v, deployments %v", states, deployStates)
		}
		if evs == nil || evs.Err != nil {
			t.Fatalf("stream ended: %v", evs)
		}
		if evs.Index <= lastIndex {
			t.Errorf("batch index %d after %d", evs.Index, lastIndex)
		}
		lastIndex = evs.Index
		for _, e := range evs.Events {
			switch e.Topic {
			case api.TopicJob:
				j, err := e.Job()
				if err != nil || j == nil || *j.ID != "auth" {
					t.Fatalf("Job event %s: %v, %v", e.Type, j, err)
				}
				registered = registered || e.Type == "JobRegistered"
			case api.TopicAllocation:
				a, err := e.Allocation()
				if err != nil || a == nil || a.JobID != "auth" {
					t.Fatalf("Allocation event: %+v, %v", a, err)
				}
				h := "nil"
				if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
					h = map[bool]string{true: "true", false: "false"}[*a.DeploymentStatus.Healthy]
				}
				states = append(states, a.ClientStatus+"/"+h)
			case api.TopicDeployment:
				d, err := e.Deployment()
				if err != nil || d == nil || d.ID == "" {
					t.Fatalf("Deployment event: %+v, %v", d, err)
				}
				if d.JobID == "auth" {
					deployStates = append(deployStates, d.Status)
				}
			default:
				t.Errorf("unexpected topic %s", e.Topic)
			}
		}
	}
	if !registered {
		t.Error("no JobRegistered event")
	}
	if got, want := strings.Join(states, ","), "pending/nil,running/nil,running/true"; got != want {
		t.Errorf("allocation states = %s, want %s", got, want)
	}
	if deployStates[0] != api.DeploymentStatusRunning {
		t.Errorf("deployment states = %v, want running first", deployStates)
	}

	// Node events decode too.
	nodes, _, _ := c.Nodes().List(qo(ctx))
	if _, err := c.Nodes().ToggleEligibility(nodes[0].ID, false, wo(ctx)); err != nil {
		t.Fatal(err)
	}
	for {
		evs := <-stream
		if evs == nil || evs.Err != nil {
			t.Fatalf("stream ended: %v", evs)
		}
		if len(evs.Events) > 0 && evs.Events[0].Topic == api.TopicNode {
			n, err := evs.Events[0].Node()
			if err != nil || n.ID != nodes[0].ID || n.SchedulingEligibility != "ineligible" || evs.Events[0].Type != "NodeEligibility" {
				t.Fatalf("Node event %s: %+v, %v", evs.Events[0].Type, n, err)
			}
			break
		}
	}

	// Resuming from an index replays from there.
	resumed, err := c.EventStream().Stream(sctx, map[api.Topic][]string{api.TopicJob: {"auth"}}, 1, qo(ctx))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case evs := <-resumed:
		if evs.Err != nil || len(evs.Events) == 0 || evs.Events[0].Type != "JobRegistered" {
			t.Errorf("resumed stream first batch = %+v", evs)
		}
	case <-ctx.Done():
		t.Fatal("resumed stream delivered nothing")
	}
}

func TestEventStreamHeartbeat(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.HeartbeatInterval = 10 * time.Millisecond
	sim := setup(t, cfg)
	ctx := testCtx(t)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sim.Site("yatap").NomadAddress()+"/v1/event/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Nomad-Index") == "" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	sc := bufio.NewScanner(resp.Body)
	for i := range 3 {
		if !sc.Scan() {
			t.Fatalf("line %d: %v", i, sc.Err())
		}
		if sc.Text() != "{}" {
			t.Fatalf("line %d = %q, want heartbeat {}", i, sc.Text())
		}
	}
}

func TestDenyEventStream(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	dr := sim.Site("yatap")
	c := newClient(t, dr, "")
	dr.DenyEventStream(true)
	_, err := c.EventStream().Stream(ctx, map[api.Topic][]string{api.TopicAllocation: {"auth"}}, 0, qo(ctx))
	var ure api.UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != http.StatusForbidden || !strings.Contains(ure.Body(), "Permission denied") {
		t.Fatalf("denied stream: %v, want 403 Permission denied", err)
	}
	// Only the stream is denied: blocking queries still answer.
	if _, _, err := c.Jobs().Allocations("auth", false, qo(ctx)); err != nil {
		t.Errorf("allocations while the stream is denied: %v", err)
	}
	dr.DenyEventStream(false)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := c.EventStream().Stream(sctx, map[api.Topic][]string{api.TopicAllocation: {"auth"}}, 0, qo(ctx)); err != nil {
		t.Errorf("stream served again: %v", err)
	}
}
