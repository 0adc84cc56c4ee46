package web_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web"
)

// loadOpenAPI loads and validates the embedded document.
func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(web.OpenAPI)
	if err != nil {
		t.Fatalf("load web/openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("web/openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

// TestOpenAPIDescribesTheRouteTable checks that the document has exactly the routes of the
// route table, each with the table's operation, the roles control.Permissions gives it, its
// query parameters and whether it takes a body.
func TestOpenAPIDescribesTheRouteTable(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, rt := range web.Routes() {
		key := rt.Method + " " + rt.Pattern
		if !documented[key] {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		delete(documented, key)
		op := doc.Paths.Value(rt.Pattern).GetOperation(rt.Method)
		gotOp, _ := op.Extensions["x-firedrill-operation"].(string)
		if gotOp != string(rt.Operation) {
			t.Errorf("%s: x-firedrill-operation = %q, want the route table's %q", key, gotOp, rt.Operation)
		}
		var gotRoles []string
		if rs, ok := op.Extensions["x-firedrill-roles"].([]any); ok {
			for _, r := range rs {
				gotRoles = append(gotRoles, r.(string))
			}
		}
		wantRoles := slices.Sorted(slices.Values(control.Permissions[rt.Operation]))
		if !slices.Equal(gotRoles, wantRoles) {
			t.Errorf("%s: x-firedrill-roles = %v, want control.Permissions[%s] = %v", key, gotRoles, rt.Operation, wantRoles)
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != rt.Public {
			t.Errorf("%s: public in openapi.json = %v, in the route table %v", key, public, rt.Public)
		}
		var query []string
		for _, p := range op.Parameters {
			if p.Value.In == openapi3.ParameterInQuery {
				query = append(query, p.Value.Name)
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(query)), slices.Sorted(slices.Values(rt.Query))) {
			t.Errorf("%s: documented query parameters %v, the route takes %v", key, query, rt.Query)
		}
		hasBody := op.RequestBody != nil
		if hasBody != (rt.Body != nil) {
			t.Errorf("%s: documented request body = %v, route table body = %v", key, hasBody, rt.Body)
		}
		if rt.Body != nil && hasBody {
			ref := op.RequestBody.Value.Content.Get("application/json").Schema.Ref
			if want := "#/components/schemas/" + rt.Body.Name(); ref != want {
				t.Errorf("%s: request body schema %s, want %s", key, ref, want)
			}
		}
		success := rt.Status
		if success == 0 {
			success = 200
		}
		if op.Responses.Status(success) == nil {
			t.Errorf("%s: status %d of a success is not documented", key, success)
		}
	}
	for key := range documented {
		t.Errorf("openapi.json documents %s, which is no route", key)
	}
}

// wireTypes maps each schema of the document to the Go type whose JSON it describes.
var wireTypes = map[string]reflect.Type{
	"Actor":                   reflect.TypeFor[drills.Actor](),
	"Whoami":                  reflect.TypeFor[control.Whoami](),
	"RunSubmitParams":         reflect.TypeFor[control.RunSubmitParams](),
	"RunList":                 reflect.TypeFor[control.RunList](),
	"ReportRuns":              reflect.TypeFor[control.ReportRuns](),
	"PublicKeyView":           reflect.TypeFor[control.PublicKeyView](),
	"RunSummary":              reflect.TypeFor[control.RunSummary](),
	"RunView":                 reflect.TypeFor[control.RunView](),
	"IntegrityView":           reflect.TypeFor[control.IntegrityView](),
	"StepView":                reflect.TypeFor[control.StepView](),
	"MeasurementView":         reflect.TypeFor[control.MeasurementView](),
	"ApprovalView":            reflect.TypeFor[control.ApprovalView](),
	"DecisionView":            reflect.TypeFor[control.DecisionView](),
	"EventView":               reflect.TypeFor[control.EventView](),
	"ApprovalDecideParams":    reflect.TypeFor[control.ApprovalDecideParams](),
	"ApprovalOutcome":         reflect.TypeFor[control.ApprovalOutcome](),
	"RunAbortParams":          reflect.TypeFor[control.RunAbortParams](),
	"StepDecideParams":        reflect.TypeFor[control.StepDecideParams](),
	"ApprovalWaiting":         reflect.TypeFor[control.ApprovalWaiting](),
	"PlanOutline":             reflect.TypeFor[control.PlanOutline](),
	"PlanStepOutline":         reflect.TypeFor[control.PlanStepOutline](),
	"FreezeView":              reflect.TypeFor[control.FreezeView](),
	"FreezeOnParams":          reflect.TypeFor[control.FreezeOnParams](),
	"ScheduleView":            reflect.TypeFor[control.ScheduleView](),
	"ScheduleDetail":          reflect.TypeFor[control.ScheduleDetail](),
	"FireView":                reflect.TypeFor[control.FireView](),
	"UpcomingFire":            reflect.TypeFor[control.UpcomingFire](),
	"CalendarFire":            reflect.TypeFor[control.CalendarFire](),
	"BlackoutDay":             reflect.TypeFor[control.BlackoutDay](),
	"ServiceDue":              reflect.TypeFor[control.ServiceDue](),
	"NomadView":               reflect.TypeFor[control.NomadView](),
	"SchedulePauseParams":     reflect.TypeFor[control.SchedulePauseParams](),
	"Calendar":                reflect.TypeFor[control.Calendar](),
	"ServiceView":             reflect.TypeFor[control.ServiceView](),
	"SiteView":                reflect.TypeFor[control.SiteView](),
	"ProfileSummary":          reflect.TypeFor[control.ProfileSummary](),
	"ProfileView":             reflect.TypeFor[control.ProfileView](),
	"ProfileCeiling":          reflect.TypeFor[control.ProfileCeilingView](),
	"ProfileClause":           reflect.TypeFor[control.ProfileClauseView](),
	"PlanValidateParams":      reflect.TypeFor[control.PlanValidateParams](),
	"Diagnostic":              reflect.TypeFor[control.Diagnostic](),
	"PlanValidation":          reflect.TypeFor[control.PlanValidation](),
	"UserView":                reflect.TypeFor[control.UserView](),
	"UserCreateParams":        reflect.TypeFor[control.UserCreateParams](),
	"RoleChangeParams":        reflect.TypeFor[control.RoleChangeParams](),
	"RoleGrantView":           reflect.TypeFor[control.RoleGrantView](),
	"TokenCreateParams":       reflect.TypeFor[control.TokenCreateParams](),
	"TokenView":               reflect.TypeFor[control.TokenView](),
	"NewToken":                reflect.TypeFor[control.NewToken](),
	"FindingView":             reflect.TypeFor[control.FindingView](),
	"FindingDetail":           reflect.TypeFor[control.FindingDetail](),
	"FindingUpdateView":       reflect.TypeFor[control.FindingUpdateView](),
	"FindingChangeView":       reflect.TypeFor[control.FindingChangeView](),
	"FindingList":             reflect.TypeFor[control.FindingList](),
	"FindingAddParams":        reflect.TypeFor[control.FindingAddParams](),
	"FindingUpdateParams":     reflect.TypeFor[control.FindingUpdateParams](),
	"FindingAcceptRiskParams": reflect.TypeFor[control.FindingAcceptRiskParams](),
	"ParticipantParams":       reflect.TypeFor[control.ParticipantParams](),
	"RunParticipantsParams":   reflect.TypeFor[control.RunParticipantsParams](),
	"RunNoteParams":           reflect.TypeFor[control.RunNoteParams](),
	"ParticipantView":         reflect.TypeFor[control.ParticipantView](),
	"NoteView":                reflect.TypeFor[control.NoteView](),
	"AuditList":               reflect.TypeFor[control.AuditList](),
	"AuditEntryView":          reflect.TypeFor[control.AuditEntryView](),
}

type wireField struct {
	name      string
	omitempty bool
	typ       reflect.Type
}

// wireFields lists the JSON fields of a struct, embedded structs flattened.
func wireFields(t reflect.Type) []wireField {
	var out []wireField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, wireFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, wireField{name: name, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty"), typ: f.Type})
	}
	return out
}

// TestOpenAPISchemasMatchTheWireTypes checks every schema against the Go type it describes:
// the same properties; for a reply, a property is required exactly when the type always
// writes it (no omitempty), and nullable exactly when it is a pointer always written. Replies
// of the document are closed (additionalProperties: false), so a field added to a view must be
// documented.
func TestOpenAPISchemasMatchTheWireTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for name, typ := range wireTypes {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Errorf("schema %s (%s) is not in openapi.json", name, typ)
			continue
		}
		schema := ref.Value
		params := strings.HasSuffix(name, "Params")
		seen := map[string]bool{}
		for _, f := range wireFields(typ) {
			seen[f.name] = true
			prop := schema.Properties[f.name]
			if prop == nil {
				t.Errorf("schema %s has no property %q (%s.%s)", name, f.name, typ, f.name)
				continue
			}
			if params {
				continue
			}
			required := slices.Contains(schema.Required, f.name)
			if required == f.omitempty {
				t.Errorf("schema %s: property %q required = %v, but the Go field has omitempty = %v", name, f.name, required, f.omitempty)
			}
			wantNullable := !f.omitempty && f.typ.Kind() == reflect.Pointer
			if f.typ == reflect.TypeFor[[]byte]() || f.typ.Name() == "RawMessage" {
				wantNullable = prop.Value.Nullable // free-form
			}
			if prop.Value.Nullable != wantNullable {
				t.Errorf("schema %s: property %q nullable = %v, want %v", name, f.name, prop.Value.Nullable, wantNullable)
			}
		}
		for p := range schema.Properties {
			if !seen[p] {
				t.Errorf("schema %s documents property %q, which %s does not have", name, p, typ)
			}
		}
		if schema.AdditionalProperties.Has == nil || *schema.AdditionalProperties.Has {
			t.Errorf("schema %s: want additionalProperties: false", name)
		}
	}
}
