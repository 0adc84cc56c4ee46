package pdf

import (
	"fmt"
	"iter"
	"strings"

	"github.com/signintech/gopdf"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/report"
)

// statusCell is a compliance status as a shaded cell that also carries shape and word.
func (d *doc) statusCell(s drills.ComplianceStatus) cell {
	c := cell{text: d.l.statusText(s), bold: true}
	switch s {
	case drills.Compliant:
		c.fill = &colorBGCompl
	case drills.AtRisk:
		c.fill = &colorBGAtRisk
	case drills.NonCompliant:
		c.fill = &colorBGNonComp
	}
	return c
}

func (d *doc) cover() {
	h := d.h
	d.newPage()
	d.fillRect(0, 0, pageW, 8, colorAccent)

	d.y = 150
	d.setFont(true, 13)
	d.color(colorMuted)
	for _, line := range d.capLines(d.wrap(h.Institution, contentW), maxTitleLines, contentW) {
		d.textAt(marginLeft, d.y, contentW, 13, line, gopdf.Left)
		d.y += lineH(13)
	}
	d.y += 10
	d.setFont(true, 26)
	d.color(colorAccent)
	d.textAt(marginLeft, d.y, contentW, 26, d.l.title, gopdf.Left)
	d.y += lineH(26) + 4
	d.setFont(false, 14)
	d.color(colorText)
	for _, line := range d.capLines(d.wrap(h.Profile.Title, contentW), maxTitleLines, contentW) {
		d.textAt(marginLeft, d.y, contentW, 14, line, gopdf.Left)
		d.y += lineH(14)
	}
	d.setFont(true, 14)
	d.textAt(marginLeft, d.y, contentW, 14, d.clean(fmt.Sprintf("%s: %s", d.l.period, h.Period.Name)), gopdf.Left)
	d.y += lineH(14) + 6
	d.rule(d.y, colorAccent, 1.5)
	d.y += 18

	if h.State != "published" {
		d.setFont(true, 12)
		d.color(colorDraft)
		d.textAt(marginLeft, d.y, contentW, 12, d.l.draftBanner, gopdf.Left)
		d.y += lineH(12) + 8
		d.color(colorText)
	}

	state := d.l.stateDraft
	if h.State == "published" {
		state = d.l.statePublished
	}
	version := fmt.Sprintf("%d", h.Version)
	rows := []kv{
		{d.l.institution, h.Institution},
		{d.l.regulator, d.orNone(h.Profile.Regulator)},
		{d.l.profile, fmt.Sprintf("%s (%s)", h.Profile.Title, h.Profile.ID)},
		{d.l.period, fmt.Sprintf("%s (%s – %s, %s)", h.Period.Name, h.Period.Start.UTC().Format(dateLayout),
			h.Period.End.UTC().Add(-1).Format(dateLayout), d.l.utc)},
		{d.l.generatedAt, d.second(h.GeneratedAt)},
		{d.l.generatedBy, d.orNone(h.GeneratedBy)},
		{d.l.reportID, h.ID},
		{d.l.version, version},
	}
	if h.Replaces != "" {
		rows = append(rows, kv{d.l.replaces, h.Replaces})
	}
	rows = append(rows,
		kv{d.l.state, state},
		kv{d.l.keyFingerprint, fingerprintText(h.SigningKeyFingerprint)},
		kv{d.l.auditHead, fmt.Sprintf("#%d  %s", h.AuditHead.Seq, h.AuditHead.Hash)},
	)
	d.kvs(rows, 10, 150)
	if h.Profile.Source != "" {
		d.y += 6
		d.setFont(false, 8)
		d.color(colorMuted)
		d.para(d.l.profileSource+": "+h.Profile.Source, 8, false, 0)
		d.color(colorText)
	}
	d.contents()
}

// tocSections are the sections the cover's contents list, in order.
func (l *labels) tocSections() []string {
	return []string{l.secSummary, l.secServices, l.secDrills, l.secFindings, l.secAcceptedRisks,
		l.secClosedFindings, l.secClauses, l.secSignOff}
}

