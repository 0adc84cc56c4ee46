package report

import (
	"context"
	"encoding/json"
	"io"
	"iter"
	"time"
)

// DrillSource streams what a bundle says about its drills. Write walks its drills once (for
// report.json, runs.csv, junit.xml and report.pdf together) and its events once, both walks
// at the same time, so a source must allow that; it reads its rows page by page on each walk
// and memory stays flat however many runs the period holds. Every walk must yield the same
// drills in the same order: oldest first.
type DrillSource interface {
	// Drills yields the drills of the report, each with its steps and measurements.
	Drills(ctx context.Context) iter.Seq2[*Drill, error]
	// Events yields the timeline of every drill, drill by drill in the order of Drills and
	// each drill's events in order, each with the audit-log row that records it.
	Events(ctx context.Context) iter.Seq2[*Event, error]
}

// Event is one run event of a drill's timeline, as events.ndjson carries it: the event and
// the audit-log row that chains it.
type Event struct {
	RunID   string          `json:"run_id"`
	Seq     int64           `json:"seq"`
	At      time.Time       `json:"at"`
	Kind    string          `json:"kind"`
	StepKey string          `json:"step_key"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	// Audit is nil for an event recorded before the audit log existed.
	Audit *AuditRow `json:"audit"`
}

// AuditRow is a row of the audit chain: Hash = auditchain.Hash(PrevHash, Seq, Content).
type AuditRow struct {
	Seq      int64  `json:"seq"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	Content  string `json:"content"`
}

// PDFRenderer renders report.pdf from the header and the drills (part D's pdf.Render).
type PDFRenderer interface {
	Render(w io.Writer, h *Header, drills iter.Seq2[*Drill, error]) error
}

// PDFRenderFunc adapts a function such as pdf.Render to a PDFRenderer.
type PDFRenderFunc func(w io.Writer, h *Header, drills iter.Seq2[*Drill, error]) error

// Render calls f.
func (f PDFRenderFunc) Render(w io.Writer, h *Header, drills iter.Seq2[*Drill, error]) error {
	return f(w, h, drills)
}
