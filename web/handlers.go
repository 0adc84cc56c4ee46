package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/firedrill/firedrill/orchestrator/control"
)

// Each handler translates: path values and the decoded body into the control method's
// params, the view it returns into the reply. Lists are wrapped in an object and never null.

func getOpenAPI(context.Context, *Server, *http.Request, *control.Caller, any) (any, error) {
	return json.RawMessage(OpenAPI), nil
}

func getWhoami(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.WhoamiGet(ctx, c)
}

// ---- Runs -------------------------------------------------------------------------------

func listRuns(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	p, err := runListParams(r.URL.Query())
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Control.RunListGet(ctx, c, p)
	if err != nil {
		return nil, err
	}
	if list.Runs == nil {
		list.Runs = []control.RunSummary{}
	}
	return list, nil
}

func submitRun(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, body any) (any, error) {
	return s.cfg.Control.RunSubmit(ctx, c, body.(*control.RunSubmitParams))
}

func getRun(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.RunGet(ctx, c, r.PathValue("id"))
}

func approveRun(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.ApprovalDecideParams)
	p.RunID = r.PathValue("id")
	return s.cfg.Control.RunApprove(ctx, c, p)
}

func rejectRun(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.ApprovalDecideParams)
	p.RunID = r.PathValue("id")
	return s.cfg.Control.RunReject(ctx, c, p)
}

func abortRun(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.RunAbortParams)
	p.RunID = r.PathValue("id")
	return s.cfg.Control.RunAbort(ctx, c, p)
}

func decideStep(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.StepDecideParams)
	p.RunID, p.StepKey = r.PathValue("id"), r.PathValue("key")
	return s.cfg.Control.StepDecide(ctx, c, p)
}

func listApprovals(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	list, err := s.cfg.Control.ApprovalsWaiting(ctx, c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"approvals": nonNil(list)}, nil
}

func recordParticipants(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.RunParticipantsParams)
	p.RunID = r.PathValue("id")
	list, err := s.cfg.Control.RunParticipantsRecord(ctx, c, p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"participants": nonNil(list)}, nil
}

func addRunNote(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.RunNoteParams)
	p.RunID = r.PathValue("id")
	return s.cfg.Control.RunNoteAdd(ctx, c, p)
}

// ---- Findings ---------------------------------------------------------------------------

func listFindings(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	p, err := findingListParams(r.URL.Query())
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Control.FindingList(ctx, c, p)
	if err != nil {
		return nil, err
	}
	list.Findings = nonNil(list.Findings)
	return list, nil
}

func addFinding(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, body any) (any, error) {
	return s.cfg.Control.FindingAdd(ctx, c, body.(*control.FindingAddParams))
}

func getFinding(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.FindingGet(ctx, c, r.PathValue("id"))
}

func updateFinding(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.FindingUpdateParams)
	p.ID = r.PathValue("id")
	return s.cfg.Control.FindingUpdate(ctx, c, p)
}

func acceptFindingRisk(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.FindingAcceptRiskParams)
	p.ID = r.PathValue("id")
	return s.cfg.Control.FindingAcceptRisk(ctx, c, p)
}

// ---- Freeze -----------------------------------------------------------------------------

func getFreeze(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.FreezeGet(ctx, c)
}

func freezeOn(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, body any) (any, error) {
	return s.cfg.Control.FreezeOn(ctx, c, body.(*control.FreezeOnParams))
}

func freezeOff(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.FreezeOff(ctx, c)
}

// ---- Schedules, calendar, estate --------------------------------------------------------

func listSchedules(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	list, err := s.cfg.Control.ScheduleList(ctx, c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"schedules": nonNil(list)}, nil
}

func getSchedule(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.ScheduleGet(ctx, c, r.PathValue("name"))
}

func pauseSchedule(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.SchedulePauseParams)
	p.Name = r.PathValue("name")
	return s.cfg.Control.SchedulePause(ctx, c, p)
}

func resumeSchedule(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.SchedulePauseParams)
	p.Name = r.PathValue("name")
	return s.cfg.Control.ScheduleResume(ctx, c, p)
}

func getCalendar(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	p, err := calendarParams(r.URL.Query())
	if err != nil {
		return nil, err
	}
	return s.cfg.Control.CalendarGet(ctx, c, p)
}

func listServices(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	list, err := s.cfg.Control.ServiceList(ctx, c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"services": nonNil(list)}, nil
}

func listProfiles(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	list, err := s.cfg.Control.ProfileList(ctx, c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"profiles": nonNil(list)}, nil
}

