package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// demoServer is a running firedrill serve --demo process.
type demoServer struct {
	base      string
	passwords map[string]string
	stderr    *lockedBuffer
	cmd       *exec.Cmd
}

// startDemoServer runs serve --demo with args on a free port and waits for the console's URL
// and the passwords it prints.
func startDemoServer(t *testing.T, ctx context.Context, args ...string) *demoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"serve", "--demo", "--listen", addr, "--log-level", "info"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = readmeEnv()
	// The test's end interrupts it as Ctrl-C would, and kills it only if it does not end.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &demoServer{passwords: map[string]string{}, stderr: &lockedBuffer{}, cmd: cmd}
	cmd.Stderr = s.stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	sc := bufio.NewScanner(stdout)
	urlLine := regexp.MustCompile(`^firedrill demo console: (http://\S+)/$`)
	userLine := regexp.MustCompile(`^  (\S+)\s+(\S+)\s+(admin|sre|compliance|auditor)$`)
	for sc.Scan() {
		line := sc.Text()
		if m := urlLine.FindStringSubmatch(line); m != nil {
			s.base = m[1]
		}
		if m := userLine.FindStringSubmatch(line); m != nil {
			s.passwords[m[1]] = m[2]
		}
		if strings.HasPrefix(line, "The history was recorded on a shifted clock") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if s.base != "http://"+addr || len(s.passwords) != 5 {
		t.Fatalf("serve --demo printed URL %q and %d passwords; want http://%s and 5\nstderr:\n%s", s.base, len(s.passwords), addr, s.stderr)
	}
	// The history is produced before the console serves: it must stay quick.
	if took := time.Since(start); took > 90*time.Second {
		t.Errorf("serve --demo took %s to serve", took)
	}
	return s
}

// stop interrupts the server, as Ctrl-C does, so it removes its temporary directory, and
// waits for it to end.
func (s *demoServer) stop() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		_ = s.cmd.Wait()
	}
}

// signIn signs in to the console through its /login form, CSRF token included.
func (s *demoServer) signIn(t *testing.T, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	login := s.get(t, c, "/login")
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(login)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", login)
	}
	resp, err := c.PostForm(s.base+"/login", url.Values{"user": {user}, "password": {s.passwords[user]}, "csrf_token": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// An auditor's console is the regulator portal, where / sends it.
	home := "/"
	if strings.HasPrefix(user, "auditor") {
		home = "/portal"
	}
	if resp.Request.URL.Path != home || !strings.Contains(string(body), `id="user">`+user+`<`) {
		t.Fatalf("sign-in as %s with the printed password landed on %s:\n%s", user, resp.Request.URL.Path, body)
	}
	return c
}

func (s *demoServer) get(t *testing.T, c *http.Client, path string) string {
	t.Helper()
	resp, err := c.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d:\n%s", path, resp.StatusCode, body)
	}
	return string(body)
}

