package pages

import (
	"html/template"
	"strconv"
	"strings"

	"github.com/firedrill/firedrill/orchestrator/control"
)

// stepRows is the run page's table of steps, its rows as run.html wrote them: written here,
// as the timeline is, because a run has dozens of steps and the template's ten calls a row,
// each through reflection, were most of the page's rendering.
func stepRows(q *req, steps []control.StepView) template.HTML {
	var b strings.Builder
	n := 0
	for i := range steps {
		s := &steps[i]
		n += 560 + len(s.Name) + len(s.Key) + len(s.Action) + len(s.Site) + len(s.Error) + len(s.Evidence) + len(s.Evidence)/4
	}
	b.Grow(n)
	loc := zoneNamed(q.loc.String())
	for i := range steps {
		s := &steps[i]
		b.WriteString(`<tr><td class="num">`)
		b.WriteString(strconv.Itoa(s.Seq))
		if s.Attempt > 1 {
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(s.Attempt))
		}
		b.WriteString(`</td><th scope="row">`)
		writeHTML(&b, s.Name)
		b.WriteString(`<div class="sub mono">`)
		writeHTML(&b, s.Key)
		b.WriteString(`</div></th><td class="mono">`)
		writeHTML(&b, s.Action)
		b.WriteString(`</td><td>`)
		writeHTML(&b, s.Site)
		b.WriteString(`</td><td><span class="state state-`)
		writeHTML(&b, string(s.State))
		b.WriteString(`"><span aria-hidden="true">`)
		writeHTML(&b, stepMark(s.State))
		b.WriteString(`</span> `)
		writeHTML(&b, stateText(q.lang, string(s.State)))
		b.WriteString(`</span></td><td>`)
		writeHTML(&b, timeInZone(loc, s.StartedAt))
		b.WriteString(`</td><td class="num">`)
		writeHTML(&b, msText(q.lang, s.DurationMS))
		b.WriteString(`</td><td class="err">`)
		writeHTML(&b, s.Error)
		b.WriteString(`</td><td>`)
		if len(s.Evidence) > 0 {
			b.WriteString(`<details><summary>JSON</summary><pre class="evidence">`)
			writeHTML(&b, string(s.Evidence))
			b.WriteString(`</pre></details>`)
		}
		b.WriteString(`</td></tr>`)
	}
	return template.HTML(b.String())
}

// htmlEscapes are html/template's replacements in text and quoted attributes, so that what is
// written here is byte for byte what a template writes (it escapes '+' too, where
// html.EscapeString does not).
var htmlEscapes = [...]string{0: "\uFFFD", '"': "&#34;", '&': "&amp;", '\'': "&#39;", '+': "&#43;", '<': "&lt;", '>': "&gt;"}

// writeHTML writes s to b escaped as html/template escapes text and quoted attribute values.
func writeHTML(b *strings.Builder, s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if int(c) >= len(htmlEscapes) || htmlEscapes[c] == "" {
			continue
		}
		b.WriteString(s[written:i])
		b.WriteString(htmlEscapes[c])
		written = i + 1
	}
	b.WriteString(s[written:])
}
