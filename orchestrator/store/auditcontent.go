package store

import (
	"encoding/json"
	"unicode/utf8"
)

// A run's view checks each of its audit rows against its event on every view (RunSnapshotGet),
// so the comparison is on the hot path of the console's run page. sameContent encodes the
// expected object and decodes both sides; the functions here give the same verdict from one
// decode of the stored content, which runStateProblem then reads too. TestEventContentEqual
// holds them to sameContent's verdict.

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

// contentKind is the kind a decoded run event content names ("" when none).
func contentKind(c map[string]any) string {
	k, _ := c["kind"].(string)
	return k
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
