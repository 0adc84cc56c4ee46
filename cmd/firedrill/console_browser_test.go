package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web/console/oidctest"
)

// consoleUnderTest is a firedrill serve process with its console, over PostgreSQL, the
// simulated sites and the example estate, signing people in through an identity provider and
// with local passwords.
type consoleUnderTest struct {
	base       string
	idp        *oidctest.Provider
	api        *apiServer
	admin      string
	estatePath string
	keyPath    string
}

// startConsole starts the sites, the provider and serve, and creates the local accounts as an
// admin would, through the CLI: the bootstrap admin root, kim (SRE), lee (compliance) and fsc
// (auditor), each with the password passwords[name].
func startConsole(t *testing.T, ctx context.Context, passwords map[string]string) *consoleUnderTest {
	t.Helper()
	dir := t.TempDir()
	sites, env := startSim(t, ctx)
	src, err := os.ReadFile("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	// The example estate as it ships, approval policy and canaries included, on the sim's ports.
	c := &consoleUnderTest{estatePath: filepath.Join(dir, "firedrill.hcl"), keyPath: filepath.Join(dir, "keys", "signing.pem")}
	planPath := filepath.Join(dir, "plans", "site-loss.hcl")
	plan, err := os.ReadFile("../../examples/plans/site-loss.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(planPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planPath, plan, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.estatePath, []byte(pointAtSim(string(src), sites)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.idp = oidctest.New(t, "firedrill", "browser-test-client-secret")
	// The redirect URL must be known before serve starts: take a free port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dsn := storetest.NewDatabase(t)
	p := startServe(t, ctx, append(env, "FIREDRILL_OIDC_CLIENT_SECRET=browser-test-client-secret", "FIREDRILL_POLL=50ms"),
		"--listen", addr, "--database-url", dsn, "--config", c.estatePath,
		"--signing-key", c.keyPath, "--institution", "Example Bank", "--report-time-zone", "Asia/Seoul",
		"--oidc-issuer", c.idp.URL, "--oidc-client-id", "firedrill", "--oidc-redirect-url", "http://"+addr+"/auth/callback",
		"--oidc-role-map", "dr-sre=sre", "--oidc-role-map", "dr-compliance=compliance", "--oidc-role-map", "dr-audit=auditor")
	c.base = p.address(t)
	c.api = &apiServer{url: c.base, dsn: dsn}
	c.admin = c.api.bootstrap(t, "root")
	for name, role := range map[string]string{"kim": "sre", "lee": "compliance", "fsc": "auditor"} {
		c.api.cli(t, c.admin, "user", "add", name, "--role", role)
	}
	for name, pw := range passwords {
		c.api.cli(t, c.admin, "user", "password", name, "--password-file", writeFile(t, pw+"\n"))
	}
	return c
}

// signIn signs p in at the sign-in page with a local password.
func signIn(t *testing.T, p *person, password string) {
	t.Helper()
	p.mustOpen(t, "/login")
	p.do(t, chromedp.SendKeys(chromedp.ID("user"), p.name), chromedp.SendKeys(chromedp.ID("password"), password))
	if status := p.submit(t, `form[action="/login"] button[type=submit]`); status != 200 {
		t.Fatalf("%s's sign-in answered %d", p.name, status)
	}
	if got := p.text(t, "#user"); got != p.name {
		t.Fatalf("signed in as %q at %s, want %s", got, p.location(t), p.name)
	}
}

// signInOIDC signs p in through the identity provider, as a member of group.
func signInOIDC(t *testing.T, c *consoleUnderTest, p *person, group string) {
	t.Helper()
	c.idp.SignIn(oidctest.Person{Subject: "emp-" + p.name, Username: p.name, Groups: []string{group}})
	p.mustOpen(t, "/login")
	if status := p.submit(t, "a.idp"); status != 200 {
		t.Fatalf("%s's sign-in through the provider answered %d", p.name, status)
	}
	if got := p.text(t, "#user"); got != p.name {
		t.Fatalf("signed in through the provider as %q at %s, want %s", got, p.location(t), p.name)
	}
}

// exportReport exports, as p at the reports page, a draft report of the days around today
// under profile in lang, and returns its ID.
func exportReport(t *testing.T, p *person, profile, lang string) string {
	t.Helper()
	p.mustOpen(t, "/reports")
	now := time.Now().In(time.FixedZone("KST", 9*3600))
	period := now.AddDate(0, 0, -1).Format(time.DateOnly) + ".." + now.AddDate(0, 0, 1).Format(time.DateOnly)
	p.do(t, chromedp.SetValue(chromedp.ID("r-profile"), profile), chromedp.SetValue(chromedp.ID("r-period"), period), chromedp.SetValue(chromedp.ID("r-lang"), lang))
	if status := p.submit(t, `form[method=post][action="/reports"] button[type=submit]`); status != 200 {
		t.Fatalf("the export answered %d: %s", status, p.pageText(t))
	}
	m := regexp.MustCompile(`exported\+(R-[^&]+)`).FindStringSubmatch(p.location(t))
	if m == nil {
		t.Fatalf("the export landed on %s: %s", p.location(t), p.pageText(t))
	}
	return m[1]
}

// waitRunEnded waits, through the API, until the run has ended, and fails the test unless it
// succeeded.
func waitRunEnded(t *testing.T, ctx context.Context, c *consoleUnderTest, runID string) {
	t.Helper()
	var state string
	waitFor(t, 2*time.Minute, func() bool {
		_, body := apiGet(t, c.base+"/api/v1/runs/"+runID, c.admin)
		run, _ := body["run"].(map[string]any)
		state, _ = run["state"].(string)
		return state == "succeeded" || state == "failed" || state == "aborted"
	})
	if state != "succeeded" {
		t.Fatalf("run %s ended %s, want succeeded", runID, state)
	}
}

// TestConsoleInABrowser drives the console in Chromium as its people would: an SRE starts the
// example drill, a second SRE and a compliance officer approve it from their inboxes, the
// live view follows it to its end, the compliance officer exports, publishes and downloads the
// report, which firedrill report verify accepts, and an auditor sees the published report and
// nothing else. Every main page is saved as a screenshot in Korean and English.
func TestConsoleInABrowser(t *testing.T) {
	browserCtx := headlessChromium(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	passwords := map[string]string{"root": "the first admin's passphrase", "kim": "kim's long passphrase", "lee": "lee's long passphrase", "fsc": "the regulator's passphrase"}
	c := startConsole(t, ctx, passwords)
	artifacts := artifactsDir(t)
	kim := newPerson(t, browserCtx, "kim", c.base, artifacts)
	park := newPerson(t, browserCtx, "park", c.base, artifacts)
	lee := newPerson(t, browserCtx, "lee", c.base, artifacts)
	fsc := newPerson(t, browserCtx, "fsc", c.base, artifacts)
	root := newPerson(t, browserCtx, "root", c.base, artifacts)
	// Each flow is a subtest; one that fails leaves the others to run, those that need what
	// it made fail saying so.
	flow := func(name string, f func(t *testing.T)) {
		t.Helper()
		t.Run(name, func(t *testing.T) { shotOnFailure(t, kim, park, lee, fsc); f(t) })
	}
	var runID, reportID, bundle string
	// The downloaded bundle outlives the flow that downloads it: the auditor uploads it.
	downloads := t.TempDir()
	needRun := func(t *testing.T) {
		t.Helper()
		if runID == "" {
			t.Fatal("no run: the flow that starts it failed")
		}
	}

	flow("the sign-in page", func(t *testing.T) {
		for _, lang := range []string{"ko", "en"} {
			kim.mustOpen(t, "/login?lang="+lang)
			kim.screenshot(t, "login-"+lang)
		}
	})
	flow("local sign-in", func(t *testing.T) {
		signIn(t, kim, passwords["kim"])
		signIn(t, lee, passwords["lee"])
		signIn(t, fsc, passwords["fsc"])
		if roles := kim.text(t, ".roles"); !strings.Contains(strings.ToLower(roles), "sre") {
			t.Errorf("kim's roles read %q", roles)
		}
		// The session lives in an HttpOnly, SameSite cookie that the page's scripts cannot read.
		cookies, err := chromedp.Call(kim.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{c.base + "/"}})
		if err != nil {
			t.Fatal(err)
		}
		var session *network.Cookie
		for _, ck := range cookies.Cookies {
			if ck.Name == "firedrill_session" {
				session = ck
			}
		}
		if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteLax {
			t.Errorf("the session cookie = %+v, want HttpOnly and SameSite=Lax", session)
		}
		if jar := eval[string](t, kim, `document.cookie`); strings.Contains(jar, "firedrill_session") {
			t.Errorf("the page's scripts read the session cookie: %q", jar)
		}
	})
	flow("OIDC sign-in", func(t *testing.T) {
		signInOIDC(t, c, park, "dr-sre")
		if roles := park.text(t, ".roles"); !strings.Contains(strings.ToLower(roles), "sre") {
			t.Errorf("park's roles, mapped from dr-sre, read %q", roles)
		}
	})

	flow("an SRE starts the drill from the plans page", func(t *testing.T) {
		kim.mustOpen(t, "/plans")
		if status := kim.submit(t, `a.plan-link[href*="site-loss.hcl"]`); status != 200 {
			t.Fatalf("the plan's page answered %d: %s", status, kim.pageText(t))
		}
		kim.do(t, chromedp.SendKeys(chromedp.ID("start-comment"), "semiannual drill, brought forward"))
		if status := kim.submit(t, "#plan-start"); status != 200 {
			t.Fatalf("starting the plan answered %d: %s", status, kim.pageText(t))
		}
		m := regexp.MustCompile(`^/runs/([0-9a-f-]{36})\b`).FindStringSubmatch(kim.location(t))
		if m == nil {
			t.Fatalf("starting the plan landed on %s: %s", kim.location(t), kim.pageText(t))
		}
		runID = m[1]
		if n := eval[int](t, kim, `document.querySelectorAll(".state.state-awaiting_approval").length`); n == 0 {
			t.Fatalf("the run's page shows no awaiting-approval state: %s", kim.pageText(t))
		}
	})
	approve := func(t *testing.T, p *person) {
		t.Helper()
		p.mustOpen(t, "/approvals")
		p.do(t, chromedp.SendKeys(chromedp.ID("c-"+runID), "checked the plan and the rollback: "+p.name))
		if status := p.submit(t, `form[action="/approvals/`+runID+`/approve"] button.primary`); status != 200 {
			t.Fatalf("%s's approval answered %d: %s", p.name, status, p.pageText(t))
		}
		if notice := p.text(t, ".notice"); notice == "" {
			t.Errorf("%s sees no notice after approving", p.name)
		}
	}
	flow("the second SRE approves from the inbox", func(t *testing.T) {
		needRun(t)
		park.shootBoth(t, "approvals", "/approvals")
		park.shootBoth(t, "dashboard", "/")
		approve(t, park)
	})
	// The SRE watches the run from before it may start: the live view must follow it through
	// the last approval to its end on its own.
	flow("the live view opens awaiting approval", func(t *testing.T) {
		needRun(t)
		kim.mustOpen(t, "/runs/"+runID+"/live")
		if state := eval[string](t, kim, `document.getElementById("run-state").dataset.state`); state != "awaiting_approval" {
			t.Fatalf("the live view opens on state %q, want awaiting_approval", state)
		}
		kim.do(t, chromedp.Evaluate[chromedp.Void](`window.firedrillNotReloaded = true`))
		kim.screenshot(t, "live-awaiting-en")
	})
	flow("the compliance officer approves from the inbox", func(t *testing.T) {
		needRun(t)
		approve(t, lee)
	})
	flow("the live view reaches succeeded without a reload", func(t *testing.T) {
		needRun(t)
		if !eval[bool](t, kim, `window.firedrillNotReloaded === true`) {
			t.Fatal("the live view was not opened before the last approval")
		}
		waitCtx, cancel := context.WithTimeout(kim.ctx, 2*time.Minute)
		defer cancel()
		// Until the run has ended, or the page lost its state element.
		end, err := chromedp.Run(waitCtx, chromedp.Poll[string](`(() => {
				const s = document.getElementById("run-state");
				if (!s) return "no #run-state on the page";
				return ["succeeded", "failed", "aborted"].includes(s.dataset.state) && s.dataset.state;
			})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0)))
		if err != nil || end != "succeeded" {
			t.Fatalf("the live view ended on %q (%v), want succeeded: %s", end, err, kim.pageText(t))
		}
		if !eval[bool](t, kim, `window.firedrillNotReloaded === true`) {
			t.Error("the live view reloaded the page to follow the run")
		}
		// The steps appeared as they ran, on the page as it was loaded.
		if steps := kim.text(t, "#steps-body"); !strings.Contains(steps, "lose-sangam") || !strings.Contains(steps, "verify") {
			t.Errorf("the live view's steps read %q, want every step of the drill", steps)
		}
		// Nor does it still say that the run waits for an approval it got.
		if n := eval[int](t, kim, `document.querySelectorAll(".live-actions .badge.warn").length`); n != 0 {
			t.Errorf("the ended run's live view still shows %d warning(s): %s", n, kim.text(t, ".live-actions"))
		}
		kim.screenshot(t, "live-succeeded-en")
		kim.shootBoth(t, "live", "/runs/"+runID+"/live")
	})
	flow("the run's record shows both approvals", func(t *testing.T) {
		needRun(t)
		waitRunEnded(t, ctx, c, runID)
		lee.mustOpen(t, "/runs/"+runID)
		for _, who := range []string{"park", "lee"} {
			if page := lee.pageText(t); !strings.Contains(page, "checked the plan and the rollback: "+who) {
				t.Errorf("the run's page lacks %s's approval comment:\n%s", who, page)
			}
		}
	})

	flow("compliance exports, publishes and downloads the report", func(t *testing.T) {
		needRun(t)
		// The report covers the drill once it has ended, whether or not the live view saw it.
		waitRunEnded(t, ctx, c, runID)
		reportID = exportReport(t, lee, "kr-efsr", "ko")
		if status := lee.submit(t, `form[action="/reports/`+reportID+`/publish"] button`); status != 200 {
			t.Fatalf("publishing answered %d: %s", status, lee.pageText(t))
		}
		download := lee.downloadsTo(t, downloads)
		bundle = download(`a[href="/reports/` + reportID + `/bundle"]`)
		if name := filepath.Base(bundle); name != reportID+"-v1.zip" {
			t.Errorf("the bundle downloads as %q, want %s-v1.zip", name, reportID)
		}
		pub := filepath.Join(t.TempDir(), "key.pub")
		if err := os.WriteFile(pub, []byte(c.api.cli(t, "", "report", "public-key", "--signing-key", c.keyPath).stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		verify := exec.CommandContext(ctx, binPath, "report", "verify", bundle, "--public-key", pub)
		out, err := verify.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "OK report "+reportID+" version 1 (published)") {
			t.Fatalf("firedrill report verify of the downloaded bundle: %v\n%s", err, out)
		}
		lee.shootBoth(t, "reports", "/reports")
	})

	flow("the auditor sees the published report and nothing else", func(t *testing.T) {
		if reportID == "" {
			t.Fatal("no published report: the flow that publishes it failed")
		}
		// A draft beside the published report: the auditor must not see it.
		draft := exportReport(t, lee, "eu-dora", "en")
		fsc.mustOpen(t, "/portal")
		if page := fsc.pageText(t); !strings.Contains(page, reportID) || strings.Contains(page, draft) {
			t.Errorf("the portal shows the published report %s: %v, the draft %s: %v:\n%s", reportID, strings.Contains(page, reportID),
				draft, strings.Contains(page, draft), page)
		}
		fsc.shootBoth(t, "portal", "/portal")
		// The reports page, where the auditor may read it, lists the published report alone.
		if status := fsc.open(t, "/reports"); status == 200 {
			if n := eval[int](t, fsc, `document.querySelectorAll('a[href="/reports/`+draft+`/bundle"]').length`); n != 0 {
				t.Errorf("the auditor's reports page lists the draft %s", draft)
			}
		}
		if status := fsc.open(t, "/reports/"+draft+"/bundle"); status == 200 {
			t.Errorf("the auditor downloads the draft %s", draft)
		}
		for _, path := range []string{"/", "/approvals", "/runs", "/findings", "/calendar", "/schedules", "/plans", "/audit", "/users", "/services/auth"} {
			status := fsc.open(t, path)
			if status != 403 && !strings.HasPrefix(fsc.location(t), "/portal") {
				t.Errorf("the auditor opens %s: status %d at %s, want 403 or the portal", path, status, fsc.location(t))
			}
		}
		for _, lang := range []string{"ko", "en"} {
			if status := fsc.open(t, "/findings?lang="+lang); status == 403 {
				fsc.screenshot(t, "forbidden-"+lang)
			}
		}
		// The portal lists the runs the report covers, and their pages open.
		fsc.mustOpen(t, "/portal")
		if status := fsc.submit(t, `.portal-runs a[href="/runs/`+runID+`"]`); status != 200 {
			t.Errorf("the auditor opens the covered run's page: status %d", status)
		}
		if page := fsc.pageText(t); !strings.Contains(page, runID) {
			t.Errorf("the covered run's page does not show the run:\n%s", page)
		}
	})
	flow("the auditor verifies the bundle in the browser", func(t *testing.T) {
		if bundle == "" {
			t.Fatal("no bundle: the flow that downloads it failed")
		}
		for _, lang := range []string{"ko", "en"} {
			fsc.mustOpen(t, "/portal/verify?lang="+lang)
			fsc.do(t, chromedp.SetUploadFiles(chromedp.ID("v-bundle"), []string{bundle}))
			if status := fsc.submit(t, `form[method=post][action="/portal/verify"] button[type=submit]`); status != 200 {
				t.Fatalf("verifying the bundle answered %d: %s", status, fsc.pageText(t))
			}
			if n := eval[int](t, fsc, `document.querySelectorAll(".verify-result.holds").length`); n != 1 {
				t.Errorf("the bundle does not verify in the browser:\n%s", fsc.pageText(t))
			}
			fsc.screenshot(t, "verify-result-"+lang)
		}
	})

	flow("a form without its CSRF token is refused", func(t *testing.T) {
		lee.mustOpen(t, "/findings")
		lee.do(t, chromedp.SendKeys(chromedp.ID("f-title"), "posted without a CSRF token"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('form[method=post][action="/findings"] [name=csrf_token]').remove()`))
		if status := lee.submit(t, `form[method=post][action="/findings"] button[type=submit]`); status != 403 {
			t.Errorf("a form without its CSRF token answered %d, want 403", status)
		}
		lee.mustOpen(t, "/findings")
		if strings.Contains(lee.pageText(t), "posted without a CSRF token") {
			t.Error("the finding posted without a CSRF token was recorded")
		}
	})

	flow("screenshots of the other main pages", func(t *testing.T) {
		shotOnFailure(t, root)
		signIn(t, root, passwords["root"])
		month := time.Now().In(time.FixedZone("KST", 9*3600)).Format("2006-01")
		if runID != "" {
			waitRunEnded(t, ctx, c, runID)
			kim.shootBoth(t, "run-detail", "/runs/"+runID)
		}
		kim.shootBoth(t, "runs", "/runs")
		kim.shootBoth(t, "history", "/services/auth")
		lee.shootBoth(t, "findings", "/findings")
		lee.shootBoth(t, "calendar-month", "/calendar?month="+month)
		lee.shootBoth(t, "calendar-year", "/calendar?view=year")
		lee.shootBoth(t, "schedules", "/schedules")
		kim.shootBoth(t, "plans", "/plans")
		root.shootBoth(t, "audit", "/audit")
		root.shootBoth(t, "users", "/users")
	})
}
