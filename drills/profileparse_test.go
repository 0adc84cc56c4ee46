package drills_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// baseProfile is a valid profile; tests replace one line of it to break it.
const baseProfile = `profile "test" {
  title     = { ko = "시험", en = "Test" }
  regulator = { ko = "금융위원회", en = "FSC" }
  languages = ["ko", "en"]
  source    = "a regulation"
  sections  = ["summary", "cover", "signoff"]

  frequency {
    months = 12
    source = "art. 24"
  }
  retest {
    within = "30d"
    source = "art. 25"
  }
  retention {
    years  = 6
    source = "art. 26"
  }
  ceiling {
    criticality = ["core"]
    rto         = "3h"
    source      = "practice"
  }
  clause "art24" {
    title         = { ko = "제24조", en = "Article 24" }
    source        = "art. 24"
    requirement   = { ko = "연 1회", en = "yearly" }
    evidence      = ["drill_frequency", "drill_passed"]
    does_not_show = { ko = "보고 여부", en = "that it was reported" }
  }
}
`

func replaceLine(t *testing.T, old, replacement string) string {
	t.Helper()
	if !strings.Contains(baseProfile, old) {
		t.Fatalf("baseProfile has no %q", old)
	}
	return strings.Replace(baseProfile, old, replacement, 1)
}

