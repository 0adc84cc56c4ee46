package drills

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// parseFile parses src as HCL JSON when the name ends in .json, and as native HCL otherwise.
// A file with a syntax error yields nil: what the parser recovered is not what was meant, and
// the problems it would cause (a block "missing", a step "without action") would bury the one
// line to fix. The syntax errors are the whole report.
func (s *diagSink) parseFile(src []byte, filename string) hcl.Body {
	p := hclparse.NewParser()
	var f *hcl.File
	var hd hcl.Diagnostics
	if strings.HasSuffix(filename, ".json") {
		f, hd = p.ParseJSON(src, filename)
	} else {
		f, hd = p.ParseHCL(src, filename)
	}
	s.hcl(hd)
	if f == nil || f.Body == nil || hd.HasErrors() {
		return nil
	}
	return f.Body
}

// value evaluates an attribute as a literal. The language has no variables or functions, so
// the evaluation context is nil; references are caught first to say so plainly.
func (s *diagSink) value(attr *hcl.Attribute) (cty.Value, bool) {
	if vars := attr.Expr.Variables(); len(vars) > 0 {
		s.errorf(vars[0].SourceRange(), "%s: references such as %q are not allowed: write a literal value",
			attr.Name, vars[0].RootName())
		return cty.NilVal, false
	}
	v, hd := attr.Expr.Value(nil)
	if hd.HasErrors() {
		s.hcl(hd)
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		// The parser yields unknown values for expressions it could not read, and has said so.
		if !s.hasErrorAt(attr.Expr.Range()) {
			s.errorf(attr.Expr.Range(), "%s: must be a literal value", attr.Name)
		}
		return cty.NilVal, false
	}
	if v.IsNull() {
		s.errorf(attr.Expr.Range(), "%s: must not be null", attr.Name)
		return cty.NilVal, false
	}
	return v, true
}

func (s *diagSink) str(attr *hcl.Attribute) (string, bool) {
	v, ok := s.value(attr)
	if !ok {
		return "", false
	}
	v, err := convert.Convert(v, cty.String)
	if err != nil || v.IsNull() {
		s.errorf(attr.Expr.Range(), "%s: must be a string", attr.Name)
		return "", false
	}
	return v.AsString(), true
}

// nonEmpty reads a string that must not be empty.
func (s *diagSink) nonEmpty(a *hcl.Attribute) (string, bool) {
	v, ok := s.str(a)
	if ok && v == "" {
		s.errorf(a.Expr.Range(), "%s: must not be empty", a.Name)
		return "", false
	}
	return v, ok
}

func (s *diagSink) boolean(attr *hcl.Attribute) (bool, bool) {
	v, ok := s.value(attr)
	if !ok {
		return false, false
	}
	v, err := convert.Convert(v, cty.Bool)
	if err != nil || v.IsNull() {
		s.errorf(attr.Expr.Range(), "%s: must be true or false", attr.Name)
		return false, false
	}
	return v.True(), true
}

func (s *diagSink) integer(attr *hcl.Attribute) (int64, bool) {
	v, ok := s.value(attr)
	if !ok {
		return 0, false
	}
	v, err := convert.Convert(v, cty.Number)
	if err != nil || v.IsNull() {
		s.errorf(attr.Expr.Range(), "%s: must be a whole number", attr.Name)
		return 0, false
	}
	bf := v.AsBigFloat()
	if bf.IsInf() || !bf.IsInt() {
		s.errorf(attr.Expr.Range(), "%s: must be a whole number, got %s", attr.Name, bf.Text('g', 10))
		return 0, false
	}
	n, acc := bf.Int64()
	if acc != 0 {
		s.errorf(attr.Expr.Range(), "%s: %s is out of range", attr.Name, bf.Text('g', 10))
		return 0, false
	}
	return n, true
}

