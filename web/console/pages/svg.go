package pages

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// The charts are drawn on the server as SVG: no script, readable without colour (every state
// has its own pattern and a text mark), and with a title and a description for screen readers
// (the tables under each chart carry the same figures).

const (
	ganttWidth   = 1000
	ganttLabelW  = 260
	ganttRowH    = 24
	ganttTopH    = 34
	ganttBottomH = 28
)

// esc escapes text for SVG.
func esc(s string) string { return html.EscapeString(s) }

// stepMark is the text mark each step state carries next to its bar: the state is never
// told by colour alone.
func stepMark(s drills.StepState) string {
	switch s {
	case drills.StepSucceeded:
		return "✓"
	case drills.StepFailed:
		return "✕"
	case drills.StepRunning:
		return "…"
	case drills.StepUnknown:
		return "?"
	case drills.StepAborted:
		return "■"
	case drills.StepSkipped:
		return "–"
	}
	return ""
}

// timelineSVG draws the run's steps as a Gantt chart: one bar per step attempt, T0 and T1
// marked, and the tightest RTO objective of the run's services as a line from T0.
func timelineSVG(q *req, v *control.RunView) template.HTML {
	if len(v.Steps) == 0 {
		return ""
	}
	start := v.Steps[0].StartedAt
	end := start
	for _, s := range v.Steps {
		if s.StartedAt.Before(start) {
			start = s.StartedAt
		}
		e := s.StartedAt
		if s.EndedAt != nil {
			e = *s.EndedAt
		} else if q.now.After(e) {
			e = q.now
		}
		if e.After(end) {
			end = e
		}
	}
	r := v.Run
	if r.T0 != nil && r.T0.Before(start) {
		start = *r.T0
	}
	if r.T1 != nil && r.T1.After(end) {
		end = *r.T1
	}
	var objective time.Duration
	for _, m := range v.Services {
		if o := time.Duration(m.RTOObjectiveMS) * time.Millisecond; o > 0 && (objective == 0 || o < objective) {
			objective = o
		}
	}
	if r.T0 != nil && objective > 0 && r.T0.Add(objective).After(end) {
		end = r.T0.Add(objective)
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Second
	}
	plotW := float64(ganttWidth - ganttLabelW - 16)
	x := func(t time.Time) float64 {
		return float64(ganttLabelW) + plotW*float64(t.Sub(start))/float64(span)
	}
	height := ganttTopH + ganttRowH*len(v.Steps) + ganttBottomH
	var b strings.Builder
	b.Grow(2048 + 512*len(v.Steps))
	fmt.Fprintf(&b, `<svg class="gantt" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="gantt-title gantt-desc" xmlns="http://www.w3.org/2000/svg">`, ganttWidth, height)
	fmt.Fprintf(&b, `<title id="gantt-title">%s</title><desc id="gantt-desc">%s</desc>`,
		esc(tr(q.lang, "run.timeline")), esc(fmt.Sprintf(tr(q.lang, "run.timeline_desc"), len(v.Steps))))
	b.WriteString(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>`)
	// Time axis: round steps of elapsed time from the first step.
	step := niceStep(span, 6)
	for t := time.Duration(0); t <= span; t += step {
		at := start.Add(t)
		anchor := "middle"
		if x(at) > float64(ganttWidth-40) {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x(at), ganttTopH-6, x(at), height-ganttBottomH)
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="%s">+%s</text>`, x(at), height-10, anchor, esc(shortDuration(t)))
	}
	for i, s := range v.Steps {
		y := ganttTopH + i*ganttRowH
		e := s.StartedAt
		if s.EndedAt != nil {
			e = *s.EndedAt
		} else if q.now.After(e) {
			e = q.now
		}
		x0, x1 := x(s.StartedAt), x(e)
		w := x1 - x0
		if w < 2 {
			w = 2
		}
		label := s.Name
		if label == "" {
			label = s.Key
		}
		if s.Attempt > 1 {
			label += fmt.Sprintf(" (#%d)", s.Attempt)
		}
		dur := ""
		if s.DurationMS != nil {
			dur = shortDuration(time.Duration(*s.DurationMS) * time.Millisecond)
		}
		fmt.Fprintf(&b, `<g class="step step-%s"><title>%s — %s %s</title>`, esc(string(s.State)), esc(label), esc(stateText(q.lang, string(s.State))), esc(dur))
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%d">%s</text>`, ganttLabelW-8, y+16, esc(truncateRunes(label, 34)))
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"/>`, x0, y+5, w, ganttRowH-10)
		fmt.Fprintf(&b, `<text class="mark" x="%.1f" y="%d">%s %s</text></g>`, x0+w+4, y+16, stepMark(s.State), esc(dur))
	}
	bottom := height - ganttBottomH
	milestone := func(t *time.Time, name, class string) {
		if t == nil {
			return
		}
		anchor := "middle"
		if x(*t) > float64(ganttWidth-60) {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<g class="%s"><line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text x="%.1f" y="%d" text-anchor="%s">%s</text></g>`,
			class, x(*t), ganttTopH-8, x(*t), bottom, x(*t), ganttTopH-12, anchor, esc(name))
	}
	milestone(r.T0, "T0", "milestone")
	milestone(r.T1, "T1", "milestone")
	if r.T0 != nil && objective > 0 {
		at := r.T0.Add(objective)
		milestone(&at, fmt.Sprintf("RTO %s", shortDuration(objective)), "objective")
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it went through esc
}

// historyChart draws one figure (rto or rpo) of a service per drill against its objective:
// a point per drill, a cross where the objective was missed, a hollow ring where the figure
// was not measured, the objective as a dashed line.
func historyChart(q *req, points []historyPoint, figure string) template.HTML {
	if len(points) == 0 {
		return ""
	}
	const width, height, left, right, top, bottom = 1000, 240, 70, 20, 20, 40
	value := func(p historyPoint) (*int64, int64, drills.Evidence) {
		if figure == "rpo" {
			return p.Measure.RPOActualMS, p.Measure.RPOObjectiveMS, p.Measure.RPOEvidence
		}
		return p.Measure.RTOActualMS, p.Measure.RTOObjectiveMS, p.Measure.RTOEvidence
	}
	var maxMS int64 = 1
	for _, p := range points {
		v, obj, _ := value(p)
		if v != nil && *v > maxMS {
			maxMS = *v
		}
		if obj > maxMS {
			maxMS = obj
		}
	}
	yStep := niceStep(time.Duration(maxMS*11/10)*time.Millisecond, 5)
	maxMS = ((maxMS*11/10)/yStep.Milliseconds() + 1) * yStep.Milliseconds()
	// The points sit inset from the axes so that the first and last dates are not cut.
	const inset = 50
	plotW, plotH := float64(width-left-right-2*inset), float64(height-top-bottom)
	y := func(ms int64) float64 { return float64(top) + plotH - plotH*float64(ms)/float64(maxMS) }
	x := func(i int) float64 {
		if len(points) == 1 {
			return float64(left+inset) + plotW/2
		}
		return float64(left+inset) + plotW*float64(i)/float64(len(points)-1)
	}
	name := strings.ToUpper(figure)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="history" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-title" xmlns="http://www.w3.org/2000/svg"><title id="%s-title">%s</title>`,
		width, height, figure, figure, esc(fmt.Sprintf(tr(q.lang, "history.chart_title"), name, len(points))))
	for ms := int64(0); ms <= maxMS; ms += yStep.Milliseconds() {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`,
			left, y(ms), width-right, y(ms), left-6, y(ms)+4, esc(shortDuration(time.Duration(ms)*time.Millisecond)))
	}
	var line []string
	for i, p := range points {
		v, obj, ev := value(p)
		if obj > 0 {
			line = append(line, fmt.Sprintf("%.1f,%.1f", x(i), y(obj)))
		}
		at := p.Run.CreatedAt
		if p.Run.T0 != nil {
			at = *p.Run.T0
		}
		label := fmtDate(q, at)
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), height-bottom+18, esc(label))
		tip := fmt.Sprintf("%s %s: %s — %s", label, name, msText(q.lang, v), evidenceText(q.lang, ev))
		switch {
		case v == nil:
			fmt.Fprintf(&b, `<g class="pt pt-none"><title>%s</title><circle cx="%.1f" cy="%.1f" r="6"/></g>`, esc(tip), x(i), y(0)-8)
		case ev == drills.EvidenceMet:
			fmt.Fprintf(&b, `<g class="pt pt-met"><title>%s</title><circle cx="%.1f" cy="%.1f" r="5"/></g>`, esc(tip), x(i), y(*v))
		default:
			cx, cy := x(i), y(*v)
			fmt.Fprintf(&b, `<g class="pt pt-missed"><title>%s</title><path d="M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f"/></g>`,
				esc(tip), cx-6, cy-6, cx+6, cy+6, cx-6, cy+6, cx+6, cy-6)
		}
	}
	if len(line) == 1 {
		line = append(line, line[0])
		line[0] = fmt.Sprintf("%d,%s", left, strings.SplitN(line[1], ",", 2)[1])
		line[1] = fmt.Sprintf("%d,%s", width-right, strings.SplitN(line[1], ",", 2)[1])
	}
	if len(line) > 0 {
		fmt.Fprintf(&b, `<polyline class="objective" points="%s"/>`, strings.Join(line, " "))
		fmt.Fprintf(&b, `<text class="objective-label" x="%d" y="%d">%s</text>`, width-right-4, top+12, esc(tr(q.lang, "history.objective_line")))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it went through esc
}

// niceSteps are the axis steps people read easily.
var niceSteps = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second,
	10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// niceStep is the smallest easily read step that divides span into at most n parts.
func niceStep(span time.Duration, n int) time.Duration {
	for _, s := range niceSteps {
		if span/s <= time.Duration(n) {
			return s
		}
	}
	return span / time.Duration(n)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// shortDuration writes a duration the way the console shows them: 4m12s, 850ms, 2h05m.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
