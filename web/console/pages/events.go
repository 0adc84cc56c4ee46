package pages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// Event stream defaults (Config.EventPoll, EventHeartbeat, EventStreamFor).
const (
	DefaultEventPoll      = time.Second
	DefaultEventHeartbeat = 15 * time.Second
	DefaultEventStreamFor = 5 * time.Minute
	// eventWriteWait bounds one write to the stream: a browser that stops reading is dropped.
	eventWriteWait = 30 * time.Second
	// eventRetryMS is how long a browser waits before reconnecting a stream that closed.
	eventRetryMS = 2000
)

// liveRun is the run's state in every stream message.
type liveRun struct {
	State     drills.RunState `json:"state"`
	StateText string          `json:"state_text"`
	T0        *time.Time      `json:"t0,omitempty"`
	T1        *time.Time      `json:"t1,omitempty"`
	// Abortable: the abort button still applies (not ended, no abort requested).
	Abortable bool `json:"abortable"`
}

// liveMessage is one timeline entry as the stream sends it, with the page's fragments it
// changes rendered by the server (in the reader's language and zone).
type liveMessage struct {
	Seq     int     `json:"seq"`
	Kind    string  `json:"kind"`
	StepKey string  `json:"step_key,omitempty"`
	Message string  `json:"message,omitempty"`
	Run     liveRun `json:"run"`
	// Row is the step's table row (its latest attempt), on the last entry of a batch about it.
	Row string `json:"row,omitempty"`
	// Waiting is the section of steps waiting for a person, on the last entry of a batch
	// about any step.
	Waiting *string `json:"waiting,omitempty"`
	// Check is the entry's line under checks and probes.
	Check string `json:"check,omitempty"`
}

// liveEnd is the stream's last message.
type liveEnd struct {
	Run     liveRun `json:"run"`
	Verdict string  `json:"verdict"`
}

// runEvents streams a run's timeline as Server-Sent Events: the entries after the
// Last-Event-ID (or ?after=) the browser has, then new ones as they commit, each with id: its
// seq; an `end` event once the run has ended and everything is sent. Authorized as RunGet.
func (h *handler) runEvents(w http.ResponseWriter, r *http.Request) {
	q, ok := h.request(w, r)
	if !ok {
		return
	}
	q.need(control.OpRunRead)
	after, err := streamCursor(r)
	if err != nil {
		h.fail(w, q, err)
		return
	}
	p := &control.RunEventsParams{RunID: pathID(q, "id"), After: after}
	batch, err := h.cfg.Control.RunEventsAfter(q.ctx, q.caller, p)
	if err != nil {
		h.fail(w, q, err)
		return
	}
	s := &eventStream{h: h, q: q, w: w, rc: http.NewResponseController(w), v: h.viewOf(q, "live", "live.title", nil)}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if s.write(fmt.Sprintf("retry: %d\n\n", eventRetryMS)) != nil {
		return
	}
	poll := h.cfg.Clock.NewTicker(h.cfg.EventPoll)
	defer poll.Stop()
	beat := h.cfg.Clock.NewTicker(h.cfg.EventHeartbeat)
	defer beat.Stop()
	bound := h.cfg.Clock.NewTimer(h.cfg.EventStreamFor)
	defer bound.Stop()
	stopping := h.shutdowns.of(r)
	for {
		if err := s.send(batch); err != nil {
			return
		}
		if batch.Complete {
			_ = s.end(batch)
			return
		}
		if len(batch.Events) > 0 {
			p.After = batch.Events[len(batch.Events)-1].Seq
		}
		if s.flush() != nil {
			return
		}
		// A full batch leaves more to read at once; otherwise wait for the next poll.
	wait:
		for len(batch.Events) < control.MaxRunEventsLimit {
			select {
			case <-q.ctx.Done():
				return
			case <-stopping:
				// The server shuts down: a graceful shutdown waits for no stream, and the
				// browser reconnects to another replica.
				return
			case <-bound.C():
				// The browser reconnects with the last id it has.
				return
			case <-beat.C():
				if s.write(": keep-alive\n\n") != nil || s.flush() != nil {
					return
				}
			case <-poll.C():
				break wait
			}
		}
		if batch, err = h.cfg.Control.RunEventsAfter(q.ctx, q.caller, p); err != nil {
			if q.ctx.Err() == nil {
				h.log.Warn("run event stream stopped", "run", p.RunID, "err", err)
				safe := "internal error"
				if ce := (*control.Error)(nil); errors.As(err, &ce) {
					safe = ce.Message
				}
				msg, _ := json.Marshal(map[string]string{"message": safe})
				_ = s.write("event: refused\ndata: " + string(msg) + "\n\n")
				_ = s.flush()
			}
			return
		}
	}
}

