// Package client is the Go client of firedrill's JSON API (/api/v1), the way
// github.com/hashicorp/nomad/api is Nomad's: one method per route, taking and returning the
// params and view types of orchestrator/control (their JSON tags are the wire format).
//
// A refused request comes back as a *control.Error carrying the server's category, its safe
// message, the field at fault and, for plan problems, the positioned diagnostics, so a front
// end maps categories to exit codes in one place (control.CategoryOf). Every request has its
// own deadline. The API token is sent as a bearer token and never appears in an error.
//
// client performs no authorization of its own and holds no state beyond its Config: the
// server decides.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// Defaults.
const (
	// DefaultAddress is where `firedrill serve` listens by default.
	DefaultAddress = "http://127.0.0.1:8080"
	// DefaultTimeout bounds one request, reply included.
	DefaultTimeout = 30 * time.Second
	// MaxReplyBytes bounds a reply the client reads.
	MaxReplyBytes = 64 << 20
)

// HeaderVia names the channel a person acts through (cli); the server records it with the
// actor. Without it the server records api.
const HeaderVia = "X-Firedrill-Via"

// APIPrefix is the path every route of the API starts with.
const APIPrefix = "/api/v1"

// Config configures a Client.
type Config struct {
	// Address is the server's base URL, http:// or https://. Defaults to DefaultAddress.
	Address string
	// Token is the API token sent as "Authorization: Bearer <token>"; empty sends none (only
	// the OpenAPI document can be read without one).
	Token string
	// HTTPClient defaults to a client of its own on a clone of http.DefaultTransport.
	HTTPClient *http.Client
	// Via is sent as X-Firedrill-Via (the CLI sends cli); empty sends nothing.
	Via drills.Via
	// Timeout bounds each request, reply included. Defaults to DefaultTimeout.
	Timeout time.Duration
}

// Client talks to one firedrill server. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	hc   *http.Client
}

