package sitesim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
)

// DefaultReplicationLag is how long a write accepted by a site's toy service takes to reach
// the other sites when Config.ReplicationLag is zero.
const DefaultReplicationLag = 300 * time.Millisecond

// data is the toy services' data, replicated asynchronously between the sites: a write a
// site's service accepts is visible there at once and is shipped to every other site after
// the replication lag, by the writing site's service. If that service is down by then (the
// disaster struck), the shipment is lost with it: exactly the data an RPO measures.
//
// The data are canary markers: per job and per (run, service) key, the last sequence number
// and the writing site's timestamp.
type data struct {
	lag   time.Duration
	clock clock.Clock
	sites func() []*Site

	mu sync.Mutex
	// last[site][job][key] is the last marker visible on site.
	last map[string]map[string]map[string]dataMarker
	// removed[site][job][key] marks a key deleted on site: a shipment still in flight must
	// not bring its marker back.
	removed map[string]map[string]map[string]bool
	// shipped and lost count replicated and lost writes, for tests and the sim's log.
	shipped, lost int64
}

// dataMarker is a canary marker as the toy service stores and answers it.
type dataMarker struct {
	RunID   string    `json:"run_id,omitempty"`
	Service string    `json:"service,omitempty"`
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at,omitzero"`
}

func (d *data) put(site, job, key string, m dataMarker) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removed[site][job][key] {
		return
	}
	if d.last[site] == nil {
		d.last[site] = map[string]map[string]dataMarker{}
	}
	if d.last[site][job] == nil {
		d.last[site][job] = map[string]dataMarker{}
	}
	if cur, ok := d.last[site][job][key]; !ok || m.Seq > cur.Seq {
		d.last[site][job][key] = m
	}
}

// remove deletes key's marker on site and reports how many there were (0 or 1).
func (d *data) remove(site, job, key string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removed == nil {
		d.removed = map[string]map[string]map[string]bool{}
	}
	if d.removed[site] == nil {
		d.removed[site] = map[string]map[string]bool{}
	}
	if d.removed[site][job] == nil {
		d.removed[site][job] = map[string]bool{}
	}
	d.removed[site][job][key] = true
	if _, ok := d.last[site][job][key]; !ok {
		return 0
	}
	delete(d.last[site][job], key)
	return 1
}

func (d *data) get(site, job, key string) dataMarker {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last[site][job][key]
}

// write accepts m on origin's service and ships it to the other sites after the lag.
func (d *data) write(origin *Site, job string, m dataMarker) {
	key := m.RunID + "\x00" + m.Service
	d.put(origin.name, job, key, m)
	ship := func() {
		origin.mu.Lock()
		alive, _ := origin.health(job, map[string]bool{})
		origin.mu.Unlock()
		d.mu.Lock()
		if !alive {
			d.lost++
			d.mu.Unlock()
			return
		}
		d.shipped++
		d.mu.Unlock()
		for _, st := range d.sites() {
			if st != origin {
				d.put(st.name, job, key, m)
			}
		}
	}
	if d.lag <= 0 {
		ship()
		return
	}
	time.AfterFunc(d.lag, ship)
}

// LostWrites returns how many writes the toy services accepted but never shipped to the
// other sites because the writing service was down when their lag had passed.
func (s *Sim) LostWrites() int64 {
	s.data.mu.Lock()
	defer s.data.mu.Unlock()
	return s.data.lost
}

// dataHandlers serves the toy service's canary endpoint on the site's ingress:
//
//	POST /<job>/canary {"run_id","service","seq"} -> 200 {"seq","at"}; 503 when the job is
//	     not healthy on the site (the service is down: the write is refused)
//	GET  /<job>/canary?run_id=&service=           -> 200 {"seq","at"}, the last marker
//	     visible on the site (seq 0: none). The store outlives the service's process, so
//	     it answers whether or not the job runs.
//	DELETE /<job>/canary?run_id=&service=        -> 200 {"deleted": n}: removes the run's
//	     marker from the site's store (n is 0 or 1), whether or not the job runs; a
//	     replicated write still in flight does not bring it back.
func (st *Site) dataHandlers(mux *http.ServeMux) {
	mux.HandleFunc("POST /{job}/canary", func(w http.ResponseWriter, r *http.Request) {
		job := r.PathValue("job")
		var m dataMarker
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil || m.RunID == "" || m.Service == "" || m.Seq < 1 {
			writeData(w, http.StatusBadRequest, map[string]string{"error": "want {\"run_id\",\"service\",\"seq\" >= 1}"})
			return
		}
		st.mu.Lock()
		ok, why := st.health(job, map[string]bool{})
		st.mu.Unlock()
		if !ok {
			writeData(w, http.StatusServiceUnavailable, map[string]string{"error": fmt.Sprintf("%s is unavailable on %s: %s", job, st.name, why)})
			return
		}
		m.At = st.clock.Now().UTC()
		st.data.write(st, job, m)
		writeData(w, http.StatusOK, dataMarker{Seq: m.Seq, At: m.At})
	})
	mux.HandleFunc("GET /{job}/canary", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		m := st.data.get(st.name, r.PathValue("job"), q.Get("run_id")+"\x00"+q.Get("service"))
		writeData(w, http.StatusOK, dataMarker{Seq: m.Seq, At: m.At})
	})
	mux.HandleFunc("DELETE /{job}/canary", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("run_id") == "" || q.Get("service") == "" {
			writeData(w, http.StatusBadRequest, map[string]string{"error": "want ?run_id=&service="})
			return
		}
		n := st.data.remove(st.name, r.PathValue("job"), q.Get("run_id")+"\x00"+q.Get("service"))
		writeData(w, http.StatusOK, map[string]int64{"deleted": n})
	})
}

func writeData(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
