package web

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		// field is the field the error names; ok means the body decodes.
		ok    bool
		field string
		msg   string
	}{
		{body: `{"plan_file":"p.hcl","plan_source":"plan {}","force":true}`, ok: true},
		{body: "  {}\n", ok: true},
		{body: ``, msg: "required"},
		{body: `   `, msg: "required"},
		{body: `null`, msg: "JSON object"},
		{body: `[]`, msg: "JSON object"},
		{body: `"plan"`, msg: "JSON object"},
		{body: `{`, msg: "ends too early"},
		{body: `{"plan_file": }`, msg: "not valid JSON at byte"},
		{body: `{} {}`, msg: "exactly one JSON value"},
		{body: `{}x`, msg: "exactly one JSON value"},
		{body: `{"plan_file":1}`, field: "plan_file", msg: "must be a string, not number"},
		{body: `{"force":"yes"}`, field: "force", msg: "must be true or false, not string"},
		{body: `{"force":{}}`, field: "force", msg: "not object"},
		{body: `{"bogus":1}`, field: "bogus", msg: `unknown field "bogus"`},
		{body: `{"Plan_File":"p"}`, field: "Plan_File", msg: "case-sensitive"},
		{body: `{"PlanFile":"p"}`, field: "PlanFile", msg: "unknown field"},
	}
	for _, tt := range tests {
		var p control.RunSubmitParams
		err := decodeBody([]byte(tt.body), &p)
		if tt.ok {
			if err != nil {
				t.Errorf("decodeBody(%q) = %v, want ok", tt.body, err)
			}
			continue
		}
		var ce *control.Error
		if !errors.As(err, &ce) || ce.Category != control.CategoryInvalid {
			t.Errorf("decodeBody(%q) = %v, want an invalid *control.Error", tt.body, err)
			continue
		}
		if ce.Field != tt.field || !strings.Contains(ce.Message, tt.msg) {
			t.Errorf("decodeBody(%q) = field %q %q, want field %q and a message with %q", tt.body, ce.Field, ce.Message, tt.field, tt.msg)
		}
	}
	var u control.UserCreateParams
	err := decodeBody([]byte(`{"name":"a","roles":["sre",2]}`), &u)
	if ce := (*control.Error)(nil); !errors.As(err, &ce) || ce.Field != "roles" || !strings.Contains(ce.Message, "must be a string") {
		t.Errorf("decodeBody(roles with a number) = %v, want field roles", err)
	}
	var ab control.RunAbortParams
	if err := decodeBody([]byte(`{"RunID":"x","reason":"r"}`), &ab); err == nil {
		t.Errorf("decodeBody sets a path parameter from the body: %+v", ab)
	}
}

func TestCheckContentType(t *testing.T) {
	t.Parallel()
	for v, ok := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON; charset=UTF-8": true,
		"": false, "text/plain": false, "application/json; charset=latin1": false, "application/jsonx": false, "application/x-www-form-urlencoded": false, ";;": false,
	} {
		err := checkContentType(v)
		if (err == nil) != ok {
			t.Errorf("checkContentType(%q) = %v, want ok=%v", v, err, ok)
		}
		if err != nil && control.CategoryOf(err) != categoryUnsupportedMediaType {
			t.Errorf("checkContentType(%q) category %s", v, control.CategoryOf(err))
		}
	}
}

func TestRunListParams(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("state=pending&state=running&state=pending&plan=p&schedule=s&requested_by=alice&since=2027-01-01T00:00:00Z&until=2027-02-01T09:00:00%2B09:00&limit=1000&cursor=c")
	p, err := runListParams(q)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	want := &control.RunListParams{States: []drills.RunState{drills.RunPending, drills.RunRunning}, Plan: "p", Schedule: "s", RequestedBy: "alice",
		Since: &since, Limit: 1000, Cursor: "c"}
	if p.Until == nil || !p.Until.Equal(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("until = %v", p.Until)
	}
	p.Until = nil
	if !reflect.DeepEqual(p, want) {
		t.Errorf("runListParams = %+v, want %+v", p, want)
	}
	if p, err := runListParams(url.Values{}); err != nil || !reflect.DeepEqual(p, &control.RunListParams{}) {
		t.Errorf("runListParams(none) = %+v, %v", p, err)
	}
}

