package httpload

import (
	"math"
	"slices"
	"time"
)

// Stats summarises the measured requests of one endpoint.
type Stats struct {
	Endpoint string
	// Latencies are from each request's due instant to the end of its answer, sorted.
	Latencies []time.Duration
	// Service are from the instant each request was actually sent, sorted: Latencies minus
	// the generator's own lateness.
	Service []time.Duration
	Errors  int
	// FirstError is kept for the report.
	FirstError error
	// ServerCPU is the server process's CPU time while this endpoint was loaded; Wall the
	// time it was loaded.
	ServerCPU, Wall time.Duration

	P50, P90, P99, Max, Mean time.Duration
	ServiceP99               time.Duration
}

// Stall is a burst of slow answers: requests due close together that all took longer than
// StallThreshold. In an open loop one pause of the server (or of the machine) makes every
// request due during it late, so a few stalls decide a p99.
type Stall struct {
	Endpoint string
	// At is when the first slow request was due, from the start of the measurement.
	At       time.Duration
	Requests int
	Worst    time.Duration
}

// StallThreshold is the latency from which an answer counts as part of a stall.
const StallThreshold = 50 * time.Millisecond

// FindStalls groups the slow samples of one slice into stalls: slow requests due less than
// 250ms apart belong to the same one.
func FindStalls(endpoint string, samples []Sample, start time.Time) []Stall {
	var out []Stall
	var last time.Time
	for _, x := range samples {
		if x.Latency < StallThreshold {
			continue
		}
		if len(out) == 0 || x.Due.Sub(last) > 250*time.Millisecond {
			out = append(out, Stall{Endpoint: endpoint, At: x.Due.Sub(start)})
		}
		st := &out[len(out)-1]
		st.Requests++
		st.Worst = max(st.Worst, x.Latency)
		last = x.Due
	}
	return out
}

// Add counts samples in.
func (s *Stats) Add(samples []Sample) {
	for _, x := range samples {
		s.Latencies = append(s.Latencies, x.Latency)
		s.Service = append(s.Service, x.Service)
		if x.Err != nil {
			s.Errors++
			if s.FirstError == nil {
				s.FirstError = x.Err
			}
		}
	}
}

// Finish sorts the samples and computes the percentiles.
func (s *Stats) Finish() {
	slices.Sort(s.Latencies)
	slices.Sort(s.Service)
	if len(s.Latencies) == 0 {
		return
	}
	s.P50 = Percentile(s.Latencies, 50)
	s.P90 = Percentile(s.Latencies, 90)
	s.P99 = Percentile(s.Latencies, 99)
	s.Max = s.Latencies[len(s.Latencies)-1]
	var sum time.Duration
	for _, l := range s.Latencies {
		sum += l
	}
	s.Mean = sum / time.Duration(len(s.Latencies))
	s.ServiceP99 = Percentile(s.Service, 99)
}

// Percentile is the nearest-rank p-th percentile of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}
