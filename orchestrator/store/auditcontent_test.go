package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestContentIsEventIsSameContent holds the run page's comparison of an audit row with its
// event, by text and by decoded value, to sameContent's verdict (encode the expected object,
// decode both, DeepEqual), over contents written the ways the store and PostgreSQL write them
// and altered every way, against events of every shape.
func TestContentIsEventIsSameContent(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	data := func(s string) *jsonDoc { d := jsonDoc(s); return &d }
	events := []*runEventModel{
		{RunID: "r1", Seq: 5, At: at, Kind: "step_finished", StepKey: "lose-sangam", Message: "drain <refused> & noted", Data: data(`{"state":"failed","n":1.5,"tags":["a",{"b":null}],"ok":true}`)},
		{RunID: "r1", Seq: 1, At: at, Kind: "run_created", Message: "created", Data: data(`{"state":"pending"}`)},
		{RunID: "r1", Seq: 2, At: at, Kind: "milestone", Message: "t0"},
		{RunID: "r1", Seq: 2, At: at, Kind: "milestone", Message: "t0", Data: data(`null`)},
		{RunID: "r1", Seq: 2, At: at, Kind: "milestone", Message: "t0", Data: data(`{}`)},
		{RunID: "r1", Seq: 2, At: at, Kind: "milestone", Message: "t0", Data: data(`[1, 2.0, "3"]`)},
		{RunID: "r1", Seq: 2, At: at, Kind: "milestone", Message: "t0", Data: data(`{"broken":`)},
		{RunID: "r1", Seq: 3, At: at, Kind: "step_failed", Message: "bad \xff byte", Data: data(`{"x":1}`)},
		{RunID: "r1", Seq: 3, At: at, Kind: "step_failed", Message: "잘못된 응답 \u2028", Data: data(`{"x":"한글"}`)},
		{RunID: "r1", Seq: 4, At: at, Kind: "step_failed", Message: `said "no" \ twice` + "\n\tthen\x01", Data: data(`{"x": "a\"b", "y": [1, 2]}`)},
		{RunID: "r1", Seq: 4, At: at, Kind: "step_failed", Message: "m", Data: data(`1, "kind" : "x"`)},
		{RunID: "r1", Seq: 4, At: at, Kind: "step_failed", Message: "m", Data: data("{\"x\": \"bad \xff\"}")},
		{RunID: "r1", Seq: 4, At: at.Add(123456 * time.Nanosecond), Kind: "step_failed", Message: "m"},
	}
	var contents []string
	for _, ev := range events {
		b, err := json.Marshal(eventContent(ev))
		if err == nil {
			contents = append(contents, string(b))
		}
		// PostgreSQL's json_build_object: its own spacing, its own key order.
		contents = append(contents, `{"source" : "run_event", "run_id" : "`+ev.RunID+`", "seq" : `+itoa(ev.Seq)+`, "at" : "`+auditTime(ev.At)+
			`", "kind" : "`+ev.Kind+`", "step_key" : "`+ev.StepKey+`", "message" : `+quote(ev.Message)+`, "data" : `+string(rawOrNull(ev.Data))+`}`)
		// The same, every string as it is: what a text comparison must not take for escaped.
		contents = append(contents, `{"source" : "run_event", "run_id" : "`+ev.RunID+`", "seq" : `+itoa(ev.Seq)+`, "at" : "`+auditTime(ev.At)+
			`", "kind" : "`+ev.Kind+`", "step_key" : "`+ev.StepKey+`", "message" : "`+ev.Message+`", "data" : `+string(rawOrNull(ev.Data))+`}`)
	}
	pgBase := contents[1]
	for _, alter := range [][2]string{
		{`"seq" : 5`, `"seq" : 5.0`}, {`"kind" : "step_finished"`, `"kind" : "step_finished", "x" : 1`}, {`"n":1.5`, `"n":2`},
		{`"data" : {`, `"data" :{`}, {`{"source" : "run_event"`, `{"source" : "run_event", "source" : "run_event"`},
	} {
		if !strings.Contains(pgBase, alter[0]) {
			t.Fatalf("the PostgreSQL content %s has no %s to alter", pgBase, alter[0])
		}
		contents = append(contents, strings.Replace(pgBase, alter[0], alter[1], 1))
	}
	base := contents[0]
	for _, alter := range [][2]string{
		{`"seq":5`, `"seq":5.0`}, {`"seq":5`, `"seq":5e0`}, {`"seq":5`, `"seq":"5"`}, {`"seq":5`, `"seq":6`},
		{`"n":1.5`, `"n":1.50`}, {`"n":1.5`, `"n":2`}, {`"ok":true`, `"ok":false`}, {`"ok":true`, `"ok":"true"`},
		{`"tags":["a",{"b":null}]`, `"tags":["a",{"b":null},1]`}, {`"tags":["a",{"b":null}]`, `"tags":["a",{"b":0}]`},
		{`"tags":["a",{"b":null}]`, `"tags":["a",{"c":null}]`}, {`"tags":["a",{"b":null}]`, `"tags":["a",{}]`},
		{`"run_id":"r1"`, `"run_id":"r2"`}, {`"source":"run_event"`, `"source":"operation"`},
		{`"kind":"step_finished"`, `"kind":"step_finished","extra":1`}, {`"kind":"step_finished",`, ``},
		{`"step_key":"lose-sangam"`, `"step_key":null`}, {`"message":"drain \u003crefused\u003e \u0026 noted"`, `"message":"drain <refused> & noted"`},
		{`"message":"drain \u003crefused\u003e \u0026 noted"`, `"message":"drain <refused> and noted"`},
		{`"at":"`, `"at":" `}, {`"kind":"step_finished"`, `"kind":"step_finished","kind":"step_finished"`},
		{`"kind":"step_finished"`, `"kind":"x","kind":"step_finished"`}, {`"kind":"step_finished"`, `"Kind":"step_finished"`},
		{`"data":{`, `"data":[{`}, {`{`, `[{`}, {`}`, ``},
	} {
		if !strings.Contains(base, alter[0]) {
			t.Fatalf("the base content %s has no %s to alter", base, alter[0])
		}
		contents = append(contents, strings.Replace(base, alter[0], alter[1], 1))
	}
	contents = append(contents, ``, `null`, `[]`, `"x"`, `{}`, `{"source":"run_event","message":"bad \ufffd byte"}`)
	matched, byText := 0, 0
	for _, ev := range events {
		want := eventContent(ev)
		for _, c := range contents {
			ref := sameContent(c, want)
			if got := contentIsEvent(c, ev); got != ref {
				t.Errorf("event %+v, content %s: contentIsEvent = %t, sameContent = %t", ev, c, got, ref)
			}
			if got := eventContentEqual(c, decodeContent(c), ev); got != ref {
				t.Errorf("event %+v, content %s: eventContentEqual = %t, sameContent = %t", ev, c, got, ref)
			}
			if ref {
				matched++
			}
			if contentIsEventText(c, ev) {
				byText++
			}
		}
	}
	t.Logf("%d of %d pairs match, %d of them by their text", matched, len(events)*len(contents), byText)
	// Each valid event matches its two encodings, plus the equal rewrites of the first.
	if matched < 2*(len(events)-2)+4 || byText < len(events) {
		t.Errorf("only %d pairs matched, %d by text: the corpus no longer exercises equal contents", matched, byText)
	}
}

// TestKindAndDataDecodesAsAStruct: runStateProblem reads the decoded content as it read a
// struct of kind and data before.
func TestKindAndDataDecodesAsAStruct(t *testing.T) {
	for _, c := range []string{
		`{"kind":"run_state","data":{"to":"running"}}`, `{"kind":"run_finished","data":null}`, `{"kind":null,"data":{"state":"x"}}`,
		`{"kind":1,"data":{}}`, `{"kind":"run_created","data":[1]}`, `{"kind":"run_created","data":"s"}`, `{"data":{}}`, `{}`,
		`[]`, `null`, `x`,
	} {
		var ref struct {
			Kind string         `json:"kind"`
			Data map[string]any `json:"data"`
		}
		refOK := json.Unmarshal([]byte(c), &ref) == nil && c != "null"
		kind, data, ok := kindAndData(decodeContent(c))
		if ok != refOK || (ok && (kind != ref.Kind || !jsonEqual(anyMap(data), anyMap(ref.Data)))) {
			t.Errorf("%s: kindAndData = %q %v %t, a struct decodes %q %v %t", c, kind, data, ok, ref.Kind, ref.Data, refOK)
		}
	}
}

func anyMap(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
