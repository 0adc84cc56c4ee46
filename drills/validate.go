package drills

import (
	"fmt"
	"slices"
	"strings"
)

// ValidatePlan checks a parsed plan against the estate: sites and services exist, every
// dependency of a failed-over service fails over too, steps suit their actions, and the
// milestones that measure the RTO are there. Positions are in the plan file. Problems that
// ParsePlan reports (unknown actions, bad values) are not repeated.
func ValidatePlan(cfg *Estate, p *Plan) Diagnostics {
	return ValidatePlanWith(cfg, p, ValidateOptions{})
}

// ValidateOptions relax ValidatePlan for deliberate experiments.
type ValidateOptions struct {
	// AllowUnplannedDependencies accepts a plan that fails a service over without the services
	// it depends on: the forced run that shows what such a plan would do (the drill then
	// fails, naming the dependency left behind). Never for a drill that counts.
	AllowUnplannedDependencies bool
}

// ValidatePlanWith is ValidatePlan with options.
func ValidatePlanWith(cfg *Estate, p *Plan, opts ValidateOptions) Diagnostics {
	if cfg == nil || p == nil {
		return nil
	}
	v := &planValidator{cfg: cfg, p: p}
	v.checkSites()
	v.checkServices()
	if !opts.AllowUnplannedDependencies {
		v.checkDependencies()
	}
	v.checkStepNames()
	for _, st := range p.Steps {
		v.checkStep(st)
	}
	for _, st := range p.Rollback {
		v.checkStep(st)
		v.checkAfterStep(st, "rollback")
	}
	for _, st := range p.Cleanup {
		v.checkStep(st)
		v.checkAfterStep(st, "cleanup")
	}
	v.checkMilestones()
	v.checkStartedOnDR()
	v.checkProbes()
	v.checkStopWhen()
	v.diags.Sort()
	return v.diags
}

type planValidator struct {
	cfg   *Estate
	p     *Plan
	diags Diagnostics
}

