package main

import (
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v4"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions/httpaction"
)

// composeService is what the test reads of a service in `docker-compose config`'s output.
type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
}

// composeConfig runs Debian's docker-compose on the repository's docker-compose.yml (the
// containers cannot run here: this is what can be checked) and returns its services, with the
// file's defaults in place of the variables a user may set.
func composeConfig(t *testing.T, root string) map[string]composeService {
	t.Helper()
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatal("docker-compose not found: install Debian's docker-compose (scripts/install-test-tools.sh does)")
	}
	cmd := exec.Command("docker-compose", "--project-directory", root, "-f", filepath.Join(root, "docker-compose.yml"), "config")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains([]string{"NOMAD_TOKEN_SANGAM", "NOMAD_TOKEN_YATAP", "POSTGRES_PASSWORD"}, name) && !strings.HasPrefix(name, "COMPOSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("docker-compose config refuses docker-compose.yml: %v\n%s", err, stderr)
	}
	var cfg struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("docker-compose config's output: %v\n%s", err, out)
	}
	if len(cfg.Services) == 0 {
		t.Fatalf("docker-compose config lists no service:\n%s", out)
	}
	return cfg.Services
}

// repoRoot is the repository's top directory, from this package's.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// mountedFrom returns the host path a service mounts at target, "" when it mounts none there.
func mountedFrom(svc composeService, target string) string {
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0]
		}
	}
	return ""
}

// parseEstateFile parses an estate file, failing the test on any diagnostic.
func parseEstateFile(t *testing.T, path string) *drills.Estate {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	est, diags := drills.ParseEstate(src, path)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	return est
}

// docker-compose.yml: Debian's docker-compose accepts it; every service has an image or a
// build; firedrill's services set only the environment variables the command they run reads
// (a flag's variable, or the token_env of the estate they mount), with values those flags take.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	services := composeConfig(t, root)
	for _, want := range []string{"postgres", "nomad-sangam", "nomad-yatap", "nomad-jobs", "firedrill-migrate", "firedrill"} {
		if _, ok := services[want]; !ok {
			t.Errorf("docker-compose.yml has no service %q", want)
		}
	}
	firedrills := 0
	for name, svc := range services {
		if svc.Image == "" && svc.Build == nil {
			t.Errorf("service %s has neither an image nor a build", name)
		}
		if svc.Build == nil {
			continue
		}
		// Built from the Dockerfile: its entrypoint is firedrill, its command a firedrill command.
		firedrills++
		a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
		cmd, rest, err := a.rootCommand().Find(svc.Command)
		if err != nil || !cmd.Runnable() || (len(rest) > 0 && !strings.HasPrefix(rest[0], "-")) {
			t.Errorf("service %s: command %q is not a firedrill command (%v)", name, svc.Command, err)
			continue
		}
		flags := map[string]*pflag.Flag{}
		visit := func(f *pflag.Flag) { flags[envOf(f.Name)] = f }
		cmd.Flags().VisitAll(visit)
		cmd.InheritedFlags().VisitAll(visit)
		tokenEnvs := map[string]bool{}
		if estate := mountedFrom(svc, svc.Environment["FIREDRILL_CONFIG"]); estate != "" {
			for _, site := range parseEstateFile(t, estate).Sites {
				if site.Nomad != nil && site.Nomad.TokenEnv != "" {
					tokenEnvs[site.Nomad.TokenEnv] = true
				}
			}
		} else if svc.Environment["FIREDRILL_CONFIG"] != "" {
			t.Errorf("service %s: FIREDRILL_CONFIG=%s is not a file it mounts", name, svc.Environment["FIREDRILL_CONFIG"])
		}
		for env, value := range svc.Environment {
			if tokenEnvs[env] {
				continue
			}
			f, ok := flags[env]
			if !ok {
				t.Errorf("service %s sets %s, which %s does not read (neither a flag's variable nor the mounted estate's token_env)", name, env, cmd.CommandPath())
				continue
			}
			// The value must be one the flag takes (a fresh copy: the command's own flags stay untouched).
			probe := pflag.NewFlagSet("probe", pflag.ContinueOnError)
			probe.AddFlag(&pflag.Flag{Name: f.Name, Value: cloneValue(t, f)})
			if err := probe.Set(f.Name, value); err != nil {
				t.Errorf("service %s: %s=%q: --%s refuses it: %v", name, env, value, f.Name, err)
			}
		}
	}
	if firedrills < 2 {
		t.Errorf("%d services are built from the Dockerfile, want firedrill-migrate and firedrill", firedrills)
	}
	if got := services["firedrill"].Environment["NOMAD_TOKEN_SANGAM"]; got == "" || got != services["nomad-jobs"].Environment["NOMAD_TOKEN_SANGAM"] {
		t.Errorf("firedrill's NOMAD_TOKEN_SANGAM %q is not the one nomad-jobs bootstraps Sangam with", got)
	}
	if got := services["firedrill"].Environment["NOMAD_TOKEN_YATAP"]; got == "" || got != services["nomad-jobs"].Environment["NOMAD_TOKEN_YATAP"] {
		t.Errorf("firedrill's NOMAD_TOKEN_YATAP %q is not the one nomad-jobs bootstraps Yatap with", got)
	}
}

