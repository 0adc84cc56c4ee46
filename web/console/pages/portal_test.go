package pages_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/report/reporttest"
	"github.com/firedrill/firedrill/web/console/pages"
)

// published is a console with two drills in a published report, a draft exported after a
// third drill, and a fourth drill no report covers.
type published struct {
	*console
	report, draft       *control.ReportView
	covered             []string
	inDraft, uncovered  string
	bundle, draftBundle []byte
}

func setupPublished(t *testing.T) *published {
	t.Helper()
	c := setup(t)
	ctx := context.Background()
	p := &published{console: c}
	p.covered = []string{c.runDrill(t, "", 12*time.Minute), c.runDrill(t, "promote", 0)}
	comp := c.callers[drills.RoleCompliance]
	r, err := c.ctl.ReportExport(ctx, comp, &control.ReportExportParams{Profile: "kr-efsr", Period: "2027"})
	if err != nil {
		t.Fatal(err)
	}
	if p.report, err = c.ctl.ReportPublish(ctx, comp, r.ID); err != nil {
		t.Fatal(err)
	}
	p.inDraft = c.runDrill(t, "", 9*time.Minute)
	if p.draft, err = c.ctl.ReportExport(ctx, comp, &control.ReportExportParams{Profile: "kr-efsr", Period: "2027", Replaces: r.ID}); err != nil {
		t.Fatal(err)
	}
	p.uncovered = c.runDrill(t, "", 7*time.Minute)
	p.bundle, p.draftBundle = p.download(t, p.report.ID), p.download(t, p.draft.ID)
	return p
}

