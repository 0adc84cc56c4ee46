package drills

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
)

var (
	planFileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "plan", LabelNames: []string{"name"}},
	}}
	planSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "description"}, {Name: "from"}, {Name: "to"}, {Name: "services"},
			{Name: "rollback_reason"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "step", LabelNames: []string{"name"}},
			{Type: "rollback"},
			{Type: "cleanup"},
			{Type: "stop_when"},
			{Type: "probe", LabelNames: []string{"name"}},
			{Type: "approval"},
			{Type: "participant", LabelNames: []string{"name"}},
		},
	}
	participantSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "role", Required: true}}}
	stopWhenSchema    = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "probe_failures"}, {Name: "probe_grace"}, {Name: "max_replication_lag"},
		{Name: "step_over_budget"}, {Name: "rto_budget"},
	}}
	probeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "url"}, {Name: "site"}, {Name: "interval"}, {Name: "expect_status"},
	}}
	stepListSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "step", LabelNames: []string{"name"}},
	}}
	// stepSchema holds the attributes every step has; any other attribute is a parameter
	// of the step's action.
	stepSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "action"}, {Name: "site"}, {Name: "for_each"}, {Name: "milestone"}, {Name: "timeout"},
		{Name: "budget"}, {Name: "parallel"},
	}}
)

// ParsePlan parses a plan file: exactly one plan block (HCL JSON syntax when filename ends in
// .json). It checks everything that needs no estate: syntax, attribute types, actions and
// their parameters, milestones and timeouts; ValidatePlan checks the rest against an Estate.
//
// The returned Plan is nil only when the file holds no usable plan block. It is returned even
// with errors so that ValidatePlan can report more problems in one go; it must not be run.
func ParsePlan(src []byte, filename string) (*Plan, Diagnostics) {
	s := &diagSink{file: filename}
	p := s.parsePlanFile(src)
	s.diags.Sort()
	return p, s.diags
}

func (s *diagSink) parsePlanFile(src []byte) *Plan {
	body := s.parseFile(src, s.file)
	if body == nil {
		return nil
	}
	content, hd := body.Content(planFileSchema)
	s.hcl(hd)
	if len(content.Blocks) == 0 {
		if !s.diags.HasErrors() { // a file that does not parse has said enough
			s.errorf(s.fileStart(), "the file declares no plan: write one plan \"NAME\" { ... } block")
		}
		return nil
	}
	for _, b := range content.Blocks[1:] {
		s.errorf(b.DefRange, "only one plan per file: plan %q is already declared at line %d",
			content.Blocks[0].Labels[0], content.Blocks[0].DefRange.Start.Line)
	}
	sum := sha256.Sum256(src)
	p := s.plan(content.Blocks[0])
	p.File = s.file
	p.SHA256 = hex.EncodeToString(sum[:])
	return p
}

