package serverconfig

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/firedrill/firedrill/drills"
)

// blocks are the file's blocks besides notify, each written at most once.
var blocks = []string{"database", "tls", "console", "oidc", "worker", "scheduler", "findings", "log"}

// Parse parses and validates a server configuration (HCL; HCL JSON when filename ends in
// .json). It reports every problem it finds, sorted by position, each naming the field. The
// Config must not be used when the diagnostics hold errors.
func Parse(src []byte, filename string) (*Config, drills.Diagnostics) {
	p := &parser{file: filename, dir: filepath.Dir(filename)}
	cfg := p.parse(src)
	p.diags.Sort()
	return cfg, p.diags
}

type parser struct {
	file, dir string
	diags     drills.Diagnostics
}

func (p *parser) parse(src []byte) *Config {
	cfg := &Config{File: p.file}
	var f *hcl.File
	var hd hcl.Diagnostics
	if strings.HasSuffix(p.file, ".json") {
		f, hd = hclparse.NewParser().ParseJSON(src, p.file)
	} else {
		f, hd = hclparse.NewParser().ParseHCL(src, p.file)
	}
	p.hcl(hd)
	// After a syntax error what the parser recovered is not what was meant: the syntax
	// errors are the whole report.
	if f == nil || f.Body == nil || hd.HasErrors() {
		return cfg
	}
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "notify", LabelNames: []string{"name"}}}}
	schema.Attributes = attributeSchema("")
	for _, b := range blocks {
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: b})
	}
	content, hd := f.Body.Content(schema)
	p.hcl(hd)
	p.attributes(cfg, "", content.Attributes)
	seen := map[string]hcl.Range{}
	var notify []*hcl.Block
	for _, b := range content.Blocks {
		if b.Type == "notify" {
			notify = append(notify, b)
			continue
		}
		if prev, dup := seen[b.Type]; dup {
			p.errorf(b.DefRange, "%s: the block is already written at line %d", b.Type, prev.Start.Line)
			continue
		}
		seen[b.Type] = b.DefRange
		bc, hd := b.Body.Content(&hcl.BodySchema{Attributes: attributeSchema(b.Type)})
		p.hcl(hd)
		p.attributes(cfg, b.Type, bc.Attributes)
		p.blockRules(cfg, b)
	}
	channels, nd := drills.ParseNotifyBlocks(notify, p.file)
	p.diags = append(p.diags, nd...)
	cfg.Notify = channels
	slices.SortFunc(cfg.Values, func(a, b Value) int { return settingIndex(a.Key) - settingIndex(b.Key) })
	return cfg
}

// attributeSchema lists the attributes a block (or the top level, "") may hold.
func attributeSchema(block string) []hcl.AttributeSchema {
	var attrs []hcl.AttributeSchema
	for _, s := range settings {
		b, name := split(s.Key)
		if b != block {
			continue
		}
		if s.Kind == SecretURL {
			attrs = append(attrs, hcl.AttributeSchema{Name: name + "_env"}, hcl.AttributeSchema{Name: name + "_file"})
		}
		attrs = append(attrs, hcl.AttributeSchema{Name: name})
	}
	if block == "oidc" {
		// Accepted only to refuse it with the way to give it.
		attrs = append(attrs, hcl.AttributeSchema{Name: "client_secret"})
	}
	return attrs
}

// split cuts a key into its block ("" at the top level) and attribute name.
func split(key string) (block, name string) {
	if b, n, ok := strings.Cut(key, "."); ok {
		return b, n
	}
	return "", key
}

func settingIndex(key string) int {
	return slices.IndexFunc(settings, func(s Setting) bool { return s.Key == key })
}

// attributes reads a block's attributes into cfg, in source order so problems come in order.
func (p *parser) attributes(cfg *Config, block string, attrs hcl.Attributes) {
	if a := attrs["client_secret"]; a != nil && block == "oidc" {
		p.errorf(a.NameRange, "oidc.client_secret: a secret is never written in this file: give client_secret_env (the variable holding it) or client_secret_file")
	}
	for _, s := range settings {
		b, name := split(s.Key)
		if b != block {
			continue
		}
		if s.Kind == SecretURL {
			p.secretURL(cfg, s, attrs, name)
			continue
		}
		a := attrs[name]
		if a == nil {
			continue
		}
		if args, ok := p.setting(s, a); ok {
			cfg.Values = append(cfg.Values, Value{Setting: s, Args: args, Pos: p.pos(a.NameRange)})
		}
	}
}

// blockRules checks what spans a block's attributes.
func (p *parser) blockRules(cfg *Config, b *hcl.Block) {
	_, cert := cfg.Value("tls.cert_file")
	_, key := cfg.Value("tls.key_file")
	_, secretEnv := cfg.Value("oidc.client_secret_env")
	_, secretFile := cfg.Value("oidc.client_secret_file")
	switch {
	case b.Type == "tls" && cert != key:
		p.errorf(b.DefRange, "tls: give both cert_file and key_file, or neither")
	case b.Type == "oidc" && secretEnv && secretFile:
		p.errorf(b.DefRange, "oidc: give client_secret_env or client_secret_file, not both")
	}
}