// contents lists the sections with their pages; the pages are placeholders that fillContents
// fills in once every section has landed.
func (d *doc) contents() {
	const size, numW = 10.0, 40.0
	sections := d.l.tocSections()
	d.ensure(lineH(11) + 8 + float64(len(sections))*lineH(size))
	d.y += 14
	d.setFont(true, 11)
	d.color(colorAccent)
	d.textAt(marginLeft, d.y, contentW, 11, d.l.contents, gopdf.Left)
	d.y += lineH(11) + 2
	d.rule(d.y, colorRule, 0.5)
	d.y += 6
	d.color(colorText)
	for i, title := range sections {
		baseline := d.y + size
		d.setFont(false, size)
		d.baselineText(marginLeft, baseline, title)
		d.pdf.SetStrokeColor(colorRule.r, colorRule.g, colorRule.b)
		d.pdf.SetLineWidth(0.5)
		d.pdf.SetLineType("dotted")
		d.pdf.Line(marginLeft+d.width(title)+6, baseline, pageW-marginRight-numW-4, baseline)
		d.pdf.SetLineType("")
		d.pdf.SetXY(pageW-marginRight-numW, baseline)
		d.fail(d.pdf.PlaceHolderText(contentsPlaceholder(i), numW))
		d.y += lineH(size)
	}
}

func contentsPlaceholder(i int) string { return fmt.Sprintf("contents-%d", i) }

// fillContents writes each section's page into the cover's contents.
func (d *doc) fillContents() {
	d.setFont(false, 10)
	for i, title := range d.l.tocSections() {
		if d.err != nil {
			return
		}
		page := "—"
		if p, ok := d.sectionPage[title]; ok {
			page = fmt.Sprint(p)
		}
		d.fail(d.pdf.FillInPlaceHoldText(contentsPlaceholder(i), page, gopdf.Right))
	}
}

func (d *doc) summary() {
	h, s := d.h, d.h.Summary
	d.heading(d.l.secSummary)

	// The overall verdict: a shaded band holding shape and word.
	const bandH = 34.0
	d.ensure(bandH + 10)
	st := d.statusCell(s.Status)
	d.fillRect(marginLeft, d.y, contentW, bandH, *st.fill)
	d.setFont(false, 10)
	d.color(colorMuted)
	d.textAt(marginLeft+10, d.y, 120, 10, d.l.overallStatus, gopdf.Left)
	d.pdf.SetXY(marginLeft+10, d.y)
	d.setFont(true, 16)
	d.color(colorText)
	d.textAt(marginLeft+10, d.y+lineH(10)-2, contentW-20, 16, st.text, gopdf.Left)
	d.y += bandH + 12

	// Three figures side by side.
	figs := []struct{ label, value string }{
		{d.l.servicesFig, fmt.Sprintf("%d", s.Services)},
		{d.l.drillsFig, fmt.Sprintf("%d / %d", s.DrillsPassed, s.Drills)},
		{d.l.findingsFig, fmt.Sprintf("%d (%d)", s.OpenFindings, s.OverdueFindings)},
	}
	const gap = 10.0
	boxW := (contentW - 2*gap) / 3
	const boxH = 52.0
	d.ensure(boxH + 10)
	for i, f := range figs {
		x := marginLeft + float64(i)*(boxW+gap)
		d.fillRect(x, d.y, boxW, boxH, colorHeaderBG)
		d.setFont(false, 8.5)
		d.color(colorMuted)
		d.textAt(x+8, d.y+5, boxW-16, 8.5, f.label, gopdf.Left)
		d.setFont(true, 18)
		d.color(colorAccent)
		d.textAt(x+8, d.y+20, boxW-16, 18, f.value, gopdf.Left)
	}
	d.color(colorText)
	d.y += boxH + 8
	d.setFont(false, 9)
	d.color(colorMuted)
	d.textAt(marginLeft, d.y, contentW, 9, d.clean(fmt.Sprintf("%s %d · %s %d · %s %d",
		d.l.statusText(drills.Compliant), s.Compliant, d.l.statusText(drills.AtRisk), s.AtRisk,
		d.l.statusText(drills.NonCompliant), s.NonCompliant)), gopdf.Left)
	d.color(colorText)
	d.y += lineH(9) + 10

	d.para(d.l.summarySentence(h.Period.Name, s.Services, s.Drills, s.DrillsPassed, s.Compliant, s.AtRisk,
		s.NonCompliant, s.OpenFindings, s.OverdueFindings), 10, false, 0)

	d.subheading(d.l.keyIssues)
	var issues []string
	for _, svc := range h.Services {
		if svc.Status == drills.Compliant {
			continue
		}
		for _, r := range svc.Reasons {
			if r.Status == drills.Compliant {
				continue
			}
			issues = append(issues, fmt.Sprintf("%s (%s): %s", svc.Service, d.l.statusText(r.Status), r.Text))
		}
		if len(svc.Reasons) == 0 {
			issues = append(issues, fmt.Sprintf("%s (%s)", svc.Service, d.l.statusText(svc.Status)))
		}
	}
	if len(issues) == 0 {
		d.para(d.l.noKeyIssues, 10, false, 0)
		return
	}
	d.bullets(issues, 9.5)
}