func getProfile(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.ProfileGet(ctx, c, r.PathValue("id"))
}

func listSites(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	list, err := s.cfg.Control.SiteList(ctx, c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"sites": nonNil(list)}, nil
}

func validatePlan(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, body any) (any, error) {
	v, err := s.cfg.Control.PlanValidate(ctx, c, body.(*control.PlanValidateParams))
	if err != nil {
		return nil, err
	}
	if v.Diagnostics == nil {
		v.Diagnostics = []control.Diagnostic{}
	}
	return v, nil
}

// ---- Users, roles, tokens ---------------------------------------------------------------

func listUsers(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	list, err := s.cfg.Control.UserList(ctx, c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"users": nonNil(list)}, nil
}

func createUser(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, body any) (any, error) {
	return s.cfg.Control.UserCreate(ctx, c, body.(*control.UserCreateParams))
}

func getUser(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.UserGet(ctx, c, r.PathValue("name"))
}

func disableUser(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.UserDisable(ctx, c, r.PathValue("name"))
}

func grantRole(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.RoleChangeParams)
	p.User = r.PathValue("name")
	return s.cfg.Control.RoleGrant(ctx, c, p)
}

func revokeRole(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.RoleRevoke(ctx, c, &control.RoleChangeParams{User: r.PathValue("name"), Role: r.PathValue("role")})
}

func setPassword(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error) {
	p := body.(*control.PasswordSetParams)
	p.User = r.PathValue("name")
	return s.cfg.Control.PasswordSet(ctx, c, p)
}

func listRoleGrants(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	user, err := userFilter(r.URL.Query())
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Control.RoleGrantList(ctx, c, user)
	if err != nil {
		return nil, err
	}
	return map[string]any{"grants": nonNil(list)}, nil
}

func listTokens(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	user, err := userFilter(r.URL.Query())
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Control.TokenList(ctx, c, user)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tokens": nonNil(list)}, nil
}

func createToken(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, body any) (any, error) {
	return s.cfg.Control.TokenCreate(ctx, c, body.(*control.TokenCreateParams))
}

func revokeToken(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.TokenRevoke(ctx, c, r.PathValue("id"))
}

// nonNil makes an empty list encode as [], not null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// ---- Reports ----------------------------------------------------------------------------

var reportListQuery = []string{"state", "profile", "period", "limit"}

func listReports(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	q := r.URL.Query()
	p := &control.ReportListParams{State: q.Get("state"), Profile: q.Get("profile"), Period: q.Get("period")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return nil, &control.Error{Category: control.CategoryInvalid, Field: "limit", Message: "limit " + strconv.Quote(l) + " is not a number"}
		}
		p.Limit = n
	}
	list, err := s.cfg.Control.ReportList(ctx, c, p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"reports": list}, nil
}

func listReportRuns(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	p := &control.ReportRunsParams{ID: r.PathValue("id")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return nil, &control.Error{Category: control.CategoryInvalid, Field: "limit", Message: "limit " + strconv.Quote(l) + " is not a number"}
		}
		p.Limit = n
	}
	return s.cfg.Control.ReportRuns(ctx, c, p)
}

func getSigningKey(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.ReportPublicKey(ctx, c)
}

func exportReport(ctx context.Context, s *Server, _ *http.Request, c *control.Caller, body any) (any, error) {
	return s.cfg.Control.ReportExport(ctx, c, body.(*control.ReportExportParams))
}

func getReport(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.ReportGet(ctx, c, r.PathValue("id"))
}

func publishReport(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	return s.cfg.Control.ReportPublish(ctx, c, r.PathValue("id"))
}

// getReportBundle streams the signed zip, a chunk at a time from the store.
func getReportBundle(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	id := r.PathValue("id")
	// Check first, so that a refusal is a JSON error and not a cut-short zip.
	if _, err := s.cfg.Control.ReportGet(ctx, c, id); err != nil {
		return nil, err
	}
	return &streamed{write: func(w io.Writer, start func(string, string, int64)) error {
		return s.cfg.Control.ReportBundle(ctx, c, id, func(v *control.ReportView) {
			start("application/zip", v.ID+".zip", v.Size)
		}, w)
	}}, nil
}

func listAudit(ctx context.Context, s *Server, r *http.Request, c *control.Caller, _ any) (any, error) {
	p, err := auditListParams(r.URL.Query())
	if err != nil {
		return nil, err
	}
	return s.cfg.Control.AuditListGet(ctx, c, p)
}
