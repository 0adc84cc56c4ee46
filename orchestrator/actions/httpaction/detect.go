package httpaction

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// AllocEvent is the state of a service's allocations on a site, sent first as found and then
// at every change.
type AllocEvent struct {
	// Running is how many of the job's allocations run (desired run, client running).
	Running int
	// Method is how the state was learnt: actions.ResolutionEventStream or
	// actions.ResolutionBlockingQuery.
	Method string
	// Fallback says why the event stream is not followed, when it is not.
	Fallback string
	// Resumed counts the times the event stream broke and the watch subscribed again from
	// the last index it had seen.
	Resumed int
	// Err, on the last event before the channel closes, says why watching stopped.
	Err error
}

// AllocWatcher reports a job's running allocations on a site. The channel closes when ctx
// ends or watching fails (after an event carrying the error).
type AllocWatcher interface {
	WatchAllocations(ctx context.Context, site *drills.Site, job string) (<-chan AllocEvent, error)
}

// maxInFlight bounds the probe rounds of one service waiting for an answer at once: a probe
// that hangs holds one slot until its deadline, the next rounds use the others.
const maxInFlight = 16

// maxPollsInFlight bounds the interval poll's rounds waiting at once: one may hang, the next
// goes on, and a slow service is not flooded by one poll per interval.
const maxPollsInFlight = 2

// roundResult is the outcome of one round of a service's checks.
type roundResult struct {
	started time.Time
	method  string
	err     error
	// answered: the service answered (a failure that is evidence of its state), as opposed
	// to a probe abandoned at its deadline.
	answered bool
}