func (d *doc) services() {
	l := d.l
	d.heading(l.secServices)
	if len(d.h.Services) == 0 {
		d.para(l.none, 10, false, 0)
		return
	}
	t := d.newTable(8,
		column{l.colService, 66, gopdf.Left},
		column{l.colStatus, 76, gopdf.Left},
		column{"RTO " + l.colObjCeiling, 62, gopdf.Right},
		column{"RTO " + l.colMeasured, 74, gopdf.Right},
		column{"RPO " + l.colObjCeiling, 62, gopdf.Right},
		column{"RPO " + l.colMeasured, 74, gopdf.Right},
		column{l.colDrills, 81, gopdf.Left},
	)
	for _, s := range d.h.Services {
		var reasons []string
		for _, r := range s.Reasons {
			reasons = append(reasons, fmt.Sprintf("%s %s", statusSymbols[r.Status], r.Text))
		}
		note := ""
		if len(reasons) > 0 {
			note = l.reasons + ": " + strings.Join(reasons, " / ")
		}
		if s.LatestRunID != "" {
			if note != "" {
				note += " — "
			}
			note += l.latestRun + ": " + s.LatestRunID
		}
		t.row([]cell{
			{text: s.Service + "\n" + l.criticality + ": " + d.orNone(s.Criticality)},
			d.statusCell(s.Status),
			{text: d.objective(s.RTOObjectiveMS, s.RTOCeilingMS)},
			{text: d.measured(s.RTOMeasuredMS, s.RTOEvidence), bold: s.RTOEvidence != drills.EvidenceMet},
			{text: d.objective(s.RPOObjectiveMS, s.RPOCeilingMS)},
			{text: d.measured(s.RPOMeasuredMS, s.RPOEvidence), bold: s.RPOEvidence != drills.EvidenceMet},
			{text: fmt.Sprintf(l.drillsCell, s.DrillsRun, s.DrillsRequired, s.DrillsPassed)},
		}, note)
	}
	t.end()
}

// objective is an objective with the profile's ceiling, when it sets one, on a second line.
func (d *doc) objective(ms int64, ceiling *int64) string {
	s := durationText(ms, d.lang)
	if ceiling != nil {
		s += "\n" + fmt.Sprintf(d.l.ceilingOf, durationText(*ceiling, d.lang))
	}
	return s
}

// measured is a measured figure with its verdict on a second line, so that a missed objective
// reads as missed without its colour.
func (d *doc) measured(ms *int64, ev drills.Evidence) string {
	if ms == nil {
		return word(d.l.evidenceSt, drills.EvidenceNotEvidenced)
	}
	if ev == "" {
		return durationText(*ms, d.lang)
	}
	return durationText(*ms, d.lang) + "\n" + word(d.l.evidenceSt, ev)
}

// drills streams the drills: the first cfg.MaxDrillSections get a section each, the next
// cfg.MaxListedRows a line of a table, and the rest are counted.
func (d *doc) drills(seq iter.Seq2[*report.Drill, error], cfg Config) error {
	l := d.l
	d.newPage()
	d.heading(l.secDrills)
	if seq == nil {
		seq = func(func(*report.Drill, error) bool) {}
	}
	n, omitted := 0, 0
	var list *table
	for dr, err := range seq {
		if err != nil {
			return fmt.Errorf("read drill %d: %w", n+1, err)
		}
		if dr == nil {
			return fmt.Errorf("read drill %d: nil drill", n+1)
		}
		if d.err != nil {
			return d.err
		}
		n++
		switch {
		case n <= cfg.MaxDrillSections:
			d.drill(n, dr)
		case n-cfg.MaxDrillSections <= cfg.MaxListedRows:
			if list == nil {
				list = d.drillList(cfg)
			}
			d.drillRow(list, n, dr)
		default:
			omitted++
		}
	}
	if n == 0 {
		d.para(l.noDrills, 10, false, 0)
	}
	if list != nil {
		list.end()
	}
	if omitted > 0 {
		d.para(l.drillsOmitted(omitted), 9, false, 0)
	}
	return nil
}

