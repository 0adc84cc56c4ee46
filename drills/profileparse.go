package drills

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// A profile file holds one profile block:
//
//	profile "kr-efsr" {
//	  title     = { ko = "전자금융감독규정", en = "Electronic Financial Supervisory Regulation" }
//	  regulator = { ko = "금융위원회", en = "Financial Services Commission" }
//	  languages = ["ko", "en"]           # report languages, the default first
//	  source    = "..."                  # the instruments the profile reads
//	  sections  = ["cover", "summary", ...]
//
//	  frequency {                                    # required
//	    months = 12
//	    source = "..."
//	  }
//	  retest {                                       # optional; DefaultRetestWithin
//	    within = "90d"
//	    source = "..."
//	  }
//	  retention {                                    # optional
//	    years  = 6
//	    source = "..."
//	  }
//	  ceiling {                                      # any number
//	    criticality = ["core"]                       # omitted: every service
//	    rto         = "3h"
//	    rpo         = "0s"
//	    source      = "..."
//	  }
//	  clause "art24" {                               # at least one
//	    title         = { ko = "...", en = "..." }
//	    source        = "..."
//	    requirement   = { ko = "...", en = "..." }
//	    evidence      = ["drill_frequency", "drill_passed"]
//	    does_not_show = { ko = "...", en = "..." }
//	  }
//	}
//
// Every text has every one of the profile's languages, and English, which is what a reader
// falls back to.
var (
	profileFileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "profile", LabelNames: []string{"id"}}}}
	profileSchema     = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "title", Required: true}, {Name: "regulator", Required: true}, {Name: "languages", Required: true},
			{Name: "source", Required: true}, {Name: "sections", Required: true},
		},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "frequency"}, {Type: "retest"}, {Type: "retention"}, {Type: "ceiling"},
			{Type: "clause", LabelNames: []string{"id"}},
		},
	}
	frequencySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "months", Required: true}, {Name: "source", Required: true}}}
	retestSchema    = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "within", Required: true}, {Name: "source", Required: true}}}
	retentionSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "years", Required: true}, {Name: "source", Required: true}}}
	ceilingSchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "criticality"}, {Name: "rto"}, {Name: "rpo"}, {Name: "source", Required: true},
	}}
	clauseSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "title", Required: true}, {Name: "source", Required: true}, {Name: "requirement", Required: true},
		{Name: "evidence", Required: true}, {Name: "does_not_show", Required: true},
	}}
)

// Bounds of the profile language.
const (
	maxFrequencyMonths = 120
	maxRetentionYears  = 100
)

var (
	// profileIDPattern is what profile and clause ids look like: they name files and URLs.
	profileIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	languagePattern  = regexp.MustCompile(`^[a-z]{2}$`)
	criticalities    = []string{string(CriticalityCore), string(CriticalityImportant), string(CriticalitySupporting)}
)

// ParseProfile parses and validates a regulator profile (HCL; HCL JSON when file ends in
// .json). Every problem is reported at its file:line:col, sorted by position; the profile is
// nil whenever there is an error. DiagnosticsFromHCL turns the diagnostics into the
// project's Diagnostics, whose Error reads file:line:col: message.
func ParseProfile(file string, src []byte) (*Profile, hcl.Diagnostics) {
	p := &profileParser{diagSink: diagSink{file: file}}
	prof := p.parse(src)
	p.diags.Sort()
	if p.diags.HasErrors() {
		prof = nil
	}
	return prof, p.diags.hcl(file)
}

// hcl converts the diagnostics to HCL's, each with its position as the subject.
func (ds Diagnostics) hcl(file string) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range ds {
		hd := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: d.Msg}
		if d.Warning {
			hd.Severity = hcl.DiagWarning
		}
		if d.Pos.Line > 0 {
			pos := hcl.Pos{Line: d.Pos.Line, Column: d.Pos.Column}
			hd.Subject = &hcl.Range{Filename: file, Start: pos, End: pos}
		}
		out = append(out, hd)
	}
	return out
}

// DiagnosticsFromHCL converts HCL diagnostics about file (such as ParseProfile's) into
// Diagnostics, whose String and Error read file:line:col: message.
func DiagnosticsFromHCL(file string, hd hcl.Diagnostics) Diagnostics {
	s := diagSink{file: file}
	s.hcl(hd)
	return s.diags
}

type profileParser struct {
	diagSink
	languages []string
}

func (p *profileParser) parse(src []byte) *Profile {
	body := p.parseFile(src, p.file)
	if body == nil {
		return nil
	}
	content, hd := body.Content(profileFileSchema)
	p.hcl(hd)
	var prof *Profile
	for _, b := range content.Blocks {
		if prof != nil {
			p.errorf(b.DefRange, "profile: a file holds one profile (the first is %q); put %q in a file of its own", prof.ID, b.Labels[0])
			continue
		}
		prof = p.profile(b)
	}
	if prof == nil && !p.diags.HasErrors() {
		p.errorf(p.fileStart(), "no profile block: a profile file holds one `profile \"id\" { ... }`")
	}
	return prof
}

