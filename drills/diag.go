package drills

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostic is one problem found in a configuration or plan, at the place a person must edit.
// It is the typed error of the plan language: callers that need the position use errors.As
// with a Diagnostics.
type Diagnostic struct {
	// Pos is where the problem is. Line is 0 when the problem has no position in the file.
	Pos Pos
	Msg string
	// Warning marks a problem that does not make the input unusable.
	Warning bool
}

// String renders the diagnostic as file:line:col: message, the form editors and CI jump to.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// String renders the position as file:line:col, or just the file when the line is unknown.
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Diagnostics is a list of problems, sorted by position once a parse or validation returns it.
type Diagnostics []Diagnostic

// Error joins the diagnostics, one per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any diagnostic is an error rather than a warning.
func (ds Diagnostics) HasErrors() bool {
	return slices.ContainsFunc(ds, func(d Diagnostic) bool { return !d.Warning })
}

// Err returns ds as an error when it holds an error, and a true nil otherwise: returning a nil
// Diagnostics as an error would give a non-nil interface.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return ds
}

// Sort orders the diagnostics by file, line and column, keeping the order of equal positions.
func (ds Diagnostics) Sort() {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
		)
	})
}

// diagSink collects diagnostics for one file.
type diagSink struct {
	file  string
	diags Diagnostics
}

func (s *diagSink) pos(r hcl.Range) Pos {
	// The file name is always the caller's: HCL's may differ (JSON) and messages must agree.
	return Pos{File: s.file, Line: r.Start.Line, Column: r.Start.Column}
}

func (s *diagSink) errorf(r hcl.Range, format string, args ...any) {
	s.diags = append(s.diags, Diagnostic{Pos: s.pos(r), Msg: fmt.Sprintf(format, args...)})
}

func (s *diagSink) errorAt(p Pos, format string, args ...any) {
	s.diags = append(s.diags, Diagnostic{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// hasErrorAt reports whether an error was already reported within r.
func (s *diagSink) hasErrorAt(r hcl.Range) bool {
	return slices.ContainsFunc(s.diags, func(d Diagnostic) bool {
		return !d.Warning && d.Pos.Line >= r.Start.Line && d.Pos.Line <= r.End.Line &&
			(d.Pos.Line != r.Start.Line || d.Pos.Column >= r.Start.Column) &&
			(d.Pos.Line != r.End.Line || d.Pos.Column <= r.End.Column)
	})
}

// fileStart is the position of problems that belong to the whole file.
func (s *diagSink) fileStart() hcl.Range {
	return hcl.Range{Start: hcl.Pos{Line: 1, Column: 1, Byte: 0}}
}

// hcl converts HCL's own diagnostics (syntax errors, unknown attributes and blocks).
func (s *diagSink) hcl(hd hcl.Diagnostics) {
	for _, d := range hd {
		msg := lowerFirst(strings.TrimSuffix(d.Summary, "."))
		if d.Detail != "" {
			detail := strings.ReplaceAll(strings.TrimSuffix(d.Detail, "."), ". Did you mean", "; did you mean")
			msg += ": " + lowerFirst(detail)
		}
		diag := Diagnostic{Pos: Pos{File: s.file}, Msg: msg, Warning: d.Severity == hcl.DiagWarning}
		if d.Subject != nil && d.Subject.Start.Line >= 1 {
			diag.Pos = s.pos(*d.Subject)
		}
		s.diags = append(s.diags, diag)
	}
}

// lowerFirst lowercases a leading capital so HCL's sentences read like our messages,
// unless it starts an acronym ("HCL", "JSON").
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || !unicode.IsUpper(r) {
		return s
	}
	if r2, _ := utf8.DecodeRuneInString(s[n:]); unicode.IsUpper(r2) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
