package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/pflag"
	"github.com/zclconf/go-cty/cty"
)

// jobspec is what the deployment tests read of a Nomad job file (HCL2, the jobspec's syntax;
// Nomad's own schema is not checked here, the file is not run through Nomad).
type jobspec struct {
	label string
	// groups are the job's groups by name, with their count (1 when the file sets none).
	groups map[string]int
	// tasks are the tasks of every group by name, with their env block's and env templates'
	// variable names and their args.
	tasks map[string]*jobTask
	// staticPorts, templates (destinations), checkPaths (service checks') of every group.
	staticPorts []int
	templates   []string
	checkPaths  []string
}

type jobTask struct {
	args []string
	env  []string
}

// parseJobspec parses a Nomad job file with HCL's own parser, failing the test on a syntax error.
func parseJobspec(t *testing.T, path string) *jobspec {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	var jobs []*hclsyntax.Block
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "job" {
			jobs = append(jobs, b)
		}
	}
	if len(jobs) != 1 || len(jobs[0].Labels) != 1 {
		t.Fatalf("%s: %d job blocks, want one with a name", path, len(jobs))
	}
	job := &jobspec{label: jobs[0].Labels[0], groups: map[string]int{}, tasks: map[string]*jobTask{}}
	for _, g := range blocksOf(jobs[0].Body, "group") {
		count := 1
		if a, ok := g.Body.Attributes["count"]; ok {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() || v.Type() != cty.Number {
				t.Fatalf("%s: group %v: count is not a number", path, g.Labels)
			}
			n, _ := v.AsBigFloat().Int64()
			count = int(n)
		}
		job.groups[g.Labels[0]] = count
		for _, n := range blocksOf(g.Body, "network") {
			for _, p := range blocksOf(n.Body, "port") {
				if a, ok := p.Body.Attributes["static"]; ok {
					v, _ := a.Expr.Value(nil)
					n, _ := v.AsBigFloat().Int64()
					job.staticPorts = append(job.staticPorts, int(n))
				}
			}
		}
		for _, s := range blocksOf(g.Body, "service") {
			for _, c := range blocksOf(s.Body, "check") {
				job.checkPaths = append(job.checkPaths, literal(t, c.Body, "path"))
			}
		}
		for _, tb := range blocksOf(g.Body, "task") {
			task := &jobTask{}
			job.tasks[tb.Labels[0]] = task
			for _, c := range blocksOf(tb.Body, "config") {
				if a, ok := c.Body.Attributes["args"]; ok {
					list, ok := a.Expr.(*hclsyntax.TupleConsExpr)
					if !ok {
						t.Fatalf("%s: task %s: args is not a list", path, tb.Labels[0])
					}
					for _, e := range list.Exprs {
						task.args = append(task.args, stringOf(t, e))
					}
				}
			}
			for _, e := range blocksOf(tb.Body, "env") {
				for name := range e.Body.Attributes {
					task.env = append(task.env, name)
				}
			}
			for _, tpl := range blocksOf(tb.Body, "template") {
				job.templates = append(job.templates, literal(t, tpl.Body, "destination"))
				if a, ok := tpl.Body.Attributes["env"]; ok {
					if v, _ := a.Expr.Value(nil); v.True() {
						for _, m := range envLine.FindAllStringSubmatch(literal(t, tpl.Body, "data"), -1) {
							task.env = append(task.env, m[1])
						}
					}
				}
			}
		}
	}
	return job
}

// envLine finds the variables an env template sets: NAME= at a line's start or after a template action.
var envLine = regexp.MustCompile(`(?m)(?:^\s*|}})([A-Z][A-Z0-9_]*)=`)

func blocksOf(body *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

// literal is a string attribute's value; one with interpolations (${NOMAD_...}) is kept as
// written, as Nomad resolves those at run time.
func literal(t *testing.T, body *hclsyntax.Body, name string) string {
	t.Helper()
	a, ok := body.Attributes[name]
	if !ok {
		return ""
	}
	return stringOf(t, a.Expr)
}

// stringOf is literal for one expression.
func stringOf(t *testing.T, expr hclsyntax.Expression) string {
	t.Helper()
	v, diags := expr.Value(nil)
	if !diags.HasErrors() && v.Type() == cty.String {
		return v.AsString()
	}
	r := expr.Range()
	src, err := os.ReadFile(r.Filename)
	if err != nil {
		t.Fatal(err)
	}
	return string(r.SliceBytes(src))
}

// deploy/firedrill.nomad.hcl is HCL2 with one job: a group of three replicas whose service is
// checked on /readyz, a prestart migration and a serve task, each setting only environment
// variables its firedrill command reads.
func TestNomadJob(t *testing.T) {
	t.Parallel()
	job := parseJobspec(t, filepath.Join(repoRoot(t), "deploy", "firedrill.nomad.hcl"))
	if job.label != "firedrill" {
		t.Errorf("job %q, want firedrill", job.label)
	}
	if job.groups["firedrill"] != 3 {
		t.Errorf("groups %v, want firedrill with count = 3", job.groups)
	}
	if !slices.Contains(job.checkPaths, "/readyz") {
		t.Errorf("service check paths %v, want /readyz", job.checkPaths)
	}
	for _, name := range []string{"migrate", "serve"} {
		task, ok := job.tasks[name]
		if !ok {
			t.Errorf("no task %s", name)
			continue
		}
		a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
		cmd, _, err := a.rootCommand().Find(task.args)
		if err != nil || !cmd.Runnable() {
			t.Errorf("task %s runs %q: not a firedrill command", name, task.args)
			continue
		}
		envs := map[string]bool{}
		visit := func(f *pflag.Flag) { envs[envOf(f.Name)] = true }
		cmd.Flags().VisitAll(visit)
		cmd.InheritedFlags().VisitAll(visit)
		if len(task.env) == 0 {
			t.Errorf("task %s sets no environment variable: where does its database URL come from?", name)
		}
		for _, env := range task.env {
			if !envs[env] {
				t.Errorf("task %s sets %s, which %s does not read", name, env, cmd.CommandPath())
			}
		}
	}
}
