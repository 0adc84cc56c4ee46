package report_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/report/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testKey is a fixed key, so the bundle (and its golden files) is the same on every run.
func testKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("firedrill report test key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// textPDF stands in for part D's renderer in these tests: it writes what it was given, so a
// change to report.pdf's bytes is detectable like any other file's.
var textPDF = report.PDFRenderFunc(func(w io.Writer, h *report.Header, drills iter.Seq2[*report.Drill, error]) error {
	fmt.Fprintf(w, "%%PDF-test %s %s\n", h.ID, h.Period.Name)
	for d, err := range drills {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "drill %s %s\n", d.RunID, d.State)
	}
	return nil
})

func writeBundle(t *testing.T) ([]byte, *report.Manifest) {
	t.Helper()
	h, src := fixture()
	var buf bytes.Buffer
	m, err := report.Write(context.Background(), &buf, h, src, testKey(), textPDF)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes(), m
}

func bundleFile(t *testing.T, bundle []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("bundle has no %s", name)
	return nil
}

// rewrite returns the bundle with name's bytes changed by edit. With resign, the manifest is
// brought in step and signed again with key: what an insider holding the key could do.
func rewrite(t *testing.T, bundle []byte, name string, edit func([]byte) []byte, resign ed25519.PrivateKey) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		contents[f.Name] = bundleFile(t, bundle, f.Name)
	}
	contents[name] = edit(contents[name])
	if resign != nil {
		var m report.Manifest
		if err := json.Unmarshal(contents[report.FileManifest], &m); err != nil {
			t.Fatal(err)
		}
		for i := range m.Files {
			sum := sha256.Sum256(contents[m.Files[i].Name])
			m.Files[i].SHA256, m.Files[i].Size = hex.EncodeToString(sum[:]), int64(len(contents[m.Files[i].Name]))
		}
		mb, _ := json.MarshalIndent(&m, "", "  ")
		contents[report.FileManifest] = append(mb, '\n')
		contents[report.FileManifestSig] = ed25519.Sign(resign, contents[report.FileManifest])
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(contents[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func verify(t *testing.T, bundle []byte) *report.Verification {
	t.Helper()
	v, err := report.Verify(bytes.NewReader(bundle), int64(len(bundle)), testKey().Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

func problems(v *report.Verification) string {
	var b strings.Builder
	for _, p := range v.Problems {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test ./report/ -update if the change is meant):\n%s", name, path, got)
	}
}

func TestBundleGoldenFiles(t *testing.T) {
	t.Parallel()
	bundle, _ := writeBundle(t)
	golden(t, "report.golden.json", bundleFile(t, bundle, report.FileReportJSON))
	golden(t, "runs.golden.csv", bundleFile(t, bundle, report.FileRunsCSV))
	golden(t, "junit.golden.xml", bundleFile(t, bundle, report.FileJUnit))
	golden(t, "events.golden.ndjson", bundleFile(t, bundle, report.FileEvents))
}

func TestReportJSONMatchesItsSchema(t *testing.T) {
	t.Parallel()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	bundle, _ := writeBundle(t)
	valid := bundleFile(t, bundle, report.FileReportJSON)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(valid))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("report.json does not match its schema: %v", err)
	}
	// The schema holds something: a report without drills, or with a bad status, fails it.
	for _, bad := range []string{`"drills": [`, `"status": "non_compliant"`} {
		broken := strings.Replace(string(valid), bad, map[string]string{`"drills": [`: `"drillz": [`, `"status": "non_compliant"`: `"status": "fine"`}[bad], 1)
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(broken))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("the schema accepts report.json with %s changed", bad)
		}
	}
}

