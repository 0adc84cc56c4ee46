package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// Run list page sizes.
const (
	MinRunListLimit = 1
	MaxRunListLimit = 1000
)

func invalid(field, format string, args ...any) *control.Error {
	return &control.Error{Category: control.CategoryInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// readBody reads a request body of at most maxBytes. It checks the content type only when
// there is a body: an empty one is returned as nil.
func readBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
	data, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &control.Error{Category: categoryTooLarge,
			Message: fmt.Sprintf("request body is larger than %d bytes", maxBytes)}
	}
	if err != nil {
		return nil, invalid("", "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	return data, nil
}

// checkContentType refuses a body that does not say it is JSON.
func checkContentType(v string) error {
	if v == "" {
		return &control.Error{Category: categoryUnsupportedMediaType,
			Message: "request body needs Content-Type: application/json"}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || mt != "application/json" {
		return &control.Error{Category: categoryUnsupportedMediaType,
			Message: fmt.Sprintf("request body is %q: want Content-Type: application/json", v)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &control.Error{Category: categoryUnsupportedMediaType,
			Message: fmt.Sprintf("request body charset is %q: want utf-8", cs)}
	}
	return nil
}

// decodeBody decodes exactly one JSON object into dst (a pointer to a params struct): every
// key must be one of its fields, spelled exactly, with a value of the field's type.
func decodeBody(data []byte, dst any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return invalid("", "request body is required: a JSON object (Content-Type: application/json)")
	}
	if trimmed[0] != '{' {
		return invalid("", "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("", "request body must hold exactly one JSON value")
	}
	// encoding/json matches keys case-insensitively; the wire format is exact.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &keys); err != nil {
		return invalid("", "request body is not a JSON object")
	}
	names := jsonFields(reflect.TypeOf(dst))
	for k := range keys {
		if !slices.Contains(names, k) {
			if len(names) == 0 {
				return invalid(k, "unknown field %q: this request takes no fields", k)
			}
			return invalid(k, "unknown field %q (field names are case-sensitive: %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

// decodeError turns encoding/json's error into one that names the field at fault.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return invalid("", "request body is not valid JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return invalid("", "request body must be a JSON object, not %s", typ.Value)
		}
		return invalid(field, "field %s must be %s, not %s", field, jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return invalid("", "request body is not valid JSON: it ends too early")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		return invalid(name, "unknown field %q", name)
	}
	return invalid("", "request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a " + t.String()
}

var fieldCache sync.Map // reflect.Type -> []string

// jsonFields lists the JSON keys of a struct (or a pointer to one), sorted.
func jsonFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v, ok := fieldCache.Load(t); ok {
		return v.([]string)
	}
	var names []string
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	fieldCache.Store(t, names)
	return names
}

// ---- Query parameters -------------------------------------------------------------------

// checkQuery refuses a query parameter the route does not take.
func checkQuery(q url.Values, allowed []string) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return invalid(k, "unknown query parameter %q: this route takes none", k)
			}
			return invalid(k, "unknown query parameter %q: this route takes %s", k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// queryOne returns the one value of a parameter that may be given once ("" when absent).
func queryOne(q url.Values, name string) (string, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", invalid(name, "query parameter %s is given %d times: give it once", name, len(vs))
}

// Query parameters of GET /api/v1/runs.
var runListQuery = []string{"state", "plan", "schedule", "requested_by", "since", "until", "limit", "cursor"}

// runListParams reads the filters and page of GET /api/v1/runs (checkQuery has refused
// parameters it does not take).
func runListParams(q url.Values) (*control.RunListParams, error) {
	p := &control.RunListParams{}
	for _, v := range q["state"] {
		st := drills.RunState(v)
		if !slices.Contains(drills.RunStates, st) {
			return nil, invalid("state", "state %q is not a run state: want one of %s", v, joinStates())
		}
		if !slices.Contains(p.States, st) {
			p.States = append(p.States, st)
		}
	}
	if err := queryStrings(q, map[string]*string{"plan": &p.Plan, "schedule": &p.Schedule, "requested_by": &p.RequestedBy, "cursor": &p.Cursor}); err != nil {
		return nil, err
	}
	if err := queryTimes(q, map[string]**time.Time{"since": &p.Since, "until": &p.Until}); err != nil {
		return nil, err
	}
	if err := queryLimit(q, MinRunListLimit, MaxRunListLimit, &p.Limit); err != nil {
		return nil, err
	}
	return p, nil
}

func joinStates() string {
	s := make([]string, len(drills.RunStates))
	for i, st := range drills.RunStates {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// Query parameters of GET /api/v1/calendar.
var calendarQuery = []string{"from", "to", "schedule"}

// calendarParams reads the period of GET /api/v1/calendar, two local dates, both required,
// and the schedule it may be narrowed to.
func calendarParams(q url.Values) (*control.CalendarParams, error) {
	p := &control.CalendarParams{}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &p.From}, {"to", &p.To}} {
		v, err := queryOne(q, f.name)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, invalid(f.name, "query parameter %s is required: a date, YYYY-MM-DD", f.name)
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return nil, invalid(f.name, "%s %q is not a date: want YYYY-MM-DD", f.name, v)
		}
		*f.dst = d
	}
	var err error
	if p.Schedule, err = queryOne(q, "schedule"); err != nil {
		return nil, err
	}
	return p, nil
}

// Query parameters of GET /api/v1/audit.
var auditListQuery = []string{"actor", "operation", "target", "outcome", "since", "until", "text", "limit", "cursor"}

// auditListParams reads the filters and page of GET /api/v1/audit (control checks their
// values).
func auditListParams(q url.Values) (*control.AuditListParams, error) {
	p := &control.AuditListParams{}
	if err := queryStrings(q, map[string]*string{"actor": &p.Actor, "operation": &p.Operation, "target": &p.Target, "outcome": &p.Outcome, "text": &p.Text, "cursor": &p.Cursor}); err != nil {
		return nil, err
	}
	if err := queryTimes(q, map[string]**time.Time{"since": &p.Since, "until": &p.Until}); err != nil {
		return nil, err
	}
	if err := queryLimit(q, 1, control.MaxAuditListLimit, &p.Limit); err != nil {
		return nil, err
	}
	return p, nil
}

// Query parameters of the lists one may narrow to a user.
var userQuery = []string{"user"}

// userFilter reads the optional user of GET /api/v1/role-grants and /api/v1/tokens.
func userFilter(q url.Values) (string, error) {
	return queryOne(q, "user")
}

// Query parameters of GET /api/v1/findings.
var findingListQuery = []string{"status", "service", "run", "overdue", "limit", "cursor"}

// findingListParams reads the filters and page of GET /api/v1/findings.
func findingListParams(q url.Values) (*control.FindingListParams, error) {
	p := &control.FindingListParams{}
	for _, v := range q["status"] {
		st := drills.FindingStatus(v)
		if !slices.Contains(drills.FindingStatuses, st) {
			return nil, invalid("status", "status %q is not a finding status: want one of open, in_progress, fixed, retested, risk_accepted", v)
		}
		if !slices.Contains(p.Statuses, st) {
			p.Statuses = append(p.Statuses, st)
		}
	}
	if err := queryStrings(q, map[string]*string{"service": &p.Service, "run": &p.RunID, "cursor": &p.Cursor}); err != nil {
		return nil, err
	}
	if v, err := queryOne(q, "overdue"); err != nil {
		return nil, err
	} else if _, ok := q["overdue"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil || (v != "true" && v != "false") {
			return nil, invalid("overdue", "overdue %q is not true or false", v)
		}
		p.Overdue = b
	}
	if err := queryLimit(q, 1, control.MaxFindingListLimit, &p.Limit); err != nil {
		return nil, err
	}
	return p, nil
}

// queryStrings sets each field to its query parameter, given at most once.
func queryStrings(q url.Values, fields map[string]*string) error {
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v, err := queryOne(q, name)
		if err != nil {
			return err
		}
		*fields[name] = v
	}
	return nil
}

// queryTimes sets each field given in the query to its RFC 3339 time; an absent one stays nil.
func queryTimes(q url.Values, fields map[string]**time.Time) error {
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v, err := queryOne(q, name)
		if err != nil {
			return err
		}
		if _, ok := q[name]; !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return invalid(name, "%s %q is not an RFC 3339 time (2006-01-02T15:04:05Z)", name, v)
		}
		*fields[name] = &t
	}
	return nil
}

// queryLimit sets limit from the query's limit, an integer from lo to hi, when it is given.
func queryLimit(q url.Values, lo, hi int, limit *int) error {
	v, err := queryOne(q, "limit")
	if err != nil {
		return err
	}
	if _, ok := q["limit"]; !ok {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return invalid("limit", "limit %q is not an integer from %d to %d", v, lo, hi)
	}
	*limit = n
	return nil
}