func TestCheckQuery(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("from=1&zzz=2&aaa=3")
	err := checkQuery(q, calendarQuery)
	var ce *control.Error
	if !errors.As(err, &ce) || ce.Field != "aaa" {
		t.Errorf("checkQuery = %v, want the first unknown parameter, aaa", err)
	}
	if err := checkQuery(url.Values{}, nil); err != nil {
		t.Errorf("checkQuery(none) = %v", err)
	}
}

// FuzzDecodeRequest feeds arbitrary bytes to every step of request decoding: as the body of
// every route, as a content type and as a query string. Decoding never panics; it accepts, or
// refuses with a 4xx category and a message, naming a field or parameter the request could
// have; what it accepts encodes back to a body it accepts again with the same value.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"plan_file":"p.hcl","plan_source":"plan \"x\" {}","force":true,"comment":"c"}`,
		`{"reason":"r","abort_running":true}`, `{"decision":"done"}`, `{"name":"a","roles":["sre","viewer"]}`,
		`{"user":"a","roles":["sre"],"expires_in":"720h","description":"d"}`, `{"role":"sre"}`,
		`{"roles":[1]}`, `{"force":"true"}`, `{"bogus":1}`, `{"REASON":"x"}`, `{} {}`, `[1,2]`, `null`, `{"a":`,
		"state=pending&limit=10&since=2027-01-01T00:00:00Z", "from=2027-01-01&to=2027-12-31", "limit=-1&state=x",
		"application/json; charset=utf-8", "text/plain", "\xff\xfe{", `{"comment":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, rt := range routes {
			typ := rt.Body
			if typ == nil {
				typ = reflect.TypeFor[noBody]()
			}
			dst := reflect.New(typ).Interface()
			err := decodeBody(data, dst)
			if err != nil {
				checkRefusal(t, err, append(jsonFields(typ), ""))
				continue
			}
			again, merr := json.Marshal(dst)
			if merr != nil {
				t.Fatalf("%s: marshal what decodeBody accepted: %v", rt.Pattern, merr)
			}
			dst2 := reflect.New(typ).Interface()
			if err := decodeBody(again, dst2); err != nil {
				t.Fatalf("%s: decodeBody(%q) accepted, but not its encoding %q: %v", rt.Pattern, data, again, err)
			}
			if !reflect.DeepEqual(dst, dst2) {
				t.Fatalf("%s: %q decodes to %+v, its encoding to %+v", rt.Pattern, data, dst, dst2)
			}
		}
		if err := checkContentType(string(data)); err != nil && control.CategoryOf(err) != categoryUnsupportedMediaType {
			t.Fatalf("checkContentType(%q) = %v", data, err)
		}
		q, err := url.ParseQuery(string(data))
		if err != nil {
			return
		}
		if err := checkQuery(q, runListQuery); err != nil {
			checkRefusal(t, err, slices.Collect(func(yield func(string) bool) {
				for k := range q {
					if !yield(k) {
						return
					}
				}
			}))
		} else if p, err := runListParams(q); err != nil {
			checkRefusal(t, err, runListQuery)
		} else if p.Limit != 0 && (p.Limit < MinRunListLimit || p.Limit > MaxRunListLimit) {
			t.Fatalf("runListParams(%q): limit %d out of range", data, p.Limit)
		}
		if checkQuery(q, calendarQuery) == nil {
			if p, err := calendarParams(q); err != nil {
				checkRefusal(t, err, calendarQuery)
			} else if p.From.IsZero() || p.To.IsZero() {
				t.Fatalf("calendarParams(%q) = %+v without an error", data, p)
			}
		}
		if checkQuery(q, userQuery) == nil {
			if _, err := userFilter(q); err != nil {
				checkRefusal(t, err, userQuery)
			}
		}
	})
}

// checkRefusal checks that err is a 4xx *control.Error with a message, naming one of fields.
func checkRefusal(t *testing.T, err error, fields []string) {
	t.Helper()
	var ce *control.Error
	if !errors.As(err, &ce) {
		t.Fatalf("refusal %v (%T) is not a *control.Error", err, err)
	}
	if s := statusOf(ce.Category); s < 400 || s >= 500 {
		t.Fatalf("refusal %q has status %d", ce.Message, s)
	}
	if ce.Message == "" {
		t.Fatal("refusal without a message")
	}
	// A wrong type deep in a value names its path from the top ("roles"); an unknown key is
	// named as written.
	top, _, _ := strings.Cut(ce.Field, ".")
	if ce.Field != "" && !slices.Contains(fields, top) && !strings.Contains(ce.Message, "unknown") {
		t.Fatalf("refusal %q names field %q, not one of %v", ce.Message, ce.Field, fields)
	}
}
