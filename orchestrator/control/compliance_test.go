package control_test

import (
	"context"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
)

// ComplianceGet rates every service of the estate under a real profile, as an export would,
// without storing a report; it names the field it refuses.
func TestComplianceGetEvaluatesWithoutExporting(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	g, err := oreport.New(oreport.Config{Store: f.st, Compliance: oreport.ProfileCompliance{}})
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := control.New(control.Config{Store: f.st, Clock: f.clk, Estate: &control.Estate{Path: estatePath, Estate: f.estate, Source: f.src},
		Reports: &control.Reports{Gatherer: g}})
	if err != nil {
		t.Fatal(err)
	}
	viewer, _ := f.person("kim", drills.RoleViewer)
	officer, _ := f.person("lee", drills.RoleCompliance)
	year := f.clk.Now().Format("2006")
	v, err := ctl.ComplianceGet(ctx, viewer, &control.ComplianceParams{Profile: "kr-efsr", Period: year})
	if err != nil {
		t.Fatalf("ComplianceGet: %v", err)
	}
	if v.Profile != "kr-efsr" || v.Period != year || v.Lang != "ko" || len(v.Services) != len(f.estate.Services) || v.Status == "" {
		t.Fatalf("ComplianceGet = %+v", v)
	}
	for _, s := range v.Services {
		// Nothing was drilled: no service is compliant, and none has a measured figure.
		if s.Status == drills.Compliant || s.RTOMeasuredMS != nil || s.RPOMeasuredMS != nil || len(s.Reasons) == 0 {
			t.Errorf("undrilled service %s: %+v", s.Service, s)
		}
	}
	if reports, err := ctl.ReportList(ctx, officer, nil); err != nil || len(reports) != 0 {
		t.Errorf("ComplianceGet stored a report: %v, %v", reports, err)
	}
	for _, bad := range []struct {
		p     control.ComplianceParams
		field string
	}{
		{control.ComplianceParams{Period: year}, "profile"},
		{control.ComplianceParams{Profile: "kr-efsr"}, "period"},
		{control.ComplianceParams{Profile: "nope", Period: year}, "profile"},
		{control.ComplianceParams{Profile: "kr-efsr", Period: "2026-13"}, "period"},
	} {
		e := wantCategory(t, "ComplianceGet", func() error { _, err := ctl.ComplianceGet(ctx, viewer, &bad.p); return err }(), control.CategoryInvalid)
		if e != nil && e.Field != bad.field {
			t.Errorf("ComplianceGet(%+v) names %q, want %q", bad.p, e.Field, bad.field)
		}
	}
	auditor, _ := f.person("fsc", drills.RoleAuditor)
	wantCategory(t, "the auditor evaluates", func() error {
		_, err := ctl.ComplianceGet(ctx, auditor, &control.ComplianceParams{Profile: "kr-efsr", Period: year})
		return err
	}(), control.CategoryForbidden)
	wantCategory(t, "a server without profiles", func() error {
		_, err := f.ctl.ComplianceGet(ctx, viewer, &control.ComplianceParams{Profile: "kr-efsr", Period: year})
		return err
	}(), control.CategoryConflict)
}
