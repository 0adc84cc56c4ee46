package pages

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/report"
)

// endedStates are the states of runs that are over: the ones with measurements to show.
var endedStates = []drills.RunState{drills.RunSucceeded, drills.RunFailed, drills.RunAborted}

// ---- dashboard -------------------------------------------------------------------------

type dashboardData struct {
	Profiles []control.ProfileSummary
	Profile  string
	Services []serviceRow
	// Compliance is the profile's evaluation over the current year; nil when the caller may
	// not read it or the server evaluates none.
	Compliance *control.ComplianceView
	// ComplianceNote says why the compliance column is empty, when it is.
	ComplianceNote string
	Freeze         *control.FreezeView
	Waiting        []control.ApprovalWaiting
	Findings       []control.FindingView
	// OpenFindings counts the open findings per service.
	OpenFindings map[string]int
	// NoEstate says why there are no services: the server was started without an estate.
	NoEstate string
}

// serviceRow is one service on the dashboard: its due status and its latest figures.
type serviceRow struct {
	Service control.ServiceView
	LastRun *control.RunSummary
	Measure *control.MeasurementView
	Open    int
	// Compliance is the service's row of the profile's evaluation.
	Compliance *report.Service
}

func (h *handler) dashboard(q *req) (string, string, any, error) {
	if portalOnly(q.caller) {
		return "", "", nil, errToPortal
	}
	d := &dashboardData{OpenFindings: map[string]int{}}
	ctl := h.cfg.Control
	if q.may(control.OpProfileRead) {
		profiles, err := ctl.ProfileList(q.ctx, q.caller)
		if err != nil {
			return "", "", nil, err
		}
		d.Profiles = profiles
		d.Profile = q.r.URL.Query().Get("profile")
		if !slices.ContainsFunc(profiles, func(p control.ProfileSummary) bool { return p.ID == d.Profile }) {
			// By default the first profile that speaks the reader's language, so that a Korean
			// page does not open on a profile whose reasons are English.
			d.Profile = ""
			if len(profiles) > 0 {
				d.Profile = profiles[0].ID
			}
			if i := slices.IndexFunc(profiles, func(p control.ProfileSummary) bool { return slices.Contains(p.Languages, q.lang) }); i >= 0 {
				d.Profile = profiles[i].ID
			}
		}
	}
	if q.may(control.OpFreezeRead) {
		f, err := ctl.FreezeGet(q.ctx, q.caller)
		if err != nil {
			return "", "", nil, err
		}
		d.Freeze = f
	}
	if q.may(control.OpApprovalList) {
		waiting, err := ctl.ApprovalsWaiting(q.ctx, q.caller)
		if err != nil {
			return "", "", nil, err
		}
		for _, a := range waiting {
			if a.CanApprove {
				d.Waiting = append(d.Waiting, a)
			}
		}
	}
	if q.may(control.OpFindingRead) {
		list, err := ctl.FindingList(q.ctx, q.caller, &control.FindingListParams{
			Statuses: []drills.FindingStatus{drills.FindingOpen, drills.FindingInProgress}, Limit: control.MaxFindingListLimit})
		if err != nil {
			return "", "", nil, err
		}
		for _, f := range list.Findings {
			d.OpenFindings[f.Service]++
		}
		d.Findings = list.Findings
		if len(d.Findings) > 8 {
			d.Findings = d.Findings[:8]
		}
	}
	if q.may(control.OpEstateRead) {
		services, err := ctl.ServiceList(q.ctx, q.caller)
		if control.CategoryOf(err) == control.CategoryConflict {
			// A server without an estate still has approvals, findings and reports to show.
			d.NoEstate = err.Error()
			return "dashboard", "nav.dashboard", d, nil
		}
		if err != nil {
			return "", "", nil, err
		}
		latest := map[string]*serviceRow{}
		for _, s := range services {
			row := serviceRow{Service: s, Open: d.OpenFindings[s.Name]}
			d.Services = append(d.Services, row)
		}
		for i := range d.Services {
			latest[d.Services[i].Service.Name] = &d.Services[i]
		}
		if d.Profile != "" && q.may(control.OpComplianceRead) {
			// The reasons in the console's language when the profile offers it, else in the
			// profile's own.
			lang := ""
			for _, p := range d.Profiles {
				if p.ID == d.Profile && slices.Contains(p.Languages, q.lang) {
					lang = q.lang
				}
			}
			cv, err := ctl.ComplianceGet(q.ctx, q.caller, &control.ComplianceParams{Profile: d.Profile, Period: fmt.Sprint(q.now.In(q.loc).Year()), Lang: lang})
			if err != nil && control.CategoryOf(err) != control.CategoryConflict {
				return "", "", nil, err
			}
			if err != nil {
				// The server evaluates no compliance: say so instead of failing the dashboard.
				d.ComplianceNote = err.Error()
			} else {
				d.Compliance = cv
				for i := range cv.Services {
					if row := latest[cv.Services[i].Service]; row != nil {
						row.Compliance = &cv.Services[i]
					}
				}
			}
		}
		if q.may(control.OpRunRead) {
			if err := h.latestMeasurements(q, latest); err != nil {
				return "", "", nil, err
			}
		}
	}
	return "dashboard", "nav.dashboard", d, nil
}

