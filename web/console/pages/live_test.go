package pages_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/web/console/pages"
)

// manualInstructions are what the live test plan tells the operator to do.
const manualInstructions = "Call the VAN operator (02-3456-7890) and confirm the branch network routes to Yatap."

// liveRun is a run under way, as the worker records it.
type liveRun struct {
	id    string
	epoch int64
}

// startLive submits the example plan with a manual step, has it approved, and records it
// running as the worker does: Sangam lost (T0), the services started on Yatap, and the
// manual step waiting for a person.
func (c *console) startLive(t *testing.T) *liveRun {
	t.Helper()
	ctx := context.Background()
	src := strings.Replace(c.planSrc, "  rollback {", `  step "confirm-branches" {
    action       = "manual"
    instructions = "`+manualInstructions+`"
  }

  rollback {`, 1)
	r, err := c.ctl.RunSubmit(ctx, c.callers[drills.RoleSRE], &control.RunSubmitParams{PlanFile: "plans/site-loss.hcl", PlanSource: src})
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"sre2", drills.RoleCompliance} {
		if _, err := c.ctl.RunApprove(ctx, c.callers[who], &control.ApprovalDecideParams{RunID: r.ID}); err != nil {
			t.Fatalf("approve as %s: %v", who, err)
		}
	}
	run := &liveRun{id: r.ID}
	if run.epoch, err = c.st.RunClaim(ctx, &store.RunClaimParams{RunID: r.ID, Owner: "pages-test", LeaseFor: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := c.st.RunStateSet(ctx, &store.RunStateSetParams{RunID: r.ID, Epoch: run.epoch, State: drills.RunRunning}); err != nil {
		t.Fatal(err)
	}
	if err := c.st.RunEventAppend(ctx, &store.RunEventAppendParams{RunID: r.ID, Epoch: run.epoch, Kind: orchestrator.EventPreflight,
		Message: "9 checks passed", Data: map[string]any{"passed": true}}); err != nil {
		t.Fatal(err)
	}
	c.step(t, run, 1, "lose-sangam", "nomad.drain_site", 20*time.Second, drills.StepSucceeded)
	if err := c.st.RunMilestone(ctx, &store.RunMilestoneParams{RunID: r.ID, Epoch: run.epoch, Milestone: drills.MilestoneDisaster}); err != nil {
		t.Fatal(err)
	}
	for i, svc := range []string{"auth", "payments", "remittance"} {
		c.step(t, run, 2+i, "start-on-yatap["+svc+"]", "nomad.run_job", 40*time.Second, drills.StepSucceeded)
	}
	c.step(t, run, 5, "confirm-branches", "manual", 0, "")
	return run
}

// step records a step of run starting and, unless state is empty, finishing after took.
func (c *console) step(t *testing.T, run *liveRun, seq int, key, action string, took time.Duration, state drills.StepState) {
	t.Helper()
	ctx := context.Background()
	name, _, _ := strings.Cut(key, "[")
	service := ""
	if _, rest, ok := strings.Cut(key, "["); ok {
		service = strings.TrimSuffix(rest, "]")
	}
	id, err := c.st.StepStart(ctx, &store.StepStartParams{RunID: run.id, Epoch: run.epoch, Seq: seq, Key: key, Name: name, Action: action, Site: "yatap", Service: service})
	if err != nil {
		t.Fatal(err)
	}
	if state == "" {
		return
	}
	c.clock.Advance(took)
	if err := c.st.StepFinish(ctx, &store.StepFinishParams{RunID: run.id, Epoch: run.epoch, StepID: id, State: state}); err != nil {
		t.Fatal(err)
	}
}

// noRoleUser adds a user who holds no role: it may read no run.
func (c *console) noRoleUser(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	admin := c.callers[drills.RoleAdmin]
	// A user is created with a role; the role is then revoked, as an admin does.
	if _, err := c.ctl.UserCreate(ctx, admin, &control.UserCreateParams{Name: "nobody", Roles: []string{drills.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	tok, err := c.ctl.TokenCreate(ctx, admin, &control.TokenCreateParams{User: "nobody", Description: "pages test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ctl.RoleRevoke(ctx, admin, &control.RoleChangeParams{User: "nobody", Role: drills.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	c.addCaller(t, "nobody", tok.Secret)
	return "nobody"
}

// A running run's page is its live view: state, steps with their keys, the RTO clock from
// T0 against the objective, the manual step's instructions with its buttons for those who
// may decide, the abort button for those who may abort, the script, and a reload without it.
func TestLiveViewOfARunningRun(t *testing.T) {
	t.Parallel()
	c := setup(t)
	run := c.startLive(t)
	if err := c.st.RunEventAppend(context.Background(), &store.RunEventAppendParams{RunID: run.id, Epoch: run.epoch, Kind: orchestrator.EventProbe,
		Message: "payments-api", Data: map[string]any{"probe": "payments-api", "polls": 400, "failures": 2, "availability": 0.995,
			"longest_outage_ms": 12000, "last_error": "HTTP 503"}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/runs/" + run.id, "/runs/" + run.id + "/live"} {
		got := c.get(t, drills.RoleSRE, path, "Accept-Language", "en")
		if got.status != http.StatusOK {
			t.Fatalf("%s as sre: %d\n%s", path, got.status, excerpt(got.body))
		}
		for _, want := range []string{
			`id="run-state" class="state state-running" data-state="running">running<`,
			`data-step-key="lose-sangam"`, `data-step-key="start-on-yatap[payments]"`, `data-step-key="confirm-branches"`,
			`id="rto-clock"`, `data-t0="2027-03-02T09:00:20Z"`, `data-objective-ms="1800000"`, ">0:02:00<", "30m00s", "tightest, auth",
			manualInstructions, `action="/runs/` + run.id + `/decide"`, `name="decision" value="done"`, `name="decision" value="failed"`,
			`<input type="hidden" name="csrf_token" value="` + csrfToken + `">`,
			`href="/runs/` + run.id + `/abort"`, `<script src="/static/live.js" defer></script>`,
			`<noscript><meta http-equiv="refresh" content="10"></noscript>`,
			`data-events="/runs/` + run.id + `/events?after=`, "Pre-flight", "9 checks passed",
			"Probe", "payments-api", "99.50% available · 2 of 400 polls failed", "HTTP 503",
		} {
			if !strings.Contains(got.body, want) {
				t.Errorf("%s as sre lacks %q:\n%s", path, want, excerpt(got.body))
			}
		}
		csp := got.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("CSP %q does not allow the page's own script and stream alone", csp)
		}
		if strings.Contains(got.body, "<script>") || strings.Contains(got.body, " onclick=") {
			t.Errorf("%s has inline script, which the CSP refuses", path)
		}
	}
	// Every role may follow a run (but the auditor, who reads only the runs a published report
	// covers: a running one none does); only those the table lets abort or decide get the buttons.
	for _, role := range everyone {
		got := c.get(t, role, "/runs/"+run.id+"/live", "Accept-Language", "en")
		if role == drills.RoleAuditor {
			if got.status != http.StatusForbidden {
				t.Errorf("the live view of a run no published report covers, as auditor: %d, want 403", got.status)
			}
			continue
		}
		abort, decide := strings.Contains(got.body, `/abort"`), strings.Contains(got.body, `/decide"`)
		if got.status != http.StatusOK || abort != control.Allowed(control.OpRunAbort, c.callers[role].Roles) ||
			decide != control.Allowed(control.OpStepDecide, c.callers[role].Roles) {
			t.Errorf("the live view as %s: %d, abort offered %v, decide offered %v", role, got.status, abort, decide)
		}
	}
	// A viewer follows the run but is offered neither the abort nor the decision.
	view := c.get(t, drills.RoleViewer, "/runs/"+run.id, "Accept-Language", "ko").body
	if strings.Contains(view, "/abort") || strings.Contains(view, "/decide") || !strings.Contains(view, manualInstructions) ||
		!strings.Contains(view, "운영자 조치 대기") || !strings.Contains(view, "진행 중") {
		t.Errorf("the viewer's live view offers abort or decide, or lacks the instructions in Korean:\n%s", excerpt(view))
	}
	// The script is served from the console itself.
	if js := c.get(t, drills.RoleViewer, "/static/live.js"); js.status != http.StatusOK || !strings.Contains(js.body, "EventSource") {
		t.Errorf("GET /static/live.js: %d", js.status)
	}
	// An ended run's live view shows the verdict, links to the full record and neither
	// reloads nor runs the script.
	ended := c.runDrill(t, "", 8*time.Minute)
	done := c.get(t, drills.RoleViewer, "/runs/"+ended+"/live", "Accept-Language", "en").body
	for _, want := range []string{"Final verdict", `href="/runs/` + ended + `"`, `data-ended="true"`, ">succeeded<"} {
		if !strings.Contains(done, want) {
			t.Errorf("the ended run's live view lacks %q:\n%s", want, excerpt(done))
		}
	}
	if strings.Contains(done, "live.js") || strings.Contains(done, "http-equiv") {
		t.Errorf("the ended run's live view still follows the run")
	}
	if detail := c.get(t, drills.RoleViewer, "/runs/"+ended).body; !strings.Contains(detail, "Timeline") {
		t.Errorf("an ended run's page is no longer its detail")
	}
}

// sse is one event of a stream.
type sse struct {
	id, event, data string
}

// stream is an open event stream, read in the background.
type stream struct {
	events chan sse
	// closed is closed when the server ends the stream.
	closed chan struct{}
	cancel context.CancelFunc
	resp   *http.Response
}

// openStream opens GET path as user with the given Last-Event-ID ("" sends none).
func (c *console) openStream(t *testing.T, base, user, path, lastID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(userHeader, user)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s, want a text/event-stream", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{events: make(chan sse, 1000), closed: make(chan struct{}), cancel: cancel, resp: resp}
	go func() {
		defer close(s.closed)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" || ev.event != "" {
					s.events <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next returns the stream's next event, advancing the fake clock by a poll at a time so the
// stream looks for new entries; it fails the test after ten seconds.
func (s *stream) next(t *testing.T, c *console) sse {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-s.events:
			return ev
		case <-s.closed:
			select {
			case ev := <-s.events:
				return ev
			default:
			}
			t.Fatal("the stream ended")
		case <-deadline:
			t.Fatal("no event in 10s")
		case <-time.After(20 * time.Millisecond):
			c.clock.Advance(pages.DefaultEventPoll)
		}
	}
}

// waitClosed waits until the server ends the stream, advancing the clock meanwhile.
func (s *stream) waitClosed(t *testing.T, c *console, step time.Duration) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-s.closed:
			return
		case <-deadline:
			t.Fatal("the server did not end the stream in 10s")
		case <-time.After(20 * time.Millisecond):
			c.clock.Advance(step)
		}
	}
}

// The stream sends the run's timeline in order, each entry with its seq as id and the step
// row it changed; resumes after a Last-Event-ID; sends new entries as they commit; and ends
// with `end` once the run ended and everything is sent.
func TestEventStreamFollowsTheRun(t *testing.T) {
	t.Parallel()
	c := setup(t)
	run := c.startLive(t)
	ctx := context.Background()
	timeline, err := c.st.RunEventList(ctx, run.id)
	if err != nil {
		t.Fatal(err)
	}
	s := c.openStream(t, c.url, drills.RoleViewer, "/runs/"+run.id+"/events", "")
	for i, want := range timeline {
		ev := s.next(t, c)
		if ev.id != strconv.Itoa(want.Seq) || !strings.Contains(ev.data, `"kind":"`+want.Kind+`"`) {
			t.Fatalf("event %d: id %q %s, want seq %d of kind %s", i, ev.id, ev.data, want.Seq, want.Kind)
		}
	}
	// Resumed from the entry before the last: the manual step's start, with its row marked
	// waiting and the waiting section with its instructions.
	last := timeline[len(timeline)-1]
	resumed := c.openStream(t, c.url, drills.RoleViewer, "/runs/"+run.id+"/events", strconv.Itoa(last.Seq-1))
	ev := resumed.next(t, c)
	if ev.id != strconv.Itoa(last.Seq) || !strings.Contains(ev.data, `data-step-key=\"confirm-branches\"`) ||
		!strings.Contains(ev.data, "waiting for an operator") || !strings.Contains(ev.data, "branch network routes to Yatap") {
		t.Fatalf("resumed after %d: got id %q %s; want the manual step's entry with its row and instructions", last.Seq-1, ev.id, ev.data)
	}
	// ?after= is where a page's stream starts; Last-Event-ID wins when the browser reconnects.
	both := c.openStream(t, c.url, drills.RoleViewer, "/runs/"+run.id+"/events?after=1", strconv.Itoa(last.Seq-2))
	if ev := both.next(t, c); ev.id != strconv.Itoa(last.Seq-1) {
		t.Errorf("Last-Event-ID %d and after=1: first id %q, want %d", last.Seq-2, ev.id, last.Seq-1)
	}
	if ev := c.openStream(t, c.url, drills.RoleViewer, "/runs/"+run.id+"/events?after=3", "").next(t, c); ev.id != "4" {
		t.Errorf("after=3: first id %q, want 4", ev.id)
	}

	// New entries arrive as they commit: the operator decides, the step finishes, T1, the end.
	if _, err := c.ctl.StepDecide(ctx, c.callers[drills.RoleSRE], &control.StepDecideParams{RunID: run.id, StepKey: "confirm-branches", Decision: "done"}); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t, c); ev.id != strconv.Itoa(last.Seq+1) || !strings.Contains(ev.data, `"kind":"step_decided"`) {
		t.Fatalf("after the decision: id %q %s, want seq %d step_decided", ev.id, ev.data, last.Seq+1)
	}
	latest, err := c.st.StepResultLatest(ctx, run.id, "confirm-branches")
	if err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(time.Minute)
	if err := c.st.StepFinish(ctx, &store.StepFinishParams{RunID: run.id, Epoch: run.epoch, StepID: latest.ID, State: drills.StepSucceeded}); err != nil {
		t.Fatal(err)
	}
	if err := c.st.RunMilestone(ctx, &store.RunMilestoneParams{RunID: run.id, Epoch: run.epoch, Milestone: drills.MilestoneRestored}); err != nil {
		t.Fatal(err)
	}
	yes := true
	rto := 4 * time.Minute
	if err := c.st.RunFinish(ctx, &store.RunFinishParams{RunID: run.id, Epoch: run.epoch, State: drills.RunSucceeded, ObjectivesMet: &yes, RTOActual: &rto}); err != nil {
		t.Fatal(err)
	}
	all, err := c.st.RunEventList(ctx, run.id)
	if err != nil {
		t.Fatal(err)
	}
	seq := last.Seq + 1
	for {
		ev := s.next(t, c)
		if ev.event == "end" {
			if seq != all[len(all)-1].Seq {
				t.Errorf("end after seq %d, want after the last, %d", seq, all[len(all)-1].Seq)
			}
			if !strings.Contains(ev.data, `"state":"succeeded"`) || !strings.Contains(ev.data, "Final verdict") || !strings.Contains(ev.data, `href=\"/runs/`+run.id+`\"`) {
				t.Errorf("end: %s; want the succeeded state and the verdict linking to the record", ev.data)
			}
			break
		}
		if ev.id != strconv.Itoa(seq+1) {
			t.Fatalf("id %q after %d: out of order", ev.id, seq)
		}
		seq++
		if strings.Contains(ev.data, `"kind":"step_finished"`) && !strings.Contains(ev.data, `data-state=\"succeeded\"`) {
			t.Errorf("the manual step's finish does not carry its succeeded row: %s", ev.data)
		}
	}
	s.waitClosed(t, c, pages.DefaultEventPoll)
	// A stream opened on an ended run sends what is after the id, then `end` at once.
	again := c.openStream(t, c.url, drills.RoleViewer, "/runs/"+run.id+"/events", strconv.Itoa(seq))
	if ev := again.next(t, c); ev.event != "end" {
		t.Errorf("a stream of an ended run from its last id: %+v, want end", ev)
	}
	again.waitClosed(t, c, pages.DefaultEventPoll)
}

// The stream is refused to whoever may not read runs, before it starts; bad cursors are 400
// naming the field; an unknown run is 404.
func TestEventStreamRefused(t *testing.T) {
	t.Parallel()
	c := setup(t)
	run := c.startLive(t)
	nobody := c.noRoleUser(t)
	path := "/runs/" + run.id + "/events"
	if got := c.get(t, nobody, path, "Accept-Language", "en"); got.status != http.StatusForbidden || !strings.Contains(got.body, strings.Join(control.Permissions[control.OpRunRead], ", ")) {
		t.Errorf("the stream for a caller without run.read: %d, want 403 naming the roles:\n%s", got.status, excerpt(got.body))
	}
	if got := c.get(t, nobody, "/runs/"+run.id+"/live"); got.status != http.StatusForbidden {
		t.Errorf("the live view for a caller without run.read: %d, want 403", got.status)
	}
	if got := c.get(t, "", path); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/login") {
		t.Errorf("the stream signed out: %d to %q, want 303 to /login", got.status, got.location)
	}
	for _, tc := range []struct{ query, lastID, field string }{{"?after=x", "", "after"}, {"?after=-1", "", "after"}, {"", "seven", "Last-Event-ID"}} {
		got := c.get(t, drills.RoleViewer, path+tc.query, "Last-Event-ID", tc.lastID)
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, tc.field) {
			t.Errorf("stream%s Last-Event-ID %q: %d, want 400 naming %s", tc.query, tc.lastID, got.status, tc.field)
		}
	}
	if got := c.get(t, drills.RoleViewer, "/runs/no-such-run/events"); got.status != http.StatusNotFound {
		t.Errorf("the stream of an unknown run: %d, want 404", got.status)
	}
}