// drillDate is when a drill happened: the disaster, else its start, else its creation.
func drillDate(dr *report.Drill) string {
	switch {
	case dr.T0 != nil:
		return dr.T0.UTC().Format(dateLayout)
	case dr.StartedAt != nil:
		return dr.StartedAt.UTC().Format(dateLayout)
	}
	return dr.CreatedAt.UTC().Format(dateLayout)
}

func (d *doc) verdict(dr *report.Drill) string {
	if dr.Passed {
		return d.l.passed
	}
	return d.l.notPassed
}

func (d *doc) drill(n int, dr *report.Drill) {
	l := d.l
	// Each drill starts on a fresh page unless most of the page is still free: a section is
	// about a page, and a regulator flips to it by its heading.
	if n > 1 && d.y > marginTop+(bottomY-marginTop)/3 {
		d.newPage()
	}
	// The facts block stays whole, with its heading.
	d.ensure(lineH(11) + 14*lineH(9))
	verdict := cell{text: d.verdict(dr), fill: &colorBGNonComp}
	if dr.Passed {
		verdict.fill = &colorBGCompl
	}
	d.band(l.drillHeading(n, drillDate(dr), dr.Plan), verdict)
	state := word(l.runSt, dr.State)
	if dr.StateReason != "" {
		state += " — " + dr.StateReason
	}
	d.kvs([]kv{
		{l.scenario, d.orNone(dr.Scenario)},
		{l.runState, state},
		{l.planSHA, d.orNone(dr.PlanSHA256)},
	}, 9, 110)
	d.y -= 9 * 0.5
	build := strings.TrimSpace(dr.FiredrillVersion + " " + dr.FiredrillCommit)
	d.kvPairs([][2]kv{
		{{l.runID, dr.RunID}, {l.requestedBy, d.orNone(dr.RequestedBy)}},
		{{l.sites, fmt.Sprintf("%s → %s", d.orNone(dr.FromSite), d.orNone(dr.ToSite))}, {l.schedule, d.orNone(dr.Schedule)}},
		{{l.forced, l.yesNo(dr.Forced)}, {l.build, d.orNone(build)}},
		{{l.createdAt, d.second(dr.CreatedAt)}, {l.startedAt, d.optSecond(dr.StartedAt)}},
		{{l.t0, d.optSecond(dr.T0)}, {l.t1, d.optSecond(dr.T1)}},
		{{l.endedAt, d.optSecond(dr.EndedAt)}, {l.rto, optDuration(dr.RTOMS, d.lang, l.notMeasured)}},
	}, 9, 110, 85)

	if len(dr.Measurements) > 0 {
		d.minorHeading(l.measurements)
		t := d.newTable(7.5,
			column{l.colService, 70, gopdf.Left},
			column{"RTO " + l.colObjective, 52, gopdf.Right},
			column{"RTO " + l.colMeasured, 60, gopdf.Right},
			column{l.colEvidence, 68, gopdf.Left},
			column{"RPO " + l.colObjective, 52, gopdf.Right},
			column{"RPO " + l.colMeasured, 60, gopdf.Right},
			column{l.colEvidence, 68, gopdf.Left},
			column{l.colLostRows, 40, gopdf.Right},
		)
		for _, m := range dr.Measurements {
			lost := "—"
			if m.LostRows != nil {
				lost = fmt.Sprintf("%d", *m.LostRows)
			}
			t.row([]cell{
				{text: m.Service},
				{text: durationText(m.RTOObjectiveMS, d.lang)},
				{text: optDuration(m.RTOMS, d.lang, l.notMeasured)},
				{text: word(l.evidenceSt, m.RTOEvidence), bold: m.RTOEvidence != drills.EvidenceMet},
				{text: durationText(m.RPOObjectiveMS, d.lang)},
				{text: optDuration(m.RPOMS, d.lang, l.notMeasured)},
				{text: word(l.evidenceSt, m.RPOEvidence), bold: m.RPOEvidence != drills.EvidenceMet},
				{text: lost},
			}, m.Reason)
		}
		t.end()
	}

	if len(dr.Approvers) > 0 {
		d.minorHeading(l.approvers)
		t := d.newTable(8,
			column{l.colName, 110, gopdf.Left},
			column{l.colRole, 90, gopdf.Left},
			column{l.colAt, 110, gopdf.Left},
			column{l.colComment, 185, gopdf.Left},
		)
		for _, a := range dr.Approvers {
			t.row([]cell{{text: a.Name}, {text: a.Role}, {text: d.second(a.At)}, {text: a.Comment}}, "")
		}
		t.end()
	}

	d.minorHeading(l.participants)
	if len(dr.Participants) == 0 {
		d.para(l.none, 9, false, 0)
	} else {
		intended, attended := 0, 0
		t := d.newTable(8,
			column{l.colName, 150, gopdf.Left},
			column{l.colRole, 185, gopdf.Left},
			column{l.colIntended, 80, gopdf.Left},
			column{l.colAttended, 80, gopdf.Left},
		)
		for _, p := range dr.Participants {
			if p.Intended {
				intended++
				if p.Attended {
					attended++
				}
			}
			t.row([]cell{{text: p.Name}, {text: p.Role}, {text: l.yesNo(p.Intended)}, {text: l.yesNo(p.Attended), bold: p.Intended && !p.Attended}}, "")
		}
		t.end()
		if intended > 0 {
			d.para(l.attendanceSentence(attended, intended), 9, false, 0)
		}
	}

	if len(dr.Steps) > 0 {
		d.minorHeading(l.timeline)
		t := d.newTable(7.5,
			column{l.colKey, 140, gopdf.Left},
			column{l.colAction, 90, gopdf.Left},
			column{l.colSite, 55, gopdf.Left},
			column{l.colAttempt, 28, gopdf.Right},
			column{l.colState, 55, gopdf.Left},
			column{l.colStarted, 62, gopdf.Left},
			column{l.colDuration, 65, gopdf.Right},
		)
		for _, s := range dr.Steps {
			name := s.Key
			if s.Name != "" && s.Name != s.Key {
				name += "\n" + s.Name
			}
			if s.Service != "" {
				name += " (" + s.Service + ")"
			}
			dur := "—"
			if s.DurationMS != nil {
				dur = durationText(*s.DurationMS, d.lang)
			}
			t.row([]cell{
				{text: name},
				{text: s.Action},
				{text: s.Site},
				{text: fmt.Sprintf("%d", s.Attempt)},
				{text: word(l.stepSt, s.State), bold: s.State != drills.StepSucceeded},
				{text: s.StartedAt.UTC().Format(clockLayout)},
				{text: dur},
			}, s.Error)
		}
		t.end()
	}

	d.minorHeading(l.deviations)
	d.list(dr.Deviations)
	d.minorHeading(l.lessons)
	d.list(dr.Lessons)
	d.minorHeading(l.drillFindings)
	if len(dr.Findings) == 0 {
		d.para(l.none, 9, false, 0)
	} else {
		d.para(strings.Join(dr.Findings, ", "), 9, false, 0)
	}
	d.y += 6
}