func (p *published) download(t *testing.T, id string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := p.ctl.ReportBundle(context.Background(), p.callers[drills.RoleCompliance], id, nil, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// getRoutes are the GET routes pages.go registers, read from its source so that a page added
// there without a row below fails the test.
func getRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("pages.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`m\.Handle(?:Func)?\("GET ([^"]+)"`).FindAllSubmatch(src, -1) {
		out = append(out, string(m[1]))
	}
	if len(out) < 10 {
		t.Fatalf("found %d GET routes in pages.go: the pattern no longer matches them", len(out))
	}
	return out
}

// The auditor reaches the portal, the published reports with their bundles and the drills
// they cover, and nothing else: every other page answers 403, or sends it to the portal.
func TestAuditorReachesOnlyThePortal(t *testing.T) {
	t.Parallel()
	p := setupPublished(t)
	const (
		ok        = "200"
		forbidden = "403"
		notFound  = "404"
		toPortal  = "303 /portal"
	)
	type visit struct{ path, want, shows string }
	// rolesOf is what a 403 page shows: the roles that would do.
	rolesOf := func(op control.Operation) string { return strings.Join(control.Permissions[op], ", ") }
	const outOfScope = "no published report covers this one"
	visits := map[string][]visit{
		"/static/":             {{"/static/console.css", ok, "regulator portal"}},
		"/{$}":                 {{"/", toPortal, ""}},
		"/approvals":           {{"/approvals", forbidden, rolesOf(control.OpApprovalList)}},
		"/runs":                {{"/runs", toPortal, ""}},
		"/runs/{id}":           {{"/runs/" + p.covered[0], ok, "Timeline"}, {"/runs/" + p.covered[1], ok, "Timeline"}, {"/runs/" + p.inDraft, forbidden, outOfScope}, {"/runs/" + p.uncovered, forbidden, outOfScope}},
		"/runs/{id}/live":      {{"/runs/" + p.covered[0] + "/live", ok, "run-state"}, {"/runs/" + p.uncovered + "/live", forbidden, outOfScope}},
		"/runs/{id}/events":    {{"/runs/" + p.covered[0] + "/events", ok, "event: end"}, {"/runs/" + p.uncovered + "/events", forbidden, outOfScope}},
		"/runs/{id}/abort":     {{"/runs/" + p.covered[0] + "/abort", forbidden, rolesOf(control.OpRunAbort)}},
		"/services/{name}":     {{"/services/auth", forbidden, rolesOf(control.OpEstateRead)}},
		"/findings":            {{"/findings", forbidden, rolesOf(control.OpFindingRead)}},
		"/reports":             {{"/reports", ok, p.report.ID}},
		"/reports/{id}/bundle": {{"/reports/" + p.report.ID + "/bundle", ok, "PK"}, {"/reports/" + p.draft.ID + "/bundle", notFound, ""}},
		"/schedules":           {{"/schedules", forbidden, rolesOf(control.OpScheduleRead)}},
		"/calendar":            {{"/calendar", forbidden, rolesOf(control.OpScheduleRead)}},
		"/plans":               {{"/plans", forbidden, rolesOf(control.OpPlanValidate)}},
		"/plans/view":          {{"/plans/view?file=plans%2Fsite-loss.hcl", forbidden, rolesOf(control.OpPlanValidate)}},
		"/plans/validate":      {{"/plans/validate", "303 /plans", ""}},
		"/audit":               {{"/audit", forbidden, rolesOf(control.OpAuditRead)}},
		"/users":               {{"/users", forbidden, rolesOf(control.OpUserRead)}},
		"/users/{name}":        {{"/users/root", forbidden, rolesOf(control.OpUserRead)}},
		"/users/{name}/tokens": {{"/users/root/tokens", "303 /users/root", ""}},
		"/portal":              {{"/portal", ok, p.report.ID}},
		"/portal/verify":       {{"/portal/verify", ok, "openssl pkeyutl -verify"}},
		"/portal/key.pub":      {{"/portal/key.pub", ok, "BEGIN PUBLIC KEY"}},
	}
	for _, route := range getRoutes(t) {
		vs, known := visits[route]
		if !known {
			t.Errorf("GET %s (pages.go) has no row in this test: say what an auditor gets there", route)
			continue
		}
		for _, v := range vs {
			got := p.get(t, drills.RoleAuditor, v.path, "Accept-Language", "en")
			status := fmt.Sprint(got.status)
			if got.status == http.StatusSeeOther {
				status += " " + got.location
			}
			if status != v.want {
				t.Errorf("GET %s as the auditor: %s, want %s:\n%s", v.path, status, v.want, excerpt(got.body))
				continue
			}
			if !strings.Contains(html.UnescapeString(got.body), v.shows) {
				t.Errorf("GET %s as the auditor shows no %q:\n%s", v.path, v.shows, excerpt(got.body))
			}
		}
	}
	for route := range visits {
		if !slices.Contains(getRoutes(t), route) {
			t.Errorf("the test visits GET %s, which pages.go no longer registers", route)
		}
	}
	// The published list holds no draft, and the navigation is the portal's alone.
	list := p.get(t, drills.RoleAuditor, "/reports").body
	if strings.Contains(list, p.draft.ID) {
		t.Errorf("the auditor's report list shows the draft %s", p.draft.ID)
	}
	home := p.get(t, drills.RoleAuditor, "/portal", "Accept-Language", "en").body
	nav := home[strings.Index(home, "<nav"):strings.Index(home, "</nav>")]
	links := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(nav, -1)
	var hrefs []string
	for _, l := range links {
		hrefs = append(hrefs, l[1])
	}
	if !slices.Equal(hrefs, []string{"/portal", "/portal/verify"}) {
		t.Errorf("the auditor's navigation links %v, want the portal's two pages alone", hrefs)
	}
	// A caller who reads more than the portal keeps the dashboard and every run.
	if got := p.get(t, drills.RoleViewer, "/"); got.status != http.StatusOK {
		t.Errorf("the viewer's dashboard: %d", got.status)
	}
	if got := p.get(t, drills.RoleViewer, "/runs/"+p.uncovered); got.status != http.StatusOK {
		t.Errorf("the viewer reads an uncovered run: %d", got.status)
	}
	// A viewer has no portal: its operations are not the viewer's.
	for _, path := range []string{"/portal", "/portal/verify", "/portal/key.pub"} {
		if got := p.get(t, drills.RoleViewer, path); got.status != http.StatusForbidden {
			t.Errorf("GET %s as the viewer: %d, want 403", path, got.status)
		}
	}
}

// The portal lists each published report with what a regulator checks (profile, period,
// version, who published it and when, the key's fingerprint) and links its bundle and the
// run detail of each drill it covers.
func TestPortalListsPublishedReportsWithTheirDrills(t *testing.T) {
	t.Parallel()
	p := setupPublished(t)
	for _, lang := range []string{"en", "ko"} {
		body := p.get(t, drills.RoleAuditor, "/portal", "Accept-Language", lang).body
		want := []string{p.report.ID, "kr-efsr", "2027", p.report.SigningKeyFingerprint, p.report.ManifestSHA256,
			`href="/reports/` + p.report.ID + `/bundle"`, drills.RoleCompliance}
		for _, id := range p.covered {
			want = append(want, `href="/runs/`+id+`"`)
		}
		want = append(want, map[string][]string{
			"en": {"version 1", "Drills it covers (2)", "✓</span> published", "✓</span> Passed", "✕</span> Not passed"},
			"ko": {"제1판", "대상 훈련 (2건)", "공개됨", "통과", "미통과"},
		}[lang]...)
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("the %s portal lacks %q:\n%s", lang, w, excerpt(body))
			}
		}
		for _, never := range []string{p.draft.ID, `href="/runs/` + p.inDraft + `"`, `href="/runs/` + p.uncovered + `"`, "err.", "portal."} {
			if strings.Contains(body, never) {
				t.Errorf("the %s portal shows %q", lang, never)
			}
		}
	}
}

// upload posts a bundle to url's /portal/verify as user, with the CSRF token first, as the
// form does.
func (c *console) upload(t *testing.T, url, user, name string, bundle io.Reader) *page {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("csrf_token", csrfToken)
		if err == nil {
			var fw io.Writer
			if fw, err = mw.CreateFormFile("bundle", name); err == nil {
				if _, err = io.Copy(fw, bundle); err == nil {
					err = mw.Close()
				}
			}
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, url+"/portal/verify", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept-Language", "en")
	return c.do(t, user, req)
}

// A bundle uploaded to the portal is verified with the server's key, as `firedrill report
// verify` does: a genuine one holds on every check; one byte changed in runs.csv fails the
// hashes, naming the file; a wrong role is refused; an upload above the limit is 413.
func TestVerifyAnUploadedBundle(t *testing.T) {
	t.Parallel()
	p := setupPublished(t)
	auditor := drills.RoleAuditor

	got := p.upload(t, p.url, auditor, "report.zip", bytes.NewReader(p.bundle))
	if got.status != http.StatusOK {
		t.Fatalf("a genuine bundle: %d:\n%s", got.status, excerpt(got.body))
	}
	for _, w := range []string{"The bundle holds: report " + p.report.ID + " version 1 (published)", "Result for report.zip"} {
		if !strings.Contains(got.body, w) {
			t.Errorf("the genuine bundle's result lacks %q:\n%s", w, excerpt(got.body))
		}
	}
	if n := strings.Count(got.body, "✓</span> Pass</span>"); n != len(report.Checks) || strings.Contains(got.body, "✕</span> Fail") {
		t.Errorf("the genuine bundle passes %d of the %d checks:\n%s", n, len(report.Checks), excerpt(got.body))
	}

	tampered, err := reporttest.Tamper(p.bundle, report.FileRunsCSV, reporttest.FlipByte)
	if err != nil {
		t.Fatal(err)
	}
	got = p.upload(t, p.url, auditor, "report.zip", bytes.NewReader(tampered))
	if got.status != http.StatusOK || !strings.Contains(got.body, "The bundle does NOT hold") {
		t.Fatalf("a tampered bundle: %d:\n%s", got.status, excerpt(got.body))
	}
	hashes := regexp.MustCompile(`(?s)<tr class="row-alert">\s*<th scope="row">File hashes</th>.*?✕</span> Fail.*?<span class="mono problem-file">runs.csv</span>: its SHA-256 is`)
	if !hashes.MatchString(got.body) {
		t.Errorf("the tampered bundle's result does not fail the file hashes naming runs.csv:\n%s", excerpt(got.body))
	}
	if !regexp.MustCompile(`(?s)<th scope="row">Signature</th>\s*<td><span class="badge ok">`).MatchString(got.body) {
		t.Errorf("the tampered bundle's signature (of an untouched manifest) does not pass:\n%s", excerpt(got.body))
	}

	// A draft verifies too: its signature is the same key's.
	if got := p.upload(t, p.url, auditor, "draft.zip", bytes.NewReader(p.draftBundle)); !strings.Contains(got.body, "version 2 (draft)") {
		t.Errorf("the draft bundle's result:\n%s", excerpt(got.body))
	}
	for _, bad := range []struct{ name, body string }{{"notes.txt", "not a zip"}, {"empty.zip", ""}} {
		got := p.upload(t, p.url, auditor, bad.name, strings.NewReader(bad.body))
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, "bundle: ") {
			t.Errorf("uploading %s: %d, want 400 naming the bundle field:\n%s", bad.name, got.status, excerpt(got.body))
		}
	}
	for _, role := range []string{drills.RoleViewer, drills.RoleSRE} {
		if got := p.upload(t, p.url, role, "report.zip", bytes.NewReader(p.bundle)); got.status != http.StatusForbidden || !strings.Contains(got.body, "admin, compliance, auditor") {
			t.Errorf("uploading as %s: %d, want 403 naming the roles of report.verify:\n%s", role, got.status, excerpt(got.body))
		}
	}
	if got := p.upload(t, p.url, drills.RoleCompliance, "report.zip", bytes.NewReader(p.bundle)); got.status != http.StatusOK {
		t.Errorf("uploading as compliance: %d", got.status)
	}

	// Above the limit: 413, and the partial upload is not left behind.
	small, err := pages.New(pages.Config{Control: p.ctl, Clock: p.clock, MaxBundleSize: 64 << 10,
		Caller:    func(r *http.Request) (*control.Caller, error) { return p.callers[r.Header.Get(userHeader)], nil },
		CSRFToken: func(*http.Request) string { return csrfToken }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(small)
	defer srv.Close()
	before := verifyTemps(t)
	for _, size := range []int{64<<10 + 1, 1 << 20} {
		got := p.upload(t, srv.URL, auditor, "big.zip", io.LimitReader(zeros{}, int64(size)))
		if got.status != http.StatusRequestEntityTooLarge || !strings.Contains(got.body, "A bundle may be at most 64.0 KiB") {
			t.Errorf("uploading %d bytes above a 64 KiB limit: %d, want 413:\n%s", size, got.status, excerpt(got.body))
		}
	}
	if got := p.upload(t, srv.URL, auditor, "report.zip", bytes.NewReader(p.bundle)); got.status != http.StatusOK {
		t.Errorf("a bundle within the limit: %d", got.status)
	}
	// A declared length above the limit is refused before the body is read.
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/portal/verify", io.LimitReader(zeros{}, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 1 << 20
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	if got := p.do(t, auditor, req); got.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a declared 1 MiB upload above a 64 KiB limit: %d, want 413", got.status)
	}
	if after := verifyTemps(t); len(after) > len(before) {
		t.Errorf("uploads left temporary files behind: %v", after)
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

func verifyTemps(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(os.TempDir(), "firedrill-verify-*.zip"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The commands the verify page shows repeat the check offline with stock tools: they accept
// the published bundle with the key the page links, and refuse it with one byte changed.
func TestTheOfflineCommandsOnTheVerifyPageWork(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"unzip", "jq", "sha256sum", "openssl", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: scripts/install-test-tools.sh installs it (scripts/test.sh runs it)", tool)
		}
	}
	p := setupPublished(t)
	page := p.get(t, drills.RoleAuditor, "/portal/verify")
	m := regexp.MustCompile(`(?s)<pre class="commands" id="offline-commands"><code>(.*?)</code></pre>`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the verify page shows no commands:\n%s", excerpt(page.body))
	}
	script := "set -e\n" + html.UnescapeString(m[1])
	key := p.get(t, drills.RoleAuditor, "/portal/key.pub")
	if key.status != http.StatusOK || key.header.Get("Content-Disposition") != `attachment; filename="key.pub"` {
		t.Fatalf("the public key download: %d %v", key.status, key.header)
	}
	tampered, err := reporttest.Tamper(p.bundle, report.FileRunsCSV, reporttest.FlipByte)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		bundle []byte
		holds  bool
	}{{"the published bundle", p.bundle, true}, {"runs.csv altered", tampered, false}} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "report.zip"), tc.bundle, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "key.pub"), []byte(key.body), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		switch {
		case tc.holds && (err != nil || !strings.Contains(string(out), "Signature Verified Successfully") || !strings.Contains(string(out), "runs.csv: OK")):
			t.Errorf("%s: the commands fail (%v):\n%s", tc.name, err, out)
		case !tc.holds && (err == nil || !strings.Contains(string(out), "runs.csv: FAILED")):
			t.Errorf("%s: the commands accept it (%v):\n%s", tc.name, err, out)
		}
	}
}
