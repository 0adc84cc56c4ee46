// Package actions defines the Action interface that every step family implements, the
// request and result types that flow between the runner and an action, and the registry
// that maps a plan's action names to implementations.
//
// Actions perform the side effects of a drill (talk to Nomad, poll URLs, ...). They never
// touch the store: the runner records what they return.
package actions

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
)

// Action performs one step kind.
type Action interface {
	// Spec is the plan language's description of the action (name, params, idempotency).
	Spec() drills.ActionSpec
	// Run performs the step instance. It must return when ctx is done. A non-nil error fails
	// the step; the Result may still carry evidence of what was seen before the failure.
	Run(ctx context.Context, req *Request) (*Result, error)
}

// Request is everything an action needs to perform one step instance.
type Request struct {
	RunID    string
	Config   *drills.Estate
	Plan     *drills.Plan
	Instance drills.StepInstance
	// Site is the step's site (nil when the action takes none).
	Site *drills.Site
	// Services are the services the instance covers: the for_each service, or every service
	// of the plan when the action covers all of them.
	Services []*drills.Service
	Clock    clock.Clock
	Logger   *slog.Logger
	// Decisions lets the action wait for a person's decision on this step (manual steps).
	Decisions DecisionWaiter
	// Checkpoints records, before the action changes something, what it is about to change,
	// so that a later attempt of this step (after a takeover) can tell its own earlier effect
	// from a site in that state for another reason. Nil when nothing records them (pre-flight,
	// tests of an action alone): the action then goes on without a checkpoint.
	Checkpoints Checkpointer
	// Earlier holds what earlier attempts of this step instance checkpointed, oldest first;
	// empty on a step's first attempt.
	Earlier []Checkpoint
}

// Checkpoint is what one attempt of a step recorded it was about to do.
type Checkpoint struct {
	// Attempt is the attempt that recorded it (1 for the step's first).
	Attempt int
	// Evidence is the action's own record, JSON-decoded: what it was about to change.
	Evidence map[string]any
}

// Checkpointer records an action's checkpoint on the run's timeline, durably, before the
// action goes on. An error means the checkpoint may not be recorded: an action that needs it
// to recognise its own effect later must not make the change.
type Checkpointer interface {
	Checkpoint(ctx context.Context, evidence map[string]any) error
}

// Decision is a person's decision on a step.
type Decision struct {
	// Done is true when the person marked the step done, false when failed.
	Done    bool
	By      string
	Comment string
	At      time.Time
}

// DecisionWaiter blocks until a person decides the step it was made for.
type DecisionWaiter interface {
	Await(ctx context.Context) (*Decision, error)
}

// Result is what an action reports back.
type Result struct {
	// Evidence is JSON-encodable detail a report can show (job versions, polled URLs, ...).
	Evidence map[string]any
	// Observations record when a service was first seen restored on the step's site.
	Observations []Observation
}

// Observation says that a service passed all of its checks at a moment, measured with a
// given resolution: how much earlier than PassedAt the service may have become healthy.
type Observation struct {
	Service  string
	Site     string
	PassedAt time.Time
	// Resolution bounds the observation's lateness: PassedAt minus the start of the last
	// probe that found the service failing (or the poll interval when none did), rounded up
	// to whole milliseconds.
	Resolution time.Duration
	// Method says how the moment was caught (a Resolution* constant).
	Method string
}

// RestorationWatcher catches the moment a service first passes its checks on a site while
// another action waits for what serves it: nomad.wait_healthy watches the allocations, and the
// checks are probed beside it in the window the site's Nomad events open (the
// http.wait_healthy detection), so the observation has the window's resolution instead of a
// later step's first poll.
type RestorationWatcher interface {
	// WatchRestoration probes svc's checks on req.Site until they pass (the observation) or
	// ctx ends (nil observation, with ctx's error). The evidence says what was probed.
	WatchRestoration(ctx context.Context, req *Request, svc *drills.Service) (*Observation, map[string]any, error)
}

// How an observation's moment was caught.
const (
	// ResolutionPoll: the checks polled at their interval.
	ResolutionPoll = "poll"
	// ResolutionEventStream: the checks probed at a short interval from the moment the site's
	// Nomad event stream reported the service's allocations running.
	ResolutionEventStream = "nomad_event_stream"
	// ResolutionBlockingQuery: as ResolutionEventStream, told by blocking queries instead.
	ResolutionBlockingQuery = "nomad_blocking_query"
)

// Registry maps action names to implementations.
type Registry struct {
	byName map[string]Action
}

// NewRegistry returns a registry holding the given actions. Two actions with one name,
// or an action whose name the plan language does not know, are an error.
func NewRegistry(list ...Action) (*Registry, error) {
	r := &Registry{byName: make(map[string]Action, len(list))}
	for _, a := range list {
		name := a.Spec().Name
		if _, known := drills.LookupAction(name); !known {
			return nil, fmt.Errorf("register action %q: not an action of the plan language", name)
		}
		if _, dup := r.byName[name]; dup {
			return nil, fmt.Errorf("register action %q: registered twice", name)
		}
		r.byName[name] = a
	}
	return r, nil
}

// Lookup returns the action with the given name.
func (r *Registry) Lookup(name string) (Action, bool) {
	a, ok := r.byName[name]
	return a, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
