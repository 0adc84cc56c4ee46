package httpload

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"
)

// Plan is how a benchmark measures its targets: a warm-up of each, then Rounds rounds in which
// each target in turn, in an order shuffled per round, gets PerSlice requests at Rate, so that
// the machine's noise falls on every target alike.
type Plan struct {
	Rate     float64
	Warmup   time.Duration
	PerSlice int
	Rounds   int
	Seed     uint64
}

// Measurement is what Measure found: the fields every benchmark's report shares.
type Measurement struct {
	// Stats are per target, in the order of the targets measured.
	Stats []Stats
	// Stalls are every stall of the measurement, in time order; MeasureStart is the instant
	// their At counts from.
	Stalls       []Stall
	MeasureStart time.Time
	// WarmupErrors counts the failed warm-up requests of each target.
	WarmupErrors []int
	// CPUPressure is the share of the measured time during which some task on the machine
	// waited for a CPU (PSI); -1 where unknown.
	CPUPressure float64
}

// Measure warms each target up, then measures them as p says against the server srv, whose
// CPU time it charges to the target being measured. started, when not nil, is called once
// the warm-up is over, just before the first measured request.
func Measure(ctx context.Context, ld *Loader, srv *Server, targets []Target, p Plan, started func(), logf func(string, ...any)) (*Measurement, error) {
	m := &Measurement{CPUPressure: -1}
	warmN := max(1, int(p.Rate*p.Warmup.Seconds()))
	for _, t := range targets {
		errs := 0
		for _, s := range ld.OpenLoop(ctx, t, p.Rate, warmN, 0) {
			if s.Err != nil {
				errs++
			}
		}
		logf("warm-up %s: %d requests at %g/s, %d errors", t.Name, warmN, p.Rate, errs)
		m.WarmupErrors = append(m.WarmupErrors, errs)
	}
	rng := rand.New(rand.NewPCG(p.Seed, 1))
	stats := make(map[string]*Stats, len(targets))
	for _, t := range targets {
		stats[t.Name] = &Stats{Endpoint: t.Name}
	}
	psi0, start := CPUPressure(), time.Now()
	m.MeasureStart = start
	if started != nil {
		started()
	}
	for round := range p.Rounds {
		order := slices.Clone(targets)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, t := range order {
			cpu0, wall0 := srv.CPU(), time.Now()
			samples := ld.OpenLoop(ctx, t, p.Rate, p.PerSlice, warmN+round*p.PerSlice)
			st := stats[t.Name]
			st.ServerCPU += srv.CPU() - cpu0
			st.Wall += time.Since(wall0)
			st.Add(samples)
			m.Stalls = append(m.Stalls, FindStalls(t.Name, samples, start)...)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		logf("round %d/%d done", round+1, p.Rounds)
	}
	if psi1 := CPUPressure(); psi0 >= 0 && psi1 >= 0 {
		m.CPUPressure = float64(psi1-psi0) / float64(time.Since(start))
	}
	for _, t := range targets {
		st := stats[t.Name]
		st.Finish()
		m.Stats = append(m.Stats, *st)
	}
	return m, nil
}

// Of is the stats of endpoint; nil if it was not measured.
func (m *Measurement) Of(endpoint string) *Stats {
	for i := range m.Stats {
		if m.Stats[i].Endpoint == endpoint {
			return &m.Stats[i]
		}
	}
	return nil
}

// Ratio is the p99 of endpoint over the p99 of baseline; 0 if either is missing.
func (m *Measurement) Ratio(baseline, endpoint string) float64 {
	b, s := m.Of(baseline), m.Of(endpoint)
	if b == nil || s == nil || b.P99 <= 0 {
		return 0
	}
	return float64(s.P99) / float64(b.P99)
}