func (p *profileParser) id(b *hcl.Block) string {
	id := b.Labels[0]
	if !profileIDPattern.MatchString(id) {
		p.errorf(b.LabelRanges[0], "%s id %q must start with a lowercase letter or digit and contain only lowercase letters, digits, '-' and '_'", b.Type, id)
	}
	return id
}

func (p *profileParser) profile(b *hcl.Block) *Profile {
	prof := &Profile{ID: p.id(b), File: p.file, RetestWithin: DefaultRetestWithin}
	content, hd := b.Body.Content(profileSchema)
	p.hcl(hd)
	attrs := content.Attributes
	// Languages first: every text is checked against them.
	if a := attrs["languages"]; a != nil {
		if l, ranges, ok := p.stringList(a); ok && p.noDuplicates(a, l, ranges) {
			switch {
			case len(l) == 0:
				p.errorf(a.Expr.Range(), "languages: must name at least one language, the default first (e.g. [\"ko\", \"en\"])")
			default:
				valid := true
				for i, lang := range l {
					if !languagePattern.MatchString(lang) {
						p.errorf(ranges[i], "languages: %q is not a two-letter lowercase language code (e.g. \"ko\", \"en\")", lang)
						valid = false
					}
				}
				if valid {
					prof.Languages = l
					p.languages = l
				}
			}
		}
	}
	prof.Title = p.text(attrs["title"])
	prof.Regulator = p.text(attrs["regulator"])
	prof.Source = p.source(attrs["source"])
	if a := attrs["sections"]; a != nil {
		prof.Sections = p.sections(a)
	}

	blocks := map[string][]*hcl.Block{}
	for _, blk := range content.Blocks {
		blocks[blk.Type] = append(blocks[blk.Type], blk)
	}
	for _, t := range []string{"frequency", "retest", "retention"} {
		for _, extra := range blocks[t][min(1, len(blocks[t])):] {
			p.errorf(extra.DefRange, "%s: only one %s block is allowed (the first is at line %d)", t, t, blocks[t][0].DefRange.Start.Line)
		}
	}
	if fb := blocks["frequency"]; len(fb) > 0 {
		p.frequency(prof, fb[0])
	} else {
		p.errorf(b.DefRange, "profile %q: a frequency block is required (e.g. frequency { months = 12, source = \"...\" })", prof.ID)
	}
	if rb := blocks["retest"]; len(rb) > 0 {
		p.retest(prof, rb[0])
	}
	if rb := blocks["retention"]; len(rb) > 0 {
		p.retention(prof, rb[0])
	}
	for _, cb := range blocks["ceiling"] {
		if c, ok := p.ceiling(cb); ok {
			prof.Ceilings = append(prof.Ceilings, c)
		}
	}
	clauses := map[string]hcl.Range{}
	for _, cb := range blocks["clause"] {
		c := p.clause(cb)
		if prev, dup := clauses[c.ID]; dup {
			p.errorf(cb.LabelRanges[0], "clause %q is already declared at line %d", c.ID, prev.Start.Line)
			continue
		}
		clauses[c.ID] = cb.DefRange
		prof.Clauses = append(prof.Clauses, c)
	}
	if len(blocks["clause"]) == 0 {
		p.errorf(b.DefRange, "profile %q: at least one clause is required: the requirements a report answers", prof.ID)
	}
	return prof
}

// source reads a rule's source: where it comes from, which a report quotes.
func (p *profileParser) source(a *hcl.Attribute) string {
	if a == nil {
		return ""
	}
	v, ok := p.nonEmpty(a)
	if ok && strings.TrimSpace(v) == "" {
		p.errorf(a.Expr.Range(), "source: must not be blank")
	}
	return v
}

// text reads a text in several languages: every language of the profile, and English.
func (p *profileParser) text(a *hcl.Attribute) Text {
	if a == nil {
		return nil
	}
	m, ok := p.stringMap(a)
	if !ok {
		return nil
	}
	want := p.languages
	if !slices.Contains(want, "en") {
		want = append(slices.Clone(want), "en")
	}
	for _, k := range sortedKeys(m) {
		switch {
		case !slices.Contains(want, k):
			p.errorf(a.Expr.Range(), "%s: %q is not one of the profile's languages (%s)", a.Name, k, quoteList(want))
			return nil
		case strings.TrimSpace(m[k]) == "":
			p.errorf(a.Expr.Range(), "%s: the %q text must not be empty", a.Name, k)
			return nil
		}
	}
	if p.languages == nil {
		// Languages are wrong and said so; which texts miss one cannot be told.
		return m
	}
	for _, lang := range want {
		if _, ok := m[lang]; !ok {
			p.errorf(a.Expr.Range(), "%s: the %q text is missing (every text has each of %s)", a.Name, lang, quoteList(want))
			return nil
		}
	}
	return m
}