// band is a title on a shaded band with a status at its right: the status as shape and word,
// the band its colour.
func (d *doc) band(title string, status cell) {
	const size, statusW = 10.5, 110.0
	d.setFont(true, size)
	titleLines := d.capLines(d.wrap(title, contentW-statusW-12), maxTitleLines, contentW-statusW-12)
	bandH := float64(len(titleLines))*lineH(size) + 6
	d.ensure(bandH + 4*lineH(9))
	d.y += 4
	fill := colorHeaderBG
	if status.fill != nil {
		fill = *status.fill
	}
	d.fillRect(marginLeft, d.y, contentW, bandH, fill)
	d.color(colorAccent)
	for i, line := range titleLines {
		d.textAt(marginLeft+6, d.y+3+float64(i)*lineH(size), contentW-statusW-12, size, line, gopdf.Left)
	}
	d.color(colorText)
	d.textAt(pageW-marginRight-statusW-6, d.y+3, statusW, size, d.clean(status.text), gopdf.Right)
	d.pdf.AddOutline(d.clean(titleLines[0]))
	d.y += bandH + 5
}

// minorHeading titles a part of a drill section.
func (d *doc) minorHeading(text string) {
	// Room for the heading, a table header and two rows, so the heading is never orphaned.
	d.ensure(lineH(9.5) + 80)
	d.y += 3
	d.setFont(true, 9.5)
	d.color(colorAccent)
	d.textAt(marginLeft, d.y, contentW, 9.5, d.clean(text), gopdf.Left)
	d.y += lineH(9.5) + 1
	d.color(colorText)
}