// secretURL reads a database URL written as name, name_env or name_file: exactly one.
func (p *parser) secretURL(cfg *Config, s Setting, attrs hcl.Attributes, name string) {
	var given []*hcl.Attribute
	for _, n := range []string{name, name + "_env", name + "_file"} {
		if a := attrs[n]; a != nil {
			given = append(given, a)
		}
	}
	if len(given) == 0 {
		return
	}
	slices.SortFunc(given, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	if len(given) > 1 {
		p.errorf(given[1].NameRange, "%s: give one of %s, %s_env or %s_file, not both %s and %s", s.Key, name, name, name, given[0].Name, given[1].Name)
		return
	}
	a := given[0]
	v, ok := p.nonEmpty(s, a)
	if !ok {
		return
	}
	val := Value{Setting: s, Pos: p.pos(a.NameRange)}
	switch a.Name {
	case name + "_env":
		if !envNamePattern(v) {
			p.errorf(a.Expr.Range(), "%s_env: %q is not an environment variable name", s.Key, v)
			return
		}
		val.RefEnv = v
	case name + "_file":
		val.RefFile = p.path(v)
	default:
		if hasPassword(v) {
			p.errorf(a.Expr.Range(), "%s: a URL with a password is a secret and is never written in this file: give %s_env (the variable holding it) or %s_file", s.Key, name, name)
			return
		}
		val.Args = []string{v}
	}
	cfg.Values = append(cfg.Values, val)
}

// setting reads one attribute as its setting's kind, as the flag's values.
func (p *parser) setting(s Setting, a *hcl.Attribute) ([]string, bool) {
	v, ok := p.value(s, a)
	if !ok {
		return nil, false
	}
	bad := func(format string, args ...any) ([]string, bool) {
		p.errorf(a.Expr.Range(), "%s: "+format, append([]any{s.Key}, args...)...)
		return nil, false
	}
	switch s.Kind {
	case Bool:
		if v.Type() != cty.Bool {
			return bad("must be true or false")
		}
		return []string{strconv.FormatBool(v.True())}, true
	case Int:
		if v.Type() != cty.Number {
			return bad("must be a number")
		}
		n, acc := v.AsBigFloat().Int64()
		if acc != 0 || n < 1 || n > 1<<20 {
			return bad("must be a whole number from 1 to %d", 1<<20)
		}
		return []string{strconv.FormatInt(n, 10)}, true
	case List:
		l, ok := p.stringList(s, a, v)
		if ok && len(l) == 0 {
			return bad("must not be empty")
		}
		return l, ok
	case RoleMap:
		return p.roleMap(s, a, v)
	}
	str, ok := p.asString(s, a, v)
	if !ok {
		return nil, false
	}
	if strings.TrimSpace(str) == "" {
		return bad("must not be empty")
	}
	if len(s.OneOf) > 0 && !slices.Contains(s.OneOf, str) {
		return bad("%q is not one of %s", str, strings.Join(s.OneOf, ", "))
	}
	switch s.Kind {
	case Path:
		return []string{p.path(str)}, true
	case Duration:
		d, err := time.ParseDuration(str)
		if err != nil {
			return bad("%q is not a duration such as \"30s\" or \"12h\"", str)
		}
		if d <= 0 {
			return bad("must be greater than zero")
		}
	case Address:
		host, port, err := net.SplitHostPort(str)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
			return bad("%q is not host:port (127.0.0.1:8080, :8443)", str)
		}
	case TimeZone:
		if _, err := time.LoadLocation(str); err != nil || str == "Local" {
			return bad("%q is not an IANA time zone (Asia/Seoul, UTC)", str)
		}
	case URL:
		u, err := url.Parse(str)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("%q is not an absolute http(s) URL", str)
		}
		if u.User != nil {
			return bad("must not hold credentials")
		}
	}
	return []string{str}, true
}

// roleMap reads { "claim value" = ["role", ...] } as flag values "claim value=role,role",
// sorted by claim value.
func (p *parser) roleMap(s Setting, a *hcl.Attribute, v cty.Value) ([]string, bool) {
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		p.errorf(a.Expr.Range(), "%s: must be an object such as { \"dr-sre\" = [\"sre\"] }", s.Key)
		return nil, false
	}
	var args []string
	for k, roles := range v.AsValueMap() {
		l, ok := p.stringList(s, a, roles)
		if !ok {
			return nil, false
		}
		if strings.TrimSpace(k) == "" || strings.Contains(k, "=") || len(l) == 0 {
			p.errorf(a.Expr.Range(), "%s: %q must be a claim value without '=' mapped to at least one role", s.Key, k)
			return nil, false
		}
		for _, r := range l {
			if !drills.IsRole(r) {
				p.errorf(a.Expr.Range(), "%s: %q is not a role (%s)", s.Key, r, strings.Join(drills.Roles, ", "))
				return nil, false
			}
		}
		args = append(args, k+"="+strings.Join(l, ","))
	}
	slices.Sort(args)
	return args, true
}

