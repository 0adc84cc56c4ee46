package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/firedrill/firedrill/drills"
)

// PlansDir is the directory, next to the estate file, whose plans PlanList lists besides the
// plans the estate's schedules run.
const PlansDir = "plans"

// maxPlanSize bounds the plan files PlanList and PlanGet read.
const maxPlanSize = 1 << 20

// PlanFileView is a plan file the server knows: a schedule's plan or one in PlansDir.
type PlanFileView struct {
	// File is the plan's path as the estate writes it: relative to the estate's directory
	// (what RunSubmit's plan_file takes).
	File string `json:"file"`
	// Name and Description are the plan's, once it parses.
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Schedules names the schedules that run it.
	Schedules []string `json:"schedules"`
	// Valid: it parses and validates against the estate; Errors counts its errors.
	Valid  bool `json:"valid"`
	Errors int  `json:"errors"`
	// Unreadable says why the file could not be read; empty when it was.
	Unreadable string `json:"unreadable,omitempty"`
}

// PlanDetail is a plan file with its source and its validation against the estate.
type PlanDetail struct {
	PlanFileView
	Source     string          `json:"source"`
	Validation *PlanValidation `json:"validation,omitempty"`
}

// PlanList lists the plans the server knows: those the estate's schedules run, then the
// other files of PlansDir, each validated against the estate. Validating is what the list
// does, so it is plan.validate's.
func (c *Control) PlanList(ctx context.Context, caller *Caller) ([]PlanFileView, error) {
	if err := c.authorize(ctx, caller, OpPlanValidate, "plan.list", ""); err != nil {
		return nil, err
	}
	files, err := c.planFiles()
	if err != nil {
		return nil, err
	}
	out := make([]PlanFileView, 0, len(files))
	for _, f := range files {
		out = append(out, c.planDetail(f.file, f.schedules).PlanFileView)
	}
	return out, nil
}

// PlanGet returns one of PlanList's plans (by its file) with its source and validation. A
// file PlanList does not list is not found: nothing else of the server's disk is read.
func (c *Control) PlanGet(ctx context.Context, caller *Caller, file string) (*PlanDetail, error) {
	if err := c.authorize(ctx, caller, OpPlanValidate, "plan.get", file); err != nil {
		return nil, err
	}
	if file == "" {
		return nil, invalidf("file", "the plan's file is required (as PlanList names it)")
	}
	files, err := c.planFiles()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(files, func(f planFile) bool { return f.file == file })
	if i < 0 {
		return nil, notFoundf("no plan %q: the server knows the plans its schedules run and those in %s/", file, PlansDir)
	}
	return c.planDetail(file, files[i].schedules), nil
}

// planFile is a plan path of the estate and the schedules that run it.
type planFile struct {
	file      string
	schedules []string
}

// planFiles are the schedules' plans in the estate's order, then PlansDir's other plans by
// name.
func (c *Control) planFiles() ([]planFile, error) {
	if _, err := c.estate(); err != nil {
		return nil, err
	}
	est := c.cfg.Estate
	var out []planFile
	at := map[string]int{}
	add := func(file, schedule string) {
		file = filepath.ToSlash(filepath.Clean(file))
		i, ok := at[file]
		if !ok {
			i = len(out)
			at[file] = i
			out = append(out, planFile{file: file, schedules: []string{}})
		}
		if schedule != "" {
			out[i].schedules = append(out[i].schedules, schedule)
		}
	}
	for _, sch := range est.Estate.Schedules {
		add(sch.Plan, sch.Name)
	}
	entries, err := est.readDir(PlansDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, internal(fmt.Errorf("list %s: %w", PlansDir, err))
	}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); e.Type().IsRegular() && (ext == ".hcl" || ext == ".json") {
			add(PlansDir+"/"+e.Name(), "")
		}
	}
	return out, nil
}

// planDetail reads a plan file and validates it against the estate, as RunSubmit would.
func (c *Control) planDetail(file string, schedules []string) *PlanDetail {
	d := &PlanDetail{PlanFileView: PlanFileView{File: file, Schedules: schedules}}
	src, err := readPlanFile(c.cfg.Estate, file)
	if err != nil {
		d.Unreadable = err.Error()
		return d
	}
	d.Source = string(src)
	v, err := c.validate(file, d.Source, false)
	if err != nil {
		v = &PlanValidation{Diagnostics: []Diagnostic{{File: file, Severity: "error", Message: err.Error()}}}
	}
	d.Validation = v
	d.Valid, d.Errors = v.Valid, v.ErrorCount()
	if plan, _ := drills.ParsePlan(src, file); plan != nil {
		d.Name, d.Description = plan.Name, plan.Description
	}
	return d
}

// readPlanFile reads a plan of the estate, saying why it cannot in words that name no more of
// the disk than the estate does.
func readPlanFile(est *Estate, path string) ([]byte, error) {
	f, err := est.readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("the file does not exist")
	case err != nil:
		return nil, errors.New("the file cannot be read")
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxPlanSize+1))
	switch {
	case err != nil:
		return nil, errors.New("the file cannot be read")
	case len(src) > maxPlanSize:
		return nil, fmt.Errorf("the file is larger than %d KiB", maxPlanSize>>10)
	}
	return src, nil
}

// validate is PlanValidate's result for a plan: its problems, or what it will touch. An
// error is a request that is not a plan's to answer (no estate, no plan_file).
func (c *Control) validate(file, source string, force bool) (*PlanValidation, error) {
	plan, err := c.parsePlan(file, source, force)
	var e *Error
	switch {
	case err == nil:
		return touchesOf(c.cfg.Estate.Estate, plan), nil
	case errors.As(err, &e) && e.Category == CategoryInvalid && e.Details != nil:
		return &PlanValidation{Valid: false, Diagnostics: e.Details.([]Diagnostic)}, nil
	}
	return nil, err
}

// ErrorCount counts the validation's errors (its warnings aside).
func (v *PlanValidation) ErrorCount() int {
	n := 0
	for _, d := range v.Diagnostics {
		if d.Severity == "error" {
			n++
		}
	}
	return n
}

// touchesOf is the validation of a valid plan: the services, sites and steps it will touch
// and the approvals a run of it needs.
func touchesOf(estate *drills.Estate, plan *drills.Plan) *PlanValidation {
	v := &PlanValidation{Valid: true, Plan: plan.Name, Diagnostics: []Diagnostic{}, Outline: planOutline(plan),
		From: plan.From, To: plan.To, Sites: []string{}, ApprovalRoles: []string{}}
	for _, s := range append([]string{plan.From, plan.To}, siteNames(plan)...) {
		if s != "" && !slices.Contains(v.Sites, s) {
			v.Sites = append(v.Sites, s)
		}
	}
	if policy := drills.EffectiveApproval(estate, plan, nil); policy.Required() {
		v.ApprovalRoles = slices.Clone(policy.Roles)
		within := policy.Within
		if within <= 0 {
			within = drills.DefaultApprovalWithin
		}
		v.ApprovalWithin = shortDuration(within)
	}
	return v
}

func siteNames(plan *drills.Plan) []string {
	var out []string
	for _, steps := range [][]*drills.Step{plan.Steps, plan.Rollback, plan.Cleanup} {
		for _, st := range steps {
			out = append(out, st.Site)
		}
	}
	return out
}