// New returns a Client. It checks the configuration only; it does not contact the server.
func New(cfg Config) (*Client, error) {
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("client: Config.Timeout %s is negative", cfg.Timeout)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	u, err := url.Parse(strings.TrimRight(cfg.Address, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: Config.Address %q is not an http:// or https:// URL of a firedrill server", cfg.Address)
	}
	if u.User != nil {
		return nil, errors.New("client: Config.Address must not carry credentials: give the API token as Config.Token")
	}
	for _, r := range cfg.Token {
		// A header value cannot hold these; say so without echoing the secret.
		if r <= ' ' || r == 0x7f {
			return nil, errors.New("client: Config.Token holds a space or a control character: an API token is one word (fdt_...)")
		}
	}
	switch cfg.Via {
	case "", drills.ViaCLI, drills.ViaAPI, drills.ViaWeb:
	default:
		return nil, fmt.Errorf("client: Config.Via %q is not one of cli, api, web", cfg.Via)
	}
	return &Client{cfg: cfg, base: u, hc: cfg.HTTPClient}, nil
}

// Address is the server's base URL.
func (c *Client) Address() string { return c.base.String() }

// HasToken reports whether the client sends an API token.
func (c *Client) HasToken() bool { return c.cfg.Token != "" }

// HTTPError is the internal cause of an error reply: the route and the status. It is wrapped
// in the *control.Error the client returns.
type HTTPError struct {
	Method     string
	Path       string
	StatusCode int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
}

// errorReply is the body of every error reply.
type errorReply struct {
	Error *struct {
		Code        string               `json:"code"`
		Message     string               `json:"message"`
		Field       string               `json:"field,omitempty"`
		Diagnostics []control.Diagnostic `json:"diagnostics,omitempty"`
	} `json:"error"`
}

// categoryOfStatus is the category of a status when the reply says none (a proxy's page, a
// server too old to say).
func categoryOfStatus(status int) control.Category {
	switch status {
	case http.StatusUnauthorized:
		return control.CategoryUnauthenticated
	case http.StatusForbidden:
		return control.CategoryForbidden
	case http.StatusNotFound:
		return control.CategoryNotFound
	case http.StatusConflict:
		return control.CategoryConflict
	}
	if status >= 400 && status < 500 {
		return control.CategoryInvalid
	}
	return control.CategoryInternal
}

var knownCategories = map[control.Category]bool{
	control.CategoryInvalid: true, control.CategoryUnauthenticated: true, control.CategoryForbidden: true,
	control.CategoryNotFound: true, control.CategoryConflict: true, control.CategoryInternal: true,
}

// replyError turns an error reply into a *control.Error.
func replyError(method, path string, status int, body []byte) *control.Error {
	cause := &HTTPError{Method: method, Path: path, StatusCode: status}
	var r errorReply
	if json.Unmarshal(body, &r) == nil && r.Error != nil && r.Error.Message != "" {
		cat := control.Category(r.Error.Code)
		if !knownCategories[cat] {
			cat = categoryOfStatus(status)
		}
		e := &control.Error{Category: cat, Message: r.Error.Message, Field: r.Error.Field, Err: cause}
		if len(r.Error.Diagnostics) > 0 {
			e.Details = r.Error.Diagnostics
		}
		return e
	}
	return &control.Error{
		Category: categoryOfStatus(status),
		Message:  fmt.Sprintf("%s %s: the server answered %d %s", method, path, status, http.StatusText(status)),
		Err:      cause,
	}
}

// Diagnostics returns the positioned plan problems an error carries, if any.
func Diagnostics(err error) []control.Diagnostic {
	var e *control.Error
	if errors.As(err, &e) {
		if ds, ok := e.Details.([]control.Diagnostic); ok {
			return ds
		}
	}
	return nil
}

// do sends one request under its own deadline. body, when not nil, is sent as JSON; a 2xx
// reply is decoded into out when out is not nil.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	return c.doWithin(ctx, c.cfg.Timeout, method, path, query, body, out)
}

// doWithin is do with its own bound on the request, for the few that take longer.
func (c *Client) doWithin(ctx context.Context, timeout time.Duration, method, path string, query url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := *c.base
	u.Path = c.base.Path + APIPrefix + path
	u.RawPath = c.base.Path + APIPrefix + escapedPath(path)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "firedrill-client")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if c.cfg.Via != "" {
		req.Header.Set(HeaderVia, string(c.cfg.Via))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(ctx, timeout, method, path, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplyBytes+1))
	if err != nil {
		return c.transportError(ctx, timeout, method, path, err)
	}
	if len(reply) > MaxReplyBytes {
		return fmt.Errorf("%s %s: the reply is larger than %d bytes", method, path, MaxReplyBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return replyError(method, path, resp.StatusCode, reply)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(reply, out); err != nil {
		return fmt.Errorf("%s %s: the reply is not what firedrill sends (is %s a firedrill server?): %w", method, path, c.base, err)
	}
	return nil
}

// transportError says the server could not be reached or did not answer in time. It names
// the address (never the token, which only travels in a header).
func (c *Client) transportError(ctx context.Context, timeout time.Duration, method, path string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: firedrill at %s did not answer within %s", method, path, c.base, timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s: cannot reach firedrill at %s (is `firedrill serve` running there? set --address or FIREDRILL_ADDR): %w", method, path, c.base, err)
}

// escapedPath escapes each segment of a route path built with seg.
func escapedPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// seg checks a path segment supplied by the caller: it must not be empty nor hold a slash,
// which would name another route.
func seg(what, v string) (string, error) {
	if v == "" {
		return "", &control.Error{Category: control.CategoryInvalid, Message: what + " is required", Field: what}
	}
	if strings.Contains(v, "/") {
		return "", &control.Error{Category: control.CategoryInvalid, Message: fmt.Sprintf("%s %q holds a slash", what, v), Field: what}
	}
	return v, nil
}

