package control_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/examples"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// PlanList lists the schedules' plans and those of the plans directory, validated, and
// PlanGet reads one of them and nothing else: from the disk next to the estate, or from
// Estate.Files (the embedded example serve --demo runs).
func TestPlanListAndGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	sre, _ := f.person("sam", drills.RoleSRE)
	list, err := f.ctl.PlanList(ctx, sre)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].File != planFile || !list[0].Valid || list[0].Name == "" {
		t.Fatalf("PlanList from the disk = %+v", list)
	}
	d, err := f.ctl.PlanGet(ctx, sre, planFile)
	if err != nil || d.Source != f.planSrc || d.Validation == nil || !d.Validation.Valid || d.Validation.Outline == nil || len(d.Validation.Sites) == 0 {
		t.Fatalf("PlanGet(%s) = %+v, %v", planFile, d, err)
	}
	for _, bad := range []string{"firedrill.hcl", "../testdata/firedrill.hcl", "/etc/passwd", "plans/none.hcl"} {
		wantCategory(t, "PlanGet("+bad+")", func() error { _, err := f.ctl.PlanGet(ctx, sre, bad); return err }(), control.CategoryNotFound)
	}
	wantCategory(t, "PlanGet()", func() error { _, err := f.ctl.PlanGet(ctx, sre, ""); return err }(), control.CategoryInvalid)

	// The embedded example, read from Files wherever the process runs.
	src, err := examples.FS.ReadFile("firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	est, diags := drills.ParseEstate(src, "firedrill.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := fstest.MapFS{"plans/broken.hcl": {Data: []byte("plan \"x\" {\n  from = \"nowhere\"\n}\n")}}
	for _, name := range []string{"firedrill.hcl", "plans/site-loss.hcl"} {
		b, err := examples.FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = &fstest.MapFile{Data: b}
	}
	embedded, err := control.New(control.Config{Store: storetest.Postgres(t),
		Estate: &control.Estate{Path: "/nowhere/firedrill.hcl", Estate: est, Source: src, Files: files}})
	if err != nil {
		t.Fatal(err)
	}
	list, err = embedded.PlanList(ctx, sre)
	if err != nil || len(list) != 2 {
		t.Fatalf("PlanList from Files = %+v, %v", list, err)
	}
	if l := list[0]; l.File != "plans/site-loss.hcl" || l.Name != "sangam-site-loss" || !l.Valid || len(l.Schedules) != 1 {
		t.Errorf("the schedule's plan = %+v", l)
	}
	if l := list[1]; l.File != "plans/broken.hcl" || l.Valid || l.Errors == 0 || len(l.Schedules) != 0 {
		t.Errorf("the broken plan = %+v", l)
	}
	d, err = embedded.PlanGet(ctx, sre, "plans/site-loss.hcl")
	if err != nil || !d.Valid || d.Validation.From != "sangam" || d.Validation.To != "yatap" || len(d.Validation.ApprovalRoles) != 2 {
		t.Errorf("PlanGet from Files = %+v, %v", d, err)
	}
}