func (s *diagSink) strings(attr *hcl.Attribute) ([]string, bool) {
	v, ok := s.value(attr)
	if !ok {
		return nil, false
	}
	v, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || v.IsNull() {
		s.errorf(attr.Expr.Range(), "%s: must be a list of strings, e.g. [\"a\", \"b\"]", attr.Name)
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for _, e := range v.AsValueSlice() {
		if e.IsNull() {
			s.errorf(attr.Expr.Range(), "%s: must not contain null", attr.Name)
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// uniqueStrings is strings with duplicates reported: a name twice in a list is a typo.
func (s *diagSink) uniqueStrings(attr *hcl.Attribute) ([]string, bool) {
	l, ok := s.strings(attr)
	if !ok {
		return nil, false
	}
	for i, e := range l {
		if slices.Index(l, e) < i {
			s.errorf(attr.Expr.Range(), "%s: %q is listed twice", attr.Name, e)
			return nil, false
		}
	}
	return l, true
}

// stringList reads a list of strings and where each element was written (the whole list's
// range when the syntax does not say).
func (s *diagSink) stringList(a *hcl.Attribute) ([]string, []hcl.Range, bool) {
	l, ok := s.strings(a)
	if !ok {
		return nil, nil, false
	}
	ranges := make([]hcl.Range, len(l))
	exprs, hd := hcl.ExprList(a.Expr)
	for i := range ranges {
		ranges[i] = a.Expr.Range()
		if !hd.HasErrors() && len(exprs) == len(l) {
			ranges[i] = exprs[i].Range()
		}
	}
	return l, ranges, true
}

// noDuplicates reports an element listed twice, at its second place.
func (s *diagSink) noDuplicates(a *hcl.Attribute, l []string, ranges []hcl.Range) bool {
	for i, e := range l {
		if slices.Index(l, e) < i {
			s.errorf(ranges[i], "%s: %q is listed twice", a.Name, e)
			return false
		}
	}
	return true
}

func (s *diagSink) stringMap(attr *hcl.Attribute) (map[string]string, bool) {
	v, ok := s.value(attr)
	if !ok {
		return nil, false
	}
	v, err := convert.Convert(v, cty.Map(cty.String))
	if err != nil || v.IsNull() {
		s.errorf(attr.Expr.Range(), "%s: must be a map of strings, e.g. { key = \"value\" }", attr.Name)
		return nil, false
	}
	out := make(map[string]string, v.LengthInt())
	for k, e := range v.AsValueMap() {
		if e.IsNull() {
			s.errorf(attr.Expr.Range(), "%s: value of %q must not be null", attr.Name, k)
			return nil, false
		}
		out[k] = e.AsString()
	}
	return out, true
}

// duration reads a non-negative duration written as a string.
func (s *diagSink) duration(attr *hcl.Attribute) (time.Duration, bool) {
	str, ok := s.str(attr)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(str)
	if err != nil {
		s.errorf(attr.Expr.Range(), "%s: %v", attr.Name, err)
		return 0, false
	}
	return d, true
}

// positiveDuration reads a duration that must be greater than zero (intervals, timeouts).
func (s *diagSink) positiveDuration(attr *hcl.Attribute) (time.Duration, bool) {
	d, ok := s.duration(attr)
	if ok && d == 0 {
		s.errorf(attr.Expr.Range(), "%s: must be greater than zero", attr.Name)
		return 0, false
	}
	return d, ok
}

// oneOf reads a string that must be one of allowed.
func (s *diagSink) oneOf(attr *hcl.Attribute, allowed ...string) (string, bool) {
	v, ok := s.str(attr)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, v) {
		s.errorf(attr.Expr.Range(), "%s: %q is not one of %s", attr.Name, v, quoteList(allowed))
		return "", false
	}
	return v, true
}

// httpURL reads an absolute http or https URL.
func (s *diagSink) httpURL(attr *hcl.Attribute) (string, bool) {
	v, ok := s.str(attr)
	if !ok {
		return "", false
	}
	if err := checkHTTPURL(v); err != nil {
		s.errorf(attr.Expr.Range(), "%s: %v", attr.Name, err)
		return "", false
	}
	return v, true
}

func checkHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL (e.g. \"https://host:4646\")", v)
	}
	return nil
}

// ParseDuration parses a duration as the plan language writes it: Go's syntax ("90s",
// "1h30m") plus a leading day count ("1d", "1d12h"), which objectives such as a 24h RTO read
// better with. Negative durations are rejected: no objective or timeout is negative.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration (use e.g. \"30m\", \"1h30m\")", s)
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 64)
		if err != nil || n > uint64(math.MaxInt64/int64(24*time.Hour)) {
			return 0, bad
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = s[i+1:]
		if rest == "" {
			return days, nil
		}
		if rest[0] == '-' || rest[0] == '+' {
			return 0, bad
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, bad
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if d > math.MaxInt64-days {
		return 0, bad
	}
	return days + d, nil
}

// FormatDuration writes d as ParseDuration reads it, with whole days as such: "90d", "1d12h",
// "3h", "319ms".
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d < day {
		return formatDuration(d)
	}
	days := strconv.FormatInt(int64(d/day), 10) + "d"
	if rest := d % day; rest > 0 {
		return days + formatDuration(rest)
	}
	return days
}

// formatDuration writes d without the zero units Go's String adds ("1h0m0s" becomes "1h").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// namePattern is what site, service, database, plan and step names may look like: they end up
// in step keys ("start[auth]"), URLs and file names.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// label checks a block's name label.
func (s *diagSink) label(b *hcl.Block) (string, bool) {
	if len(b.Labels) == 0 {
		return "", false
	}
	name := b.Labels[0]
	if !namePattern.MatchString(name) {
		s.errorf(b.LabelRanges[0], "%s name %q must start with a letter or digit and contain only letters, digits, '-', '_' and '.'", b.Type, name)
		return name, false
	}
	return name, true
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, e := range l {
		q[i] = strconv.Quote(e)
	}
	return strings.Join(q, ", ")
}