func (d *doc) list(items []string) {
	if len(items) == 0 {
		d.para(d.l.none, 9, false, 0)
		return
	}
	d.bullets(items, 9)
}

func (d *doc) drillList(cfg Config) *table {
	l := d.l
	d.newPage()
	d.subheading(l.secDrillList)
	d.para(l.drillsListed(cfg.MaxDrillSections), 9, false, 0)
	return d.newTable(7.5,
		column{"#", 25, gopdf.Right},
		column{l.colDate, 55, gopdf.Left},
		column{l.runID, 100, gopdf.Left},
		column{l.plan, 115, gopdf.Left},
		column{l.runState, 70, gopdf.Left},
		column{l.verdict, 60, gopdf.Left},
		column{"RTO", 70, gopdf.Right},
	)
}

func (d *doc) drillRow(t *table, n int, dr *report.Drill) {
	t.row([]cell{
		{text: fmt.Sprintf("%d", n)},
		{text: drillDate(dr)},
		{text: dr.RunID},
		{text: dr.Plan},
		{text: word(d.l.runSt, dr.State)},
		{text: d.verdict(dr), bold: !dr.Passed},
		{text: optDuration(dr.RTOMS, d.lang, d.l.notMeasured)},
	}, "")
}

func (d *doc) dueText(f report.Finding) string {
	if f.DueAt == nil {
		return d.l.none
	}
	s := f.DueAt.UTC().Format(dateLayout)
	if f.Overdue {
		s += "\n× " + d.l.overdue
	}
	return s
}

func (d *doc) openFindings(maxRows int) {
	l := d.l
	d.newPage()
	d.findingsTable(findingsSection{
		heading: l.secFindings, none: l.noOpenFindings, keep: func(f report.Finding) bool { return !f.Status.Covered() },
		columns: []column{
			{l.colID, 45, gopdf.Left},
			{l.colSeverity, 45, gopdf.Left},
			{l.colTitle, 170, gopdf.Left},
			{l.colOwner, 70, gopdf.Left},
			{l.colDue, 62, gopdf.Left},
			{l.colFindingStatus, 60, gopdf.Left},
			{l.colRun, 55, gopdf.Left},
		},
		row: func(f report.Finding, title string) ([]cell, string) {
			title += " · " + word(l.kind, f.Kind)
			note := ""
			if f.RootCause != "" {
				note = l.rootCause + ": " + f.RootCause
			}
			sev := cell{text: word(l.severity, f.Severity), bold: f.Severity == drills.SeverityCritical || f.Severity == drills.SeverityHigh}
			due := cell{text: d.dueText(f), bold: f.Overdue}
			if f.Overdue {
				due.fill = &colorBGNonComp
			}
			return []cell{{text: f.ID, bold: true}, sev, {text: title}, {text: d.orNone(f.Owner), bold: f.Owner == ""},
				due, {text: word(l.findingSt, f.Status)}, {text: d.orNone(f.RunID)}}, note
		},
	}, maxRows)
}

func (d *doc) acceptedRisks(maxRows int) {
	l := d.l
	d.findingsTable(findingsSection{
		heading: l.secAcceptedRisks, none: l.noAcceptedRisks, keep: func(f report.Finding) bool { return f.Status == drills.FindingRiskAccepted },
		columns: []column{
			{l.colID, 40, gopdf.Left},
			{l.colTitle, 140, gopdf.Left},
			{l.colSeverity, 40, gopdf.Left},
			{l.colAcceptedBy, 100, gopdf.Left},
			{l.colReason, 175, gopdf.Left},
		},
		row: func(f report.Finding, title string) ([]cell, string) {
			return []cell{{text: f.ID, bold: true}, {text: title}, {text: word(l.severity, f.Severity)},
				{text: d.orNone(f.RiskAcceptedBy)}, {text: d.orNone(f.RiskReason)}}, ""
		},
	}, maxRows)
}

