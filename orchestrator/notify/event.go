package notify

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind names what happened. Kinds are stored in the notifications table and sent as the
// webhook's "event" field, so their values are stable.
type Kind string

// Event kinds.
const (
	// EventApprovalNeeded: a run waits in awaiting_approval.
	EventApprovalNeeded Kind = "approval_needed"
	// EventRunStarted: a run passed pre-flight and started its steps.
	EventRunStarted Kind = "run_started"
	// EventStopCondition: a stop condition was breached; the run is being aborted.
	EventStopCondition Kind = "stop_condition"
	// EventRunEnded: a run reached a terminal state (State says which).
	EventRunEnded Kind = "run_ended"
	// EventServiceOverdue: a service has not passed a drill within its required interval.
	EventServiceOverdue Kind = "service_overdue"
)

// Kinds lists every event kind, in a stable order.
func Kinds() []Kind {
	return []Kind{EventApprovalNeeded, EventRunStarted, EventStopCondition, EventRunEnded, EventServiceOverdue}
}

func (k Kind) valid() bool {
	for _, v := range Kinds() {
		if k == v {
			return true
		}
	}
	return false
}

// Event is what a caller reports to Notify.
type Event struct {
	Kind Kind
	// RunID and Plan identify the run; empty for EventServiceOverdue.
	RunID string
	Plan  string
	// State is the run's state (for EventRunEnded, its final state: succeeded, failed, ...).
	State string
	// Reason says why, in a few words: the failed step, the breached condition, the overdue
	// date. Keep secrets out of it, as out of Fields.
	Reason string
	// Service is the service concerned, for EventServiceOverdue.
	Service string
	// Fields carries any further detail (RTO actual vs objective, who approved, ...). It must
	// be JSON-encodable.
	Fields map[string]any
	// At is when it happened. Defaults to the notifier's clock.
	At time.Time
}

// Payload is the JSON document stored for a notification and POSTed to a webhook. Receivers
// written in Go can decode a request body into it.
type Payload struct {
	Event   Kind           `json:"event"`
	RunID   string         `json:"run_id"`
	Plan    string         `json:"plan"`
	State   string         `json:"state"`
	Reason  string         `json:"reason"`
	Service string         `json:"service"`
	Fields  map[string]any `json:"fields"`
	// At is when the event happened (UTC, ms), not when it was sent.
	At time.Time `json:"at"`
	// ID is the notification's ID, the same on every retry: de-duplicate on it. Empty in the
	// stored copy (the row has its own ID column).
	ID string `json:"id,omitempty"`
}

func payloadOf(ev Event, at time.Time) Payload {
	fields := ev.Fields
	if fields == nil {
		fields = map[string]any{}
	}
	return Payload{
		Event: ev.Kind, RunID: ev.RunID, Plan: ev.Plan, State: ev.State, Reason: ev.Reason,
		Service: ev.Service, Fields: fields, At: at.UTC().Truncate(time.Millisecond),
	}
}

// Summary is a readable one-line description of the event, e.g.
// "run 0192... of sangam-site-loss ended failed: step verify failed".
func (p *Payload) Summary() string {
	subject := "run " + p.RunID
	switch {
	case p.RunID == "" && p.Plan != "":
		subject = "plan " + p.Plan
	case p.RunID == "":
		subject = "a run"
	case p.Plan != "":
		subject += " of " + p.Plan
	}
	var s string
	switch p.Event {
	case EventApprovalNeeded:
		s = subject + " needs approval"
	case EventRunStarted:
		s = subject + " started"
	case EventStopCondition:
		s = subject + " breached a stop condition"
	case EventRunEnded:
		s = subject + " ended"
		if p.State != "" {
			s += " " + p.State
		}
	case EventServiceOverdue:
		svc := p.Service
		if svc == "" {
			svc = "(unnamed)"
		}
		s = "service " + svc + " is overdue for a DR drill"
	default:
		s = string(p.Event) + ": " + subject
	}
	if p.Reason != "" {
		s += ": " + p.Reason
	}
	return oneLine(s)
}

// emoji marks the Slack line: good news, attention, alarm.
func (p *Payload) emoji() string {
	switch p.Event {
	case EventApprovalNeeded:
		return ":raised_hand:"
	case EventRunStarted:
		return ":arrow_forward:"
	case EventRunEnded:
		if p.State == "succeeded" {
			return ":white_check_mark:"
		}
		return ":rotating_light:"
	case EventServiceOverdue:
		return ":warning:"
	}
	return ":rotating_light:"
}

// details lists the payload's facts, one "key: value" per line, fields sorted by key.
func (p *Payload) details() string {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, oneLine(v))
		}
	}
	line("event", string(p.Event))
	line("run", p.RunID)
	line("plan", p.Plan)
	line("state", p.State)
	line("service", p.Service)
	line("reason", p.Reason)
	line("at", p.At.UTC().Format(time.RFC3339Nano))
	if len(p.Fields) > 0 {
		keys := make([]string, 0, len(p.Fields))
		for k := range p.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("\n")
		for _, k := range keys {
			line(k, fieldString(p.Fields[k]))
		}
	}
	return b.String()
}

func fieldString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// oneLine folds line breaks and other control characters into spaces, so that no value can
// inject a header or a fake line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
