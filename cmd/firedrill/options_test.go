package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// --retest-profile sets when findings fall due from the profile's retest deadline, and
// --finding-due, or its variable, still decides when given.
func TestRetestProfileSetsTheFindingDueDate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		profile string
		flag    string
		env     string
		want    time.Duration
		err     string
	}{
		{name: "none", want: store.DefaultFindingDue},
		{name: "ffiec retests within a year", profile: "us-ffiec-bcm", want: 365 * 24 * time.Hour},
		{name: "the flag wins", profile: "us-ffiec-bcm", flag: "720h", want: 720 * time.Hour},
		{name: "the variable wins", profile: "us-ffiec-bcm", env: "240h", want: 240 * time.Hour},
		{name: "unknown profile", profile: "kr-nope", err: "--retest-profile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{getenv: func(k string) string {
				if k == "FIREDRILL_FINDING_DUE" {
					return tt.env
				}
				return ""
			}}
			cmd := &cobra.Command{Use: "x"}
			cmd.Flags().DurationVar(&a.findingDue, "finding-due", store.DefaultFindingDue, "")
			if tt.flag != "" {
				if err := cmd.Flags().Set("finding-due", tt.flag); err != nil {
					t.Fatal(err)
				}
			}
			if tt.env != "" {
				a.applyEnv(cmd)
			}
			a.retestProfile = tt.profile
			err := a.applyRetestProfile(cmd)
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want one naming %s", err, tt.err)
				}
			case err != nil:
				t.Fatal(err)
			case a.findingDue != tt.want:
				t.Errorf("finding due = %s, want %s", a.findingDue, tt.want)
			}
		})
	}
}

// serve refuses, at start-up, a signing key without the institution every report's cover
// names, instead of failing each export later.
func TestServeReportsNeedAnInstitution(t *testing.T) {
	a := &app{}
	_, err := a.reports(t.Context(), nil, reportOptions{signingKey: t.TempDir() + "/key.pem", institution: "  "})
	if err == nil || !strings.Contains(err.Error(), "--institution") {
		t.Errorf("reports without an institution = %v, want an error naming --institution", err)
	}
}