func (v *planValidator) errorf(pos Pos, format string, args ...any) {
	v.diags = append(v.diags, Diagnostic{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// planAttr is where a plan attribute was written, or the plan block when it was not.
func (v *planValidator) planAttr(name string) Pos {
	if pos, ok := v.p.AttrPos[name]; ok {
		return pos
	}
	return v.p.Pos
}

// stepAttr is where a step attribute was written, or the step block when it was not.
func stepAttr(st *Step, name string) Pos {
	if pos, ok := st.AttrPos[name]; ok {
		return pos
	}
	return st.Pos
}

func (v *planValidator) checkSites() {
	siteNames := make([]string, len(v.cfg.Sites))
	for i, s := range v.cfg.Sites {
		siteNames[i] = s.Name
	}
	for _, attr := range []string{"from", "to"} {
		name := v.p.From
		if attr == "to" {
			name = v.p.To
		}
		if name != "" && v.cfg.Site(name) == nil {
			v.errorf(v.planAttr(attr), "%s: unknown site %q%s", attr, name, suggestOrList(name, siteNames, "sites"))
		}
	}
	if v.p.From != "" && v.p.From == v.p.To {
		v.errorf(v.planAttr("to"), "to: the plan fails over from %q to itself: from and to must differ", v.p.To)
	}
}

func (v *planValidator) checkServices() {
	for _, n := range v.p.Services {
		if v.cfg.Service(n) == nil {
			v.errorf(v.planAttr("services"), "services: unknown service %q%s", n, suggestOrList(n, serviceNames(v.cfg), "services"))
		}
	}
}

// checkDependencies requires every dependency, direct or transitive, of a failed-over service
// to fail over too: a DR copy of payments is no use while auth is still in the burning site.
func (v *planValidator) checkDependencies() {
	reported := map[string]bool{}
	for _, n := range v.p.Services {
		// Breadth first, so that a missing dependency is reported through its shortest path.
		queue := []string{n}
		seen := map[string]bool{n: true}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			svc := v.cfg.Service(cur)
			if svc == nil {
				continue
			}
			for _, dep := range svc.DependsOn {
				if seen[dep] || v.cfg.Service(dep) == nil {
					continue
				}
				seen[dep] = true
				queue = append(queue, dep)
				if slices.Contains(v.p.Services, dep) || reported[dep] {
					continue
				}
				reported[dep] = true
				// Name the plan service closest to the missing one: that is the edge to read.
				subject, through := n, ""
				if cur != n {
					if slices.Contains(v.p.Services, cur) {
						subject = cur
					} else {
						through = fmt.Sprintf(" (through %q)", cur)
					}
				}
				v.errorf(v.planAttr("services"), "service %q depends on %q%s, which this plan does not fail over: add %q to services",
					subject, dep, through, dep)
			}
		}
	}
}

func (v *planValidator) checkStepNames() {
	seen := map[string]*Step{}
	for _, st := range slices.Concat(v.p.Steps, v.p.Rollback, v.p.Cleanup) {
		if prev, dup := seen[st.Name]; dup {
			v.errorf(st.Pos, "step %q is already declared at line %d: step names must be unique, rollback and cleanup included", st.Name, prev.Pos.Line)
			continue
		}
		seen[st.Name] = st
	}
}

// checkStep checks a step against its action's spec and the estate.
func (v *planValidator) checkStep(st *Step) {
	if st.Site != "" && v.cfg.Site(st.Site) == nil {
		v.errorf(stepAttr(st, "site"), "site: unknown site %q", st.Site)
	}
	for _, n := range st.ForEach {
		switch {
		case v.cfg.Service(n) == nil:
			v.errorf(stepAttr(st, "for_each"), "for_each: unknown service %q", n)
		case !slices.Contains(v.p.Services, n):
			v.errorf(stepAttr(st, "for_each"), "for_each: service %q is not in the plan's services", n)
		}
	}
	if spec, ok := LookupAction(st.Action); ok { // else reported by ParsePlan
		v.checkAgainstSpec(st, spec)
	}
	if st.Parallel && len(st.ForEach) == 0 {
		v.errorf(stepAttr(st, "parallel"), "parallel: only a step with for_each runs its instances in parallel: add for_each or remove parallel")
	}
	timeout := st.Timeout
	if spec, ok := LookupAction(st.Action); ok && timeout == 0 {
		timeout = spec.DefaultTimeout
	}
	if st.Budget > 0 && timeout > 0 && st.Budget >= timeout {
		v.errorf(stepAttr(st, "budget"), "budget: %s is not shorter than the step's timeout %s, so it could never be exceeded: lower budget or raise timeout",
			formatDuration(st.Budget), formatDuration(timeout))
	}
}

// checkAgainstSpec applies the action's site and service rules.
func (v *planValidator) checkAgainstSpec(st *Step, spec ActionSpec) {
	switch {
	case spec.Site == SiteRequired && st.Site == "":
		v.errorf(st.Pos, "step %q: action %q needs a site: set site", st.Name, spec.Name)
	case spec.Site == SiteForbidden && st.Site != "":
		v.errorf(stepAttr(st, "site"), "site: action %q does not act on a site: remove site", spec.Name)
	}
	switch {
	case spec.Services == ServicesNone && len(st.ForEach) > 0:
		v.errorf(stepAttr(st, "for_each"), "for_each: action %q does not act on services: remove for_each", spec.Name)
	case spec.Services == ServicesRequired && len(st.ForEach) == 0:
		v.errorf(st.Pos, "step %q: action %q needs for_each: list the services it acts on", st.Name, spec.Name)
	}
	if spec.Name == ActionHTTPWaitHealthy {
		v.checkHTTPWait(st)
	}
}

// checkHTTPWait makes sure http.wait_healthy can pass: every service it covers has a check,
// and checks that use {ingress} run on a site that has one.
func (v *planValidator) checkHTTPWait(st *Step) {
	names := st.ForEach
	if len(names) == 0 {
		names = v.p.Services
	}
	site := v.cfg.Site(st.Site)
	for _, n := range names {
		svc := v.cfg.Service(n)
		if svc == nil {
			continue
		}
		if len(svc.Checks) == 0 {
			v.errorf(st.Pos, "step %q: service %q has no check, so %s can never pass for it: add a check \"http\" block to the service",
				st.Name, n, ActionHTTPWaitHealthy)
		}
		if site == nil || site.Ingress != "" {
			continue
		}
		if slices.ContainsFunc(svc.Checks, func(c *Check) bool { return strings.Contains(c.URL, "{ingress}") }) {
			v.errorf(stepAttr(st, "site"), "site: site %q has no ingress, but the check of service %q uses {ingress}: set ingress on the site",
				site.Name, n)
		}
	}
}

// checkAfterStep checks a rollback or cleanup step: the drill's timeline and its stop
// conditions end before them.
func (v *planValidator) checkAfterStep(st *Step, block string) {
	if st.Milestone != "" {
		v.errorf(stepAttr(st, "milestone"), "milestone: %s steps cannot be milestones: the drill's timeline ends before %s", block, block)
	}
	if st.Budget > 0 {
		v.errorf(stepAttr(st, "budget"), "budget: %s steps have no budget: stop conditions are not evaluated once the %s runs", block, block)
	}
}

// checkStopWhen checks that each stop condition can be evaluated for this plan.
func (v *planValidator) checkStopWhen() {
	sc := v.p.StopWhen
	if sc == nil {
		return
	}
	at := func(name string) Pos {
		if pos, ok := sc.AttrPos[name]; ok {
			return pos
		}
		return sc.Pos
	}
	if sc.ProbeFailures > 0 && len(v.p.Probes) == 0 {
		v.errorf(at("probe_failures"), "probe_failures: the plan declares no probe to count failures of: add a probe block or remove probe_failures")
	}
	if _, set := sc.AttrPos["probe_grace"]; set {
		if _, counted := sc.AttrPos["probe_failures"]; !counted {
			v.errorf(at("probe_grace"), "probe_grace: it only delays probe_failures, which is not set")
		}
	}
	if sc.MaxReplicationLag > 0 {
		if shared := v.sharedDatabases(); len(shared) == 0 && v.cfg.Site(v.p.From) != nil && v.cfg.Site(v.p.To) != nil {
			v.errorf(at("max_replication_lag"), "max_replication_lag: sites %q and %q share no postgres database, so there is no replication lag to measure",
				v.p.From, v.p.To)
		}
	}
	if sc.StepOverBudget && !slices.ContainsFunc(v.p.Steps, func(st *Step) bool { return st.Budget > 0 }) {
		v.errorf(at("step_over_budget"), "step_over_budget: no step sets a budget: add budget = \"...\" to the steps to watch")
	}
}

// sharedDatabases are the postgres blocks both the from and the to site declare.
func (v *planValidator) sharedDatabases() []string {
	return SharedDatabases(v.cfg.Site(v.p.From), v.cfg.Site(v.p.To))
}

// SharedDatabases returns the names of the databases both sites declare: the ones the DR site
// holds a replica of, by convention. Nil sites share nothing.
func SharedDatabases(primary, dr *Site) []string {
	if primary == nil || dr == nil {
		return nil
	}
	var out []string
	for _, d := range dr.Databases {
		if primary.Database(d.Name) != nil {
			out = append(out, d.Name)
		}
	}
	return out
}

// checkMilestones requires exactly one disaster (T0) and one restored (T1) step, in that
// order: without both the drill's RTO cannot be measured.
func (v *planValidator) checkMilestones() {
	first := map[Milestone]int{}
	for i, st := range v.p.Steps {
		if st.Milestone == "" {
			continue
		}
		if j, dup := first[st.Milestone]; dup {
			v.errorf(stepAttr(st, "milestone"), "milestone: step %q is already the %q milestone: a plan has exactly one",
				v.p.Steps[j].Name, st.Milestone)
			continue
		}
		first[st.Milestone] = i
	}
	d, hasD := first[MilestoneDisaster]
	r, hasR := first[MilestoneRestored]
	if !hasD {
		v.errorf(v.p.Pos, "plan has no step with milestone = %q: the drill's T0 could not be stamped", MilestoneDisaster)
	}
	if !hasR {
		v.errorf(v.p.Pos, "plan has no step with milestone = %q: the drill's RTO could not be measured", MilestoneRestored)
	}
	if hasD && hasR && r < d {
		v.errorf(stepAttr(v.p.Steps[r], "milestone"), "milestone: the %q step %q comes before the %q step %q: restored must come after disaster",
			MilestoneRestored, v.p.Steps[r].Name, MilestoneDisaster, v.p.Steps[d].Name)
	}
}

// DrivesNomad reports whether a step of the drill (rollback and cleanup aside) is a Nomad
// action on a site: such a plan fails its services over with Nomad, so validation wants each
// started on the DR site and pre-flight wants each running on the from site and in standby
// on the DR site. A plan without one fails over by commands or people, whose effect neither
// can see.
func (p *Plan) DrivesNomad() bool {
	return slices.ContainsFunc(p.Steps, func(st *Step) bool {
		return strings.HasPrefix(st.Action, "nomad.") && st.Site != ""
	})
}

// checkStartedOnDR requires every service of the plan to be started on the DR site by a step
// of the drill: a service that nothing starts there is not failed over, whatever the checks
// say (they would pass only if it already ran there). Starting means an action of start
// effect (nomad.run_job, nomad.scale to a count above zero) on the plan's to site that covers
// the service. It applies to plans that drive Nomad on a DR site that has it.
func (v *planValidator) checkStartedOnDR() {
	if v.p.To == "" || v.p.To == v.p.From || v.cfg.Site(v.p.To) == nil {
		return
	}
	// A plan that drives no Nomad action on a site fails over by commands or people, whose
	// effect validation cannot see.
	if v.cfg.Site(v.p.To).Nomad == nil || !v.p.DrivesNomad() {
		return
	}
	started := map[string]bool{}
	for _, st := range v.p.Steps {
		spec, ok := LookupAction(st.Action)
		if !ok || spec.Effect != EffectStart || st.Site != v.p.To || spec.Services == ServicesNone {
			continue
		}
		if n, set := st.Params["count"].(int64); set && n == 0 {
			continue
		}
		names := st.ForEach
		if len(names) == 0 && spec.Services == ServicesOptional {
			names = v.p.Services
		}
		for _, n := range names {
			started[n] = true
		}
	}
	for _, n := range v.p.Services {
		if !started[n] && v.cfg.Service(n) != nil {
			v.errorf(v.planAttr("services"), "services: no step starts %q on the DR site %q, so the drill would not fail it over: add it to the for_each of a %s step on site %q",
				n, v.p.To, ActionNomadRunJob, v.p.To)
		}
	}
}

func (v *planValidator) checkProbes() {
	seen := map[string]bool{}
	for _, pr := range v.p.Probes {
		if seen[pr.Name] {
			v.errorf(pr.Pos, "probe %q is declared twice", pr.Name)
		}
		seen[pr.Name] = true
		pos := pr.Pos
		if p, ok := pr.AttrPos["site"]; ok {
			pos = p
		}
		usesSite := strings.Contains(pr.URL, "{site}") || strings.Contains(pr.URL, "{ingress}")
		switch {
		case pr.Site == "" && usesSite:
			v.errorf(pr.AttrPos["url"], "probe %q: url uses {site} or {ingress}: set site", pr.Name)
		case pr.Site != "" && v.cfg.Site(pr.Site) == nil:
			v.errorf(pos, "probe %q: unknown site %q", pr.Name, pr.Site)
		case pr.Site != "" && strings.Contains(pr.URL, "{ingress}") && v.cfg.Site(pr.Site).Ingress == "":
			v.errorf(pos, "probe %q: site %q has no ingress for {ingress}", pr.Name, pr.Site)
		}
	}
}