// latestMeasurements fills each row's last drill and figures: the newest ended run that
// measured the service, however long ago.
func (h *handler) latestMeasurements(q *req, rows map[string]*serviceRow) error {
	if len(rows) == 0 {
		return nil
	}
	services := make([]string, 0, len(rows))
	for name := range rows {
		services = append(services, name)
	}
	found, err := h.cfg.Control.ServiceDrillsGet(q.ctx, q.caller, &control.ServiceDrillsParams{Services: services, States: endedStates, PerService: 1})
	if err != nil {
		return err
	}
	for name, ds := range found {
		if row := rows[name]; row != nil && len(ds) > 0 {
			row.LastRun, row.Measure = &ds[0].Run, &ds[0].Measure
		}
	}
	return nil
}

// ---- approvals -------------------------------------------------------------------------

func (h *handler) approvals(q *req) (string, string, any, error) {
	q.need(control.OpApprovalList)
	waiting, err := h.cfg.Control.ApprovalsWaiting(q.ctx, q.caller)
	if err != nil {
		return "", "", nil, err
	}
	return "approvals", "nav.approvals", waiting, nil
}

func (h *handler) approvalDecide(q *req) (string, error) {
	q.need(control.OpRunApprove)
	p := &control.ApprovalDecideParams{RunID: pathID(q, "id"), Comment: formValue(q, "comment")}
	var err error
	switch q.r.PathValue("decision") {
	case "approve":
		_, err = h.cfg.Control.RunApprove(q.ctx, q.caller, p)
	case "reject":
		_, err = h.cfg.Control.RunReject(q.ctx, q.caller, p)
	default:
		return "", errorf(control.CategoryNotFound, "", "no such decision %q: approve or reject", q.r.PathValue("decision"))
	}
	if err != nil {
		return "", err
	}
	return withNotice("/approvals", q.r.PathValue("decision")+"d"), nil
}

// ---- runs ------------------------------------------------------------------------------

type runsData struct {
	Runs       []control.RunSummary
	State      string
	States     []drills.RunState
	NextCursor string
}

func (h *handler) runs(q *req) (string, string, any, error) {
	if portalOnly(q.caller) {
		return "", "", nil, errToPortal // the portal lists the runs of each published report
	}
	q.need(control.OpRunRead)
	p := &control.RunListParams{Limit: 50, Cursor: q.r.URL.Query().Get("cursor")}
	state := q.r.URL.Query().Get("state")
	if state != "" {
		p.States = []drills.RunState{drills.RunState(state)}
	}
	list, err := h.cfg.Control.RunListGet(q.ctx, q.caller, p)
	if err != nil {
		return "", "", nil, err
	}
	return "runs", "nav.runs", &runsData{Runs: list.Runs, State: state, States: drills.RunStates, NextCursor: list.NextCursor}, nil
}

type runDetailData struct {
	View     *control.RunView
	Timeline template.HTML
	// StepRows are the rows of the table of steps (stepRows).
	StepRows template.HTML
}

