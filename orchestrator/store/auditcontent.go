package store

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A run's view checks each of its audit rows against its event on every view (RunSnapshotGet),
// so the comparison is on the hot path of the console's run page. sameContent encodes the
// expected object and decodes both sides; contentIsEvent gives the same verdict, first by
// comparing the stored text with the text the writer would have produced (same bytes, same
// JSON value), else from one decode of the stored content.
// TestContentIsEventIsSameContent holds it to sameContent's verdict.

// contentIsEvent is sameContent(stored, eventContent(ev)).
func contentIsEvent(stored string, ev *runEventModel) bool {
	return contentIsEventText(stored, ev) || eventContentEqual(stored, decodeContent(stored), ev)
}

// contentIsEventText tells whether stored is byte for byte a JSON text of eventContent(ev) as
// the writers write it: PostgreSQL's json_build_object (the trigger's) or encoding/json's (the
// store's on SQLite). false says only that the texts differ.
func contentIsEventText(stored string, ev *runEventModel) bool {
	if strings.HasPrefix(stored, `{"source" : `) {
		want, ok := postgresEventText(ev)
		return ok && stored == want
	}
	b, err := json.Marshal(eventContent(ev))
	return err == nil && stored == string(b)
}

// postgresEventText is json_build_object's text of ev's content, when it can be written
// without escaping (ok false otherwise): every string plain, the data valid JSON, which
// json_build_object embeds as PostgreSQL returns it.
func postgresEventText(ev *runEventModel) (string, bool) {
	data := rawOrNull(ev.Data)
	if !plainJSONString(ev.RunID) || !plainJSONString(ev.Kind) || !plainJSONString(ev.StepKey) || !plainJSONString(ev.Message) || !json.Valid(data) {
		return "", false
	}
	var b strings.Builder
	b.Grow(160 + len(ev.RunID) + len(ev.Kind) + len(ev.StepKey) + len(ev.Message) + len(data))
	b.WriteString(`{"source" : "run_event", "run_id" : "`)
	b.WriteString(ev.RunID)
	b.WriteString(`", "seq" : `)
	b.WriteString(strconv.Itoa(ev.Seq))
	b.WriteString(`, "at" : "`)
	b.WriteString(auditTime(ev.At))
	b.WriteString(`", "kind" : "`)
	b.WriteString(ev.Kind)
	b.WriteString(`", "step_key" : "`)
	b.WriteString(ev.StepKey)
	b.WriteString(`", "message" : "`)
	b.WriteString(ev.Message)
	b.WriteString(`", "data" : `)
	b.Write(data)
	b.WriteString(`}`)
	return b.String(), true
}

// plainJSONString tells whether s, quoted as it is, is a JSON string whose value is s: valid
// UTF-8 with no quote, backslash or control character.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.ValidString(s)
}

// decodeContent decodes an audit row's content; nil when it is not a JSON object.
func decodeContent(stored string) map[string]any {
	var c map[string]any
	if json.Unmarshal([]byte(stored), &c) != nil {
		return nil
	}
	return c
}

// eventContentEqual is sameContent(stored, eventContent(ev)), c being stored decoded: exactly
// eventContent's eight keys, each with the value encoding ev would give.
func eventContentEqual(stored string, c map[string]any, ev *runEventModel) bool {
	if !utf8.ValidString(ev.RunID) || !utf8.ValidString(ev.Kind) || !utf8.ValidString(ev.StepKey) || !utf8.ValidString(ev.Message) {
		// encoding/json would replace the invalid bytes: leave that to the encoder itself.
		return sameContent(stored, eventContent(ev))
	}
	if c == nil || len(c) != 8 {
		return false
	}
	if !stringIs(c, "source", AuditSourceRunEvent) || !stringIs(c, "run_id", ev.RunID) || !stringIs(c, "at", auditTime(ev.At)) ||
		!stringIs(c, "kind", ev.Kind) || !stringIs(c, "step_key", ev.StepKey) || !stringIs(c, "message", ev.Message) {
		return false
	}
	// A number decodes as float64 on both sides of sameContent.
	if seq, ok := c["seq"].(float64); !ok || seq != float64(ev.Seq) {
		return false
	}
	data, ok := c["data"]
	if !ok {
		return false
	}
	var want any
	if json.Unmarshal(rawOrNull(ev.Data), &want) != nil {
		return false
	}
	return jsonEqual(data, want)
}

// stringIs tells whether c[key] is the string want.
func stringIs(c map[string]any, key, want string) bool {
	s, ok := c[key].(string)
	return ok && s == want
}

// jsonEqual is reflect.DeepEqual over the values encoding/json decodes into an any.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		v, ok := b.(bool)
		return ok && v == a
	case float64:
		v, ok := b.(float64)
		// DeepEqual compares floats with ==, as here (a decoded number is never NaN).
		return ok && v == a
	case string:
		v, ok := b.(string)
		return ok && v == a
	case []any:
		v, ok := b.([]any)
		if !ok || len(v) != len(a) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], v[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		v, ok := b.(map[string]any)
		if !ok || len(v) != len(a) {
			return false
		}
		for k, x := range a {
			y, ok := v[k]
			if !ok || !jsonEqual(x, y) {
				return false
			}
		}
		return true
	}
	return false
}

// kindAndData reads a decoded run event content's kind (a string or null) and data (an object
// or null); ok is false when either is something else, as decoding into those types would fail.
func kindAndData(c map[string]any) (kind string, data map[string]any, ok bool) {
	if c == nil {
		return "", nil, false
	}
	switch k := c["kind"].(type) {
	case nil:
	case string:
		kind = k
	default:
		return "", nil, false
	}
	switch d := c["data"].(type) {
	case nil:
	case map[string]any:
		data = d
	default:
		return "", nil, false
	}
	return kind, data, true
}