func (p *parser) stringList(s Setting, a *hcl.Attribute, v cty.Value) ([]string, bool) {
	if !v.Type().IsListType() && !v.Type().IsTupleType() && !v.Type().IsSetType() {
		p.errorf(a.Expr.Range(), "%s: must be a list of strings", s.Key)
		return nil, false
	}
	var l []string
	for _, e := range v.AsValueSlice() {
		str, ok := p.asString(s, a, e)
		if !ok {
			return nil, false
		}
		if strings.TrimSpace(str) == "" || strings.Contains(str, ",") {
			p.errorf(a.Expr.Range(), "%s: %q must be a non-empty string without a comma", s.Key, str)
			return nil, false
		}
		l = append(l, str)
	}
	return l, true
}

func (p *parser) nonEmpty(s Setting, a *hcl.Attribute) (string, bool) {
	v, ok := p.value(s, a)
	if !ok {
		return "", false
	}
	str, ok := p.asString(s, a, v)
	if ok && strings.TrimSpace(str) == "" {
		p.errorf(a.Expr.Range(), "%s: must not be empty", a.Name)
		return "", false
	}
	return str, ok
}

func (p *parser) asString(s Setting, a *hcl.Attribute, v cty.Value) (string, bool) {
	if v.IsNull() || !v.Type().IsPrimitiveType() {
		p.errorf(a.Expr.Range(), "%s: must be a string", s.Key)
		return "", false
	}
	str, err := convert.Convert(v, cty.String)
	if err != nil || str.IsNull() {
		p.errorf(a.Expr.Range(), "%s: must be a string", s.Key)
		return "", false
	}
	return str.AsString(), true
}

// value evaluates an attribute as a literal: the file has no variables or functions.
func (p *parser) value(s Setting, a *hcl.Attribute) (cty.Value, bool) {
	if vars := a.Expr.Variables(); len(vars) > 0 {
		p.errorf(vars[0].SourceRange(), "%s: references such as %q are not allowed: write a literal value (a secret: its _env or _file form)", s.Key, vars[0].RootName())
		return cty.NilVal, false
	}
	v, hd := a.Expr.Value(nil)
	if hd.HasErrors() {
		p.hcl(hd)
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() || v.IsNull() {
		p.errorf(a.Expr.Range(), "%s: must be a literal value", s.Key)
		return cty.NilVal, false
	}
	return v, true
}

// path resolves a relative path against the configuration file's directory, so the file
// means the same from any working directory.
func (p *parser) path(v string) string {
	if filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(p.dir, v)
}

// envNamePattern reports whether v can name an environment variable.
func envNamePattern(v string) bool {
	for i, r := range v {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return v != ""
}

// passwordKey finds a password written as a query parameter (?password=) or a key=value
// DSN field (password = ...).
var passwordKey = regexp.MustCompile(`(?i)(^|[?&\s])password\s*=`)

// hasPassword reports whether a database URL holds a password: postgres://u:pw@host,
// ?password=, or a key=value DSN's password=.
func hasPassword(v string) bool {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, set := u.User.Password(); set {
			return true
		}
	}
	return passwordKey.MatchString(v)
}

func (p *parser) pos(r hcl.Range) drills.Pos {
	// The file name is the caller's: HCL's may differ (JSON) and messages must agree.
	return drills.Pos{File: p.file, Line: r.Start.Line, Column: r.Start.Column}
}

func (p *parser) errorf(r hcl.Range, format string, args ...any) {
	p.diags = append(p.diags, drills.Diagnostic{Pos: p.pos(r), Msg: fmt.Sprintf(format, args...)})
}

// hcl converts HCL's own diagnostics (syntax errors, unknown attributes and blocks).
func (p *parser) hcl(hd hcl.Diagnostics) {
	for _, d := range hd {
		msg := strings.TrimSuffix(d.Summary, ".")
		if d.Detail != "" {
			msg += ": " + strings.ReplaceAll(strings.TrimSuffix(d.Detail, "."), ". Did you mean", "; did you mean")
		}
		diag := drills.Diagnostic{Pos: drills.Pos{File: p.file}, Msg: msg, Warning: d.Severity == hcl.DiagWarning}
		if d.Subject != nil && d.Subject.Start.Line >= 1 {
			diag.Pos = p.pos(*d.Subject)
		}
		p.diags = append(p.diags, diag)
	}
}