// detect probes the service's checks until one round passes them all. Rounds start at every
// tick of the check interval (the poll, which always runs) and, while the site's Nomad cluster
// reports the service's allocations running, at every WindowInterval and at once on every
// change of them. Rounds overlap: none waits for an earlier one to answer, so a probe that
// hangs delays nothing but itself.
//
// The observation's resolution is PassedAt minus the start of the latest round that got a
// failing answer, rounded up to whole ms: the service became healthy within it. Its method is the source of the
// passing round's tick, or the window's when the window's probes were running (they bound the
// moment even when an interval poll saw the pass first).
func (a *WaitHealthy) detect(ctx context.Context, req *actions.Request, svc *drills.Service, interval time.Duration,
	urls []string, prepared []preparedCheck, ev map[string]any) serviceWatch {
	clk := req.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ev["method"] = actions.ResolutionPoll
	var allocs <-chan AllocEvent
	if a.cfg.Allocations != nil && req.Site.Nomad != nil {
		ch, err := a.cfg.Allocations.WatchAllocations(ctx, req.Site, cmp.Or(svc.NomadJob, svc.Name))
		if err != nil {
			ev["nomad_watch_error"] = err.Error()
		} else {
			allocs = ch
			ev["window_interval_ms"] = float64(a.cfg.WindowInterval) / float64(time.Millisecond)
		}
	}

	results := make(chan roundResult, maxInFlight)
	inFlight, pollsInFlight, rounds, windowRounds, skipped, abandoned := 0, 0, 0, 0, 0, 0
	start := func(method string) {
		poll := method == actions.ResolutionPoll
		if inFlight >= maxInFlight || (poll && pollsInFlight >= maxPollsInFlight) {
			skipped++
			return
		}
		inFlight++
		if poll {
			pollsInFlight++
		}
		rounds++
		timeout := a.cfg.RequestTimeout
		if method != actions.ResolutionPoll {
			windowRounds++
			timeout = a.cfg.WindowProbeTimeout
		}
		started := clk.Now()
		go func() {
			answered, err := a.round(ctx, svc, urls, prepared, timeout)
			results <- roundResult{started: started, method: method, err: err, answered: answered}
		}()
	}
	record := func() {
		ev["polls"] = rounds
		if allocs != nil || windowRounds > 0 {
			ev["window_polls"] = windowRounds
		}
		if skipped > 0 {
			ev["skipped_polls"] = skipped
		}
		if abandoned > 0 {
			ev["abandoned_polls"] = abandoned
		}
	}

	var (
		method    string // how the allocations are watched, once known
		windowEnd time.Time
		lastFail  time.Time // start of the latest round the service answered with a failure
		last      string
		fast      clock.Timer
		fastC     <-chan time.Time
	)
	armFast := func() {
		if fast == nil {
			fast = clk.NewTimer(a.cfg.WindowInterval)
			fastC = fast.C()
		}
	}
	slow := clk.NewTimer(interval)
	defer func() {
		slow.Stop()
		if fast != nil {
			fast.Stop()
		}
	}()
	start(actions.ResolutionPoll)
	for {
		select {
		case <-ctx.Done():
			record()
			return serviceWatch{evidence: ev, err: fmt.Errorf("still failing after %d polls, last: %s: %w", rounds, last, ctx.Err())}

		case r := <-results:
			inFlight--
			if r.method == actions.ResolutionPoll {
				pollsInFlight--
			}
			if r.err == nil {
				at := clk.Now()
				resolution := interval
				if r.method != actions.ResolutionPoll {
					resolution = a.cfg.WindowInterval
				}
				if !lastFail.IsZero() {
					resolution = at.Sub(lastFail)
				}
				// A poll round that passes while the window is open is bounded by the window's
				// probes (the latest failure is theirs): the window's method is what the
				// resolution stands on, whichever round happened to see the pass first.
				passedBy := r.method
				if passedBy == actions.ResolutionPoll && method != "" && !windowEnd.IsZero() && windowRounds > 0 && !lastFail.IsZero() {
					passedBy = method
				}
				record()
				ev["passed_at"] = at.UTC()
				ev["method"] = passedBy
				ev["resolution_us"] = resolution.Microseconds()
				return serviceWatch{
					obs: &actions.Observation{Service: svc.Name, Site: req.Site.Name, PassedAt: at,
						Resolution: ceilMillisecond(resolution), Method: passedBy},
					evidence: ev,
				}
			}
			if r.answered && r.started.After(lastFail) {
				lastFail = r.started
			}
			if !r.answered {
				abandoned++
			}
			// A probe cut short by the step's end says nothing about the service: keep the
			// last real failure for the message.
			if ctx.Err() == nil || last == "" {
				last = r.err.Error()
				ev["last_failure"] = last
			}

		case e, ok := <-allocs:
			if !ok {
				allocs, windowEnd = nil, time.Time{}
				continue
			}
			if e.Err != nil {
				ev["nomad_watch_error"] = e.Err.Error()
				continue
			}
			method = e.Method
			ev["nomad_watch"] = method
			if e.Fallback != "" {
				ev["event_stream_error"] = e.Fallback
			}
			if e.Resumed > 0 {
				ev["event_stream_resumed"] = e.Resumed
			}
			if e.Running == 0 {
				windowEnd = time.Time{}
				continue
			}
			now := clk.Now()
			if windowEnd.IsZero() {
				ev["window_opened_at"] = now.UTC()
			}
			windowEnd = now.Add(a.cfg.WindowLength)
			start(method)
			armFast()

		case <-slow.C():
			start(actions.ResolutionPoll)
			slow = clk.NewTimer(interval)

		case <-fastC:
			fast, fastC = nil, nil
			if !windowEnd.IsZero() && clk.Now().Before(windowEnd) {
				start(method)
				armFast()
			}
		}
	}
}

// round probes every check of the service at once; it passes when they all pass. The error
// names the first failing check in the service's order.
func (a *WaitHealthy) round(ctx context.Context, svc *drills.Service, urls []string, prepared []preparedCheck,
	timeout time.Duration) (answered bool, err error) {
	errs := make([]error, len(svc.Checks))
	var wg sync.WaitGroup
	for i, c := range svc.Checks {
		wg.Go(func() { errs[i] = a.probe(ctx, urls[i], c, prepared[i], timeout) })
	}
	wg.Wait()
	for i, e := range errs {
		if e == nil {
			continue
		}
		if err == nil {
			err = fmt.Errorf("%s: %w", urls[i], e)
		}
		if ctx.Err() == nil && !errors.Is(e, context.DeadlineExceeded) {
			answered = true
		}
	}
	return answered, err
}

// ceilMillisecond rounds a bound up to whole milliseconds: measurements are stored in ms, and
// a bound cut down to 0 would read as an exact observation.
func ceilMillisecond(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}