func (h *handler) runDetail(q *req) (string, string, any, error) {
	q.need(control.OpRunRead)
	v, err := h.cfg.Control.RunGet(q.ctx, q.caller, pathID(q, "id"))
	if err != nil {
		return "", "", nil, err
	}
	if !v.Run.State.IsTerminal() {
		// A run still going is followed live; its full record is for when it has ended.
		return h.liveView(q, v)
	}
	return "run", "run.title", &runDetailData{View: v, Timeline: timelineSVG(q, v), StepRows: stepRows(q, v.Steps)}, nil
}

// ---- service history -------------------------------------------------------------------

type historyData struct {
	Service  *control.ServiceView
	Name     string
	Points   []historyPoint
	RTOChart template.HTML
	RPOChart template.HTML
}

// historyPoint is one drill's figures for the service.
type historyPoint struct {
	Run     control.RunSummary
	Measure control.MeasurementView
}

// historyRuns is how many of the service's newest drills the history shows.
const historyRuns = 60

// serviceHistory reads the estate's service, then its drills: a service's history is the
// estate's, which an auditor does not read (only the runs published reports cover).
func (h *handler) serviceHistory(q *req) (string, string, any, error) {
	q.need(control.OpEstateRead)
	name := pathID(q, "name")
	d := &historyData{Name: name}
	services, err := h.cfg.Control.ServiceList(q.ctx, q.caller)
	if err != nil {
		return "", "", nil, err
	}
	for i := range services {
		if services[i].Name == name {
			d.Service = &services[i]
		}
	}
	if d.Service == nil {
		return "", "", nil, errorf(control.CategoryNotFound, "", "no service %q in the estate", name)
	}
	q.need(control.OpRunRead)
	found, err := h.cfg.Control.ServiceDrillsGet(q.ctx, q.caller, &control.ServiceDrillsParams{Services: []string{name}, States: endedStates, PerService: historyRuns})
	if err != nil {
		return "", "", nil, err
	}
	for _, dr := range found[name] {
		d.Points = append(d.Points, historyPoint{Run: dr.Run, Measure: dr.Measure})
	}
	slices.Reverse(d.Points) // oldest first, as a chart reads
	d.RTOChart = historyChart(q, d.Points, "rto")
	d.RPOChart = historyChart(q, d.Points, "rpo")
	return "history", "history.title", d, nil
}

// ---- findings --------------------------------------------------------------------------

type findingsData struct {
	Findings   []control.FindingView
	Status     string
	Statuses   []drills.FindingStatus
	Severities []drills.FindingSeverity
	Editable   []drills.FindingStatus
	NextCursor string
}

func (h *handler) findings(q *req) (string, string, any, error) {
	q.need(control.OpFindingRead)
	p := &control.FindingListParams{Cursor: q.r.URL.Query().Get("cursor"), Limit: 100, Service: q.r.URL.Query().Get("service")}
	status := q.r.URL.Query().Get("status")
	if status != "" {
		p.Statuses = []drills.FindingStatus{drills.FindingStatus(status)}
	}
	list, err := h.cfg.Control.FindingList(q.ctx, q.caller, p)
	if err != nil {
		return "", "", nil, err
	}
	return "findings", "nav.findings", &findingsData{
		Findings: list.Findings, Status: status, NextCursor: list.NextCursor,
		Statuses:   []drills.FindingStatus{drills.FindingOpen, drills.FindingInProgress, drills.FindingFixed, drills.FindingRetested, drills.FindingRiskAccepted},
		Severities: []drills.FindingSeverity{drills.SeverityLow, drills.SeverityMedium, drills.SeverityHigh, drills.SeverityCritical},
		Editable:   []drills.FindingStatus{drills.FindingOpen, drills.FindingInProgress, drills.FindingFixed},
	}, nil
}

func (h *handler) findingAdd(q *req) (string, error) {
	q.need(control.OpFindingManage)
	f, err := h.cfg.Control.FindingAdd(q.ctx, q.caller, &control.FindingAddParams{
		Title: formValue(q, "title"), Description: formValue(q, "description"), Severity: formValue(q, "severity"),
		Service: formValue(q, "service"), RunID: formValue(q, "run_id"), Owner: formValue(q, "owner"),
		DueAt: formValue(q, "due_at"), Comment: formValue(q, "comment"),
	})
	if err != nil {
		return "", err
	}
	return withNotice("/findings", "added "+f.Finding.ID), nil
}

