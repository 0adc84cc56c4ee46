package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/firedrill/firedrill/bench/internal/httpload"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/report"
)

// Defaults for Options.
const (
	DefaultRuns   = 100_000
	DefaultRepeat = 3
	// TargetRatio and TargetRSS are the bounds: the export at most 3x the COPY time,
	// its peak RSS under 200 MB.
	TargetRatio = 3.0
	TargetRSS   = 200 << 20
	// The report the benchmark exports.
	benchProfile = "kr-efsr"
	benchPeriod  = "2026"
	benchLang    = "ko"
)

// seedEvery and seedNewest put every seeded run in 2026 (100,000 runs five minutes apart
// span 347 days), and exportNow is after all of them ended.
var (
	seedEvery  = 5 * time.Minute
	seedNewest = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	exportNow  = time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	periodFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	periodTo   = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Options configures run. A zero field means its default.
type Options struct {
	// DatabaseURL is a PostgreSQL database to use: empty and unmigrated, unless Seeded. When
	// empty, run creates a fresh one through AdminURL and drops it at the end (unless
	// KeepDatabase).
	DatabaseURL string
	// Seeded says DatabaseURL already holds a history this benchmark seeded (a database kept
	// with KeepDatabase): run neither migrates nor seeds it.
	Seeded       bool
	AdminURL     string
	KeepDatabase bool
	// Runs, StepsPerRun and MeasurementsPerRun size the history (storetest.SeedAudited). Runs
	// defaults to 100,000; the others to Seed's defaults (20 steps, 3 measurements).
	Runs, StepsPerRun, MeasurementsPerRun int
	// Repeat is how many times the COPY and the export are each measured, taking turns.
	Repeat int
	// NoVerify skips report.Verify of the first bundle.
	NoVerify bool
	// WorkDir holds the bundles; default a temporary directory, removed at the end.
	WorkDir string
	Log     io.Writer
}

// Report is what a run measured.
type Report struct {
	Options         Options
	Started         time.Time
	Machine         string
	PostgresVersion string
	Seed            *storetest.AuditedSeedStats
	Rounds          []Round
	Verification    *report.Verification
	VerifyTook      time.Duration
	Files           []report.ManifestFile
}

// Round is one measurement of the COPY and of the export.
type Round struct {
	LoadBefore, LoadAfter string
	CopyTook              time.Duration
	CopyBytes             int64
	CopyRows              map[string]int64
	Export                ExportResult
	// ExportWall is the child process's wall time, start to exit; MaxRSS its ru_maxrss.
	ExportWall time.Duration
	MaxRSS     int64
}

// Ratio is the export's time over COPY's.
func (r Round) Ratio() float64 { return float64(r.Export.Took) / float64(r.CopyTook) }

func (o Options) withDefaults() (Options, error) {
	if o.Runs < 0 || o.Repeat < 0 {
		return o, errors.New("report bench options: sizes must not be negative")
	}
	if o.Runs == 0 {
		o.Runs = DefaultRuns
	}
	if o.Repeat == 0 {
		o.Repeat = DefaultRepeat
	}
	if o.Seeded && o.DatabaseURL == "" {
		return o, errors.New("report bench options: a seeded database needs its URL")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

func run(ctx context.Context, opt Options) (*Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Options: opt, Started: time.Now(), Machine: machine()}
	logf := func(format string, args ...any) { fmt.Fprintf(opt.Log, "report bench: "+format+"\n", args...) }
	kept := ""
	if opt.KeepDatabase {
		kept = "database %s is kept (rerun with -database-url and -seeded)"
	}
	workDir, dsn, cleanup, err := httpload.Scratch(ctx, opt.WorkDir, opt.DatabaseURL, opt.AdminURL, "bench_report", kept, logf)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	opt.WorkDir = workDir
	rep.PostgresVersion, _ = storetest.ServerVersion(ctx, dsn)
	if !opt.Seeded {
		if rep.Seed, err = seed(ctx, dsn, opt, logf); err != nil {
			return nil, err
		}
	}
	key, pub, err := benchKey(opt.WorkDir)
	if err != nil {
		return nil, err
	}
	var first string
	for i := range opt.Repeat {
		var rd Round
		rd.LoadBefore = loadAverage()
		bundle := filepath.Join(opt.WorkDir, fmt.Sprintf("report-%d.zip", i))
		// Take turns at going first, so that neither always finds the caches the other warmed.
		steps := []func() error{
			func() (err error) { rd.CopyTook, rd.CopyBytes, rd.CopyRows, err = copyRows(ctx, dsn); return err },
			func() (err error) {
				rd.Export, rd.ExportWall, rd.MaxRSS, err = exportChild(ctx, dsn, key, bundle)
				return err
			},
		}
		if i%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return nil, err
			}
		}
		rd.LoadAfter = loadAverage()
		logf("round %d: COPY %s (%d MB), export %s (%.2fx), peak RSS %d MB, bundle %d MB, load %s",
			i+1, rd.CopyTook.Round(time.Millisecond), rd.CopyBytes>>20, rd.Export.Took.Round(time.Millisecond), rd.Ratio(),
			rd.MaxRSS>>20, rd.Export.Bytes>>20, rd.LoadAfter)
		rep.Rounds = append(rep.Rounds, rd)
		if i == 0 {
			// Kept for report.Verify, after the rounds so that it slows none of them.
			rep.Files = rd.Export.Files
			first = bundle
			continue
		}
		if err := os.Remove(bundle); err != nil {
			return nil, err
		}
	}
	if !opt.NoVerify {
		start := time.Now()
		if rep.Verification, err = verifyBundle(first, pub); err != nil {
			return nil, err
		}
		rep.VerifyTook = time.Since(start)
		logf("verify: %d files, %d audit rows, %d figures, %d problems in %s", rep.Verification.Files,
			rep.Verification.AuditRows, rep.Verification.Figures, len(rep.Verification.Problems), rep.VerifyTook.Round(time.Millisecond))
		if !rep.Verification.OK() {
			return rep, fmt.Errorf("the bundle does not verify: %v", rep.Verification.Problems[0])
		}
	}
	return rep, nil
}