func (s *diagSink) plan(b *hcl.Block) *Plan {
	name, _ := s.label(b)
	p := &Plan{Name: name, Pos: s.pos(b.DefRange), AttrPos: map[string]Pos{}}
	content, hd := b.Body.Content(s.planBodySchema(b.Body))
	s.hcl(hd)
	attrs := content.Attributes
	for _, a := range attrs {
		p.AttrPos[a.Name] = s.pos(a.Expr.Range())
	}
	if a := attrs["description"]; a != nil {
		p.Description, _ = s.str(a)
	}
	for _, o := range []struct {
		name string
		dst  *string
		what string
	}{{"from", &p.From, "the site that is lost"}, {"to", &p.To, "the site that takes over"}} {
		if a := attrs[o.name]; a != nil {
			*o.dst, _ = s.nonEmpty(a)
		} else {
			s.errorf(b.DefRange, "plan %q: %s is required (%s)", name, o.name, o.what)
		}
	}
	if a := attrs["services"]; a != nil {
		if l, ok := s.uniqueStrings(a); ok {
			p.Services = l
			if len(l) == 0 {
				s.errorf(a.Expr.Range(), "services: list at least one service to fail over")
			}
		}
	} else {
		s.errorf(b.DefRange, "plan %q: services is required (the services the drill fails over)", name)
	}
	seen := map[string]bool{}
	for _, sb := range content.Blocks {
		switch sb.Type {
		case "step":
			p.Steps = append(p.Steps, s.step(sb))
		case "probe":
			p.Probes = append(p.Probes, s.probe(sb))
		case "participant":
			if pp := s.participant(sb); pp != nil {
				if prev := p.Participant(pp.Name); prev != nil {
					s.errorf(sb.DefRange, "participant %q is already declared at line %d", pp.Name, prev.Pos.Line)
					continue
				}
				p.Participants = append(p.Participants, pp)
			}
		case "rollback", "cleanup", "stop_when":
			if seen[sb.Type] {
				s.errorf(sb.DefRange, "only one %s block is allowed", sb.Type)
				continue
			}
			seen[sb.Type] = true
			switch sb.Type {
			case "rollback":
				p.Rollback = s.stepList(sb)
			case "cleanup":
				p.Cleanup = s.stepList(sb)
			default:
				p.StopWhen = s.stopWhen(sb)
			}
		}
	}
	p.Approval = s.approvals(content.Blocks, fmt.Sprintf("plan %q", name)).policy
	if len(p.Steps) == 0 {
		s.errorf(b.DefRange, "plan %q has no step", name)
	}
	s.noRollback(p, b, attrs, seen["rollback"])
	return p
}

// planBodySchema is the schema of a plan block's body. In native syntax rollback is both a
// block (its steps) and an attribute (rollback = "none"), so both are in the schema and
// writing both is reported. HCL's JSON form cannot tell an attribute from a block of the same
// name by the schema alone: there a "rollback" property whose value is a JSON string is the
// attribute, and any other value (an object of steps) is the block.
func (s *diagSink) planBodySchema(body hcl.Body) *hcl.BodySchema {
	withAttr := &hcl.BodySchema{Attributes: append(slices.Clone(planSchema.Attributes), hcl.AttributeSchema{Name: "rollback"}), Blocks: planSchema.Blocks}
	if !strings.HasSuffix(s.file, ".json") {
		return withAttr
	}
	probe, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "rollback"}}})
	a := probe.Attributes["rollback"]
	if a == nil {
		return planSchema
	}
	// Without a context a JSON string is its literal text, never a template, so this reads
	// the value's shape without evaluating anything the plan wrote. A string, number, bool or
	// null is the attribute (so a wrong value is reported as rollback's value, not as a
	// malformed block); an object or array is the block's steps.
	if v, diags := a.Expr.Value(nil); diags.HasErrors() || v.Type().IsObjectType() || v.Type().IsTupleType() {
		return planSchema
	}
	return &hcl.BodySchema{Attributes: withAttr.Attributes, Blocks: slices.DeleteFunc(slices.Clone(planSchema.Blocks),
		func(h hcl.BlockHeaderSchema) bool { return h.Type == "rollback" })}
}

// noRollback reads rollback = "none" and its rollback_reason, and requires a plan with a
// disaster step to say how the sites return to normal: rollback steps, or why there are none.
func (s *diagSink) noRollback(p *Plan, b *hcl.Block, attrs hcl.Attributes, hasBlock bool) {
	none := false
	if a := attrs["rollback"]; a != nil {
		if _, ok := s.oneOf(a, "none"); ok {
			none = true
			if hasBlock {
				s.errorf(a.Expr.Range(), "rollback: the plan has a rollback block and says rollback = \"none\": keep one")
			}
		}
	}
	reason := attrs["rollback_reason"]
	switch {
	case reason != nil && !none:
		if _, set := attrs["rollback"]; !set {
			s.errorf(reason.Expr.Range(), "rollback_reason: only a plan with rollback = \"none\" gives one")
		}
	case reason != nil:
		p.NoRollbackReason, _ = s.nonEmpty(reason)
	case none:
		s.errorf(attrs["rollback"].Expr.Range(), "rollback: say why the plan has no rollback: add rollback_reason = \"...\" (who returns the sites to normal, and how)")
	}
	if _, said := attrs["rollback"]; hasBlock || said {
		return
	}
	for _, st := range p.Steps {
		if st.Milestone == MilestoneDisaster {
			s.errorAt(stepAttr(st, "milestone"), "milestone: step %q injects the disaster but plan %q has no rollback: add a rollback { } block that returns the sites to normal, or rollback = \"none\" with rollback_reason = \"...\"",
				st.Name, p.Name)
			return
		}
	}
}

