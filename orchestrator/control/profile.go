package control

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/profiles"
)

// ProfileSummary is one line of the profile list.
type ProfileSummary struct {
	ID              string      `json:"id"`
	Title           drills.Text `json:"title"`
	Regulator       drills.Text `json:"regulator"`
	Languages       []string    `json:"languages"`
	FrequencyMonths int         `json:"frequency_months"`
	Clauses         int         `json:"clauses"`
}

// ProfileView is a regulator profile with every rule and the source it comes from. Texts are
// given in every language the profile has ({"ko": ..., "en": ...}).
type ProfileView struct {
	ID              string               `json:"id"`
	Title           drills.Text          `json:"title"`
	Regulator       drills.Text          `json:"regulator"`
	Languages       []string             `json:"languages"`
	Source          string               `json:"source"`
	FrequencyMonths int                  `json:"frequency_months"`
	FrequencySource string               `json:"frequency_source"`
	RetestWithinMS  int64                `json:"retest_within_ms"`
	RetestSource    string               `json:"retest_source"`
	RetentionYears  int                  `json:"retention_years"`
	RetentionSource string               `json:"retention_source,omitempty"`
	Ceilings        []ProfileCeilingView `json:"ceilings"`
	Sections        []string             `json:"sections"`
	Clauses         []ProfileClauseView  `json:"clauses"`
}

// ProfileCeilingView is an RTO/RPO ceiling of a profile; a nil bound is no ceiling, an empty
// criticality list means every service.
type ProfileCeilingView struct {
	Criticality []string `json:"criticality"`
	RTOMS       *int64   `json:"rto_ms"`
	RPOMS       *int64   `json:"rpo_ms"`
	Source      string   `json:"source"`
}

// ProfileClauseView is one clause of a profile.
type ProfileClauseView struct {
	ID          string      `json:"id"`
	Title       drills.Text `json:"title"`
	Source      string      `json:"source"`
	Requirement drills.Text `json:"requirement"`
	Evidence    []string    `json:"evidence"`
	DoesNotShow drills.Text `json:"does_not_show"`
}

// ProfileSummaryOf is the list line of p.
func ProfileSummaryOf(p *drills.Profile) ProfileSummary {
	return ProfileSummary{
		ID: p.ID, Title: p.Title, Regulator: p.Regulator, Languages: nonNil(slices.Clone(p.Languages)),
		FrequencyMonths: p.FrequencyMonths, Clauses: len(p.Clauses),
	}
}

// ProfileViewOf is the view of p: the API and the CLI (which reads the embedded profiles
// without a server) print the same.
func ProfileViewOf(p *drills.Profile) ProfileView {
	v := ProfileView{
		ID: p.ID, Title: p.Title, Regulator: p.Regulator, Languages: nonNil(slices.Clone(p.Languages)),
		Source: p.Source, FrequencyMonths: p.FrequencyMonths, FrequencySource: p.FrequencySource,
		RetestWithinMS: p.RetestWithin.Milliseconds(), RetestSource: p.RetestSource,
		RetentionYears: p.RetentionYears, RetentionSource: p.RetentionSource,
		Ceilings: []ProfileCeilingView{}, Sections: nonNil(slices.Clone(p.Sections)), Clauses: []ProfileClauseView{},
	}
	for _, c := range p.Ceilings {
		cv := ProfileCeilingView{Criticality: nonNil(slices.Clone(c.Criticality)), Source: c.Source}
		if c.RTO != nil {
			ms := c.RTO.Milliseconds()
			cv.RTOMS = &ms
		}
		if c.RPO != nil {
			ms := c.RPO.Milliseconds()
			cv.RPOMS = &ms
		}
		v.Ceilings = append(v.Ceilings, cv)
	}
	for _, c := range p.Clauses {
		v.Clauses = append(v.Clauses, ProfileClauseView{
			ID: c.ID, Title: c.Title, Source: c.Source, Requirement: c.Requirement,
			Evidence: nonNil(slices.Clone(c.Evidence)), DoesNotShow: c.DoesNotShow,
		})
	}
	return v
}

// ProfileList lists the regulator profiles firedrill ships, by id.
func (c *Control) ProfileList(ctx context.Context, caller *Caller) ([]ProfileSummary, error) {
	if err := c.authorize(ctx, caller, OpProfileRead, "", ""); err != nil {
		return nil, err
	}
	out, err := shippedProfileSummaries()
	if err != nil {
		// The profiles are embedded and tested: one that does not parse is a build defect.
		return nil, internal(err)
	}
	list := slices.Clone(out)
	for i := range list {
		list[i].Languages = slices.Clone(list[i].Languages)
	}
	return list, nil
}

// shippedProfileSummaries parses the embedded profiles once: they cannot change while the
// process runs, and parsing them all costs milliseconds the dashboard would pay on each load.
var shippedProfileSummaries = sync.OnceValues(func() ([]ProfileSummary, error) {
	all, err := profiles.All()
	if err != nil {
		return nil, err
	}
	out := make([]ProfileSummary, 0, len(all))
	for _, p := range all {
		out = append(out, ProfileSummaryOf(p))
	}
	return out, nil
})

// ProfileGet reads one regulator profile.
func (c *Control) ProfileGet(ctx context.Context, caller *Caller, id string) (*ProfileView, error) {
	if err := c.authorize(ctx, caller, OpProfileRead, "", id); err != nil {
		return nil, err
	}
	p, err := profiles.Load(id)
	switch {
	case errors.Is(err, profiles.ErrNotFound):
		e := notFoundf("no profile %q: firedrill ships %s", id, strings.Join(profiles.IDs(), ", "))
		e.Field = "id"
		return nil, e
	case err != nil:
		return nil, internal(err)
	}
	v := ProfileViewOf(p)
	return &v, nil
}
