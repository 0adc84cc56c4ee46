package sitesim

import (
	"encoding/json"
	"net/http"
)

// healthReply is the toy service's answer to GET /<job>/healthz.
type healthReply struct {
	Service string `json:"service"`
	Site    string `json:"site"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
}

func (st *Site) ingressHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{job}/healthz", func(w http.ResponseWriter, r *http.Request) {
		job := r.PathValue("job")
		st.mu.Lock()
		ok, why := st.health(job, map[string]bool{})
		st.mu.Unlock()
		reply, code := healthReply{Service: job, Site: st.name, Status: "ok"}, http.StatusOK
		if !ok {
			reply.Status, reply.Reason, code = "unavailable", why, http.StatusServiceUnavailable
		}
		b, _ := json.Marshal(reply)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_, _ = w.Write(append(b, '\n'))
	})
	st.dataHandlers(mux)
	return mux
}
