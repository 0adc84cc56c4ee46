package profiles_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/profiles"
)

// TestEveryShippedProfileLoads holds every file to the rules a report relies on: it parses,
// its id is its file name, every rule names its source, and every text has each report
// language.
func TestEveryShippedProfileLoads(t *testing.T) {
	t.Parallel()
	want := []string{"eu-dora", "kr-efsr", "sg-mas-trm", "uk-pra-ss1-21", "us-ffiec-bcm"}
	if got := profiles.IDs(); !slices.Equal(got, want) {
		t.Fatalf("IDs() = %v, want %v", got, want)
	}
	all, err := profiles.All()
	if err != nil {
		t.Fatalf("All() = %v", err)
	}
	for _, p := range all {
		t.Run(p.ID, func(t *testing.T) {
			if p.Source == "" || p.FrequencySource == "" || p.RetestSource == "" || p.FrequencyMonths == 0 {
				t.Errorf("%s: source %q, frequency %d (source %q), retest source %q: every rule needs its source",
					p.ID, p.Source, p.FrequencyMonths, p.FrequencySource, p.RetestSource)
			}
			if p.Retention > 0 && p.RetentionSource == "" {
				t.Errorf("%s: retention without a source", p.ID)
			}
			for i, c := range p.Ceilings {
				if c.Source == "" {
					t.Errorf("%s: ceiling %d has no source", p.ID, i)
				}
			}
			if len(p.Clauses) == 0 {
				t.Fatalf("%s: no clauses", p.ID)
			}
			langs := append(slices.Clone(p.Languages), "en")
			texts := map[string]drills.Text{"title": p.Title, "regulator": p.Regulator}
			for _, c := range p.Clauses {
				if c.Source == "" || len(c.Evidence) == 0 {
					t.Errorf("%s: clause %s: source %q, evidence %v", p.ID, c.ID, c.Source, c.Evidence)
				}
				texts[c.ID+".title"] = c.Title
				texts[c.ID+".requirement"] = c.Requirement
				texts[c.ID+".does_not_show"] = c.DoesNotShow
			}
			for name, txt := range texts {
				for _, lang := range langs {
					if strings.TrimSpace(txt[lang]) == "" {
						t.Errorf("%s: %s has no %q text", p.ID, name, lang)
					}
				}
			}
			// Every reason that evaluation gives should land on a clause of the profile, or
			// a reader cannot tell which requirement it answers.
			for _, ev := range []string{drills.EvidenceDrillFrequency, drills.EvidenceDrillPassed, drills.EvidenceRTOWithin,
				drills.EvidenceDependenciesCovered, drills.EvidenceFindingsClosed} {
				if !slices.ContainsFunc(p.Clauses, func(c drills.Clause) bool { return slices.Contains(c.Evidence, ev) }) {
					t.Errorf("%s: no clause answers with %s", p.ID, ev)
				}
			}
		})
	}
}

func TestKoreanProfileReportsInKoreanFirst(t *testing.T) {
	t.Parallel()
	p, err := profiles.Load("kr-efsr")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Languages, []string{"ko", "en"}) || p.FrequencyMonths != 12 {
		t.Errorf("kr-efsr: languages %v, frequency %d, want [ko en] and 12", p.Languages, p.FrequencyMonths)
	}
	rto, rpo := p.CeilingsFor("core")
	if rto == nil || rto.Hours() != 3 || rpo != nil {
		t.Errorf("kr-efsr CeilingsFor(core) = %v, %v, want 3h and no RPO ceiling", rto, rpo)
	}
	if rto, _ := p.CeilingsFor("supporting"); rto != nil {
		t.Errorf("kr-efsr CeilingsFor(supporting) RTO = %v, want none: the 3h applies to core business", rto)
	}
	if got := p.Regulator.Get("ko"); got != "금융위원회" {
		t.Errorf("kr-efsr regulator in ko = %q", got)
	}
}

func TestUKProfileKeepsReportsSixYears(t *testing.T) {
	t.Parallel()
	p, err := profiles.Load("uk-pra-ss1-21")
	if err != nil {
		t.Fatal(err)
	}
	if p.RetentionYears != 6 || p.Retention < 6*365*24*60*60*1e9 {
		t.Errorf("uk-pra-ss1-21 retention = %d years (%v), want 6 years, never less", p.RetentionYears, p.Retention)
	}
}

func TestLoadUnknownProfileNamesTheKnownOnes(t *testing.T) {
	t.Parallel()
	_, err := profiles.Load("kr-efsa")
	if !errors.Is(err, profiles.ErrNotFound) || !strings.Contains(err.Error(), "kr-efsr") {
		t.Errorf("Load(kr-efsa) = %v, want ErrNotFound listing kr-efsr", err)
	}
}
