package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// Route is one route of /api/v1.
type Route struct {
	Method string
	// Pattern is the path, with {wildcards} as http.ServeMux and OpenAPI write them.
	Pattern string
	// Operation is what the route's control method authorizes against control.Permissions.
	// It is empty for a public route and for one any authenticated caller may use (whoami).
	Operation control.Operation
	// Public routes need no token.
	Public bool
	// Body is the type of the JSON object the route decodes its body into; nil when it takes
	// none (an empty body, or {}).
	Body reflect.Type
	// Query lists the query parameters it takes; any other is refused.
	Query []string
	// Status is the status of a success: 201 for a creation; zero means 200.
	Status int

	serve handler
}

// Allows reports whether a caller acting with roles may use the route, from
// control.Permissions.
func (rt Route) Allows(roles []string) bool {
	return rt.Public || rt.Operation == "" || control.Allowed(rt.Operation, roles)
}

// handler serves one route for an authenticated caller (nil on a public route), given its
// decoded body (a pointer to a value of Route.Body, or nil). It returns the view to write as
// JSON with the route's status.
type handler func(ctx context.Context, s *Server, r *http.Request, c *control.Caller, body any) (any, error)

// Routes returns the route table of /api/v1, in the order of the contract.
func Routes() []Route { return slices.Clone(routes) }