func (s *diagSink) step(b *hcl.Block) *Step {
	name, _ := s.label(b)
	st := &Step{Name: name, Pos: s.pos(b.DefRange), Params: map[string]any{}, ParamPos: map[string]Pos{}, AttrPos: map[string]Pos{}}
	content, remain, hd := b.Body.PartialContent(stepSchema)
	s.hcl(hd)
	attrs := content.Attributes
	for _, a := range attrs {
		st.AttrPos[a.Name] = s.pos(a.Expr.Range())
	}
	var spec ActionSpec
	known := false
	if a := attrs["action"]; a != nil {
		if v, ok := s.str(a); ok {
			st.Action = v
			if spec, known = LookupAction(v); !known {
				sg := "; known actions: " + strings.Join(ActionNames(), ", ")
				if c := SuggestAction(v); c != "" {
					sg = fmt.Sprintf("; did you mean %q?", c)
				}
				s.errorf(a.Expr.Range(), "action: unknown action %q%s", v, sg)
			}
		}
	} else {
		s.errorf(b.DefRange, "step %q: action is required (one of %s)", name, strings.Join(ActionNames(), ", "))
	}
	if a := attrs["site"]; a != nil {
		st.Site, _ = s.str(a)
	}
	if a := attrs["for_each"]; a != nil {
		if l, ok := s.uniqueStrings(a); ok {
			st.ForEach = l
			if len(l) == 0 {
				s.errorf(a.Expr.Range(), "for_each: list at least one service, or leave for_each out")
			}
		}
	}
	if a := attrs["milestone"]; a != nil {
		v, _ := s.oneOf(a, string(MilestoneDisaster), string(MilestoneRestored))
		st.Milestone = Milestone(v)
	}
	if a := attrs["timeout"]; a != nil {
		st.Timeout, _ = s.positiveDuration(a)
	}
	if a := attrs["budget"]; a != nil {
		st.Budget, _ = s.positiveDuration(a)
	}
	if a := attrs["parallel"]; a != nil {
		st.Parallel, _ = s.boolean(a)
	}
	params, hd := remain.JustAttributes()
	s.hcl(hd)
	s.params(st, b, spec, known, params)
	return st
}

// params checks a step's action parameters against the spec and fills Params and ParamPos.
// When the action is unknown (already reported) only the positions are recorded.
func (s *diagSink) params(st *Step, b *hcl.Block, spec ActionSpec, known bool, params hcl.Attributes) {
	for _, a := range sortedAttrs(params) {
		st.ParamPos[a.Name] = s.pos(a.Expr.Range())
		if !known {
			continue
		}
		ps, ok := spec.Params[a.Name]
		if !ok {
			s.errorf(a.NameRange, "%s", unknownParam(a.Name, spec))
			continue
		}
		if v, ok := s.param(a, ps.Type); ok && s.paramValue(a, ps, v) {
			st.Params[a.Name] = v
		}
	}
	if !known {
		return
	}
	if combine := combinations[spec.Name]; combine != nil {
		for _, pr := range combine(st.Params) {
			pos, ok := st.ParamPos[pr.Param]
			if !ok {
				pos = st.Pos
			}
			s.errorAt(pos, "%s", pr.Msg)
		}
	}
	for _, pn := range slices.Sorted(maps.Keys(spec.Params)) {
		if _, set := params[pn]; spec.Params[pn].Required && !set {
			s.errorf(b.DefRange, "step %q: action %q requires parameter %q: %s", st.Name, spec.Name, pn, spec.Params[pn].Doc)
		}
	}
}