func (p *profileParser) sections(a *hcl.Attribute) []string {
	l, ranges, ok := p.stringList(a)
	if !ok || !p.noDuplicates(a, l, ranges) {
		return nil
	}
	if len(l) == 0 {
		p.errorf(a.Expr.Range(), "sections: must name the report's sections (%s)", quoteList(ReportSections))
		return nil
	}
	for i, s := range l {
		if !slices.Contains(ReportSections, s) {
			p.errorf(ranges[i], "sections: unknown section %q (one of %s)%s", s, quoteList(ReportSections), suggest(s, ReportSections))
			return nil
		}
	}
	// Report order, whatever the order written.
	out := slices.Clone(l)
	slices.SortFunc(out, func(a, b string) int { return slices.Index(ReportSections, a) - slices.Index(ReportSections, b) })
	return out
}

func (p *profileParser) frequency(prof *Profile, b *hcl.Block) {
	content, hd := b.Body.Content(frequencySchema)
	p.hcl(hd)
	if a := content.Attributes["months"]; a != nil {
		if n, ok := p.integer(a); ok {
			if n < 1 || n > maxFrequencyMonths {
				p.errorf(a.Expr.Range(), "months: must be between 1 and %d, got %d", maxFrequencyMonths, n)
			} else {
				prof.FrequencyMonths = int(n)
			}
		}
	}
	prof.FrequencySource = p.source(content.Attributes["source"])
}

func (p *profileParser) retest(prof *Profile, b *hcl.Block) {
	content, hd := b.Body.Content(retestSchema)
	p.hcl(hd)
	if a := content.Attributes["within"]; a != nil {
		if d, ok := p.positiveDuration(a); ok {
			prof.RetestWithin = d
		}
	}
	prof.RetestSource = p.source(content.Attributes["source"])
}

func (p *profileParser) retention(prof *Profile, b *hcl.Block) {
	content, hd := b.Body.Content(retentionSchema)
	p.hcl(hd)
	if a := content.Attributes["years"]; a != nil {
		if n, ok := p.integer(a); ok {
			if n < 1 || n > maxRetentionYears {
				p.errorf(a.Expr.Range(), "years: must be between 1 and %d, got %d", maxRetentionYears, n)
			} else {
				prof.RetentionYears = int(n)
				prof.Retention = retentionYear * time.Duration(n)
			}
		}
	}
	prof.RetentionSource = p.source(content.Attributes["source"])
}

func (p *profileParser) ceiling(b *hcl.Block) (Ceiling, bool) {
	content, hd := b.Body.Content(ceilingSchema)
	p.hcl(hd)
	attrs := content.Attributes
	var c Ceiling
	ok := !hd.HasErrors()
	if a := attrs["criticality"]; a != nil {
		l, ranges, lok := p.stringList(a)
		if lok && p.noDuplicates(a, l, ranges) {
			for i, v := range l {
				if !slices.Contains(criticalities, v) {
					p.errorf(ranges[i], "criticality: unknown criticality %q (one of %s)%s", v, quoteList(criticalities), suggest(v, criticalities))
					ok = false
				}
			}
			if len(l) == 0 {
				p.errorf(a.Expr.Range(), "criticality: must name at least one criticality (omit it for every service)")
				ok = false
			}
			c.Criticality = l
		} else {
			ok = false
		}
	}
	for _, o := range []struct {
		name string
		dst  **time.Duration
	}{{"rto", &c.RTO}, {"rpo", &c.RPO}} {
		if a := attrs[o.name]; a != nil {
			d, dok := p.duration(a)
			if !dok {
				ok = false
				continue
			}
			*o.dst = &d
		}
	}
	if c.RTO == nil && c.RPO == nil && attrs["rto"] == nil && attrs["rpo"] == nil {
		p.errorf(b.DefRange, "ceiling: set rto, rpo or both")
		ok = false
	}
	c.Source = p.source(attrs["source"])
	return c, ok
}

func (p *profileParser) clause(b *hcl.Block) Clause {
	c := Clause{ID: p.id(b)}
	content, hd := b.Body.Content(clauseSchema)
	p.hcl(hd)
	attrs := content.Attributes
	c.Title = p.text(attrs["title"])
	c.Source = p.source(attrs["source"])
	c.Requirement = p.text(attrs["requirement"])
	c.DoesNotShow = p.text(attrs["does_not_show"])
	if a := attrs["evidence"]; a != nil {
		if l, ranges, ok := p.stringList(a); ok && p.noDuplicates(a, l, ranges) {
			if len(l) == 0 {
				p.errorf(a.Expr.Range(), "evidence: must name what answers the clause (%s)", quoteList(ClauseEvidence))
			}
			for i, ev := range l {
				if !slices.Contains(ClauseEvidence, ev) {
					p.errorf(ranges[i], "evidence: unknown evidence %q (one of %s)%s", ev, quoteList(ClauseEvidence), suggest(ev, ClauseEvidence))
					return c
				}
			}
			c.Evidence = l
		}
	}
	return c
}