// routes is the one route table: the server, its tests and the OpenAPI document's tests all
// read it.
var routes = []Route{
	{Method: "GET", Pattern: "/api/v1/openapi.json", Public: true, serve: getOpenAPI},
	{Method: "GET", Pattern: "/api/v1/whoami", serve: getWhoami},

	{Method: "GET", Pattern: "/api/v1/runs", Operation: control.OpRunRead, Query: runListQuery, serve: listRuns},
	{Method: "POST", Pattern: "/api/v1/runs", Operation: control.OpRunSubmit, Body: typeOf[control.RunSubmitParams](), Status: http.StatusCreated, serve: submitRun},
	{Method: "GET", Pattern: "/api/v1/runs/{id}", Operation: control.OpRunRead, serve: getRun},
	{Method: "POST", Pattern: "/api/v1/runs/{id}/approve", Operation: control.OpRunApprove, Body: typeOf[control.ApprovalDecideParams](), serve: approveRun},
	{Method: "POST", Pattern: "/api/v1/runs/{id}/reject", Operation: control.OpRunApprove, Body: typeOf[control.ApprovalDecideParams](), serve: rejectRun},
	{Method: "POST", Pattern: "/api/v1/runs/{id}/abort", Operation: control.OpRunAbort, Body: typeOf[control.RunAbortParams](), serve: abortRun},
	{Method: "POST", Pattern: "/api/v1/runs/{id}/steps/{key}/decision", Operation: control.OpStepDecide, Body: typeOf[control.StepDecideParams](), serve: decideStep},
	{Method: "POST", Pattern: "/api/v1/runs/{id}/participants", Operation: control.OpRunRecord, Body: typeOf[control.RunParticipantsParams](), serve: recordParticipants},
	{Method: "POST", Pattern: "/api/v1/runs/{id}/notes", Operation: control.OpRunRecord, Body: typeOf[control.RunNoteParams](), Status: http.StatusCreated, serve: addRunNote},
	{Method: "GET", Pattern: "/api/v1/approvals", Operation: control.OpApprovalList, serve: listApprovals},

	{Method: "GET", Pattern: "/api/v1/findings", Operation: control.OpFindingRead, Query: findingListQuery, serve: listFindings},
	{Method: "POST", Pattern: "/api/v1/findings", Operation: control.OpFindingManage, Body: typeOf[control.FindingAddParams](), Status: http.StatusCreated, serve: addFinding},
	{Method: "GET", Pattern: "/api/v1/findings/{id}", Operation: control.OpFindingRead, serve: getFinding},
	{Method: "PATCH", Pattern: "/api/v1/findings/{id}", Operation: control.OpFindingManage, Body: typeOf[control.FindingUpdateParams](), serve: updateFinding},
	{Method: "POST", Pattern: "/api/v1/findings/{id}/accept-risk", Operation: control.OpFindingAccept, Body: typeOf[control.FindingAcceptRiskParams](), serve: acceptFindingRisk},

	{Method: "GET", Pattern: "/api/v1/freeze", Operation: control.OpFreezeRead, serve: getFreeze},
	{Method: "PUT", Pattern: "/api/v1/freeze", Operation: control.OpFreezeSet, Body: typeOf[control.FreezeOnParams](), serve: freezeOn},
	{Method: "DELETE", Pattern: "/api/v1/freeze", Operation: control.OpFreezeSet, serve: freezeOff},

	{Method: "GET", Pattern: "/api/v1/schedules", Operation: control.OpScheduleRead, serve: listSchedules},
	{Method: "GET", Pattern: "/api/v1/schedules/{name}", Operation: control.OpScheduleRead, serve: getSchedule},
	{Method: "POST", Pattern: "/api/v1/schedules/{name}/pause", Operation: control.OpSchedulePause, Body: typeOf[control.SchedulePauseParams](), serve: pauseSchedule},
	{Method: "POST", Pattern: "/api/v1/schedules/{name}/resume", Operation: control.OpSchedulePause, Body: typeOf[control.SchedulePauseParams](), serve: resumeSchedule},
	{Method: "GET", Pattern: "/api/v1/calendar", Operation: control.OpScheduleRead, Query: calendarQuery, serve: getCalendar},

	{Method: "GET", Pattern: "/api/v1/services", Operation: control.OpEstateRead, serve: listServices},
	{Method: "GET", Pattern: "/api/v1/sites", Operation: control.OpEstateRead, serve: listSites},
	{Method: "POST", Pattern: "/api/v1/plans/validate", Operation: control.OpPlanValidate, Body: typeOf[control.PlanValidateParams](), serve: validatePlan},

	{Method: "GET", Pattern: "/api/v1/profiles", Operation: control.OpProfileRead, serve: listProfiles},
	{Method: "GET", Pattern: "/api/v1/profiles/{id}", Operation: control.OpProfileRead, serve: getProfile},

	{Method: "GET", Pattern: "/api/v1/users", Operation: control.OpUserRead, serve: listUsers},
	{Method: "POST", Pattern: "/api/v1/users", Operation: control.OpUserManage, Body: typeOf[control.UserCreateParams](), Status: http.StatusCreated, serve: createUser},
	{Method: "GET", Pattern: "/api/v1/users/{name}", Operation: control.OpUserRead, serve: getUser},
	{Method: "POST", Pattern: "/api/v1/users/{name}/disable", Operation: control.OpUserManage, serve: disableUser},
	{Method: "POST", Pattern: "/api/v1/users/{name}/roles", Operation: control.OpUserManage, Body: typeOf[control.RoleChangeParams](), serve: grantRole},
	{Method: "DELETE", Pattern: "/api/v1/users/{name}/roles/{role}", Operation: control.OpUserManage, serve: revokeRole},
	{Method: "PUT", Pattern: "/api/v1/users/{name}/password", Operation: control.OpUserManage, Body: typeOf[control.PasswordSetParams](), serve: setPassword},
	{Method: "GET", Pattern: "/api/v1/role-grants", Operation: control.OpUserRead, Query: userQuery, serve: listRoleGrants},

	{Method: "GET", Pattern: "/api/v1/tokens", Operation: control.OpTokenManage, Query: userQuery, serve: listTokens},
	{Method: "POST", Pattern: "/api/v1/tokens", Operation: control.OpTokenManage, Body: typeOf[control.TokenCreateParams](), Status: http.StatusCreated, serve: createToken},
	{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Operation: control.OpTokenManage, serve: revokeToken},

	{Method: "GET", Pattern: "/api/v1/audit", Operation: control.OpAuditRead, Query: auditListQuery, serve: listAudit},

	{Method: "GET", Pattern: "/api/v1/reports", Operation: control.OpReportRead, Query: reportListQuery, serve: listReports},
	{Method: "POST", Pattern: "/api/v1/reports", Operation: control.OpReportExport, Body: typeOf[control.ReportExportParams](), Status: http.StatusCreated, serve: exportReport},
	{Method: "GET", Pattern: "/api/v1/reports/{id}", Operation: control.OpReportRead, serve: getReport},
	{Method: "GET", Pattern: "/api/v1/reports/{id}/runs", Operation: control.OpReportRead, Query: []string{"limit"}, serve: listReportRuns},
	{Method: "GET", Pattern: "/api/v1/reports/{id}/bundle", Operation: control.OpReportRead, serve: getReportBundle},
	{Method: "GET", Pattern: "/api/v1/signing-key", Operation: control.OpReportVerify, serve: getSigningKey},
	{Method: "POST", Pattern: "/api/v1/reports/{id}/publish", Operation: control.OpReportPublish, serve: publishReport},
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// streamed is a reply a handler streams itself (a report bundle) instead of a JSON view:
// write calls start, with what the reply is, before its first byte.
type streamed struct {
	write func(w io.Writer, start func(contentType, filename string, size int64)) error
}

// noBody is what a route without a body accepts: nothing, or an empty object.
type noBody struct{}

// ViaHeader names the request header through which the CLI says it is the CLI.
const ViaHeader = "X-Firedrill-Via"

// serveRoute authenticates the caller, checks the query, decodes the body and calls the
// route's handler: the same order on every route, so that a caller without a valid token
// learns nothing of what the request would have done.
func (s *Server) serveRoute(rt Route) http.Handler {
	status := rt.Status
	if status == 0 {
		status = http.StatusOK
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		start := time.Now()
		var caller *control.Caller
		code, err := func() (int, error) {
			if !rt.Public {
				c, err := s.authenticate(ctx, r)
				if err != nil {
					return 0, err
				}
				caller = c
			}
			if err := checkQuery(r.URL.Query(), rt.Query); err != nil {
				return 0, err
			}
			data, err := readBody(w, r, s.cfg.MaxBodyBytes)
			if err != nil {
				return 0, err
			}
			var body any
			if rt.Body != nil {
				body = reflect.New(rt.Body).Interface()
				if err := decodeBody(data, body); err != nil {
					return 0, err
				}
			} else if data != nil {
				if err := decodeBody(data, &noBody{}); err != nil {
					return 0, err
				}
			}
			view, err := rt.serve(ctx, s, r, caller, body)
			if err != nil {
				return 0, err
			}
			if v := reflect.ValueOf(view); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
				return 0, fmt.Errorf("%s %s: the operation returned no view and no error", rt.Method, rt.Pattern)
			}
			if st, ok := view.(*streamed); ok {
				// The reply streams: its status and headers go out with its first bytes,
				// after which a failure can only cut it short.
				sent := false
				err := st.write(w, func(contentType, filename string, size int64) {
					w.Header().Set("Content-Type", contentType)
					w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
					w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
					w.WriteHeader(status)
					sent = true
				})
				if err != nil && !sent {
					return 0, err
				}
				if err != nil {
					s.log.ErrorContext(ctx, "streamed reply cut short", "route", rt.Pattern, "err", err)
				}
				return status, nil
			}
			if raw, ok := view.(json.RawMessage); ok {
				writeBytes(w, status, raw)
				return status, nil
			}
			b, err := json.Marshal(view)
			if err != nil {
				return 0, err
			}
			writeBytes(w, status, append(b, '\n'))
			return status, nil
		}()
		if err != nil {
			code = s.writeError(ctx, w, r, err)
		}
		attrs := []any{"method", r.Method, "route", rt.Pattern, "status", code, "duration_ms", time.Since(start).Milliseconds()}
		if caller != nil {
			attrs = append(attrs, "actor", caller.Actor.Name)
		}
		s.log.DebugContext(ctx, "request", attrs...)
	})
}

// authenticate turns the request's bearer token into a caller. The token is passed to
// control and nowhere else: never logged, never echoed.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (*control.Caller, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, &control.Error{Category: control.CategoryUnauthenticated,
			Message: "no API token: send Authorization: Bearer <token> (an admin creates one with `firedrill token create`)"}
	}
	via := drills.ViaAPI
	if strings.EqualFold(strings.TrimSpace(r.Header.Get(ViaHeader)), string(drills.ViaCLI)) {
		via = drills.ViaCLI
	}
	caller, err := s.cfg.Control.Authenticate(ctx, token, via)
	if err != nil {
		return nil, err
	}
	if caller == nil {
		return nil, &control.Error{Category: control.CategoryUnauthenticated, Message: "the API token is not valid"}
	}
	return caller, nil
}