func seed(ctx context.Context, dsn string, opt Options, logf func(string, ...any)) (*storetest.AuditedSeedStats, error) {
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		return nil, fmt.Errorf("migrate %s: %w", store.RedactURL(dsn), err)
	}
	logf("seeding %d runs with their audit chain", opt.Runs)
	s, err := storetest.SeedAudited(ctx, dsn, &storetest.SeedParams{
		Runs: opt.Runs, StepsPerRun: opt.StepsPerRun, MeasurementsPerRun: opt.MeasurementsPerRun,
		Newest: seedNewest, Every: seedEvery,
	})
	if err != nil {
		return nil, err
	}
	logf("seeded %d runs, %d step results, %d measurements, %d events, %d audit rows in %s (+ %s analyze, %s measurement events and audit chain)",
		s.Runs, s.Steps, s.Measurements, s.Events, s.AuditRows, s.Took.Round(time.Millisecond), s.Analyze.Round(time.Millisecond), s.AuditTook.Round(time.Millisecond))
	return s, nil
}

// benchKey writes the signing key the exports use into dir.
func benchKey(dir string) (string, ed25519.PublicKey, error) {
	path := filepath.Join(dir, "signing-key.pem")
	key, _, err := report.LoadOrCreateSigningKey(path)
	if err != nil {
		return "", nil, err
	}
	return path, key.Public().(ed25519.PublicKey), nil
}

// copyStatements are the COPY statements of the rows the export reads, by table, in the
// order the export reads them.
func copyStatements() [][2]string {
	var terminal []string
	for _, st := range drills.RunStates {
		if st.IsTerminal() {
			terminal = append(terminal, "'"+string(st)+"'")
		}
	}
	runs := fmt.Sprintf("created_at >= '%s' AND created_at < '%s' AND state IN (%s) AND ended_at < '%s'",
		periodFrom.Format(time.RFC3339), periodTo.Format(time.RFC3339), strings.Join(terminal, ", "), exportNow.Format(time.RFC3339))
	ofRuns := "run_id IN (SELECT id FROM runs WHERE " + runs + ")"
	return [][2]string{
		{"runs", "SELECT * FROM runs WHERE " + runs + " ORDER BY created_at, id"},
		{"plans", "SELECT * FROM plans WHERE id IN (SELECT plan_id FROM runs WHERE " + runs + ")"},
		{"step_results", "SELECT * FROM step_results WHERE " + ofRuns + " ORDER BY run_id, seq, attempt, started_at"},
		{"measurements", "SELECT * FROM measurements WHERE " + ofRuns + " ORDER BY run_id, service"},
		{"approvals", "SELECT * FROM approvals WHERE " + ofRuns + " ORDER BY run_id, decided_at"},
		{"run_events", "SELECT * FROM run_events WHERE " + ofRuns + " ORDER BY run_id, seq"},
		{"audit_log", "SELECT * FROM audit_log WHERE source = 'run_event' AND " + ofRuns + " ORDER BY run_id, ref"},
	}
}

// copyRows copies the rows the export reads to this process, one table after the other on
// one connection, and discards them.
func copyRows(ctx context.Context, dsn string) (time.Duration, int64, map[string]int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, 0, nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows := map[string]int64{}
	var total int64
	start := time.Now()
	for _, s := range copyStatements() {
		cw := &countingWriter{}
		tag, err := conn.PgConn().CopyTo(ctx, cw, "COPY ("+s[1]+") TO STDOUT")
		if err != nil {
			return 0, 0, nil, fmt.Errorf("COPY %s: %w", s[0], err)
		}
		rows[s[0]] = tag.RowsAffected()
		total += cw.n
	}
	return time.Since(start), total, rows, nil
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// exportChild runs the export in a child process and returns what it reported, its wall
// time and its peak RSS.
func exportChild(ctx context.Context, dsn, keyPath, out string) (ExportResult, time.Duration, int64, error) {
	self, err := os.Executable()
	if err != nil {
		return ExportResult{}, 0, 0, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), envChild+"=1", envDSN+"="+dsn, envKey+"="+keyPath, envOut+"="+out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return ExportResult{}, 0, 0, fmt.Errorf("export child: %w\n%s", err, stderr.String())
	}
	var res ExportResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return ExportResult{}, 0, 0, fmt.Errorf("export child: %w: %q", err, stdout.String())
	}
	var maxRSS int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxRSS = int64(ru.Maxrss) << 10 // kilobytes on Linux
	}
	return res, wall, maxRSS, nil
}

func verifyBundle(path string, pub ed25519.PublicKey) (*report.Verification, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return report.Verify(f, fi.Size(), pub)
}

func machine() string {
	cpu := procField("/proc/cpuinfo", "model name")
	mem := procField("/proc/meminfo", "MemTotal")
	return fmt.Sprintf("%d × %s, %s RAM, %s %s/%s", runtime.NumCPU(), cpu, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func procField(path, name string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// vmHWM is this process's peak resident set from /proc/self/status, in bytes; -1 if unknown.
func vmHWM() int64 {
	v := procField("/proc/self/status", "VmHWM")
	kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	if err != nil {
		return -1
	}
	return kb << 10
}
