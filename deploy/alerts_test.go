// Package deploy_test checks the files operators deploy firedrill's monitoring with: the
// Prometheus alerting rules and the Grafana dashboard, against the metrics firedrill exports.
package deploy_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/internal/metrics"
)

// promtool finds Prometheus' promtool (Debian's prometheus package; scripts/install-test-tools.sh
// installs it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run scripts/install-test-tools.sh (apt-get install prometheus)")
	}
	return p
}

func TestAlertRulesCheckAndPassTheirUnitTests(t *testing.T) {
	t.Parallel()
	tool := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		out, err := exec.Command(tool, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestAlertRulesCoverTheIssue: each alert the operators were promised is there, and every
// metric the rules read is one firedrill exports.
func TestAlertRulesCoverTheIssue(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"FiredrillServiceDrillOverdue", "FiredrillDrillFailed", "FiredrillRollbackFailed",
		"FiredrillSchedulerWithoutLeader", "FiredrillOutboxBacklog"} {
		if !strings.Contains(string(src), "alert: "+name+"\n") {
			t.Errorf("alerts.yml has no alert %s", name)
		}
	}
	var exprs []string
	for _, line := range strings.Split(string(src), "\n") {
		if e, ok := strings.CutPrefix(strings.TrimSpace(line), "expr: "); ok {
			exprs = append(exprs, e)
		}
	}
	checkMetricNames(t, "alerts.yml", exprs)
}

// metricName matches the firedrill series an expression names.
var metricName = regexp.MustCompile(`\bfiredrill_[a-z_]+`)

// checkMetricNames fails for an expression naming no firedrill metric or one firedrill does
// not export.
func checkMetricNames(t *testing.T, file string, exprs []string) {
	t.Helper()
	if len(exprs) == 0 {
		t.Fatalf("%s: no expression found", file)
	}
	known := metrics.Names()
	histograms := []string{metrics.NameStepDuration, metrics.NameScheduleLag, metrics.NameHTTPDuration}
	for _, e := range exprs {
		names := metricName.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("%s: expression %q names no firedrill metric", file, e)
		}
		for _, n := range names {
			base := n
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(n, suffix); ok && slices.Contains(histograms, b) {
					base = b
				}
			}
			if !slices.Contains(known, base) {
				t.Errorf("%s: %q names %s, which firedrill does not export", file, e, n)
			}
		}
	}
}

// TestReadmeDocumentsEveryMetric: operators find each exported series, and each alert, in the
// README's Observability section.
func TestReadmeDocumentsEveryMetric(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(src), "\n## Observability\n")
	if !ok {
		t.Fatal("README.md has no Observability section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, n := range metrics.Names() {
		if !strings.Contains(section, "`"+n+"`") {
			t.Errorf("the README's Observability section does not document %s", n)
		}
	}
	alerts, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(alerts), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "- alert: "); ok && !strings.Contains(section, "`"+name+"`") {
			t.Errorf("the README's Observability section does not document alert %s", name)
		}
	}
}