// paramValue checks a typed parameter value against the spec's enum, range and sign.
func (s *diagSink) paramValue(a *hcl.Attribute, ps ParamSpec, v any) bool {
	switch v := v.(type) {
	case string:
		if len(ps.OneOf) == 0 {
			return true
		}
		if slices.ContainsFunc(ps.OneOf, func(o string) bool { return o == v || (ps.FoldCase && strings.EqualFold(o, v)) }) {
			return true
		}
		s.errorf(a.Expr.Range(), "%s: %q is not one of %s%s", a.Name, v, quoteList(ps.OneOf), suggest(v, ps.OneOf))
		return false
	case int64:
		if ps.Range && (v < ps.Min || v > ps.Max) {
			s.errorf(a.Expr.Range(), "%s: %d is out of range: write a number from %d to %d", a.Name, v, ps.Min, ps.Max)
			return false
		}
	case time.Duration:
		if ps.Positive && v == 0 {
			s.errorf(a.Expr.Range(), "%s: must be greater than zero", a.Name)
			return false
		}
	}
	return true
}

func unknownParam(name string, spec ActionSpec) string {
	if len(spec.Params) == 0 {
		return fmt.Sprintf("%s: action %q takes no parameters besides action, site, for_each, milestone, timeout, budget and parallel", name, spec.Name)
	}
	known := slices.Sorted(maps.Keys(spec.Params))
	return fmt.Sprintf("action %q has no parameter %q%s (its parameters: %s)",
		spec.Name, name, suggest(name, known), strings.Join(known, ", "))
}

// param reads an action parameter as the Go type its ParamType promises in Step.Params.
func (s *diagSink) param(a *hcl.Attribute, t ParamType) (any, bool) {
	switch t {
	case ParamString:
		return s.str(a)
	case ParamInt:
		return s.integer(a)
	case ParamBool:
		return s.boolean(a)
	case ParamDuration:
		return s.duration(a)
	case ParamStrings:
		return s.strings(a)
	case ParamStringMap:
		return s.stringMap(a)
	}
	s.errorf(a.Expr.Range(), "%s: parameter type %q is not supported", a.Name, t)
	return nil, false
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := slices.Collect(maps.Values(attrs))
	slices.SortFunc(out, func(a, b *hcl.Attribute) int { return a.NameRange.Start.Byte - b.NameRange.Start.Byte })
	return out
}

