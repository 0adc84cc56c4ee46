package sitesim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// eventFilter is the parsed topic=Topic:Key parameters; empty means everything.
type eventFilter struct {
	topics map[string][]string
	ns     string
}

func parseEventFilter(r *http.Request) eventFilter {
	f := eventFilter{topics: make(map[string][]string), ns: namespaceOf(r)}
	for _, t := range r.URL.Query()["topic"] {
		topic, key, ok := strings.Cut(t, ":")
		if !ok || key == "" {
			key = "*"
		}
		f.topics[topic] = append(f.topics[topic], key)
	}
	return f
}

func (f eventFilter) match(ev *wireEvent) bool {
	if ev.Namespace != "" && !nsMatch(f.ns, ev.Namespace) {
		return false
	}
	if len(f.topics) == 0 {
		return true
	}
	for _, topic := range []string{ev.Topic, "*"} {
		for _, k := range f.topics[topic] {
			if k == "*" || k == ev.Key || slices.Contains(ev.FilterKeys, k) {
				return true
			}
		}
	}
	return false
}

// handleEventStream serves GET /v1/event/stream: newline-delimited JSON batches of events
// with Index >= ?index= (only new ones when 0), and a `{}` heartbeat at once and then every
// HeartbeatInterval.
func (st *Site) handleEventStream(w http.ResponseWriter, r *http.Request) {
	if st.eventStreamDenied.Load() {
		writeError(w, &httpError{http.StatusForbidden, "Permission denied"})
		return
	}
	var next uint64
	if s := r.URL.Query().Get("index"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, errBadRequest("Invalid index: %v", err))
			return
		}
		next = v
	}
	filter := parseEventFilter(r)
	st.mu.Lock()
	st.streamIndexes = append(st.streamIndexes, next)
	if st.streamBreak == nil {
		st.streamBreak = make(chan struct{})
	}
	broken := st.streamBreak
	if next == 0 {
		next = st.index + 1
	}
	idx := st.index
	st.mu.Unlock()

	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	setMetaHeaders(w, idx)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	heartbeat := func() bool {
		if _, err := w.Write([]byte("{}\n")); err != nil {
			return false
		}
		flush()
		return true
	}
	if !heartbeat() {
		return
	}
	ticker := time.NewTicker(st.heartbeat)
	defer ticker.Stop()
	enc := json.NewEncoder(w)
	for {
		st.mu.Lock()
		var out []eventBatch
		i, _ := slices.BinarySearchFunc(st.events, next, func(b eventBatch, idx uint64) int { return cmp.Compare(b.Index, idx) })
		for _, b := range st.events[i:] {
			var evs []wireEvent
			for j := range b.Events {
				if filter.match(&b.Events[j]) {
					evs = append(evs, b.Events[j])
				}
			}
			if len(evs) > 0 {
				out = append(out, eventBatch{Index: b.Index, Events: evs})
			}
		}
		next = st.index + 1
		changed := st.changed
		st.mu.Unlock()
		for _, b := range out {
			if err := enc.Encode(b); err != nil {
				return
			}
		}
		if len(out) > 0 {
			flush()
		}
		select {
		case <-changed:
		case <-ticker.C:
			if !heartbeat() {
				return
			}
		case <-r.Context().Done():
			return
		case <-st.done:
			return
		case <-broken:
			return
		}
	}
}

// BreakEventStreams ends every event stream open now, as a cluster does when its leader
// changes or a proxy in between drops the connection; new subscriptions are served as usual.
func (st *Site) BreakEventStreams() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.streamBreak != nil {
		close(st.streamBreak)
		st.streamBreak = nil
	}
}

// EventStreamSubscriptions returns the ?index= of every event stream subscription so far, in
// order (0: from now on): a watch that resumes after a break asks for the index after the
// last one it saw.
func (st *Site) EventStreamSubscriptions() []uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.streamIndexes)
}

// DenyEventStream makes the event stream answer 403 Permission denied (true), as a cluster
// does to a token whose ACL policy does not cover it, while every other endpoint still
// answers; false serves it again. Streams already open go on.
func (st *Site) DenyEventStream(deny bool) { st.eventStreamDenied.Store(deny) }
