package orchestrator_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// stallProxy forwards TCP connections to a PostgreSQL server. Stalled, it forwards nothing in
// either direction and answers nothing, without closing or refusing anything: the silent
// network an outage looks like from the client, where only the client's own deadlines end a
// call. Resumed, it resets the connections that lived through the stall (as a firewall that
// lost their state would) and forwards new ones again.
type stallProxy struct {
	ln net.Listener

	mu      sync.Mutex
	flowing chan struct{} // closed while bytes flow
	conns   []net.Conn
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, flowing: make(chan struct{})}
	close(p.flowing)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.resume()
	})
	return p
}

// pipe copies src to dst, holding each chunk while the proxy is stalled.
func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.flowing
			p.mu.Unlock()
			<-gate
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flowing = make(chan struct{})
}

func (p *stallProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.flowing:
		return
	default:
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	close(p.flowing)
}

// outageStall outlasts the 15 s a single bookkeeping write is given.
const outageStall = 20 * time.Second

// TestDatabaseOutageLongerThanAWriteDuringADrill: the network between the runner and its
// database stalls for 20 s (nothing answers, nothing is refused) just after the disaster,
// while a step runs. The step's result cannot be written within its 15 s; the runner must not
// take that for the step's failure (which would roll a healthy failover back): it stops the
// run without further writes while its lease stands, and once the database is back another
// replica takes the run over and completes it. Nothing recorded before the outage is lost,
// the timeline has no gap, no rollback step runs and no attempt stays open.
func TestDatabaseOutageLongerThanAWriteDuringADrill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, st := migratedPool(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startStallProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	stA := openPool(t, u.String())

	d := takeoverDrill(t, `
  step "switch" {
    action   = "wait"
    duration = "2s"
  }
  step "after" {
    action   = "wait"
    duration = "10ms"
  }`)
	// A rollback the run must never reach: a healthy failover is not undone over an outage.
	d.PlanSource = []byte(strings.Replace(string(d.PlanSource), `  rollback        = "none"
  rollback_reason = "touches no site"`, `  rollback {
    step "undo" {
      action   = "wait"
      duration = "1ms"
    }
  }`, 1))
	plan, diags := drills.ParsePlan(d.PlanSource, "outage.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	d.Plan = plan

	run, err := quietRunner(t, st, "submitter", 0, nil).Submit(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	// Replica A's lease (20 s) outlasts a write's 15 s, so it is the write's deadline, not
	// the lease, that meets the outage first.
	a := quietRunner(t, stA, "replica-a", 20*time.Second, nil)
	doneA := make(chan error, 1)
	go func() {
		_, err := a.Execute(ctx, run.ID, d)
		doneA <- err
	}()
	waitFor(t, "step switch to start", 30*time.Second, func() bool {
		steps, err := st.StepResultList(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.Key == "switch" && s.State == drills.StepRunning {
				return true
			}
		}
		return false
	})
	before, err := st.RunEventList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	proxy.stall()
	stalledAt := time.Now()

	select {
	case err := <-doneA:
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("A ended with %v during the outage; want it to stop and leave the run to a takeover", err)
		}
		if took := time.Since(stalledAt); took >= outageStall {
			t.Fatalf("A stopped only after the outage (%s)", took)
		}
	case <-time.After(outageStall):
		t.Fatal("A neither finished nor stopped during the outage")
	}
	if got := runState(t, st, run.ID); got.State.IsTerminal() {
		t.Fatalf("the run ended %s (%s) during the outage", got.State, got.StateReason)
	}
	time.Sleep(outageStall - time.Since(stalledAt))
	proxy.resume()

	startWorkerB(t, dsn, nil)
	waitFor(t, "the run to end", time.Minute, func() bool { return runState(t, st, run.ID).State.IsTerminal() })
	if got := runState(t, st, run.ID); got.State != drills.RunSucceeded {
		t.Fatalf("run = %s (%s), want succeeded: the failover was healthy", got.State, got.StateReason)
	}

	after, err := st.RunEventList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range after {
		if ev.Seq != i+1 {
			t.Fatalf("event %d has seq %d: the timeline has a gap", i+1, ev.Seq)
		}
	}
	if len(after) <= len(before) {
		t.Fatalf("the timeline has %d events, no more than the %d before the outage", len(after), len(before))
	}
	for i, ev := range before {
		if got := after[i]; got.Kind != ev.Kind || got.StepKey != ev.StepKey || got.Message != ev.Message {
			t.Errorf("event %d was %s %s %q before the outage, is %s %s %q after", ev.Seq, ev.Kind, ev.StepKey, ev.Message, got.Kind, got.StepKey, got.Message)
		}
	}
	steps, err := st.StepResultList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	succeeded := map[string]bool{}
	for _, s := range steps {
		if strings.HasPrefix(s.Key, "rollback:") {
			t.Errorf("rollback step %s ran (%s): an outage rolled a healthy failover back", s.Key, s.State)
		}
		if s.EndedAt == nil || s.State == drills.StepRunning {
			t.Errorf("step %s attempt %d is %s inside a finished run", s.Key, s.Attempt, s.State)
		}
		succeeded[s.Key] = succeeded[s.Key] || s.State == drills.StepSucceeded
	}
	for _, k := range []string{"t0", "switch", "after", "t1"} {
		if !succeeded[k] {
			t.Errorf("step %s has no succeeded attempt", k)
		}
	}
}