// cloneValue returns a new flag value of f's type at its default, so that setting it leaves f alone.
func cloneValue(t *testing.T, f *pflag.Flag) pflag.Value {
	t.Helper()
	fs := pflag.NewFlagSet("clone", pflag.ContinueOnError)
	switch f.Value.Type() {
	case "string":
		fs.String(f.Name, "", "")
	case "bool":
		fs.Bool(f.Name, false, "")
	case "int":
		fs.Int(f.Name, 0, "")
	case "duration":
		fs.Duration(f.Name, 0, "")
	case "stringSlice":
		fs.StringSlice(f.Name, nil, "")
	case "stringArray":
		fs.StringArray(f.Name, nil, "")
	default:
		t.Fatalf("flag --%s: type %s unknown to the compose test: add it", f.Name, f.Value.Type())
	}
	return fs.Lookup(f.Name).Value
}

// The compose estate is the example estate on the compose Nomad agents: same sites, regions,
// datacenters and token variables; each site's address is the agent started with that region
// and datacenter; every service's job is in deploy/compose/jobs, answering its check on the
// port and path the estate names; the example plan validates against it.
func TestComposeEstate(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	services := composeConfig(t, root)
	fd := services["firedrill"]
	estatePath := mountedFrom(fd, fd.Environment["FIREDRILL_CONFIG"])
	if estatePath != filepath.Join(root, "deploy", "compose", "firedrill.hcl") {
		t.Fatalf("firedrill's estate is mounted from %q, want deploy/compose/firedrill.hcl", estatePath)
	}
	compose := parseEstateFile(t, estatePath)
	example := parseEstateFile(t, filepath.Join(root, "examples", "firedrill.hcl"))
	for _, name := range []string{"sangam", "yatap"} {
		site, want := compose.Site(name), example.Site(name)
		if site == nil || site.Nomad == nil {
			t.Errorf("compose estate: no site %s with a nomad block", name)
			continue
		}
		got := *site.Nomad
		got.Address, got.Pos = want.Nomad.Address, want.Nomad.Pos
		if got != *want.Nomad || site.Role != want.Role {
			t.Errorf("compose site %s: nomad %+v role %s, want the example's %+v role %s (but the address)", name, *site.Nomad, site.Role, *want.Nomad, want.Role)
		}
		u, err := url.Parse(site.Nomad.Address)
		if err != nil {
			t.Fatalf("site %s: %v", name, err)
		}
		agent, ok := services[u.Hostname()]
		if !ok || u.Port() != "4646" {
			t.Errorf("site %s: nomad address %s is not a compose service's Nomad API", name, site.Nomad.Address)
			continue
		}
		if !slices.Contains(agent.Command, "-region="+site.Nomad.Region) || !slices.Contains(agent.Command, "-dc="+site.Nomad.Datacenter) {
			t.Errorf("service %s runs %q, not region %s datacenter %s", u.Hostname(), agent.Command, site.Nomad.Region, site.Nomad.Datacenter)
		}
		for _, svc := range compose.Services {
			for _, check := range svc.Checks {
				cu, err := url.Parse(httpaction.ExpandURL(check.URL, site))
				if err != nil {
					t.Fatal(err)
				}
				if cu.Hostname() != u.Hostname() {
					t.Errorf("service %s's check on %s goes to %s, not to the site's agent %s", svc.Name, name, cu.Host, u.Hostname())
				}
			}
		}
	}
	for _, svc := range example.Services {
		if !slices.ContainsFunc(compose.Services, func(s *drills.Service) bool { return s.Name == svc.Name && s.NomadJob == svc.NomadJob }) {
			t.Errorf("the example's service %s (job %s) is not in the compose estate", svc.Name, svc.NomadJob)
		}
	}
	for _, svc := range compose.Services {
		job := parseJobspec(t, filepath.Join(root, "deploy", "compose", "jobs", svc.NomadJob+".nomad.hcl"))
		if job.label != svc.NomadJob {
			t.Errorf("jobs/%s.nomad.hcl registers job %q", svc.NomadJob, job.label)
		}
		cu, err := url.Parse(httpaction.ExpandURL(svc.Checks[0].URL, compose.Site("sangam")))
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(cu.Port())
		if len(job.staticPorts) != 1 || job.staticPorts[0] != port {
			t.Errorf("job %s listens on static ports %v, its check asks port %d", svc.NomadJob, job.staticPorts, port)
		}
		if !slices.Contains(job.templates, "local/www"+cu.Path) || !slices.Contains(job.checkPaths, cu.Path) {
			t.Errorf("job %s serves %v and checks %v, the estate checks %s", svc.NomadJob, job.templates, job.checkPaths, cu.Path)
		}
	}
	planPath := filepath.Join(root, "examples", "plans", "site-loss.hcl")
	if mountedFrom(fd, "/etc/firedrill/plans") != filepath.Dir(planPath) {
		t.Errorf("firedrill does not mount examples/plans next to its estate")
	}
	src, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	plan, diags := drills.ParsePlan(src, planPath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if diags := drills.ValidatePlan(compose, plan); diags.HasErrors() {
		t.Errorf("the example plan does not validate against the compose estate: %v", diags)
	}
}