func TestVerifyAcceptsAnUntouchedBundle(t *testing.T) {
	t.Parallel()
	bundle, m := writeBundle(t)
	v := verify(t, bundle)
	if !v.OK() {
		t.Fatalf("Verify found problems in an untouched bundle:\n%s", problems(v))
	}
	if !v.SignatureValid || v.Files != len(m.Files) || v.Files != 5 {
		t.Errorf("signature valid %t, files %d, want true and the 5 listed (%d)", v.SignatureValid, v.Files, len(m.Files))
	}
	// 2 drills x 2 services x (RTO, RPO), 2 drill RTOs, and the summary's auth RTO and RPO and payments RTO.
	if v.Figures != 13 || v.AuditRows != 10 {
		t.Errorf("recomputed %d figures and checked %d audit rows, want 13 and 10", v.Figures, v.AuditRows)
	}
	other := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	v2, err := report.Verify(bytes.NewReader(bundle), int64(len(bundle)), other.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if v2.OK() || v2.SignatureValid {
		t.Errorf("Verify with another key accepts the bundle")
	}
}

func TestVerifyNamesEachTamperedFile(t *testing.T) {
	t.Parallel()
	bundle, _ := writeBundle(t)
	flip := func(b []byte) []byte {
		c := bytes.Clone(b)
		c[len(c)/2] ^= 0x20
		return c
	}
	tests := []struct {
		file string
		// want is the file a problem must name: the manifest is held by its signature.
		want string
		// check is the check that must fail.
		check string
	}{
		{report.FileReportJSON, report.FileReportJSON, report.CheckHashes},
		{report.FileRunsCSV, report.FileRunsCSV, report.CheckHashes},
		{report.FileJUnit, report.FileJUnit, report.CheckHashes},
		{report.FileEvents, report.FileEvents, report.CheckHashes},
		{report.FilePDF, report.FilePDF, report.CheckHashes},
		{report.FileManifest, report.FileManifestSig, report.CheckSignature},
		{report.FileManifestSig, report.FileManifestSig, report.CheckSignature},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			v := verify(t, rewrite(t, bundle, tt.file, flip, nil))
			named := false
			for _, p := range v.Problems {
				named = named || p.File == tt.want
			}
			if v.OK() || !named {
				t.Errorf("with %s altered, Verify found:\n%swant a problem naming %s", tt.file, problems(v), tt.want)
			}
			if !v.Failed(tt.check) {
				t.Errorf("with %s altered, the %s check holds; Verify found:\n%s", tt.file, tt.check, problems(v))
			}
		})
	}
}

