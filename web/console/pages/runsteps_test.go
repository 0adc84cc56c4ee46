package pages

import (
	"encoding/json"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// stepRowTemplate is the row run.html wrote for each step before stepRows wrote them.
const stepRowTemplate = `{{$v := .V}}{{range .Steps}}<tr><td class="num">{{.Seq}}{{if gt .Attempt 1}}.{{.Attempt}}{{end}}</td><th scope="row">{{.Name}}<div class="sub mono">{{.Key}}</div></th><td class="mono">{{.Action}}</td><td>{{.Site}}</td><td><span class="state state-{{.State}}"><span aria-hidden="true">{{mark .State}}</span> {{state $v .State}}</span></td><td>{{when $v .StartedAt}}</td><td class="num">{{ms $v .DurationMS}}</td><td class="err">{{.Error}}</td><td>{{if .Evidence}}<details><summary>JSON</summary><pre class="evidence">{{printf "%s" .Evidence}}</pre></details>{{end}}</td></tr>{{end}}`

// TestStepRowsAreWhatTheTemplateWrote: the rows written in Go are the template's, byte for
// byte, escaping included, in both languages and a zone other than UTC.
func TestStepRowsAreWhatTheTemplateWrote(t *testing.T) {
	tmpl := template.Must(template.New("rows").Funcs(templateFuncs()).Parse(stepRowTemplate))
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	d := int64(61_500)
	started := time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)
	steps := []control.StepView{
		{Seq: 1, Key: "lose-sangam", Name: "Lose sangam", Action: "nomad.drain_site", Site: "sangam", Attempt: 1,
			State: drills.StepSucceeded, StartedAt: started, DurationMS: &d, Evidence: json.RawMessage(`{"nodes":3,"note":"a<b & 'c' \"d\" +e"}`)},
		{Seq: 2, Key: "promote", Name: "Promote <db> & \"friends\" +1", Action: "postgres.promote", Attempt: 3,
			State: drills.StepFailed, StartedAt: started.Add(time.Minute), Error: "refused: 'x' < y & z\x00 \xff+"},
		{Seq: 3, Key: "wait", Name: "대기", Action: "manual", State: drills.StepState("odd_state")},
	}
	for _, lang := range []string{"en", "ko"} {
		for _, loc := range []*time.Location{time.UTC, seoul} {
			var want strings.Builder
			v := &view{Lang: lang, TZ: loc.String()}
			if err := tmpl.Execute(&want, map[string]any{"V": v, "Steps": steps}); err != nil {
				t.Fatal(err)
			}
			got := stepRows(&req{lang: lang, loc: loc}, steps)
			if string(got) != want.String() {
				t.Errorf("%s, %s: stepRows =\n%s\nthe template wrote\n%s", lang, loc, got, want.String())
			}
		}
	}
	if got := stepRows(&req{lang: "en", loc: time.UTC}, nil); got != "" {
		t.Errorf("stepRows(no steps) = %q", got)
	}
}