func TestParseProfile(t *testing.T) {
	t.Parallel()
	p, hd := drills.ParseProfile("test.hcl", []byte(baseProfile))
	if hd.HasErrors() || p == nil {
		t.Fatalf("ParseProfile(base) = %v", drills.DiagnosticsFromHCL("test.hcl", hd))
	}
	three := 3 * time.Hour
	want := &drills.Profile{
		ID: "test", File: "test.hcl",
		Title:     drills.Text{"ko": "시험", "en": "Test"},
		Regulator: drills.Text{"ko": "금융위원회", "en": "FSC"},
		Languages: []string{"ko", "en"}, Source: "a regulation",
		// Sections come out in report order, whatever order they were written in.
		Sections:        []string{"cover", "summary", "signoff"},
		FrequencyMonths: 12, FrequencySource: "art. 24",
		RetestWithin: 30 * 24 * time.Hour, RetestSource: "art. 25",
		Retention: 6 * 366 * 24 * time.Hour, RetentionYears: 6, RetentionSource: "art. 26",
		Ceilings: []drills.Ceiling{{Criticality: []string{"core"}, RTO: &three, Source: "practice"}},
		Clauses: []drills.Clause{{
			ID: "art24", Title: drills.Text{"ko": "제24조", "en": "Article 24"}, Source: "art. 24",
			Requirement: drills.Text{"ko": "연 1회", "en": "yearly"}, Evidence: []string{"drill_frequency", "drill_passed"},
			DoesNotShow: drills.Text{"ko": "보고 여부", "en": "that it was reported"},
		}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("ParseProfile(base) =\n%+v\nwant\n%+v", p, want)
	}
	if c := p.Clause("art24"); c == nil || c.Source != "art. 24" {
		t.Errorf("Clause(art24) = %+v", c)
	}
	if c := p.Clause("art25"); c != nil {
		t.Errorf("Clause(art25) = %+v, want nil", c)
	}
}

func TestParseProfileDefaultsRetest(t *testing.T) {
	t.Parallel()
	src := replaceLine(t, "  retest {\n    within = \"30d\"\n    source = \"art. 25\"\n  }\n", "")
	p, hd := drills.ParseProfile("test.hcl", []byte(src))
	if hd.HasErrors() {
		t.Fatal(drills.DiagnosticsFromHCL("test.hcl", hd))
	}
	if p.RetestWithin != drills.DefaultRetestWithin {
		t.Errorf("RetestWithin = %v, want the default %v", p.RetestWithin, drills.DefaultRetestWithin)
	}
}

func TestParseProfileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"syntax", replaceLine(t, `  source    = "a regulation"`, `  source    = "a regulation`), "p.hcl:5:"},
		{"no profile", "# nothing\n", "p.hcl:1:1: no profile block"},
		{"two profiles", baseProfile + strings.Replace(baseProfile, `"test"`, `"other"`, 1),
			`p.hcl:33:1: profile: a file holds one profile (the first is "test"); put "other" in a file of its own`},
		{"bad id", replaceLine(t, `profile "test"`, `profile "Test"`), `p.hcl:1:9: profile id "Test" must start with a lowercase letter`},
		{"unknown attribute", replaceLine(t, `  source    = "a regulation"`, `  sorce     = "a regulation"`), "p.hcl:5:3: unsupported argument"},
		{"missing ko text", replaceLine(t, `  title     = { ko = "시험", en = "Test" }`, `  title     = { en = "Test" }`),
			`p.hcl:2:15: title: the "ko" text is missing (every text has each of "ko", "en")`},
		{"missing en text", replaceLine(t, `    requirement   = { ko = "연 1회", en = "yearly" }`, `    requirement   = { ko = "연 1회" }`),
			`p.hcl:28:21: requirement: the "en" text is missing`},
		{"language not of the profile", replaceLine(t, `  regulator = { ko = "금융위원회", en = "FSC" }`, `  regulator = { ko = "금융위원회", en = "FSC", fr = "CSF" }`),
			`p.hcl:3:15: regulator: "fr" is not one of the profile's languages ("ko", "en")`},
		{"empty text", replaceLine(t, `    does_not_show = { ko = "보고 여부", en = "that it was reported" }`, `    does_not_show = { ko = " ", en = "that it was reported" }`),
			`p.hcl:30:21: does_not_show: the "ko" text must not be empty`},
		{"bad language", replaceLine(t, `  languages = ["ko", "en"]`, `  languages = ["ko", "english"]`),
			`p.hcl:4:22: languages: "english" is not a two-letter lowercase language code`},
		{"unknown section", replaceLine(t, `  sections  = ["summary", "cover", "signoff"]`, `  sections  = ["summary", "cover", "sign-off"]`),
			`p.hcl:6:36: sections: unknown section "sign-off"`},
		{"months out of range", replaceLine(t, `    months = 12`, `    months = 0`), "p.hcl:9:14: months: must be between 1 and 120, got 0"},
		{"months not a number", replaceLine(t, `    months = 12`, `    months = "yearly"`), "p.hcl:9:14: months: must be a whole number"},
		{"no frequency", replaceLine(t, "  frequency {\n    months = 12\n    source = \"art. 24\"\n  }\n", ""),
			`p.hcl:1:1: profile "test": a frequency block is required`},
		{"frequency without source", replaceLine(t, "    months = 12\n    source = \"art. 24\"\n", "    months = 12\n"),
			`p.hcl:8:13: missing required argument: the argument "source" is required`},
		{"blank source", replaceLine(t, `    source = "art. 25"`, `    source = "  "`), "p.hcl:14:14: source: must not be blank"},
		{"negative retest", replaceLine(t, `    within = "30d"`, `    within = "-30d"`), `p.hcl:13:14: within: "-30d" is not a duration`},
		{"zero retest", replaceLine(t, `    within = "30d"`, `    within = "0s"`), "p.hcl:13:14: within: must be greater than zero"},
		{"retention years", replaceLine(t, `    years  = 6`, `    years  = 200`), "p.hcl:17:14: years: must be between 1 and 100, got 200"},
		{"two retest blocks", replaceLine(t, "  retention {", "  retest {\n    within = \"1d\"\n    source = \"x\"\n  }\n  retention {"),
			"p.hcl:16:3: retest: only one retest block is allowed (the first is at line 12)"},
		{"bad criticality", replaceLine(t, `    criticality = ["core"]`, `    criticality = ["cor"]`),
			`p.hcl:21:20: criticality: unknown criticality "cor" (one of "core", "important", "supporting"); did you mean "core"?`},
		{"ceiling bounds nothing", replaceLine(t, `    rto         = "3h"`, ``), "p.hcl:20:3: ceiling: set rto, rpo or both"},
		{"bad ceiling duration", replaceLine(t, `    rto         = "3h"`, `    rto         = "3 hours"`), `p.hcl:22:19: rto: "3 hours" is not a duration`},
		{"unknown evidence", replaceLine(t, `    evidence      = ["drill_frequency", "drill_passed"]`, `    evidence      = ["drill_frequency", "drill_pased"]`),
			`p.hcl:29:41: evidence: unknown evidence "drill_pased"`},
		{"duplicate evidence", replaceLine(t, `    evidence      = ["drill_frequency", "drill_passed"]`, `    evidence      = ["drill_frequency", "drill_frequency"]`),
			`p.hcl:29:41: evidence: "drill_frequency" is listed twice`},
		{"no clause", baseProfile[:strings.Index(baseProfile, "  clause")] + "}\n", `p.hcl:1:1: profile "test": at least one clause is required`},
		{"duplicate clause", strings.Replace(baseProfile, "\n}\n", "\n"+baseProfile[strings.Index(baseProfile, "  clause"):], 1),
			`p.hcl:32:10: clause "art24" is already declared at line 25`},
		{"reference", replaceLine(t, `  source    = "a regulation"`, `  source    = var.regulation`), `p.hcl:5:15: source: references such as "var" are not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, hd := drills.ParseProfile("p.hcl", []byte(tt.src))
			diags := drills.DiagnosticsFromHCL("p.hcl", hd)
			checkDiagPositions(t, "ParseProfile", "p.hcl", diags)
			if p != nil {
				t.Errorf("ParseProfile returned a profile with errors %v", diags)
			}
			if !hd.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("ParseProfile() diagnostics:\n%v\nwant one containing %q", diags, tt.want)
			}
		})
	}
}

// TestParseProfileJSON: the same profile in HCL's JSON syntax reads the same.
func TestParseProfileJSON(t *testing.T) {
	t.Parallel()
	src := `{"profile": {"j": {
	  "title": {"en": "T"}, "regulator": {"en": "R"}, "languages": ["en"], "source": "s",
	  "sections": ["cover"], "frequency": {"months": 6, "source": "f"},
	  "clause": {"c": {"title": {"en": "t"}, "source": "s", "requirement": {"en": "r"},
	    "evidence": ["rto_within"], "does_not_show": {"en": "d"}}}}}}`
	p, hd := drills.ParseProfile("j.json", []byte(src))
	if hd.HasErrors() {
		t.Fatal(drills.DiagnosticsFromHCL("j.json", hd))
	}
	if p.ID != "j" || p.FrequencyMonths != 6 || len(p.Clauses) != 1 || p.Clauses[0].Evidence[0] != "rto_within" {
		t.Errorf("ParseProfile(json) = %+v", p)
	}
}

func shippedProfiles(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../profiles/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob ../profiles/*.hcl = %v, %v", files, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = src
	}
	return out
}

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(baseProfile), false)
	for _, src := range shippedProfiles(f) {
		f.Add(src, false)
	}
	f.Add([]byte(`{"profile": {"j": {"title": {"en": "T"}, "languages": ["en"]}}}`), true)
	f.Fuzz(func(t *testing.T, src []byte, json bool) {
		name := fuzzName(json)
		p, hd := drills.ParseProfile(name, src)
		diags := drills.DiagnosticsFromHCL(name, hd)
		checkDiagPositions(t, "ParseProfile", name, diags)
		if hd.HasErrors() != (p == nil) {
			t.Fatalf("ParseProfile returned profile %v with errors %v", p != nil, diags)
		}
		if p == nil {
			return
		}
		// A profile that parses keeps the promises evaluation and reports rely on.
		if p.FrequencyMonths < 1 || len(p.Clauses) == 0 || len(p.Languages) == 0 || p.RetestWithin <= 0 {
			t.Fatalf("parsed profile breaks its invariants: %+v", p)
		}
		for _, s := range p.Sections {
			if !slices.Contains(drills.ReportSections, s) {
				t.Fatalf("section %q is not a report section", s)
			}
		}
		if again, _ := drills.ParseProfile(name, src); !reflect.DeepEqual(p, again) {
			t.Fatal("ParseProfile is not deterministic")
		}
	})
}
