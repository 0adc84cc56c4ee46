package pages_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/control"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web/console/pages"
)

// testStart is the fake clock's first reading.
var testStart = time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)

// The test's CSRF token: the pages must put it in every state-changing form.
const csrfToken = "csrf-token-of-the-test"

// userHeader names the test user a request comes from (the sign-in middleware's job in the
// real console).
const userHeader = "X-Test-User"

// console is the pages over a real, migrated PostgreSQL database with the example estate and
// one user per role (and a second SRE), plus the runs a test drives.
type console struct {
	url     string
	ctl     *control.Control
	st      *store.Store
	clock   *clocktest.Clock
	callers map[string]*control.Caller
	planSrc string
	// handler is the pages, for tests that serve them their own way.
	handler http.Handler
}

func setup(t *testing.T) *console {
	t.Helper()
	ctx := context.Background()
	clk := clocktest.New(testStart)
	st := storetest.PostgresOn(t, clk)
	estatePath, err := filepath.Abs("../../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(estatePath)
	if err != nil {
		t.Fatal(err)
	}
	estate, diags := drills.ParseEstate(src, estatePath)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %v", estatePath, diags)
	}
	estate.DefaultApproval = drills.ApprovalPolicy{Roles: []string{drills.RoleSRE, drills.RoleCompliance}}
	planSrc, err := os.ReadFile("../../../examples/plans/site-loss.hcl")
	if err != nil {
		t.Fatal(err)
	}
	g, err := oreport.New(oreport.Config{Store: st, Compliance: oreport.ProfileCompliance{}})
	if err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("console pages test signing key"))
	ctl, err := control.New(control.Config{Store: st, Clock: clk,
		Estate:  &control.Estate{Path: estatePath, Estate: estate, Source: src},
		Reports: &control.Reports{Gatherer: g, Key: ed25519.NewKeyFromSeed(seed[:]), Institution: "Example Bank", TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	c := &console{ctl: ctl, st: st, clock: clk, callers: map[string]*control.Caller{}, planSrc: string(planSrc)}
	boot, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: drills.RoleAdmin, By: drills.Actor{Kind: drills.ActorLocal, Name: "pages-test", Via: drills.ViaCLI}})
	if err != nil {
		t.Fatal(err)
	}
	c.addCaller(t, drills.RoleAdmin, boot.Secret)
	admin := c.callers[drills.RoleAdmin]
	users := map[string][]string{"sre2": {drills.RoleSRE}}
	for _, role := range drills.Roles {
		if role != drills.RoleAdmin {
			users[role] = []string{role}
		}
	}
	for name, roles := range users {
		if _, err := ctl.UserCreate(ctx, admin, &control.UserCreateParams{Name: name, Roles: roles}); err != nil {
			t.Fatal(err)
		}
		tok, err := ctl.TokenCreate(ctx, admin, &control.TokenCreateParams{User: name, Description: "pages test"})
		if err != nil {
			t.Fatal(err)
		}
		c.addCaller(t, name, tok.Secret)
	}
	h, err := pages.New(pages.Config{
		Control: ctl, Clock: clk,
		Caller: func(r *http.Request) (*control.Caller, error) {
			if caller, ok := c.callers[r.Header.Get(userHeader)]; ok {
				return caller, nil
			}
			if ck, err := r.Cookie("test_user"); err == nil {
				if caller, ok := c.callers[ck.Value]; ok {
					return caller, nil
				}
			}
			return nil, fmt.Errorf("not signed in")
		},
		CSRFToken: func(*http.Request) string { return csrfToken },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.handler = h
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c.url = ts.URL
	return c
}

func (c *console) addCaller(t *testing.T, name, secret string) {
	t.Helper()
	caller, err := c.ctl.Authenticate(context.Background(), secret, drills.ViaWeb)
	if err != nil {
		t.Fatal(err)
	}
	c.callers[name] = caller
}

// page is a reply of the console.
type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

// get fetches path as user ("" sends no user).
func (c *console) get(t *testing.T, user, path string, header ...string) *page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(t, user, req)
}

// post submits a form to path as user.
func (c *console) post(t *testing.T, user, path string, form url.Values) *page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(t, user, req)
}