// A stream stops when the browser goes away and when its bound is reached: no handler is
// left behind.
func TestEventStreamStops(t *testing.T) {
	t.Parallel()
	c := setup(t)
	run := c.startLive(t)
	returned := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.handler.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/events") {
			returned <- struct{}{}
		}
	}))
	t.Cleanup(srv.Close)
	// Should a stream outlive the test, its bound ends it so that srv.Close (run after this)
	// does not wait forever.
	t.Cleanup(func() { c.clock.Advance(pages.DefaultEventStreamFor) })
	// wait waits for the handler to return; the clock stands still, so only the request's
	// cancellation can end it.
	wait := func(what string) {
		t.Helper()
		select {
		case <-returned:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the stream's handler did not return in 10s", what)
		}
	}
	// The browser leaves.
	gone := c.openStream(t, srv.URL, drills.RoleViewer, "/runs/"+run.id+"/events", "")
	gone.next(t, c)
	gone.cancel()
	wait("after the browser left")
	// The bound: the stream closes (and the browser reconnects from its last id).
	bounded := c.openStream(t, srv.URL, drills.RoleViewer, "/runs/"+run.id+"/events", "")
	bounded.next(t, c)
	select {
	case <-bounded.closed:
		t.Fatal("the stream closed before its bound")
	case <-time.After(50 * time.Millisecond):
	}
	bounded.waitClosed(t, c, pages.DefaultEventStreamFor/4)
	wait("after its bound")
	// A quiet stream gets heartbeats.
	quiet := c.openStream(t, srv.URL, drills.RoleViewer, "/runs/"+run.id+"/events", "")
	quiet.next(t, c)
	line := make(chan string, 16)
	go func() {
		// Only the raw body shows comments; read one directly.
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/runs/"+run.id+"/events?after=999", nil)
		req.Header.Set(userHeader, drills.RoleViewer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			line <- err.Error()
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), ":") {
				line <- sc.Text()
				return
			}
		}
	}()
	deadline := time.After(10 * time.Second)
	for got := ""; got == ""; {
		select {
		case got = <-line:
			if !strings.HasPrefix(got, ": keep-alive") {
				t.Errorf("heartbeat %q, want a comment", got)
			}
		case <-deadline:
			t.Fatal("no heartbeat in 10s")
		case <-time.After(20 * time.Millisecond):
			c.clock.Advance(pages.DefaultEventHeartbeat)
		}
	}
	quiet.cancel()
	// A graceful shutdown ends the streams instead of waiting for them.
	open := c.openStream(t, srv.URL, drills.RoleViewer, "/runs/"+run.id+"/events", "")
	open.next(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Errorf("shutdown with a stream open: %v, want the stream ended at once", err)
	}
	select {
	case <-open.closed:
	case <-time.After(5 * time.Second):
		t.Error("the stream is still open after the shutdown")
	}
}

