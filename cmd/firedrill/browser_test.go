package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// envBrowserTests makes the browser tests fail instead of skipping when Chromium is missing:
// scripts/test.sh and .ci/run set it, so CI can never skip them silently.
const envBrowserTests = "FIREDRILL_BROWSER_TESTS"

// envArtifacts names the directory the browser tests save their screenshots in.
const envArtifacts = "FIREDRILL_ARTIFACTS"

// chromiumFlags keep headless Chromium off the network beyond the pages it is sent to: this
// machine's closed network refuses its connections otherwise, and CI must not depend on them.
var chromiumFlags = []string{"disable-quic", "disable-background-networking", "disable-component-update", "disable-sync",
	"no-first-run", "no-default-browser-check", "hide-scrollbars", "mute-audio", "disable-extensions"}

// headlessChromium starts Debian's Chromium, headless, for the duration of the test, and
// returns the context of its first tab. It skips the test when Chromium is not installed,
// unless FIREDRILL_BROWSER_TESTS is set.
func headlessChromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(envBrowserTests) != "" {
			t.Fatalf("%s is set but chromium is not installed (scripts/install-test-tools.sh installs it): %v", envBrowserTests, err)
		}
		t.Skip("chromium is not installed: apt-get install chromium, or run scripts/test.sh (set " + envBrowserTests + "=1 to fail instead)")
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000)}
	for _, f := range chromiumFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The browser starts on the first action, without a deadline (one would stop it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifactsDir is where the screenshots go: $FIREDRILL_ARTIFACTS, or a directory under the
// test's temporary one. It logs which, so that a person can look at them.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(envArtifacts)
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// person is one person at the console: a tab of their own in a browser context of their own
// (cookies apart), on the console at base.
type person struct {
	name      string
	ctx       context.Context
	base      string
	artifacts string
}

// newPerson opens a tab in a fresh browser context of the browser at ctx.
func newPerson(t *testing.T, ctx context.Context, name, base, artifacts string) *person {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open %s's tab: %v", name, err)
	}
	return &person{name: name, ctx: tab, base: base, artifacts: artifacts}
}

// actionTimeout bounds one action in a tab: a page that never comes fails the test instead of
// hanging it.
const actionTimeout = 30 * time.Second

// within is the tab's context for one action.
func (p *person) within() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, actionTimeout)
}

// do runs actions in the person's tab, failing the test on error.
func (p *person) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := p.within()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
}

// open navigates to path and returns the HTTP status of the page.
func (p *person) open(t *testing.T, path string) int64 {
	t.Helper()
	ctx, cancel := p.within()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(p.base+path))
	if err != nil {
		t.Fatalf("%s opens %s: %v", p.name, path, err)
	}
	return resp.Status
}

// mustOpen navigates to path and fails the test unless it answers 200.
func (p *person) mustOpen(t *testing.T, path string) {
	t.Helper()
	if status := p.open(t, path); status != 200 {
		t.Fatalf("%s opens %s: status %d: %s", p.name, path, status, p.pageText(t))
	}
}

// submit clicks sel, a button that posts a form, and waits for the page the server answers
// with; it returns that page's status.
func (p *person) submit(t *testing.T, sel string) int64 {
	t.Helper()
	ctx, cancel := p.within()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("%s clicks %s: %v", p.name, sel, err)
	}
	return resp.Status
}

// text is the visible text of the first element sel matches.
func (p *person) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := p.within()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady))
	if err != nil {
		t.Fatalf("%s reads %s: %v", p.name, sel, err)
	}
	return s
}

// pageText is the text of the whole page as it is now, without waiting for any element: for
// failure messages.
func (p *person) pageText(t *testing.T) string {
	t.Helper()
	return eval[string](t, p, `document.body ? document.body.innerText : ""`)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, p *person, expr string) T {
	t.Helper()
	ctx, cancel := p.within()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s evaluates %s: %v", p.name, expr, err)
	}
	return v
}

// location is the path and query the tab shows.
func (p *person) location(t *testing.T) string {
	t.Helper()
	ctx, cancel := p.within()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(loc, p.base)
}

// screenshot saves a full-page PNG of the tab as name.png in the artefacts directory.
func (p *person) screenshot(t *testing.T, name string) {
	t.Helper()
	if err := p.trySave(name); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
}

func (p *person) trySave(name string) error {
	ctx, cancel := p.within()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p.artifacts, name+".png"), png, 0o644)
}

// shootBoth saves path in English and in Korean as name-en.png and name-ko.png, then leaves
// the person's language English again.
func (p *person) shootBoth(t *testing.T, name, path string) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for _, lang := range []string{"ko", "en"} {
		if status := p.open(t, path+sep+"lang="+lang); status != 200 {
			t.Errorf("%s opens %s for its screenshot: status %d", p.name, path, status)
		}
		p.screenshot(t, name+"-"+lang)
	}
}

// unsafeName turns a subtest's name into a file name.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// shotOnFailure saves a screenshot of every person's tab when t fails, named after the test.
func shotOnFailure(t *testing.T, people ...*person) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, p := range people {
			name := "failed-" + unsafeName.ReplaceAllString(t.Name(), "_") + "-" + p.name
			if err := p.trySave(name); err != nil {
				t.Logf("no failure screenshot of %s: %v", p.name, err)
				continue
			}
			t.Logf("failure screenshot: %s", filepath.Join(p.artifacts, name+".png"))
		}
	})
}

// downloadsTo makes the person's browser context save downloads into dir, and returns a
// function that clicks sel and waits for the download it starts to finish, returning the
// file's path under the name the server suggested (its Content-Disposition).
func (p *person) downloadsTo(t *testing.T, dir string) func(sel string) string {
	t.Helper()
	c := chromedp.FromContext(p.ctx)
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: c.BrowserContextID,
		DownloadPath: dir, EventsEnabled: ptr(true)}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	return func(sel string) string {
		t.Helper()
		ctx, cancel := p.within()
		defer cancel()
		// Both subscribed before the click: no event is lost.
		begins := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
		progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
		p.do(t, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		var guid, name string
		for ev, err := range begins {
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			guid, name = ev.GUID, ev.SuggestedFilename
			break
		}
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("download %s: %v", name, err)
			}
			if ev.GUID != guid {
				continue
			}
			switch ev.State {
			case browser.DownloadProgressStateCompleted:
				path := filepath.Join(dir, name)
				if err := os.Rename(filepath.Join(dir, guid), path); err != nil {
					t.Fatal(err)
				}
				return path
			case browser.DownloadProgressStateCanceled:
				t.Fatalf("download %s was cancelled", name)
			}
		}
		t.Fatal("the download did not finish")
		return ""
	}
}

func ptr[T any](v T) *T { return &v }