// closest returns the candidate nearest to name when it is near enough to be a typo.
func closest(name string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := levenshtein.Distance(name, c, nil)
		near := d < len(c) && (d <= 2 || (d <= 3 && d*3 <= len(c)))
		if near && (best == "" || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// suggest returns `; did you mean "x"?` when a candidate is close to name, else "".
func suggest(name string, candidates []string) string {
	if c := closest(name, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

// suggestOrList is suggest, falling back to listing every candidate.
func suggestOrList(name string, candidates []string, what string) string {
	if sg := suggest(name, candidates); sg != "" {
		return sg
	}
	return fmt.Sprintf("; %s: %s", what, strings.Join(candidates, ", "))
}

// probe reads a probe block: a URL polled for the whole run, to see what users saw.
func (s *diagSink) probe(b *hcl.Block) *Probe {
	name, _ := s.label(b)
	pr := &Probe{Name: name, Interval: DefaultProbeInterval, ExpectStatus: DefaultExpectStatus, Pos: s.pos(b.DefRange), AttrPos: map[string]Pos{}}
	content, hd := b.Body.Content(probeSchema)
	s.hcl(hd)
	for n, a := range content.Attributes {
		pr.AttrPos[n] = s.pos(a.Expr.Range())
	}
	if a := content.Attributes["url"]; a != nil {
		pr.URL, _ = s.str(a)
		for _, m := range placeholder.FindAllString(pr.URL, -1) {
			if m != "{site}" && m != "{ingress}" {
				s.errorf(a.Expr.Range(), "url: unknown placeholder %s: only {site} and {ingress} are replaced", m)
			}
		}
		sample := strings.NewReplacer("{site}", "site", "{ingress}", "http://ingress.invalid").Replace(pr.URL)
		if err := checkHTTPURL(sample); err != nil {
			s.errorf(a.Expr.Range(), "url: %q is not an absolute http or https URL", pr.URL)
		}
	} else {
		s.errorf(b.DefRange, "probe %q: url is required", name)
	}
	if a := content.Attributes["site"]; a != nil {
		pr.Site, _ = s.str(a)
	}
	if a := content.Attributes["interval"]; a != nil {
		if d, ok := s.positiveDuration(a); ok {
			pr.Interval = d
		}
	}
	if a := content.Attributes["expect_status"]; a != nil {
		if n, ok := s.integer(a); ok {
			if n < 100 || n > 599 {
				s.errorf(a.Expr.Range(), "expect_status: %d is not an HTTP status (100 to 599)", n)
			} else {
				pr.ExpectStatus = int(n)
			}
		}
	}
	return pr
}

// participant reads a participant "NAME" { role = "..." } block: a person the drill intends
// to take part, and the part they play.
func (s *diagSink) participant(b *hcl.Block) *Participant {
	name, ok := s.label(b)
	content, hd := b.Body.Content(participantSchema)
	s.hcl(hd)
	if !ok {
		return nil
	}
	pp := &Participant{Name: name, Pos: s.pos(b.DefRange)}
	if a := content.Attributes["role"]; a != nil {
		pp.Role, _ = s.nonEmpty(a)
	}
	return pp
}

// stepList reads the steps of a rollback or cleanup block.
func (s *diagSink) stepList(b *hcl.Block) []*Step {
	c, hd := b.Body.Content(stepListSchema)
	s.hcl(hd)
	var out []*Step
	for _, sb := range c.Blocks {
		out = append(out, s.step(sb))
	}
	return out
}

// stopWhen reads a stop_when block: the conditions whose breach aborts the run.
func (s *diagSink) stopWhen(b *hcl.Block) *StopConditions {
	sc := &StopConditions{Pos: s.pos(b.DefRange), AttrPos: map[string]Pos{}}
	content, hd := b.Body.Content(stopWhenSchema)
	s.hcl(hd)
	attrs := content.Attributes
	for n, a := range attrs {
		sc.AttrPos[n] = s.pos(a.Expr.Range())
	}
	if len(attrs) == 0 && !hd.HasErrors() {
		s.errorf(b.DefRange, "stop_when: set at least one condition (probe_failures, max_replication_lag, step_over_budget, rto_budget)")
	}
	if a := attrs["probe_failures"]; a != nil {
		if n, ok := s.integer(a); ok {
			if n < 1 {
				s.errorf(a.Expr.Range(), "probe_failures: %d is not a number of polls: write 1 or more", n)
			} else {
				sc.ProbeFailures = int(n)
			}
		}
	}
	if a := attrs["probe_grace"]; a != nil {
		sc.ProbeGrace, _ = s.positiveDuration(a)
	}
	if a := attrs["max_replication_lag"]; a != nil {
		sc.MaxReplicationLag, _ = s.positiveDuration(a)
	}
	if a := attrs["step_over_budget"]; a != nil {
		sc.StepOverBudget, _ = s.boolean(a)
	}
	if a := attrs["rto_budget"]; a != nil {
		sc.RTOBudget, _ = s.positiveDuration(a)
	}
	return sc
}