func TestVerifyNamesATamperedEventTimestamp(t *testing.T) {
	t.Parallel()
	bundle, _ := writeBundle(t)
	// The disaster of run-2 moved a second later; the manifest signed again with the key, so
	// only the audit chain can tell.
	edit := func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"run_id":"run-2","seq":2,"at":"2026-09-01T02:00:00Z"`), []byte(`"run_id":"run-2","seq":2,"at":"2026-09-01T02:00:01Z"`), 1)
	}
	if bytes.Equal(edit(bundleFile(t, bundle, report.FileEvents)), bundleFile(t, bundle, report.FileEvents)) {
		t.Fatal("the edit changes nothing: the fixture's events have changed")
	}
	for _, resign := range []bool{false, true} {
		var key ed25519.PrivateKey
		if resign {
			key = testKey()
		}
		v := verify(t, rewrite(t, bundle, report.FileEvents, edit, key))
		want := "run run-2 event 2 differs from audit row"
		if !strings.Contains(problems(v), want) || !strings.Contains(problems(v), "(at)") {
			t.Errorf("resigned %t: Verify found:\n%swant %q naming the timestamp", resign, problems(v), want)
		}
		if !v.Failed(report.CheckChain) || (resign && (v.Failed(report.CheckHashes) || v.Failed(report.CheckSignature))) {
			t.Errorf("resigned %t: want the chain check failed (and, resigned, the hashes and signature holding):\n%s", resign, problems(v))
		}
	}
}

func TestVerifyRecomputesEveryFigure(t *testing.T) {
	t.Parallel()
	bundle, _ := writeBundle(t)
	tests := []struct {
		name, file, old, new, want string
	}{
		{"summary RTO", report.FileReportJSON, `"rto_measured_ms": 1412`, `"rto_measured_ms": 319`,
			"payments RTO: report says 319ms, events give 1412ms (run run-2)"},
		{"summary RPO", report.FileReportJSON, `"rpo_measured_ms": 120`, `"rpo_measured_ms": 12`,
			"auth RPO: report says 12ms, events give 120ms (run run-2)"},
		{"drill RPO", report.FileReportJSON, `"rpo_ms": 250`, `"rpo_ms": 25`,
			"run run-1 payments RPO: report says 25ms, events give 250ms"},
		{"drill RTO", report.FileReportJSON, `"rto_ms": 812`, `"rto_ms": 800`,
			"run run-1 RTO: report says 800ms, events give 812ms"},
		{"restored moment", report.FileEvents, `"restored_at":"2026-03-10T01:00:00.8129Z"`, `"restored_at":"2026-03-10T01:00:00.9129Z"`,
			"run run-1 payments RTO: report says 812ms, events give 912ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			edit := func(b []byte) []byte {
				if !bytes.Contains(b, []byte(tt.old)) {
					t.Fatalf("%s has no %s", tt.file, tt.old)
				}
				return bytes.Replace(b, []byte(tt.old), []byte(tt.new), 1)
			}
			v := verify(t, rewrite(t, bundle, tt.file, edit, testKey()))
			if !strings.Contains(problems(v), tt.want) {
				t.Errorf("Verify found:\n%swant %q", problems(v), tt.want)
			}
		})
	}
}

func TestOpenSSLVerifiesTheManifestSignature(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed to check that a regulator can verify with it alone: %v", err)
	}
	bundle, _ := writeBundle(t)
	dir := t.TempDir()
	pub, err := report.PublicKeyPEM(testKey().Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("key.pub", pub)
	write(report.FileManifestSig, bundleFile(t, bundle, report.FileManifestSig))
	check := func(manifest []byte) (string, error) {
		write(report.FileManifest, manifest)
		// The command README shows.
		cmd := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "key.pub", "-rawin",
			"-in", report.FileManifest, "-sigfile", report.FileManifestSig)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	manifest := bundleFile(t, bundle, report.FileManifest)
	if out, err := check(manifest); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl on the untouched manifest: %v\n%s", err, out)
	}
	tampered := bytes.Replace(manifest, []byte(`"size": `), []byte(`"size": 1`), 1)
	if out, err := check(tampered); err == nil {
		t.Errorf("openssl accepts a tampered manifest:\n%s", out)
	}
}

func TestSigningKeyIsCreatedOnceAndKeptPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys", "signing.pem")
	key, created, err := report.LoadOrCreateSigningKey(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateSigningKey(new) = created %t, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	again, created, err := report.LoadOrCreateSigningKey(path)
	if err != nil || created || !again.Equal(key) {
		t.Errorf("LoadOrCreateSigningKey(existing) = created %t, same key %t, %v; want the same key", created, again.Equal(key), err)
	}
	pemPub, err := report.PublicKeyPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := report.ParsePublicKeyPEM(pemPub)
	if err != nil || !pub.Equal(key.Public()) {
		t.Errorf("ParsePublicKeyPEM(PublicKeyPEM(pub)) = %v, %v", pub, err)
	}
	fp, err := report.Fingerprint(pub)
	if err != nil || len(fp) != 64 {
		t.Errorf("Fingerprint = %q, %v; want 64 hex digits", fp, err)
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := report.LoadOrCreateSigningKey(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadOrCreateSigningKey(garbage) = %v, want an error naming the file", err)
	}
	if _, _, err := report.LoadOrCreateSigningKey(""); err == nil {
		t.Error("LoadOrCreateSigningKey(\"\") succeeds")
	}
}

func TestPublishSignsOffExactlyWhatTheDraftSaid(t *testing.T) {
	t.Parallel()
	draft, _ := writeBundle(t)
	b, err := report.OpenBundle(bytes.NewReader(draft), int64(len(draft)))
	if err != nil {
		t.Fatalf("OpenBundle: %v", err)
	}
	if b.Header.State != report.StateDraft || b.Header.ID != "R-2026-kr-efsr-1" {
		t.Fatalf("draft header = %+v", b.Header)
	}
	var out bytes.Buffer
	so := report.SignOff{PublishedBy: "user:park", PublishedAt: at("2026-12-02T09:00:00+09:00")}
	if _, err := report.Publish(context.Background(), &out, b, so, testKey(), textPDF); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	pub := out.Bytes()
	v := verify(t, pub)
	if !v.OK() || v.State != report.StatePublished {
		t.Fatalf("the published bundle: state %s, problems:\n%s", v.State, problems(v))
	}
	for _, f := range []string{report.FileRunsCSV, report.FileJUnit, report.FileEvents} {
		if !bytes.Equal(bundleFile(t, pub, f), bundleFile(t, draft, f)) {
			t.Errorf("%s of the published bundle differs from the draft's", f)
		}
	}
	draftJSON, pubJSON := string(bundleFile(t, draft, report.FileReportJSON)), string(bundleFile(t, pub, report.FileReportJSON))
	wantJSON := strings.Replace(draftJSON, `"state": "draft"`, `"state": "published"`, 1)
	wantJSON = strings.Replace(wantJSON, `  "audit_head"`, "  \"sign_off\": {\n    \"published_by\": \"user:park\",\n    \"published_at\": \"2026-12-02T00:00:00Z\"\n  },\n  \"audit_head\"", 1)
	if pubJSON != wantJSON {
		t.Errorf("published report.json is not the draft's with its state and sign-off:\n%s", pubJSON)
	}
	again, err := report.OpenBundle(bytes.NewReader(pub), int64(len(pub)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := report.Publish(context.Background(), io.Discard, again, so, testKey(), textPDF); err == nil {
		t.Error("publishing a published bundle succeeds")
	}
}

func TestVerifyHoldsTheDrillsToTheirEvents(t *testing.T) {
	t.Parallel()
	bundle, _ := writeBundle(t)
	dropRun2 := func(b []byte) []byte {
		var out []byte
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			if !bytes.Contains(line, []byte(`"run_id":"run-2"`)) {
				out = append(out, line...)
			}
		}
		return out
	}
	v := verify(t, rewrite(t, bundle, report.FileEvents, dropRun2, testKey()))
	if want := "run run-2: events.ndjson holds none of its events"; !strings.Contains(problems(v), want) {
		t.Errorf("with run-2's events removed, Verify found:\n%swant %q", problems(v), want)
	}
	dropDrill := func(b []byte) []byte {
		i := bytes.Index(b, []byte(`,
    {
      "run_id": "run-2"`))
		if i < 0 {
			t.Fatal("report.json has no run-2")
		}
		return append(bytes.Clone(b[:i]), []byte("\n  ]\n}\n")...)
	}
	v = verify(t, rewrite(t, bundle, report.FileReportJSON, dropDrill, testKey()))
	if want := "run run-2 has events in events.ndjson but is not among the report's drills"; !strings.Contains(problems(v), want) {
		t.Errorf("with run-2 removed from report.json, Verify found:\n%swant %q", problems(v), want)
	}
}

// An insider who rewrites an event and its audit row consistently, hash included, still
// breaks the link from the next row.
func TestVerifyFindsARewrittenAuditRowByItsBrokenLink(t *testing.T) {
	t.Parallel()
	bundle, _ := writeBundle(t)
	rewriteRow3 := func(b []byte) []byte {
		var out []byte
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			if !bytes.Contains(line, []byte(`"audit":{"seq":3,`)) {
				out = append(out, line...)
				continue
			}
			var ev struct {
				Type string `json:"type"`
				report.Event
			}
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatal(err)
			}
			ev.Message = "forged"
			c := &chain{seq: ev.Audit.Seq - 1, hash: ev.Audit.PrevHash}
			c.add(&ev.Event)
			nb, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, append(nb, '\n')...)
		}
		return out
	}
	v := verify(t, rewrite(t, bundle, report.FileEvents, rewriteRow3, testKey()))
	want := "audit row 4 does not link to row 3"
	if !strings.Contains(problems(v), want) || strings.Contains(problems(v), "differs from audit row") {
		t.Errorf("with row 3 rewritten consistently, Verify found:\n%swant only %q", problems(v), want)
	}
}

// TestAppendEventLineIsEncodingJSON holds the hand-written events.ndjson line to what
// encoding/json writes, for events with and without an audit row and with strings that need
// escaping of every kind.
func TestAppendEventLineIsEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `quo"te`, `back\slash`, "new\nline\ttab\r\x00\x1f", "<html>&amp;", "한글 메시지",
		"\u2028\u2029", "bad \xff utf-8", `{"source":"run_event","data":{"a":"b\"c"}}`}
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	var events []*report.Event
	for i, s := range strs {
		ev := &report.Event{RunID: s, Seq: int64(i + 1), At: at.Add(time.Duration(i) * time.Millisecond), Kind: s, StepKey: s, Message: s,
			Data: json.RawMessage(`{"k": "v", "n": [1, 2, {"x": null}], "s": "` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"}`)}
		if i%2 == 0 {
			ev.Audit = &report.AuditRow{Seq: int64(1000 + i), PrevHash: s, Hash: "h" + s, Content: s}
		}
		if i == 3 {
			ev.Data = json.RawMessage("null")
		}
		events = append(events, ev)
	}
	for _, ev := range events {
		if !json.Valid(ev.Data) {
			// Strings with control characters make invalid JSON data; give those plain data.
			ev.Data = json.RawMessage(`{"plain": true}`)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Type string `json:"type"`
			*report.Event
		}{"run_event", ev}); err != nil {
			t.Fatal(err)
		}
		got, err := report.AppendEventLine(nil, ev)
		if err != nil {
			t.Fatalf("AppendEventLine(%q): %v", ev.RunID, err)
		}
		if string(got) != want.String() {
			t.Errorf("AppendEventLine(%q) =\n%s want\n%s", ev.RunID, got, want.String())
		}
	}
}

// TestBundleEntriesCarryTheReportTime checks that every zip entry, those copied in deflated
// as well, carries the report's generation time as its modification time.
func TestBundleEntriesCarryTheReportTime(t *testing.T) {
	h, src := fixture()
	var buf bytes.Buffer
	if _, err := report.Write(context.Background(), &buf, h, src, testKey(), nil); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !f.Modified.Equal(h.GeneratedAt) {
			t.Errorf("%s is dated %s, want %s", f.Name, f.Modified, h.GeneratedAt)
		}
	}
}
