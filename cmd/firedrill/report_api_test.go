package main

import (
	"archive/zip"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web"
)

// A compliance officer exports a report through the CLI, a regulator verifies it with the
// public key alone, and once published an auditor downloads the signed-off bundle: serve's
// report wiring (signing key generated on first use, the shipped profiles) end to end.
func TestReportExportVerifyPublishThroughTheCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	dsn := storetest.NewDatabase(t)
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	estatePath := "../../examples/firedrill.hcl"
	est, src, err := loadEstate(estatePath)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "keys", "signing.pem")
	a := &app{stdout: io.Discard, stderr: io.Discard, logger: slog.New(slog.DiscardHandler)}
	reports, err := a.reports(ctx, st, reportOptions{signingKey: keyPath, institution: "Example Bank", timeZone: "Asia/Seoul"})
	if err != nil || reports == nil {
		t.Fatalf("serve's report wiring = %v, %v", reports, err)
	}
	ctl, err := control.New(control.Config{Store: st, Estate: &control.Estate{Path: estatePath, Estate: est, Source: src}, Reports: reports})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Control: ctl})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	s := &apiServer{url: hs.URL, dsn: dsn, st: st}
	admin := s.bootstrap(t, "root")
	officer := s.person(t, admin, "lee", "compliance")
	auditor := s.person(t, admin, "fsc", "auditor")

	now := time.Now().In(time.FixedZone("KST", 9*3600))
	period := now.AddDate(0, 0, -1).Format(time.DateOnly) + ".." + now.AddDate(0, 0, 1).Format(time.DateOnly)
	draftPath := filepath.Join(dir, "draft.zip")
	out := s.cli(t, officer, "report", "export", "--profile", "kr-efsr", "--period", period, "--out", draftPath)
	m := regexp.MustCompile(`^report (R-\S+) \(version 1, kr-efsr \S+, ko\) exported as a draft: `).FindStringSubmatch(out.stdout)
	if m == nil {
		t.Fatalf("report export printed %q", out.stdout)
	}
	id := m[1]
	pub := s.cli(t, "", "report", "public-key", "--signing-key", keyPath)
	pubPath := filepath.Join(dir, "key.pub")
	if err := os.WriteFile(pubPath, []byte(pub.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if v := s.cli(t, "", "report", "verify", draftPath, "--public-key", pubPath); !strings.HasPrefix(v.stdout, "OK report "+id+" version 1 (draft)") {
		t.Errorf("report verify (draft) = %q", v.stdout)
	}
	if l := s.cli(t, auditor, "report", "list"); strings.TrimSpace(l.stdout) != "no report" {
		t.Errorf("the auditor lists a draft:\n%s", l.stdout)
	}
	if res := runCLI(t, ctx, s.as(auditor), "report", "download", id, "--out", filepath.Join(dir, "nope.zip")); res.code != exitError || !strings.Contains(res.stderr, "not found") {
		t.Errorf("the auditor downloads the draft: %d %q", res.code, res.stderr)
	}
	if res := runCLI(t, ctx, s.as(auditor), "report", "publish", id); res.code != exitError || !strings.Contains(res.stderr, "report.publish") {
		t.Errorf("the auditor publishes: %d %q", res.code, res.stderr)
	}
	if p := s.cli(t, officer, "report", "publish", id); !regexp.MustCompile(`(?m)^state\s+published$`).MatchString(p.stdout) ||
		!regexp.MustCompile(`(?m)^published\s+\S+ by lee`).MatchString(p.stdout) {
		t.Errorf("report publish printed %q", p.stdout)
	}
	signedPath := filepath.Join(dir, "signed.zip")
	s.cli(t, auditor, "report", "download", id, "--out", signedPath)
	if v := s.cli(t, "", "report", "verify", signedPath, "--public-key", pubPath); !strings.HasPrefix(v.stdout, "OK report "+id+" version 1 (published)") {
		t.Errorf("report verify (published) = %q", v.stdout)
	}
	// The bundle serve stores carries report.pdf, in Korean, with the sign-off.
	pdfText := bundlePDFText(t, signedPath)
	for _, want := range []string{"재해복구 훈련 결과 보고서", "Example Bank", "lee"} {
		if !strings.Contains(pdfText, want) {
			t.Errorf("report.pdf of the published bundle lacks %q:\n%s", want, pdfText)
		}
	}
	show := s.cli(t, auditor, "report", "show", id, "--json")
	if !strings.Contains(show.stdout, `"state": "published"`) || !strings.Contains(show.stdout, `"name": "lee"`) {
		t.Errorf("report show --json = %s", show.stdout)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key file: %v, %v; want mode 0600", fi, err)
	}
}

// bundlePDFText is the text of the report.pdf inside the bundle at path, as pdftotext reads it.
func bundlePDFText(t *testing.T, path string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open("report.pdf")
	if err != nil {
		t.Fatalf("the bundle has no report.pdf: %v", err)
	}
	defer f.Close()
	pdfPath := filepath.Join(t.TempDir(), "report.pdf")
	out, err := os.Create(pdfPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, f); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-enc", "UTF-8", pdfPath, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils; scripts/test.sh installs it): %v", err)
	}
	return string(text)
}