// ---- Routes -----------------------------------------------------------------------------

// OpenAPI returns the API's OpenAPI 3 document. It needs no token.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	var doc json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/openapi.json", nil, nil, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// Whoami says who the token stands for and what it may do.
func (c *Client) Whoami(ctx context.Context) (*control.Whoami, error) {
	return call[control.Whoami](ctx, c, http.MethodGet, "/whoami", nil, nil)
}

// RunList returns a page of runs, newest first.
func (c *Client) RunList(ctx context.Context, p *control.RunListParams) (*control.RunList, error) {
	q := url.Values{}
	if p != nil {
		for _, s := range p.States {
			q.Add("state", string(s))
		}
		setNonEmpty(q, "plan", p.Plan)
		setNonEmpty(q, "schedule", p.Schedule)
		setNonEmpty(q, "requested_by", p.RequestedBy)
		setPage(q, p.Since, p.Until, p.Limit, p.Cursor)
	}
	return call[control.RunList](ctx, c, http.MethodGet, "/runs", q, nil)
}

// setPage sets a list's time window and page: since and until when given, limit when not 0,
// cursor when not empty.
func setPage(q url.Values, since, until *time.Time, limit int, cursor string) {
	if since != nil {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if until != nil {
		q.Set("until", until.UTC().Format(time.RFC3339Nano))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	setNonEmpty(q, "cursor", cursor)
}

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// RunSubmit asks for a run of a plan against the server's estate.
func (c *Client) RunSubmit(ctx context.Context, p *control.RunSubmitParams) (*control.RunSummary, error) {
	return call[control.RunSummary](ctx, c, http.MethodPost, "/runs", nil, p)
}

// RunGet returns a run with all its evidence and its timeline.
func (c *Client) RunGet(ctx context.Context, runID string) (*control.RunView, error) {
	id, err := seg("run_id", runID)
	if err != nil {
		return nil, err
	}
	return call[control.RunView](ctx, c, http.MethodGet, "/runs/"+id, nil, nil)
}

// RunApprove approves a run awaiting approval.
func (c *Client) RunApprove(ctx context.Context, p *control.ApprovalDecideParams) (*control.ApprovalOutcome, error) {
	return c.approvalDecide(ctx, "approve", p)
}

// RunReject rejects a run awaiting approval.
func (c *Client) RunReject(ctx context.Context, p *control.ApprovalDecideParams) (*control.ApprovalOutcome, error) {
	return c.approvalDecide(ctx, "reject", p)
}

func (c *Client) approvalDecide(ctx context.Context, verb string, p *control.ApprovalDecideParams) (*control.ApprovalOutcome, error) {
	id, err := seg("run_id", p.RunID)
	if err != nil {
		return nil, err
	}
	return call[control.ApprovalOutcome](ctx, c, http.MethodPost, "/runs/"+id+"/"+verb, nil, p)
}

// RunAbort asks a run to abort.
func (c *Client) RunAbort(ctx context.Context, p *control.RunAbortParams) (*control.RunSummary, error) {
	id, err := seg("run_id", p.RunID)
	if err != nil {
		return nil, err
	}
	return call[control.RunSummary](ctx, c, http.MethodPost, "/runs/"+id+"/abort", nil, p)
}

// StepDecide records a decision on a step that waits for a person.
func (c *Client) StepDecide(ctx context.Context, p *control.StepDecideParams) (*control.DecisionView, error) {
	id, err := seg("run_id", p.RunID)
	if err != nil {
		return nil, err
	}
	key, err := seg("step_key", p.StepKey)
	if err != nil {
		return nil, err
	}
	return call[control.DecisionView](ctx, c, http.MethodPost, "/runs/"+id+"/steps/"+key+"/decision", nil, p)
}

// ApprovalsWaiting lists the runs awaiting approval, those the caller can approve first.
func (c *Client) ApprovalsWaiting(ctx context.Context) ([]control.ApprovalWaiting, error) {
	return listOf[control.ApprovalWaiting](ctx, c, http.MethodGet, "/approvals", nil, nil, "approvals")
}

// FreezeGet says whether a freeze is on.
func (c *Client) FreezeGet(ctx context.Context) (*control.FreezeView, error) {
	return call[control.FreezeView](ctx, c, http.MethodGet, "/freeze", nil, nil)
}

// FreezeOn turns the freeze on.
func (c *Client) FreezeOn(ctx context.Context, p *control.FreezeOnParams) (*control.FreezeView, error) {
	return call[control.FreezeView](ctx, c, http.MethodPut, "/freeze", nil, p)
}

// FreezeOff lifts the freeze.
func (c *Client) FreezeOff(ctx context.Context) (*control.FreezeView, error) {
	return call[control.FreezeView](ctx, c, http.MethodDelete, "/freeze", nil, nil)
}

// ScheduleList lists the schedules.
func (c *Client) ScheduleList(ctx context.Context) ([]control.ScheduleView, error) {
	return listOf[control.ScheduleView](ctx, c, http.MethodGet, "/schedules", nil, nil, "schedules")
}

// ScheduleGet returns one schedule with its recorded and next fires.
func (c *Client) ScheduleGet(ctx context.Context, name string) (*control.ScheduleDetail, error) {
	n, err := seg("name", name)
	if err != nil {
		return nil, err
	}
	return call[control.ScheduleDetail](ctx, c, http.MethodGet, "/schedules/"+n, nil, nil)
}

// SchedulePause pauses a schedule.
func (c *Client) SchedulePause(ctx context.Context, p *control.SchedulePauseParams) (*control.ScheduleView, error) {
	return c.schedulePaused(ctx, "pause", p)
}

// ScheduleResume resumes a paused schedule.
func (c *Client) ScheduleResume(ctx context.Context, p *control.SchedulePauseParams) (*control.ScheduleView, error) {
	return c.schedulePaused(ctx, "resume", p)
}

func (c *Client) schedulePaused(ctx context.Context, verb string, p *control.SchedulePauseParams) (*control.ScheduleView, error) {
	n, err := seg("name", p.Name)
	if err != nil {
		return nil, err
	}
	return call[control.ScheduleView](ctx, c, http.MethodPost, "/schedules/"+n+"/"+verb, nil, p)
}

// CalendarGet returns the fires on the local dates From..To (both included), of every
// schedule or of p.Schedule, and each service's due status. Only the dates of From and To
// count.
func (c *Client) CalendarGet(ctx context.Context, p *control.CalendarParams) (*control.Calendar, error) {
	q := url.Values{}
	q.Set("from", p.From.Format(time.DateOnly))
	q.Set("to", p.To.Format(time.DateOnly))
	setNonEmpty(q, "schedule", p.Schedule)
	return call[control.Calendar](ctx, c, http.MethodGet, "/calendar", q, nil)
}

// ServiceList lists the estate's services with their due status.
func (c *Client) ServiceList(ctx context.Context) ([]control.ServiceView, error) {
	return listOf[control.ServiceView](ctx, c, http.MethodGet, "/services", nil, nil, "services")
}

// SiteList lists the estate's sites.
func (c *Client) SiteList(ctx context.Context) ([]control.SiteView, error) {
	return listOf[control.SiteView](ctx, c, http.MethodGet, "/sites", nil, nil, "sites")
}

// ProfileList lists the regulator profiles the server ships.
func (c *Client) ProfileList(ctx context.Context) ([]control.ProfileSummary, error) {
	return listOf[control.ProfileSummary](ctx, c, http.MethodGet, "/profiles", nil, nil, "profiles")
}

// ProfileGet reads one regulator profile.
func (c *Client) ProfileGet(ctx context.Context, id string) (*control.ProfileView, error) {
	s, err := seg("id", id)
	if err != nil {
		return nil, err
	}
	return call[control.ProfileView](ctx, c, http.MethodGet, "/profiles/"+s, nil, nil)
}

// PlanValidate validates a plan against the server's estate; an invalid plan is a
// PlanValidation with Valid false, not an error.
func (c *Client) PlanValidate(ctx context.Context, p *control.PlanValidateParams) (*control.PlanValidation, error) {
	return call[control.PlanValidation](ctx, c, http.MethodPost, "/plans/validate", nil, p)
}

// UserList lists users.
func (c *Client) UserList(ctx context.Context) ([]control.UserView, error) {
	return listOf[control.UserView](ctx, c, http.MethodGet, "/users", nil, nil, "users")
}

// UserGet returns one user.
func (c *Client) UserGet(ctx context.Context, name string) (*control.UserView, error) {
	n, err := seg("name", name)
	if err != nil {
		return nil, err
	}
	return call[control.UserView](ctx, c, http.MethodGet, "/users/"+n, nil, nil)
}

// UserCreate creates a user with roles.
func (c *Client) UserCreate(ctx context.Context, p *control.UserCreateParams) (*control.UserView, error) {
	return call[control.UserView](ctx, c, http.MethodPost, "/users", nil, p)
}

// UserDisable disables a user; their tokens stop working at once.
func (c *Client) UserDisable(ctx context.Context, name string) (*control.UserView, error) {
	n, err := seg("name", name)
	if err != nil {
		return nil, err
	}
	return call[control.UserView](ctx, c, http.MethodPost, "/users/"+n+"/disable", nil, nil)
}

// RoleGrant grants a user a role.
func (c *Client) RoleGrant(ctx context.Context, p *control.RoleChangeParams) (*control.UserView, error) {
	n, err := seg("user", p.User)
	if err != nil {
		return nil, err
	}
	return call[control.UserView](ctx, c, http.MethodPost, "/users/"+n+"/roles", nil, p)
}

// RoleRevoke revokes a user's role.
func (c *Client) RoleRevoke(ctx context.Context, p *control.RoleChangeParams) (*control.UserView, error) {
	n, err := seg("user", p.User)
	if err != nil {
		return nil, err
	}
	r, err := seg("role", p.Role)
	if err != nil {
		return nil, err
	}
	return call[control.UserView](ctx, c, http.MethodDelete, "/users/"+n+"/roles/"+r, nil, nil)
}

// RoleGrantList returns the recorded role changes of user, or of everyone when user is "".
// PasswordSet sets a user's console password (admins only); the user's console sessions end.
func (c *Client) PasswordSet(ctx context.Context, p *control.PasswordSetParams) (*control.UserView, error) {
	n, err := seg("user", p.User)
	if err != nil {
		return nil, err
	}
	var out control.UserView
	if err := c.do(ctx, http.MethodPut, "/users/"+n+"/password", nil, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) RoleGrantList(ctx context.Context, user string) ([]control.RoleGrantView, error) {
	q := url.Values{}
	setNonEmpty(q, "user", user)
	return listOf[control.RoleGrantView](ctx, c, http.MethodGet, "/role-grants", q, nil, "grants")
}

// TokenList lists the tokens of user, or of everyone when user is "", without secrets.
func (c *Client) TokenList(ctx context.Context, user string) ([]control.TokenView, error) {
	q := url.Values{}
	setNonEmpty(q, "user", user)
	return listOf[control.TokenView](ctx, c, http.MethodGet, "/tokens", q, nil, "tokens")
}

// TokenCreate creates a token; its secret is in the reply and nowhere else.
func (c *Client) TokenCreate(ctx context.Context, p *control.TokenCreateParams) (*control.NewToken, error) {
	return call[control.NewToken](ctx, c, http.MethodPost, "/tokens", nil, p)
}

// TokenRevoke revokes a token.
func (c *Client) TokenRevoke(ctx context.Context, id string) (*control.TokenView, error) {
	tid, err := seg("token_id", id)
	if err != nil {
		return nil, err
	}
	return call[control.TokenView](ctx, c, http.MethodDelete, "/tokens/"+tid, nil, nil)
}

// ---- Reports ----------------------------------------------------------------------------

// ReportTimeout bounds an export and a download: a year's bundle of a large estate takes
// longer than an ordinary request.
const ReportTimeout = 30 * time.Minute

// ReportExport asks the server to build, sign and store a draft report.
func (c *Client) ReportExport(ctx context.Context, p *control.ReportExportParams) (*control.ReportView, error) {
	var out control.ReportView
	if err := c.doWithin(ctx, ReportTimeout, http.MethodPost, "/reports", nil, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportList lists reports, newest first.
func (c *Client) ReportList(ctx context.Context, p *control.ReportListParams) ([]control.ReportView, error) {
	q := url.Values{}
	if p != nil {
		setNonEmpty(q, "state", p.State)
		setNonEmpty(q, "profile", p.Profile)
		setNonEmpty(q, "period", p.Period)
		if p.Limit > 0 {
			q.Set("limit", strconv.Itoa(p.Limit))
		}
	}
	return listOf[control.ReportView](ctx, c, http.MethodGet, "/reports", q, nil, "reports")
}

// ReportGet reads one report.
func (c *Client) ReportGet(ctx context.Context, id string) (*control.ReportView, error) {
	rid, err := seg("id", id)
	if err != nil {
		return nil, err
	}
	return call[control.ReportView](ctx, c, http.MethodGet, "/reports/"+rid, nil, nil)
}

// ReportPublish publishes a draft report.
func (c *Client) ReportPublish(ctx context.Context, id string) (*control.ReportView, error) {
	rid, err := seg("id", id)
	if err != nil {
		return nil, err
	}
	var out control.ReportView
	if err := c.doWithin(ctx, ReportTimeout, http.MethodPost, "/reports/"+rid+"/publish", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportDownload streams the report's bundle to w and returns its size. The reply is not
// held in memory.
func (c *Client) ReportDownload(ctx context.Context, id string, w io.Writer) (int64, error) {
	rid, err := seg("id", id)
	if err != nil {
		return 0, err
	}
	path := "/reports/" + rid + "/bundle"
	ctx, cancel := context.WithTimeout(ctx, ReportTimeout)
	defer cancel()
	u := *c.base
	u.Path = c.base.Path + APIPrefix + path
	u.RawPath = c.base.Path + APIPrefix + escapedPath(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/zip, application/json")
	req.Header.Set("User-Agent", "firedrill-client")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if c.cfg.Via != "" {
		req.Header.Set(HeaderVia, string(c.cfg.Via))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, c.transportError(ctx, ReportTimeout, http.MethodGet, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		reply, _ := io.ReadAll(io.LimitReader(resp.Body, MaxReplyBytes))
		return 0, replyError(http.MethodGet, path, resp.StatusCode, reply)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("GET %s: the bundle was cut short (%d of %d bytes)", path, n, resp.ContentLength)
	}
	return n, nil
}

// ---- Findings and run records ---------------------------------------------------------

// RunParticipantsRecord records who took part in a run; it returns every participant of the
// run as last recorded.
func (c *Client) RunParticipantsRecord(ctx context.Context, p *control.RunParticipantsParams) ([]control.ParticipantView, error) {
	id, err := seg("run_id", p.RunID)
	if err != nil {
		return nil, err
	}
	return listOf[control.ParticipantView](ctx, c, http.MethodPost, "/runs/"+id+"/participants", nil, p, "participants")
}

// RunNoteAdd notes a deviation or a lesson on a run.
func (c *Client) RunNoteAdd(ctx context.Context, p *control.RunNoteParams) (*control.NoteView, error) {
	id, err := seg("run_id", p.RunID)
	if err != nil {
		return nil, err
	}
	return call[control.NoteView](ctx, c, http.MethodPost, "/runs/"+id+"/notes", nil, p)
}

// FindingList returns a page of findings, by number.
func (c *Client) FindingList(ctx context.Context, p *control.FindingListParams) (*control.FindingList, error) {
	q := url.Values{}
	if p != nil {
		for _, s := range p.Statuses {
			q.Add("status", string(s))
		}
		setNonEmpty(q, "service", p.Service)
		setNonEmpty(q, "run", p.RunID)
		if p.Overdue {
			q.Set("overdue", "true")
		}
		if p.Limit != 0 {
			q.Set("limit", strconv.Itoa(p.Limit))
		}
		setNonEmpty(q, "cursor", p.Cursor)
	}
	return call[control.FindingList](ctx, c, http.MethodGet, "/findings", q, nil)
}

// FindingAdd records a finding by hand.
func (c *Client) FindingAdd(ctx context.Context, p *control.FindingAddParams) (*control.FindingDetail, error) {
	return call[control.FindingDetail](ctx, c, http.MethodPost, "/findings", nil, p)
}

// FindingGet returns a finding with its history.
func (c *Client) FindingGet(ctx context.Context, id string) (*control.FindingDetail, error) {
	s, err := seg("finding_id", id)
	if err != nil {
		return nil, err
	}
	return call[control.FindingDetail](ctx, c, http.MethodGet, "/findings/"+s, nil, nil)
}

// FindingUpdate changes a finding.
func (c *Client) FindingUpdate(ctx context.Context, p *control.FindingUpdateParams) (*control.FindingDetail, error) {
	s, err := seg("finding_id", p.ID)
	if err != nil {
		return nil, err
	}
	return call[control.FindingDetail](ctx, c, http.MethodPatch, "/findings/"+s, nil, p)
}

// FindingAcceptRisk carries a finding by an accepted risk.
func (c *Client) FindingAcceptRisk(ctx context.Context, p *control.FindingAcceptRiskParams) (*control.FindingDetail, error) {
	s, err := seg("finding_id", p.ID)
	if err != nil {
		return nil, err
	}
	return call[control.FindingDetail](ctx, c, http.MethodPost, "/findings/"+s+"/accept-risk", nil, p)
}

// call makes one request and decodes its JSON reply into a new T.
// listOf calls the API and returns the list under key in its reply (the API wraps every list
// in an object, so that a reply can grow fields without breaking clients).
func listOf[T any](ctx context.Context, c *Client, method, path string, query url.Values, body any, key string) ([]T, error) {
	var out map[string]json.RawMessage
	if err := c.do(ctx, method, path, query, body, &out); err != nil {
		return nil, err
	}
	var list []T
	if raw, ok := out[key]; ok {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("%s %s: decode %s: %w", method, path, key, err)
		}
	}
	return list, nil
}

func call[T any](ctx context.Context, c *Client, method, path string, query url.Values, body any) (*T, error) {
	var out T
	if err := c.do(ctx, method, path, query, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuditList searches the audit log of operations, newest first (GET /api/v1/audit).
func (c *Client) AuditList(ctx context.Context, p *control.AuditListParams) (*control.AuditList, error) {
	q := url.Values{}
	if p != nil {
		setNonEmpty(q, "actor", p.Actor)
		setNonEmpty(q, "operation", p.Operation)
		setNonEmpty(q, "target", p.Target)
		setNonEmpty(q, "outcome", p.Outcome)
		setNonEmpty(q, "text", p.Text)
		setPage(q, p.Since, p.Until, p.Limit, p.Cursor)
	}
	return call[control.AuditList](ctx, c, http.MethodGet, "/audit", q, nil)
}
