package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/report"
)

// oneDrill is a report source of one drill and one event: enough for the CLI's local
// commands, whose checks the report package tests in depth.
type oneDrill struct{}

func (oneDrill) Drills(context.Context) iter.Seq2[*report.Drill, error] {
	return func(yield func(*report.Drill, error) bool) {
		yield(&report.Drill{RunID: "run-1", Plan: "site-loss", State: drills.RunSucceeded, CreatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}, nil)
	}
}

func (oneDrill) Events(context.Context) iter.Seq2[*report.Event, error] {
	return func(yield func(*report.Event, error) bool) {
		// An event older than the audit log, which has no audit row.
		yield(&report.Event{RunID: "run-1", Seq: 1, At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Kind: "run_created"}, nil)
	}
}

// The key made by report public-key signs a bundle that report verify accepts, and refuses
// once a file of it changed, naming the file.
func TestReportVerifyWithThePublicKeyOfTheSigningKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "signing.pem")
	res := runCLI(t, ctx, map[string]string{"FIREDRILL_SIGNING_KEY": keyPath}, "report", "public-key")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "-----BEGIN PUBLIC KEY-----") || !strings.Contains(res.stderr, "generated a new signing key") {
		t.Fatalf("report public-key = %d %q %q", res.code, res.stdout, res.stderr)
	}
	pubPath := filepath.Join(dir, "key.pub")
	if err := os.WriteFile(pubPath, []byte(res.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	fp := runCLI(t, ctx, nil, "report", "public-key", "--signing-key", keyPath, "--fingerprint")
	if fp.code != 0 || len(strings.TrimSpace(fp.stdout)) != 64 || fp.stderr != "" {
		t.Errorf("report public-key --fingerprint = %d %q %q: want the fingerprint of the existing key", fp.code, fp.stdout, fp.stderr)
	}
	key, created, err := report.LoadOrCreateSigningKey(keyPath)
	if err != nil || created {
		t.Fatalf("LoadOrCreateSigningKey = %v, created %t", err, created)
	}
	h := &report.Header{ID: "R-1", Version: 1, State: report.StateDraft, Period: report.PeriodRef{Name: "2026"}, GeneratedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	if _, err := report.Write(ctx, &buf, h, oneDrill{}, key, nil); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "report.zip")
	if err := os.WriteFile(bundle, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := runCLI(t, ctx, nil, "report", "verify", bundle, "--public-key", pubPath)
	if ok.code != 0 || !strings.HasPrefix(ok.stdout, "OK report R-1 version 1 (draft): signature valid, 4 files") {
		t.Errorf("report verify (untouched) = %d %q %q", ok.code, ok.stdout, ok.stderr)
	}

	// runs.csv, rewritten inside the zip.
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == report.FileRunsCSV {
			b = append(b, "run-2,forged\n"...)
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundle, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := runCLI(t, ctx, nil, "report", "verify", bundle, "--public-key", pubPath)
	if bad.code != 1 || !strings.Contains(bad.stdout, "FAIL runs.csv: its SHA-256 is") || !strings.Contains(bad.stderr, "does not verify") {
		t.Errorf("report verify (runs.csv altered) = %d %q %q", bad.code, bad.stdout, bad.stderr)
	}
	if res := runCLI(t, ctx, nil, "report", "verify", bundle); res.code != 1 || !strings.Contains(res.stderr, "--public-key") {
		t.Errorf("report verify without a key = %d %q", res.code, res.stderr)
	}
}