// shutdowns gives each server a channel closed when it begins to shut down. http.Server's
// Shutdown waits for every request to end and cancels none of their contexts; streams would
// hold it for their whole bound.
type shutdowns struct {
	mu       sync.Mutex
	byServer map[*http.Server]chan struct{}
}

// of is the channel of r's server; nil (never ready) when r came through no http.Server.
// Each server registers one shutdown hook, whatever its number of streams.
func (s *shutdowns) of(r *http.Request) <-chan struct{} {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byServer == nil {
		s.byServer = map[*http.Server]chan struct{}{}
	}
	ch, ok := s.byServer[srv]
	if !ok {
		ch = make(chan struct{})
		s.byServer[srv] = ch
		srv.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}

// streamCursor is the seq the browser has: its Last-Event-ID when it reconnects, else the
// page's ?after=.
func streamCursor(r *http.Request) (int, error) {
	field, raw := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if raw == "" {
		field, raw = "after", r.URL.Query().Get("after")
	}
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, errorf(control.CategoryInvalid, field, "%q is not the seq of an event (a whole number, 0 or more)", raw)
	}
	return n, nil
}

// eventStream writes one browser's stream.
type eventStream struct {
	h  *handler
	q  *req
	w  http.ResponseWriter
	rc *http.ResponseController
	v  *view
}

func (s *eventStream) write(text string) error {
	// A stream outlives the server's WriteTimeout: each write gets its own deadline (servers
	// that cannot set one keep theirs, and the browser reconnects when it cuts).
	_ = s.rc.SetWriteDeadline(time.Now().Add(eventWriteWait))
	_, err := s.w.Write([]byte(text))
	return err
}

func (s *eventStream) flush() error { return s.rc.Flush() }

// send writes a batch's entries, each with its id.
func (s *eventStream) send(b *control.RunEvents) error {
	run := liveRunOf(s.v.Lang, b.Run)
	lastAbout := map[string]int{}
	lastStep := -1
	for i, e := range b.Events {
		if e.StepKey != "" {
			lastAbout[e.StepKey], lastStep = i, i
		}
	}
	latest := latestAttempts(b.Steps)
	for i, e := range b.Events {
		m := liveMessage{Seq: e.Seq, Kind: e.Kind, StepKey: e.StepKey, Message: e.Message, Run: run}
		if e.StepKey != "" && lastAbout[e.StepKey] == i {
			if j := slices.IndexFunc(latest, func(st control.StepView) bool { return st.Key == e.StepKey }); j >= 0 {
				row, err := s.fragment("live-step", stepRow{V: s.v, Step: latest[j]})
				if err != nil {
					return err
				}
				m.Row = row
			}
		}
		if i == lastStep {
			html, err := s.fragment("live-waiting", waitingOf(s.v, b.Run.ID, latest, s.q.may(control.OpStepDecide)))
			if err != nil {
				return err
			}
			m.Waiting = &html
		}
		if c, ok := checkOf(s.v.Lang, e); ok {
			c.V = s.v
			html, err := s.fragment("live-check", c)
			if err != nil {
				return err
			}
			m.Check = html
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := s.write(fmt.Sprintf("id: %d\ndata: %s\n\n", e.Seq, data)); err != nil {
			return err
		}
	}
	return nil
}

// end writes the final verdict as the `end` event.
func (s *eventStream) end(b *control.RunEvents) error {
	verdict, err := s.fragment("live-verdict", verdictData{V: s.v, Run: b.Run})
	if err != nil {
		return err
	}
	data, err := json.Marshal(liveEnd{Run: liveRunOf(s.v.Lang, b.Run), Verdict: verdict})
	if err != nil {
		return err
	}
	if err := s.write("event: end\ndata: " + string(data) + "\n\n"); err != nil {
		return err
	}
	return s.flush()
}

func (s *eventStream) fragment(name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := s.h.pages["live"].ExecuteTemplate(&buf, name, data); err != nil {
		s.h.log.Error("render live fragment", "template", name, "err", err)
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

func liveRunOf(lang string, r control.RunSummary) liveRun {
	return liveRun{State: r.State, StateText: stateText(lang, string(r.State)), T0: r.T0, T1: r.T1,
		Abortable: !r.State.IsTerminal() && r.AbortRequestedAt == nil}
}