func (h *handler) findingUpdate(q *req) (string, error) {
	q.need(control.OpFindingManage)
	p := &control.FindingUpdateParams{ID: pathID(q, "id"), Comment: formValue(q, "comment")}
	set := func(field string) *string {
		if v := formValue(q, field); v != "" {
			return &v
		}
		return nil
	}
	p.Status, p.Owner, p.DueAt, p.Severity = set("status"), set("owner"), set("due_at"), set("severity")
	if _, err := h.cfg.Control.FindingUpdate(q.ctx, q.caller, p); err != nil {
		return "", err
	}
	return withNotice("/findings", "updated "+p.ID), nil
}

// ---- reports ---------------------------------------------------------------------------

type reportsData struct {
	Reports  []*control.ReportView
	Profiles []control.ProfileSummary
	// Period is the export form's default: the current year in the user's zone.
	Period string
}

func (h *handler) reports(q *req) (string, string, any, error) {
	q.need(control.OpReportRead)
	list, err := h.cfg.Control.ReportList(q.ctx, q.caller, &control.ReportListParams{})
	if err != nil {
		return "", "", nil, err
	}
	d := &reportsData{Reports: list, Period: fmt.Sprint(q.now.In(q.loc).Year())}
	if q.may(control.OpReportExport) {
		if d.Profiles, err = h.cfg.Control.ProfileList(q.ctx, q.caller); err != nil {
			return "", "", nil, err
		}
	}
	return "reports", "nav.reports", d, nil
}

func (h *handler) reportExport(q *req) (string, error) {
	q.need(control.OpReportExport)
	v, err := h.cfg.Control.ReportExport(q.ctx, q.caller, &control.ReportExportParams{
		Profile: formValue(q, "profile"), Period: formValue(q, "period"), Lang: formValue(q, "lang")})
	if err != nil {
		return "", err
	}
	return withNotice("/reports", "exported "+v.ID), nil
}

func (h *handler) reportPublish(q *req) (string, error) {
	q.need(control.OpReportPublish)
	v, err := h.cfg.Control.ReportPublish(q.ctx, q.caller, pathID(q, "id"))
	if err != nil {
		return "", err
	}
	return withNotice("/reports", "published "+v.ID), nil
}

// reportBundle streams a report's signed zip as a download.
func (h *handler) reportBundle(w http.ResponseWriter, r *http.Request) {
	q, ok := h.request(w, r)
	if !ok {
		return
	}
	q.need(control.OpReportRead)
	started := false
	err := h.cfg.Control.ReportBundle(q.ctx, q.caller, pathID(q, "id"), func(v *control.ReportView) {
		started = true
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("%s-v%d.zip", v.ID, v.Version)))
		w.Header().Set("Content-Length", fmt.Sprint(v.Size))
		w.Header().Set("Cache-Control", "no-store")
	}, w)
	if err != nil {
		if started {
			h.log.Error("report bundle cut short", "report", pathID(q, "id"), "err", err)
			return
		}
		h.fail(w, q, err)
	}
}

// ---- schedules -------------------------------------------------------------------------

func (h *handler) schedules(q *req) (string, string, any, error) {
	q.need(control.OpScheduleRead)
	list, err := h.cfg.Control.ScheduleList(q.ctx, q.caller)
	if err != nil {
		return "", "", nil, err
	}
	return "schedules", "nav.schedules", list, nil
}

func (h *handler) schedulePause(q *req) (string, error) {
	q.need(control.OpSchedulePause)
	p := &control.SchedulePauseParams{Name: pathID(q, "name"), Reason: formValue(q, "reason")}
	var err error
	switch q.r.PathValue("change") {
	case "pause":
		_, err = h.cfg.Control.SchedulePause(q.ctx, q.caller, p)
	case "resume":
		_, err = h.cfg.Control.ScheduleResume(q.ctx, q.caller, p)
	default:
		return "", errorf(control.CategoryNotFound, "", "no such change %q: pause or resume", q.r.PathValue("change"))
	}
	if err != nil {
		return "", err
	}
	return withNotice("/schedules", q.r.PathValue("change")+"d "+p.Name), nil
}