// TestServeDemo starts serve --demo as a newcomer would and reads the history it produced
// through the console: drills across the past year, one failed on a dependency, its findings
// retested by a later drill, a published report that firedrill report verify accepts.
func TestServeDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key := filepath.Join(t.TempDir(), "signing-key.pem")
	s := startDemoServer(t, ctx, "--signing-key", key)

	c := s.signIn(t, "compliance-lee")
	runs := s.get(t, c, "/runs")
	if !strings.Contains(runs, `class="demo-banner"`) {
		t.Errorf("the demo's pages do not say that its history's dates are shifted")
	}
	months := map[string]bool{}
	for _, m := range regexp.MustCompile(`(\d{4}-\d{2})-\d{2} \d{2}:\d{2}`).FindAllStringSubmatch(runs, -1) {
		months[m[1]] = true
	}
	if len(months) < 3 {
		t.Errorf("the runs page shows runs in %d months (%v), want at least 3:\n%s", len(months), months, runs)
	}
	if n := strings.Count(runs, "Passed"); n < 3 {
		t.Errorf("the runs page shows %d passed drills, want at least 3", n)
	}
	var failed string
	for _, m := range regexp.MustCompile(`href="/runs/([0-9a-f-]{36})"`).FindAllStringSubmatch(runs, -1) {
		if page := s.get(t, c, "/runs/"+m[1]); strings.Contains(page, "rolled back") {
			failed = page
		}
	}
	// auth did not come up on the DR site (the run's reason), so payments and remittance,
	// which need it, could not be restored (their findings).
	for _, want := range []string{"job auth on yatap", "is failed"} {
		if !strings.Contains(failed, want) {
			t.Errorf("the failed drill's page lacks %q:\n%s", want, failed)
		}
	}
	findings := s.get(t, c, "/findings")
	for _, want := range []string{"payments missed its RTO objective: never restored", "remittance missed its RTO objective", "identity-team", "payments-team"} {
		if !strings.Contains(findings, want) {
			t.Errorf("the findings page lacks %q:\n%s", want, findings)
		}
	}
	// Every finding of the failed drill was retested by the passing drill after it.
	if n := strings.Count(findings, "<td>retested</td>"); n < 4 || strings.Contains(findings, "<td>open</td>") || strings.Contains(findings, "<td>fixed</td>") {
		t.Errorf("the findings page shows %d retested findings and some still open or fixed:\n%s", n, findings)
	}
	schedules := s.get(t, c, "/schedules")
	if !strings.Contains(schedules, "semiannual-sangam-loss") {
		t.Errorf("the schedules page lacks the estate's schedule:\n%s", schedules)
	}

	// The auditor sees the published report and downloads its bundle.
	auditor := s.signIn(t, "auditor-choi")
	reports := s.get(t, auditor, "/reports")
	m := regexp.MustCompile(`href="(/reports/[^"/]+/bundle)"`).FindStringSubmatch(reports)
	if m == nil || !strings.Contains(reports, "published") || !strings.Contains(reports, "kr-efsr") {
		t.Fatalf("the auditor's reports page shows no published kr-efsr report:\n%s", reports)
	}
	bundle := filepath.Join(t.TempDir(), "bundle.zip")
	if err := os.WriteFile(bundle, []byte(s.get(t, auditor, m[1])), 0o600); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "key.pub")
	res := runCLI(t, ctx, nil, "report", "public-key", "--signing-key", key)
	if res.code != exitOK {
		t.Fatalf("report public-key: exit %d: %s", res.code, res.stderr)
	}
	if err := os.WriteFile(pub, []byte(res.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := runCLI(t, ctx, nil, "report", "verify", bundle, "--public-key", pub); res.code != exitOK {
		t.Errorf("report verify of the published demo report: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// The passwords are shown on standard output once, never logged.
	logs := s.stderr.String()
	if !strings.Contains(logs, "demo history:") || !strings.Contains(logs, "shifted clock") {
		t.Errorf("serve --demo printed no progress:\n%s", logs)
	}
	for user, pw := range s.passwords {
		if strings.Contains(logs, pw) {
			t.Errorf("the password of %s appears in the log", user)
		}
	}
}

// TestServeDemoOnPostgres records the history in PostgreSQL, and refuses to record it again
// into a database that has one.
func TestServeDemoOnPostgres(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	s := startDemoServer(t, ctx, "--database-url", dsn)
	c := s.signIn(t, "sre-kim")
	runs := s.get(t, c, "/runs")
	if strings.Count(runs, "Passed") < 3 || !strings.Contains(runs, "rolled back") {
		t.Errorf("the runs page of the PostgreSQL demo:\n%s", runs)
	}
	// The SRE's lesson on the failed drill names the dependency (the console's run page does
	// not show lessons yet: read them where the API does).
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.RunList(ctx, &store.RunListParams{States: []drills.RunState{drills.RunRolledBack}})
	if err != nil || len(list.Runs) != 1 {
		t.Fatalf("rolled-back runs: %v, %v; want one", list, err)
	}
	notes, err := st.RunNotesList(ctx, list.Runs[0].ID)
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0].Text, "depend on auth") || notes[0].By.Name != "sre-kim" {
		t.Errorf("lessons of the failed drill = %+v, %v; want sre-kim's naming the dependency on auth", notes, err)
	}

	// The audit chain the history wrote on its shifted clock verifies: oldest first, in order.
	if res := runCLI(t, ctx, nil, "audit", "verify", "--database-url", dsn); res.code != exitOK {
		t.Errorf("audit verify of the demo history: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// A drill asked for now, through the operations the API serves, runs against the
	// simulated sites the demo keeps up: the serve worker executes it once two people approve.
	if r := runDemoDrillNow(t, ctx, st, s, list.Runs[0]); r.State != drills.RunSucceeded {
		t.Errorf("a drill run now against the demo's sites ended %s: %s", r.State, r.StateReason)
	}
	s.stop()

	out, err := exec.CommandContext(ctx, binPath, "serve", "--demo", "--listen", "127.0.0.1:0", "--database-url", dsn).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already has an admin") {
		t.Errorf("serve --demo on a database with a history = %v:\n%s", err, out)
	}
}

// runDemoDrillNow asks for a drill of the plan and estate rec ran, through control as the API
// does (sre-kim asks, sre-park and compliance-lee approve), and waits for the serve worker to
// end it against the demo's simulated sites.
func runDemoDrillNow(t *testing.T, ctx context.Context, st *store.Store, s *demoServer, rec *store.Run) *store.Run {
	t.Helper()
	est, err := st.EstateGet(ctx, rec.EstateSHA256)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := st.PlanGet(ctx, rec.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := drills.ParseEstate(est.Source, est.File)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctl, err := control.New(control.Config{Store: st, Estate: &control.Estate{Path: est.File, Estate: cfg, Source: est.Source}})
	if err != nil {
		t.Fatal(err)
	}
	as := func(user string) *control.Caller {
		t.Helper()
		ns, err := ctl.SignInPassword(ctx, &control.PasswordSignInParams{User: user, Password: s.passwords[user]})
		if err != nil {
			t.Fatalf("sign in as %s: %v", user, err)
		}
		caller, _, err := ctl.SessionAuthenticate(ctx, ns.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return caller
	}
	run, err := ctl.RunSubmit(ctx, as("sre-kim"), &control.RunSubmitParams{PlanFile: "plans/site-loss.hcl", PlanSource: string(plan.Source)})
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"sre-park", "compliance-lee"} {
		if _, err := ctl.RunApprove(ctx, as(who), &control.ApprovalDecideParams{RunID: run.ID}); err != nil {
			t.Fatalf("approval by %s: %v", who, err)
		}
	}
	for {
		r, err := st.RunGet(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.State.IsTerminal() {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("a drill run now against the demo's sites is still %s", r.State)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