func (c *console) do(t *testing.T, user string, req *http.Request) *page {
	t.Helper()
	if user != "" {
		req.Header.Set(userHeader, user)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
}

// drillStep is one step a drill records.
type drillStep struct {
	key, name, action string
	took              time.Duration
	state             drills.StepState
	milestone         drills.Milestone
}

// theDrill is the steps of a site-loss drill, T0 after the first and T1 after the fourth.
var theDrill = []drillStep{
	{"declare", "Declare the disaster", "manual", 30 * time.Second, drills.StepSucceeded, drills.MilestoneDisaster},
	{"drain", "Drain Sangam ingress", "ingress.drain", 40 * time.Second, drills.StepSucceeded, ""},
	{"promote", "Promote the Yatap database", "db.promote", 3 * time.Minute, drills.StepSucceeded, ""},
	{"start", "Start services at Yatap", "nomad.start", 5 * time.Minute, drills.StepSucceeded, drills.MilestoneRestored},
	{"verify", "Verify health from Yatap", "http.check", 90 * time.Second, drills.StepSucceeded, ""},
}

// runDrill submits the example plan as sre, has it approved by sre2 and compliance through
// control, and records it running through the store as the worker does: the steps, the
// milestones and the measurements. failStep names a step that fails (and ends the run
// failed); rtoOf gives each service's measured RTO.
func (c *console) runDrill(t *testing.T, failStep string, rto time.Duration) string {
	t.Helper()
	ctx := context.Background()
	id := c.submit(t)
	for _, who := range []string{"sre2", drills.RoleCompliance} {
		if _, err := c.ctl.RunApprove(ctx, c.callers[who], &control.ApprovalDecideParams{RunID: id, Comment: "ok for the drill window"}); err != nil {
			t.Fatalf("approve as %s: %v", who, err)
		}
	}
	epoch, err := c.st.RunClaim(ctx, &store.RunClaimParams{RunID: id, Owner: "pages-test", LeaseFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.st.RunStateSet(ctx, &store.RunStateSetParams{RunID: id, Epoch: epoch, State: drills.RunRunning}); err != nil {
		t.Fatal(err)
	}
	final := drills.RunSucceeded
	var t0 time.Time
	for i, s := range theDrill {
		stepID, err := c.st.StepStart(ctx, &store.StepStartParams{RunID: id, Epoch: epoch, Seq: i + 1, Key: s.key, Name: s.name, Action: s.action, Site: "yatap"})
		if err != nil {
			t.Fatal(err)
		}
		c.clock.Advance(s.took)
		state, msg := s.state, ""
		if s.key == failStep {
			state, msg, final = drills.StepFailed, "remittance depends on auth, which did not answer", drills.RunFailed
		}
		if err := c.st.StepFinish(ctx, &store.StepFinishParams{RunID: id, Epoch: epoch, StepID: stepID, State: state, Error: msg, Evidence: []byte(`{"checked":true}`)}); err != nil {
			t.Fatal(err)
		}
		if state == drills.StepFailed {
			break
		}
		if s.milestone == drills.MilestoneDisaster {
			t0 = c.clock.Now()
		}
		if s.milestone != "" {
			if err := c.st.RunMilestone(ctx, &store.RunMilestoneParams{RunID: id, Epoch: epoch, Milestone: s.milestone}); err != nil {
				t.Fatal(err)
			}
		}
	}
	yes := final == drills.RunSucceeded
	rpo, lost := 300*time.Millisecond, int64(0)
	var ms []store.MeasurementInput
	for _, svc := range []struct {
		name     string
		obj, rpo time.Duration
	}{{"auth", 30 * time.Minute, time.Second}, {"payments", time.Hour, 5 * time.Second}, {"remittance", 2 * time.Hour, 5 * time.Second}} {
		actual := rto
		rtoMet := actual <= svc.obj
		rpoMet := yes
		// The raw inputs give the figures, as a report's verification recomputes them.
		restored := t0.Add(actual)
		m := store.MeasurementInput{Service: svc.name, Criticality: drills.Criticality("critical"), RTOObjective: svc.obj, RPOObjective: svc.rpo,
			RTOActual: &actual, Restored: yes, RestoredAt: &restored, RTOMet: rtoMet && yes, RPOActual: &rpo, RPOLostRows: &lost, RPOMet: &rpoMet,
			RPOInputs: &drills.RPOInputs{FirstPrimarySeq: 1, FirstPrimaryAt: t0.Add(-time.Minute), LastPrimarySeq: 60, LastPrimaryAt: t0.Add(-100 * time.Millisecond),
				LastDRSeq: 57, LastDRAt: t0.Add(-100*time.Millisecond - rpo), Evidenced: true}}
		if !yes {
			m.RTOActual, m.RestoredAt, m.Reason = nil, nil, "not restored: the run failed"
		}
		ms = append(ms, m)
	}
	fin := &store.RunFinishParams{RunID: id, Epoch: epoch, State: final, ObjectivesMet: &yes, Measurements: ms, T0: &t0}
	if yes {
		fin.RTOActual = &rto
	}
	if err := c.st.RunFinish(ctx, fin); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(24 * time.Hour)
	return id
}

// submit asks for a run of the example plan as sre; it waits for approval.
func (c *console) submit(t *testing.T) string {
	t.Helper()
	r, err := c.ctl.RunSubmit(context.Background(), c.callers[drills.RoleSRE], &control.RunSubmitParams{PlanFile: "plans/site-loss.hcl", PlanSource: c.planSrc})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}
