package drills

import (
	"fmt"
	"slices"
	"strings"
)

// checkDependencies reports depends_on entries that name no service or the service itself,
// then every dependency cycle once.
func (p *estateParser) checkDependencies(cfg *Estate) {
	for _, svc := range cfg.Services {
		a := p.dependsOn[svc]
		if a == nil {
			continue
		}
		for _, dep := range svc.DependsOn {
			switch {
			case dep == svc.Name:
				p.errorf(a.Expr.Range(), "depends_on: service %q cannot depend on itself", dep)
			case cfg.Service(dep) == nil:
				p.errorf(a.Expr.Range(), "depends_on: unknown service %q%s", dep, suggest(dep, serviceNames(cfg)))
			}
		}
	}
	for _, cycle := range findCycles(cfg) {
		first := cfg.Service(cycle[0])
		pos := first.Pos
		if a := p.dependsOn[first]; a != nil {
			pos = p.pos(a.Expr.Range())
		}
		p.errorAt(pos, "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
}

func serviceNames(cfg *Estate) []string {
	names := make([]string, len(cfg.Services))
	for i, s := range cfg.Services {
		names[i] = s.Name
	}
	return names
}

// findCycles returns each dependency cycle once, as a path that starts and ends with the
// member declared first ("auth", "payments", "auth"). Self-dependencies are not cycles here:
// they are reported on their own.
func findCycles(cfg *Estate) [][]string {
	index := map[string]int{}
	for i, s := range cfg.Services {
		if _, dup := index[s.Name]; !dup {
			index[s.Name] = i
		}
	}
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(cfg.Services))
	var stack []int
	var cycles [][]string
	seen := map[string]bool{}
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, dep := range cfg.Services[i].DependsOn {
			j, ok := index[dep]
			if !ok || j == i {
				continue
			}
			switch state[j] {
			case unvisited:
				visit(j)
			case onStack:
				members := slices.Clone(stack[slices.Index(stack, j):])
				// Rotate so the first-declared member leads: the same cycle found from
				// another entry point then has the same path.
				lead := slices.Index(members, slices.Min(members))
				members = append(members[lead:], members[:lead]...)
				path := make([]string, 0, len(members)+1)
				for _, m := range members {
					path = append(path, cfg.Services[m].Name)
				}
				path = append(path, path[0])
				if key := strings.Join(path, "\x00"); !seen[key] {
					seen[key] = true
					cycles = append(cycles, path)
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range cfg.Services {
		if state[i] == unvisited {
			visit(i)
		}
	}
	return cycles
}

// TopoOrder returns names ordered so that every service comes after the services it depends
// on, directly or through services not in names. Services with no order between them keep
// the order of names, so plans read and run the way they were written.
func TopoOrder(cfg *Estate, names []string) ([]string, error) {
	var diags Diagnostics
	pos := make(map[string]int, len(names))
	for i, n := range names {
		if cfg.Service(n) == nil {
			diags = append(diags, Diagnostic{Pos: Pos{File: cfg.File}, Msg: fmt.Sprintf("unknown service %q", n)})
			continue
		}
		if _, dup := pos[n]; !dup {
			pos[n] = i
		}
	}
	if len(diags) > 0 {
		return nil, diags
	}
	// needs[n]: the members of names that n depends on, transitively.
	needs := make(map[string][]string, len(pos))
	for n := range pos {
		reached := map[string]bool{}
		var walk func(s string)
		walk = func(s string) {
			svc := cfg.Service(s)
			if svc == nil {
				return
			}
			for _, d := range svc.DependsOn {
				if !reached[d] {
					reached[d] = true
					walk(d)
				}
			}
		}
		walk(n)
		if reached[n] {
			return nil, cycleError(cfg, n)
		}
		for d := range reached {
			if _, in := pos[d]; in {
				needs[n] = append(needs[n], d)
			}
		}
	}
	out := make([]string, 0, len(pos))
	placed := make(map[string]bool, len(pos))
	for len(out) < len(pos) {
		// The earliest-written service whose dependencies are all placed goes next.
		next := ""
		for n, i := range pos {
			if placed[n] || (next != "" && pos[next] < i) {
				continue
			}
			if !slices.ContainsFunc(needs[n], func(d string) bool { return !placed[d] }) {
				next = n
			}
		}
		placed[next] = true
		out = append(out, next)
	}
	return out, nil
}

// cycleError describes the cycle through name, for callers that were handed a configuration
// ParseEstate would have rejected.
func cycleError(cfg *Estate, name string) error {
	for _, c := range findCycles(cfg) {
		if slices.Contains(c, name) {
			return Diagnostics{{Pos: cfg.Service(c[0]).Pos, Msg: "dependency cycle: " + strings.Join(c, " -> ")}}
		}
	}
	svc := cfg.Service(name)
	return Diagnostics{{Pos: svc.Pos, Msg: fmt.Sprintf("dependency cycle: %s -> %s", name, name)}}
}

// Expand lists the plan's step instances in execution order: a for_each step gives one
// instance per service, ordered as its action asks (dependencies first, or dependents first).
func (p *Plan) Expand(cfg *Estate) ([]StepInstance, error) {
	return expand(cfg, p.Steps)
}

// ExpandRollback is Expand for the rollback steps.
func (p *Plan) ExpandRollback(cfg *Estate) ([]StepInstance, error) {
	return expand(cfg, p.Rollback)
}

// ExpandCleanup is Expand for the cleanup steps.
func (p *Plan) ExpandCleanup(cfg *Estate) ([]StepInstance, error) {
	return expand(cfg, p.Cleanup)
}

// Needs reports whether service a depends on service b, directly or through other services.
func Needs(cfg *Estate, a, b string) bool {
	seen := map[string]bool{}
	var walk func(s string) bool
	walk = func(s string) bool {
		svc := cfg.Service(s)
		if svc == nil {
			return false
		}
		for _, d := range svc.DependsOn {
			if d == b {
				return true
			}
			if !seen[d] {
				seen[d] = true
				if walk(d) {
					return true
				}
			}
		}
		return false
	}
	return walk(a)
}

// ParallelWaits says, for the instances of one parallel for_each step, which instances each
// must wait for: those of the services it depends on (directly or through services the step
// does not cover) when the action starts dependencies first, or of the services that depend on
// it when the action goes dependents first (stopping). Keys map to keys; an instance that waits
// for nothing maps to nil.
func ParallelWaits(cfg *Estate, group []StepInstance) map[string][]string {
	out := make(map[string][]string, len(group))
	for _, inst := range group {
		out[inst.Key] = nil
		order := DependenciesFirst
		if spec, ok := LookupAction(inst.Step.Action); ok {
			order = spec.Order
		}
		for _, other := range group {
			if other.Key == inst.Key || other.Service == "" || inst.Service == "" {
				continue
			}
			waits := Needs(cfg, inst.Service, other.Service)
			if order == DependentsFirst {
				waits = Needs(cfg, other.Service, inst.Service)
			}
			if waits {
				out[inst.Key] = append(out[inst.Key], other.Key)
			}
		}
	}
	return out
}

func expand(cfg *Estate, steps []*Step) ([]StepInstance, error) {
	var out []StepInstance
	for _, st := range steps {
		if len(st.ForEach) == 0 {
			out = append(out, StepInstance{Step: st, Key: st.Name})
			continue
		}
		spec, ok := LookupAction(st.Action)
		if !ok {
			return nil, Diagnostics{{Pos: st.Pos, Msg: fmt.Sprintf("step %q: unknown action %q", st.Name, st.Action)}}
		}
		order, err := TopoOrder(cfg, st.ForEach)
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", st.Name, err)
		}
		if spec.Order == DependentsFirst {
			slices.Reverse(order)
		}
		for _, svc := range order {
			out = append(out, StepInstance{Step: st, Service: svc, Key: st.Name + "[" + svc + "]"})
		}
	}
	return out, nil
}

// ServicesOf returns the services an instance acts on: its own service, or every service of
// the plan in dependency order when the step has no for_each. Names the configuration does
// not know are left out.
func (p *Plan) ServicesOf(cfg *Estate, inst StepInstance) []*Service {
	if inst.Service != "" {
		if svc := cfg.Service(inst.Service); svc != nil {
			return []*Service{svc}
		}
		return nil
	}
	var out []*Service
	for _, n := range p.orderedServices(cfg) {
		if svc := cfg.Service(n); svc != nil {
			out = append(out, svc)
		}
	}
	return out
}

// orderedServices is the plan's services in dependency order, or as written when the
// configuration cannot order them (validation reports why).
func (p *Plan) orderedServices(cfg *Estate) []string {
	known := slices.DeleteFunc(slices.Clone(p.Services), func(n string) bool { return cfg.Service(n) == nil })
	if order, err := TopoOrder(cfg, known); err == nil {
		return order
	}
	return known
}