// ---- calendar --------------------------------------------------------------------------

type calendarData struct {
	Month      time.Time
	Year       int
	Prev, Next string
	Weekdays   []string
	Weeks      [][]calendarDay
	Services   []control.ServiceDue
}

// calendarDay is one cell of the month view.
type calendarDay struct {
	Date    time.Time
	InMonth bool
	Today   bool
	Fires   []calendarFire
	Runs    []control.RunSummary
	// Blackouts are the whole-day blackouts of the day, in words.
	Blackouts []string
}

func (h *handler) calendar(q *req) (string, string, any, error) {
	q.need(control.OpScheduleRead)
	if q.r.URL.Query().Get("view") == "year" {
		return h.calendarYear(q)
	}
	now := q.now.In(q.loc)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, q.loc)
	if m := q.r.URL.Query().Get("month"); m != "" {
		t, err := time.ParseInLocation("2006-01", m, q.loc)
		if err != nil {
			return "", "", nil, errorf(control.CategoryInvalid, "month", "month %q is not YYYY-MM", m)
		}
		month = t
	}
	end := month.AddDate(0, 1, 0)
	// The schedules' zones are not the reader's: ask a day more on each side and place each
	// fire by its instant in the reader's zone.
	cal, err := h.cfg.Control.CalendarGet(q.ctx, q.caller, &control.CalendarParams{From: month.AddDate(0, 0, -1), To: end})
	if err != nil {
		return "", "", nil, err
	}
	d := &calendarData{Month: month, Prev: month.AddDate(0, -1, 0).Format("2006-01"), Next: end.Format("2006-01"), Services: cal.Services, Year: month.Year()}
	for i := range 7 {
		d.Weekdays = append(d.Weekdays, weekdayName(q.lang, time.Weekday((i+1)%7)))
	}
	days := map[string]*calendarDay{}
	// Weeks start on Monday.
	first := month.AddDate(0, 0, -((int(month.Weekday()) + 6) % 7))
	for day := first; day.Before(end) || day.Weekday() != time.Monday; day = day.AddDate(0, 0, 1) {
		if day.Weekday() == time.Monday {
			d.Weeks = append(d.Weeks, nil)
		}
		w := &d.Weeks[len(d.Weeks)-1]
		*w = append(*w, calendarDay{Date: day, InMonth: day.Month() == month.Month(), Today: day.Format(time.DateOnly) == now.Format(time.DateOnly)})
	}
	for wi := range d.Weeks {
		for di := range d.Weeks[wi] {
			days[d.Weeks[wi][di].Date.Format(time.DateOnly)] = &d.Weeks[wi][di]
		}
	}
	for _, f := range cal.Fires {
		if day := days[f.At.In(q.loc).Format(time.DateOnly)]; day != nil {
			day.Fires = append(day.Fires, fireView(q.lang, f))
		}
	}
	for _, b := range cal.BlackoutDays {
		if day := days[b.Date]; day != nil && b.From == "" && b.To == "" {
			day.Blackouts = append(day.Blackouts, fmt.Sprintf(tr(q.lang, "cal.blackout_day"), b.Blackout, b.Reason))
		}
	}
	if q.may(control.OpRunRead) {
		since, until := first, d.Weeks[len(d.Weeks)-1][6].Date.AddDate(0, 0, 1)
		list, err := h.cfg.Control.RunListGet(q.ctx, q.caller, &control.RunListParams{Since: &since, Until: &until, Limit: 200})
		if err != nil {
			return "", "", nil, err
		}
		for _, r := range list.Runs {
			at := r.CreatedAt
			if r.T0 != nil {
				at = *r.T0
			}
			if day := days[at.In(q.loc).Format(time.DateOnly)]; day != nil {
				day.Runs = append(day.Runs, r)
			}
		}
	}
	return "calendar", "nav.calendar", d, nil
}

func weekdayName(lang string, d time.Weekday) string {
	if lang == "ko" {
		return []string{"일", "월", "화", "수", "목", "금", "토"}[d]
	}
	return d.String()[:3]
}
