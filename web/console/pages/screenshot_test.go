package pages_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// TestScreenshots renders every main page in Korean and English to PNG with Chromium, for a
// person to look at. It runs when FIREDRILL_SCREENSHOTS names a directory and chromium is
// installed (apt-get install chromium); it writes DIR/<page>-<lang>.png.
//
//	FIREDRILL_SCREENSHOTS=/tmp/shots go test ./web/console/pages/ -run TestScreenshots
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("FIREDRILL_SCREENSHOTS")
	if dir == "" {
		t.Skip("set FIREDRILL_SCREENSHOTS to a directory to render the pages to PNG")
	}
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := setup(t)
	ctx := context.Background()
	for i, rto := range []time.Duration{12 * time.Minute, 9 * time.Minute, 41 * time.Minute} {
		c.runDrill(t, "", rto)
		c.clock.Advance(time.Duration(40+i*30) * 24 * time.Hour)
	}
	failed := c.runDrill(t, "promote", 0)
	ok := c.runDrill(t, "", 8*time.Minute)
	c.submit(t)
	live := c.startLive(t)
	comp := c.callers[drills.RoleCompliance]
	for _, f := range []control.FindingAddParams{
		{Title: "Remittance failed over before auth answered", Severity: "high", Service: "remittance", RunID: failed, DueAt: "2027-05-01"},
		{Title: "Runbook step 4 names the old Yatap VIP", Severity: "medium", Service: "payments", Owner: "park"},
	} {
		if _, err := c.ctl.FindingAdd(ctx, comp, &f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ctl.ReportExport(ctx, comp, &control.ReportExportParams{Profile: "kr-efsr", Period: "2027"}); err != nil {
		t.Fatal(err)
	}
	shots := []struct{ name, user, path string }{
		{"dashboard", "sre2", "/"},
		{"approvals", "sre2", "/approvals"},
		{"runs", drills.RoleSRE, "/runs"},
		{"run-detail", drills.RoleSRE, "/runs/" + ok},
		{"run-failed", drills.RoleSRE, "/runs/" + failed},
		{"live", drills.RoleSRE, "/runs/" + live.id},
		{"live-abort", drills.RoleSRE, "/runs/" + live.id + "/abort"},
		{"live-ended", drills.RoleViewer, "/runs/" + ok + "/live"},
		{"history", drills.RoleCompliance, "/services/auth"},
		{"findings", drills.RoleCompliance, "/findings"},
		{"reports", drills.RoleCompliance, "/reports"},
		{"schedules", drills.RoleCompliance, "/schedules"},
		{"calendar", drills.RoleCompliance, "/calendar"},
		{"forbidden", drills.RoleAuditor, "/findings"},
	}
	for _, s := range shots {
		user := s.user
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set(userHeader, user)
			c.handler.ServeHTTP(w, r)
		}))
		for _, lang := range []string{"en", "ko"} {
			out := filepath.Join(dir, s.name+"-"+lang+".png")
			cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
				"--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
				"--user-data-dir="+t.TempDir(), "--screenshot="+out, "--window-size=1400,1000", srv.URL+s.path+"?lang="+lang)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("chromium %s: %v\n%s", s.name, err, b)
			}
			t.Logf("wrote %s", out)
		}
		srv.Close()
	}
}