// Abort from the console: a confirmation page, then a form with the reason and the run's ID
// typed. A wrong role gets 403 and nothing changes; a wrong ID is 400 naming the field.
func TestAbortFromTheLiveView(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	run := c.startLive(t)
	path := "/runs/" + run.id + "/abort"
	confirm := c.get(t, drills.RoleSRE, path, "Accept-Language", "en")
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `action="`+path+`"`) || !strings.Contains(confirm.body, `name="confirm"`) ||
		!strings.Contains(confirm.body, `name="reason"`) || !strings.Contains(confirm.body, `name="csrf_token" value="`+csrfToken+`"`) {
		t.Fatalf("the abort confirmation as sre: %d\n%s", confirm.status, excerpt(confirm.body))
	}
	form := url.Values{"reason": {"the branch network did not switch"}, "confirm": {run.id}, "csrf_token": {csrfToken}}
	for _, role := range []string{drills.RoleViewer, drills.RoleAuditor, drills.RoleAdmin} {
		if got := c.get(t, role, path, "Accept-Language", "en"); got.status != http.StatusForbidden || !strings.Contains(got.body, "sre, compliance") {
			t.Errorf("the abort confirmation as %s: %d, want 403 naming sre, compliance", role, got.status)
		}
		if got := c.post(t, role, path, form); got.status != http.StatusForbidden || !strings.Contains(got.body, "sre, compliance") {
			t.Errorf("abort as %s: %d, want 403 naming sre, compliance:\n%s", role, got.status, excerpt(got.body))
		}
	}
	if got := c.post(t, drills.RoleSRE, path, url.Values{"reason": {"x"}, "confirm": {"not-the-id"}}); got.status != http.StatusBadRequest || !strings.Contains(got.body, "confirm") {
		t.Errorf("abort with the wrong ID typed: %d, want 400 naming confirm", got.status)
	}
	if got := c.post(t, drills.RoleSRE, path, url.Values{"confirm": {run.id}}); got.status != http.StatusBadRequest || !strings.Contains(got.body, "reason") {
		t.Errorf("abort without a reason: %d, want 400 naming reason", got.status)
	}
	if r, _ := c.st.RunGet(ctx, run.id); r.AbortRequestedAt != nil {
		t.Fatalf("a refused abort changed the run: abort requested at %v", r.AbortRequestedAt)
	}
	got := c.post(t, drills.RoleCompliance, path, form)
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/runs/"+run.id+"/live") {
		t.Fatalf("abort as compliance: %d to %q\n%s", got.status, got.location, excerpt(got.body))
	}
	r, err := c.st.RunGet(ctx, run.id)
	if err != nil {
		t.Fatal(err)
	}
	if r.AbortRequestedAt == nil || r.AbortRequestedBy.Name != drills.RoleCompliance || r.AbortReason != "the branch network did not switch" {
		t.Errorf("after the abort: requested %v by %v for %q", r.AbortRequestedAt, r.AbortRequestedBy, r.AbortReason)
	}
	after := c.get(t, drills.RoleSRE, "/runs/"+run.id+"/live", "Accept-Language", "en").body
	if strings.Contains(after, `href="`+path+`"`) || !strings.Contains(after, "Abort requested by compliance") {
		t.Errorf("after the abort the live view still offers it, or does not say it was requested:\n%s", excerpt(after))
	}
	// A run waiting for approval ends aborted at once.
	waiting := c.submit(t)
	if got := c.post(t, drills.RoleSRE, "/runs/"+waiting+"/abort", url.Values{"reason": {"wrong window"}, "confirm": {waiting}}); got.status != http.StatusSeeOther {
		t.Fatalf("abort the waiting run: %d\n%s", got.status, excerpt(got.body))
	}
	if w, _ := c.st.RunGet(ctx, waiting); w.State != drills.RunAborted {
		t.Errorf("the waiting run is %s after the abort, want aborted", w.State)
	}
}

