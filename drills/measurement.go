package drills

import "time"

// EventMeasurement is the kind of the run event that records, once per service when a run
// ends, the raw inputs of its measured RTO and RPO (MeasurementEvidence as the event's data).
// A report bundle carries these events, so its verifier recomputes every figure offline.
const EventMeasurement = "measurement"

// MeasurementEvidence is the raw inputs of one service's RTO and RPO in a drill, with the
// figures the run recorded from them. Times keep their full precision: the recorded figures
// were computed from them before being rounded down to milliseconds.
type MeasurementEvidence struct {
	Service string `json:"service"`
	// T0 is when the disaster was injected; nil when it never was.
	T0 *time.Time `json:"t0"`
	// RestoredAt is when the service and everything it depends on passed their checks on the
	// DR site; nil when it never did.
	RestoredAt     *time.Time `json:"restored_at"`
	RTOObjectiveMS int64      `json:"rto_objective_ms"`
	// RTOMS is the recorded RTO: RestoredAt - T0 (never negative), in whole milliseconds.
	RTOMS          *int64 `json:"rto_ms"`
	RPOObjectiveMS int64  `json:"rpo_objective_ms"`
	// RPOMS is the recorded RPO; nil when it was not evidenced.
	RPOMS        *int64 `json:"rpo_ms"`
	LostRows     *int64 `json:"lost_rows"`
	ResolutionMS int64  `json:"resolution_ms"`
	// RPO is what the canary saw; nil when no canary measured the service.
	RPO *RPOInputs `json:"rpo_inputs"`
}

// RPOInputs is what a canary saw: the rows the primary acknowledged before T0 and the last of
// them visible on the DR copy.
type RPOInputs struct {
	FirstPrimarySeq int64     `json:"first_primary_seq"`
	FirstPrimaryAt  time.Time `json:"first_primary_at"`
	LastPrimarySeq  int64     `json:"last_primary_seq"`
	LastPrimaryAt   time.Time `json:"last_primary_at"`
	// LastDRSeq is 0 when the DR copy shows none of the canary's rows.
	LastDRSeq int64     `json:"last_dr_seq"`
	LastDRAt  time.Time `json:"last_dr_at"`
	// Evidenced is false when the canary's rows stand on too little to make an RPO.
	Evidenced bool `json:"evidenced"`
}

// RTO recomputes the RTO from the raw inputs, in whole milliseconds; nil when the disaster
// never struck or the service was never restored. A service already healthy on the DR site
// before T0 recovered at once: the RTO is never negative.
func (m *MeasurementEvidence) RTO() *int64 {
	if m.T0 == nil || m.RestoredAt == nil {
		return nil
	}
	ms := max(0, m.RestoredAt.Sub(*m.T0)).Milliseconds()
	return &ms
}

// RPOFigure recomputes the RPO from the canary's inputs, in whole milliseconds; nil when no
// canary measured it or its rows do not evidence an RPO. Nothing lost is an RPO of zero; a DR
// copy without any of the rows lost everything since the first (a lower bound); otherwise the
// loss runs from the last row the DR copy holds to the last the primary acknowledged.
func (m *MeasurementEvidence) RPOFigure() *int64 {
	in := m.RPO
	if in == nil || !in.Evidenced {
		return nil
	}
	var d time.Duration
	switch {
	case in.LastDRSeq >= in.LastPrimarySeq:
		d = 0
	case in.LastDRSeq == 0:
		d = in.LastPrimaryAt.Sub(in.FirstPrimaryAt)
	default:
		d = in.LastPrimaryAt.Sub(in.LastDRAt)
	}
	ms := d.Milliseconds()
	return &ms
}
