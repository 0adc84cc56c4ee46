package sitesim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// faults applies the injected faults to every Nomad API request, before anything else.
func (st *Site) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.faultMu.Lock()
		hang, latency := st.hang, st.latency
		fail := false
		if st.errorRate > 0 {
			st.errorAcc += st.errorRate
			if st.errorAcc >= 1-1e-9 {
				st.errorAcc--
				fail = true
			}
		}
		st.faultMu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			case <-st.done:
				return
			}
		}
		if latency > 0 {
			t := time.NewTimer(latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-st.done:
				t.Stop()
				return
			}
		}
		if fail {
			writeError(w, &httpError{http.StatusInternalServerError, "rpc error: sitesim injected fault"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetErrorRate makes that fraction p (0..1) of the Nomad API requests answer 500. The choice
// is deterministic: with p = 1/n every n-th request fails, counting from this call.
func (st *Site) SetErrorRate(p float64) {
	st.faultMu.Lock()
	defer st.faultMu.Unlock()
	st.errorRate = min(max(p, 0), 1)
	st.errorAcc = 0
}

// SetLatency delays every Nomad API request by d (0 removes the delay).
func (st *Site) SetLatency(d time.Duration) {
	st.faultMu.Lock()
	defer st.faultMu.Unlock()
	st.latency = max(d, 0)
}

// SetHang makes Nomad API requests hang until the client gives up (true), or releases them
// (false).
func (st *Site) SetHang(hang bool) {
	st.faultMu.Lock()
	defer st.faultMu.Unlock()
	switch {
	case hang && st.hang == nil:
		st.hang = make(chan struct{})
	case !hang && st.hang != nil:
		close(st.hang)
		st.hang = nil
	}
}

// SetPartitioned cuts the site's Nomad API off the network (true): the listener and every
// open connection close, so clients get connection refused. Healing (false) listens again on
// the same address; that fails only if another process took the port meanwhile.
func (st *Site) SetPartitioned(partitioned bool) error {
	st.srvMu.Lock()
	defer st.srvMu.Unlock()
	select {
	case <-st.done:
		return fmt.Errorf("site %s closed", st.name)
	default:
	}
	switch {
	case partitioned && st.nomadSrv != nil:
		err := st.nomadSrv.Close()
		st.nomadSrv = nil
		st.log.Info("nomad api partitioned")
		return err
	case !partitioned && st.nomadSrv == nil:
		var lc net.ListenConfig
		ln, err := lc.Listen(context.Background(), "tcp", st.nomadAddr)
		if err != nil {
			return fmt.Errorf("heal partition of site %s: listen on %s: %w", st.name, st.nomadAddr, err)
		}
		st.nomadSrv = st.serve(ln, st.nomadHandler())
		st.log.Info("nomad api healed")
	}
	return nil
}

// FailJob makes the job's allocations fail instead of becoming healthy (true); running ones
// fail at once. Failed allocations are not rescheduled: after FailJob(job, false) the job
// recovers with its next version (a re-registration that changes it, or stop and start).
func (st *Site) FailJob(job string, failing bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	if !failing {
		delete(st.failing, job)
		return
	}
	st.failing[job] = true
	t := st.begin()
	for _, a := range st.allocs {
		if a.JobID == job && isLive(a) && a.ClientStatus == "running" {
			st.failAlloc(t, a)
		}
	}
	st.commit(t)
}
