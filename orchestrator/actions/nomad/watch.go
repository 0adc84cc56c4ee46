package nomad

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
)

// WatchAllocations implements httpaction.AllocWatcher: it reports the job's running
// allocations on the site now, then at every change the cluster publishes.
//
// It follows the event stream (topic Allocation:<job>) from the index of its first look, so
// no change falls between the look and the subscription. When the stream is refused (an ACL
// token without read-job on the event stream, a proxy that buffers) or breaks and cannot be
// resumed, it watches with blocking queries on the job's allocations instead; the events it
// sends say which. When both fail the channel carries the error and closes.
func (c *Clients) WatchAllocations(ctx context.Context, site *drills.Site, job string) (<-chan httpaction.AllocEvent, error) {
	sc, err := c.For(site)
	if err != nil {
		return nil, err
	}
	w := &allocWatch{sc: sc, job: job, running: map[string]bool{}}
	index, err := w.list(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := make(chan httpaction.AllocEvent, 1)
	go func() {
		defer close(out)
		w.out = out
		// The stream's events carry the state of one allocation each; a resumed stream may
		// repeat some, which the map absorbs. A stream that breaks is resumed from the last
		// index seen; one that cannot be (re)opened twice in a row leaves blocking queries.
		first := true
		for failures := 0; failures < 2 && ctx.Err() == nil; {
			events, cancel, err := w.open(ctx, index)
			if err != nil {
				w.streamErr = err
				failures++
				continue
			}
			w.streamErr = nil
			if !first {
				w.resumed++
			}
			if first && !w.send(ctx, actions.ResolutionEventStream) {
				cancel()
				return
			}
			first = false
			next, err := w.follow(ctx, events, index)
			cancel()
			if next > index {
				index, failures = next, 0
			} else {
				failures++
			}
			w.streamErr = err
		}
		if ctx.Err() != nil {
			return
		}
		if first && !w.send(ctx, actions.ResolutionBlockingQuery) {
			return
		}
		w.block(ctx, index)
	}()
	return out, nil
}

type allocWatch struct {
	sc      *siteClient
	job     string
	out     chan<- httpaction.AllocEvent
	running map[string]bool
	// streamErr is why the event stream is not followed (for the evidence).
	streamErr error
	// resumed counts the times the stream broke and was subscribed to again.
	resumed int
}

func (w *allocWatch) count() int {
	n := 0
	for _, r := range w.running {
		if r {
			n++
		}
	}
	return n
}

func (w *allocWatch) send(ctx context.Context, method string) bool {
	ev := httpaction.AllocEvent{Running: w.count(), Method: method, Resumed: w.resumed}
	if w.streamErr != nil {
		ev.Fallback = w.streamErr.Error()
	}
	select {
	case w.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// list looks at the job's allocations, blocking on index when it is not 0, and returns the
// index of the answer.
func (w *allocWatch) list(ctx context.Context, index uint64) (uint64, error) {
	wait := w.sc.c.cfg.BlockingWait
	var allocs []*api.AllocationListStub
	var meta *api.QueryMeta
	err := w.sc.call(ctx, "list allocations of "+w.job, wait+w.sc.c.cfg.CallTimeout, func(ctx context.Context) error {
		q := &api.QueryOptions{WaitIndex: index, WaitTime: wait}
		al, m, err := w.sc.client.Jobs().Allocations(w.job, true, q.WithContext(ctx))
		allocs, meta = al, m
		return err
	})
	if errors.Is(err, ErrNotFound) {
		// Not registered yet: the first registration is an event like any other.
		err = nil
	}
	if err != nil {
		return 0, err
	}
	clear(w.running)
	for _, a := range allocs {
		w.running[a.ID] = a.DesiredStatus == api.AllocDesiredStatusRun && a.ClientStatus == api.AllocClientStatusRunning
	}
	if meta == nil {
		return index, nil
	}
	return meta.LastIndex, nil
}

// open subscribes to the job's allocation events from the batch after index.
func (w *allocWatch) open(ctx context.Context, index uint64) (<-chan *api.Events, context.CancelFunc, error) {
	sctx, cancel := context.WithCancel(ctx)
	topics := map[api.Topic][]string{api.TopicAllocation: {w.job}}
	events, err := w.sc.client.EventStream().Stream(sctx, topics, index+1, &api.QueryOptions{})
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("event stream of %s: %w", w.sc.site, translate(err))
	}
	return events, cancel, nil
}

// follow reads the stream until it breaks; it returns the last index seen and why it stopped.
func (w *allocWatch) follow(ctx context.Context, events <-chan *api.Events, index uint64) (uint64, error) {
	for batch := range events {
		if batch.Err != nil {
			return index, fmt.Errorf("event stream of %s: %w", w.sc.site, batch.Err)
		}
		if batch.Index <= index {
			continue // a duplicate after resuming
		}
		index = batch.Index
		changed := false
		for i := range batch.Events {
			e := &batch.Events[i]
			if e.Topic != api.TopicAllocation {
				continue
			}
			a, err := e.Allocation()
			if err != nil || a == nil || a.JobID != w.job {
				continue
			}
			w.running[a.ID] = a.DesiredStatus == api.AllocDesiredStatusRun && a.ClientStatus == api.AllocClientStatusRunning
			changed = true
		}
		if changed && !w.send(ctx, actions.ResolutionEventStream) {
			return index, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return index, err
	}
	return index, fmt.Errorf("event stream of %s: closed by the server", w.sc.site)
}

// block watches the job's allocations with blocking queries until ctx ends or a query fails.
func (w *allocWatch) block(ctx context.Context, index uint64) {
	for ctx.Err() == nil {
		next, err := w.list(ctx, index)
		if err != nil {
			if ctx.Err() == nil {
				select {
				case w.out <- httpaction.AllocEvent{Method: actions.ResolutionBlockingQuery, Err: err}:
				case <-ctx.Done():
				}
			}
			return
		}
		if next == index {
			if index == 0 {
				// An answer without an index cannot block: do not spin.
				t := w.sc.c.cfg.Clock.NewTimer(w.sc.c.cfg.RetryBackoff)
				select {
				case <-ctx.Done():
					t.Stop()
				case <-t.C():
				}
			}
			continue // the wait ended without a change
		}
		if next < index {
			next = 0 // the index went backwards (a leader change): start over
		}
		index = next
		if !w.send(ctx, actions.ResolutionBlockingQuery) {
			return
		}
	}
}