func (d *doc) closedFindings(maxRows int) {
	l := d.l
	d.findingsTable(findingsSection{
		heading: l.secClosedFindings, none: l.noClosedFindings, keep: func(f report.Finding) bool { return f.Status.Closed() },
		columns: []column{
			{l.colID, 45, gopdf.Left},
			{l.colTitle, 210, gopdf.Left},
			{l.colSeverity, 50, gopdf.Left},
			{l.colRun, 95, gopdf.Left},
			{l.colClosedBy, 95, gopdf.Left},
		},
		row: func(f report.Finding, title string) ([]cell, string) {
			return []cell{{text: f.ID, bold: true}, {text: title}, {text: word(l.severity, f.Severity)},
				{text: d.orNone(f.RunID)}, {text: d.orNone(f.ClosedByRun)}}, ""
		},
	}, maxRows)
}

// findingsSection is one table of findings: which it keeps, its columns, and each row's cells
// and note given the finding's title (with its service).
type findingsSection struct {
	heading, none string
	keep          func(report.Finding) bool
	columns       []column
	row           func(f report.Finding, title string) ([]cell, string)
}

// findingsTable writes a section of the findings sec keeps, at most maxRows of them, saying
// how many it left out.
func (d *doc) findingsTable(sec findingsSection, maxRows int) {
	l := d.l
	d.heading(sec.heading)
	var kept []report.Finding
	for _, f := range d.h.Findings {
		if sec.keep(f) {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		d.para(sec.none, 10, false, 0)
		return
	}
	t := d.newTable(8, sec.columns...)
	for i, f := range kept {
		if i == maxRows {
			break
		}
		title := f.Title
		if f.Service != "" {
			title += "\n" + l.colService + ": " + f.Service
		}
		cells, note := sec.row(f, title)
		t.row(cells, note)
	}
	t.end()
	if len(kept) > maxRows {
		d.para(l.findingsOmitted(len(kept)-maxRows), 9, false, 0)
	}
}

func (d *doc) clauses() {
	l := d.l
	d.newPage()
	d.heading(l.secClauses)
	if len(d.h.Clauses) == 0 {
		d.para(l.noClauses, 10, false, 0)
		return
	}
	for _, c := range d.h.Clauses {
		d.ensure(lineH(11) + 5*lineH(9))
		d.band(fmt.Sprintf("%s  %s", c.ID, c.Title), d.statusCell(c.Status))
		var named []string
		for _, code := range c.Evidence {
			if w, ok := l.clauseEvidence[code]; ok {
				named = append(named, fmt.Sprintf("%s (%s)", w, code))
			} else {
				named = append(named, code)
			}
		}
		evidence := strings.Join(named, ", ")
		d.kvs([]kv{
			{l.requirement, d.orNone(c.Requirement)},
			{l.evidence, d.orNone(evidence)},
			{l.answer, d.orNone(c.Answer)},
			{l.doesNotShow, d.orNone(c.DoesNotShow)},
			{l.source, d.orNone(c.Source)},
		}, 8.5, 120)
		d.y += 4
	}
}

func (d *doc) signOff() {
	l, h := d.l, d.h
	d.heading(l.secSignOff)
	if h.SignOff == nil {
		d.para(l.signOffDraft, 10, false, 0)
		// Blank lines for a wet signature on a printed draft.
		d.ensure(90)
		d.y += 10
		for _, label := range []string{l.nameAndTitle, l.signature, l.date} {
			d.setFont(false, 9)
			d.color(colorMuted)
			d.textAt(marginLeft, d.y, 120, 9, label, gopdf.Left)
			d.pdf.SetStrokeColor(colorMuted.r, colorMuted.g, colorMuted.b)
			d.pdf.SetLineWidth(0.5)
			d.pdf.Line(marginLeft+120, d.y+lineH(9), marginLeft+contentW*0.75, d.y+lineH(9))
			d.y += 26
		}
		d.color(colorText)
	} else {
		d.kvs([]kv{
			{l.publishedBy, h.SignOff.PublishedBy},
			{l.publishedAt, d.second(h.SignOff.PublishedAt)},
		}, 10, 150)
	}
	d.subheading(l.integrity)
	d.kvs([]kv{
		{l.reportID, fmt.Sprintf("%s v%d", h.ID, h.Version)},
		{l.keyFingerprint, fingerprintText(h.SigningKeyFingerprint)},
		{l.auditHead, fmt.Sprintf("#%d  %s", h.AuditHead.Seq, h.AuditHead.Hash)},
	}, 9, 150)
	d.para(l.verifyHow, 9, false, 0)
}
