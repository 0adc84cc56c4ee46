package pages_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/report/reporttest"
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
	recordSkippedFires(t, c)
	for i, rto := range []time.Duration{12 * time.Minute, 9 * time.Minute, 41 * time.Minute} {
		c.runDrill(t, "", rto)
		c.clock.Advance(time.Duration(40+i*30) * 24 * time.Hour)
	}
	failed := c.runDrill(t, "promote", 0)
	ok := c.runDrill(t, "", 8*time.Minute)
	c.submit(t)
	live := c.startLive(t)
	comp := c.callers[drills.RoleCompliance]
	var added []string
	for _, f := range []control.FindingAddParams{
		{Title: "Remittance failed over before auth answered", Severity: "high", Service: "remittance", RunID: failed, DueAt: "2027-05-01"},
		{Title: "Runbook step 4 names the old Yatap VIP", Severity: "medium", Service: "payments", Owner: "park"},
		{Title: "Standby DNS TTL is 1 hour", Severity: "low", Service: "auth", Owner: "lee"},
	} {
		d, err := c.ctl.FindingAdd(ctx, comp, &f)
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, d.Finding.ID)
	}
	if _, err := c.ctl.FindingAcceptRisk(ctx, comp, &control.FindingAcceptRiskParams{ID: added[2], Reason: "TTL is lowered with the Q3 DNS migration; the RTO holds meanwhile"}); err != nil {
		t.Fatal(err)
	}
	// sre2 has a console password and signed in once.
	if _, err := c.ctl.PasswordSet(ctx, c.callers[drills.RoleAdmin], &control.PasswordSetParams{User: "sre2", Password: "a long console passphrase"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ctl.SignInPassword(ctx, &control.PasswordSignInParams{User: "sre2", Password: "a long console passphrase"}); err != nil {
		t.Fatal(err)
	}
	rep, err := c.ctl.ReportExport(ctx, comp, &control.ReportExportParams{Profile: "kr-efsr", Period: "2027"})
	if err != nil {
		t.Fatal(err)
	}
	// The report published, as an auditor sees it in the portal, and a correction drafted.
	if _, err := c.ctl.ReportPublish(ctx, comp, rep.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ctl.ReportExport(ctx, comp, &control.ReportExportParams{Profile: "kr-efsr", Period: "2027", Replaces: rep.ID}); err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := c.ctl.ReportBundle(ctx, c.callers[drills.RoleAuditor], rep.ID, nil, &bundle); err != nil {
		t.Fatal(err)
	}
	tampered, err := reporttest.Tamper(bundle.Bytes(), report.FileRunsCSV, reporttest.FlipByte)
	if err != nil {
		t.Fatal(err)
	}
	shots := []struct {
		name, user, path string
		// upload, when set, is posted to path as the verify form's bundle.
		upload []byte
	}{
		{"dashboard", "sre2", "/", nil},
		{"approvals", "sre2", "/approvals", nil},
		{"runs", drills.RoleSRE, "/runs", nil},
		{"run-detail", drills.RoleSRE, "/runs/" + ok, nil},
		{"run-failed", drills.RoleSRE, "/runs/" + failed, nil},
		{"history", drills.RoleCompliance, "/services/auth", nil},
		{"findings", drills.RoleCompliance, "/findings", nil},
		{"reports", drills.RoleCompliance, "/reports", nil},
		{"schedules", drills.RoleCompliance, "/schedules", nil},
		{"calendar", drills.RoleCompliance, "/calendar", nil},
		{"forbidden", drills.RoleAuditor, "/findings", nil},
		{"portal", drills.RoleAuditor, "/portal", nil},
		{"portal-run", drills.RoleAuditor, "/runs/" + failed, nil},
		{"verify", drills.RoleAuditor, "/portal/verify", nil},
		{"verify-holds", drills.RoleAuditor, "/portal/verify", bundle.Bytes()},
		{"verify-fails", drills.RoleAuditor, "/portal/verify", tampered},
		{"plans", drills.RoleSRE, "/plans", nil},
		{"plan", drills.RoleSRE, "/plans/view?file=plans%2Fsite-loss.hcl", nil},
		{"audit", drills.RoleCompliance, "/audit", nil},
		{"users", drills.RoleAdmin, "/users", nil},
		{"user", drills.RoleAdmin, "/users/sre2", nil},
		{"calendar-year", drills.RoleCompliance, "/calendar?view=year&year=2027", nil},
		{"live", drills.RoleSRE, "/runs/" + live.id, nil},
		{"live-abort", drills.RoleSRE, "/runs/" + live.id + "/abort", nil},
		{"live-ended", drills.RoleViewer, "/runs/" + ok + "/live", nil},
	}
	for _, s := range shots {
		user, upload := s.user, s.upload
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set(userHeader, user)
			if upload != nil && r.URL.Path == s.path {
				r = uploadRequest(t, r, upload)
			}
			c.handler.ServeHTTP(w, r)
		}))
		for _, lang := range []string{"en", "ko"} {
			out := filepath.Join(dir, s.name+"-"+lang+".png")
			cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
				"--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
				"--user-data-dir="+t.TempDir(), "--screenshot="+out, "--window-size=1400,1000", srv.URL+s.path+sep(s.path)+"lang="+lang)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("chromium %s: %v\n%s", s.name, err, b)
			}
			t.Logf("wrote %s", out)
		}
		srv.Close()
	}
}

// uploadRequest is r turned into the verify form's POST of bundle, as the browser sends it.
func uploadRequest(t *testing.T, r *http.Request, bundle []byte) *http.Request {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("csrf_token", csrfToken); err != nil {
		t.Error(err)
	}
	fw, err := mw.CreateFormFile("bundle", "report-2027.zip")
	if err != nil {
		t.Error(err)
	}
	fw.Write(bundle)
	mw.Close()
	up := r.Clone(r.Context())
	up.Method, up.Body, up.ContentLength = http.MethodPost, io.NopCloser(&body), int64(body.Len())
	up.Header.Set("Content-Type", mw.FormDataContentType())
	return up
}

// sep is what joins another query parameter to path.
func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}