// A manual step waiting for an operator is decided from the live view, by those who may
// decide steps; the others get 403 and the step still waits.
func TestManualStepDecidedFromTheLiveView(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	for _, decision := range []string{"done", "failed"} {
		run := c.startLive(t)
		path := "/runs/" + run.id + "/decide"
		form := url.Values{"step_key": {"confirm-branches"}, "decision": {decision}, "comment": {"VAN operator confirmed by phone"}}
		for _, role := range []string{drills.RoleCompliance, drills.RoleViewer, drills.RoleAdmin} {
			if got := c.post(t, role, path, form); got.status != http.StatusForbidden || !strings.Contains(got.body, "sre") {
				t.Errorf("decide as %s: %d, want 403 naming sre", role, got.status)
			}
		}
		if got := c.post(t, drills.RoleSRE, path, url.Values{"step_key": {"confirm-branches"}, "decision": {"maybe"}}); got.status != http.StatusBadRequest || !strings.Contains(got.body, "decision") {
			t.Errorf("decide maybe: %d, want 400 naming decision", got.status)
		}
		v, err := c.ctl.RunGet(ctx, c.callers[drills.RoleViewer], run.id)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Decisions) != 0 {
			t.Fatalf("refused decisions were recorded: %+v", v.Decisions)
		}
		got := c.post(t, drills.RoleSRE, path, form)
		if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/runs/"+run.id+"/live") {
			t.Fatalf("decide %s as sre: %d to %q\n%s", decision, got.status, got.location, excerpt(got.body))
		}
		if v, err = c.ctl.RunGet(ctx, c.callers[drills.RoleViewer], run.id); err != nil {
			t.Fatal(err)
		}
		if len(v.Decisions) != 1 || v.Decisions[0].StepKey != "confirm-branches" || v.Decisions[0].Decision != decision ||
			v.Decisions[0].By.Name != drills.RoleSRE || v.Decisions[0].Comment != "VAN operator confirmed by phone" {
			t.Errorf("after %s: decisions %+v", decision, v.Decisions)
		}
		// Decided once: a second decision is a conflict, not a 5xx.
		if again := c.post(t, drills.RoleSRE, path, form); again.status < 400 || again.status >= 500 {
			t.Errorf("deciding twice: %d, want a 4xx", again.status)
		}
	}
}
