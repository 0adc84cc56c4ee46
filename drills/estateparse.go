package drills

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of the estate configuration.
const (
	// DefaultNomadNamespace is the Nomad namespace used when a site's nomad block names none.
	DefaultNomadNamespace = "default"
	// DefaultExpectStatus is the HTTP status a check expects when it does not say.
	DefaultExpectStatus = 200
	// DefaultCanaryInterval is how often the RPO canary writes; it bounds the RPO resolution.
	DefaultCanaryInterval = 200 * time.Millisecond
	// DefaultCanaryMinRows and DefaultCanaryMinDuration are the least canary evidence before
	// T0 an RPO figure stands on (see Canary.Evidenced).
	DefaultCanaryMinRows     = 10
	DefaultCanaryMinDuration = time.Second
)

var (
	configSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "site", LabelNames: []string{"name"}},
		{Type: "service", LabelNames: []string{"name"}},
		{Type: "schedule", LabelNames: []string{"name"}},
		{Type: "blackout", LabelNames: []string{"name"}},
		{Type: "notify", LabelNames: []string{"name"}},
		{Type: "approval"},
	}}
	siteSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "role"}, {Name: "ingress"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "nomad"},
			{Type: "postgres", LabelNames: []string{"name"}},
		},
	}
	nomadSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "address"}, {Name: "region"}, {Name: "datacenter"}, {Name: "namespace"},
		{Name: "token_env"}, {Name: "token_file"},
		{Name: "ca_cert"}, {Name: "client_cert"}, {Name: "client_key"}, {Name: "tls_server_name"},
	}}
	postgresSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "dsn_env"}, {Name: "dsn_file"}}}
	serviceSchema  = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "description"}, {Name: "owner"}, {Name: "criticality"}, {Name: "rto"}, {Name: "rpo"},
			{Name: "depends_on"}, {Name: "nomad_job"}, {Name: "drill_every"}, {Name: "pilot_light"},
		},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "check", LabelNames: []string{"kind"}},
			{Type: "canary"},
		},
	}
	checkSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "url"}, {Name: "expect_status"}, {Name: "expect_body"}, {Name: "interval"},
		{Name: "headers"}, {Name: "headers_from_env"}, {Name: "ca_cert"}, {Name: "tls_server_name"},
	}}
	canarySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "database"}, {Name: "table"}, {Name: "url"}, {Name: "interval"}, {Name: "min_rows"}, {Name: "min_duration"},
	}}
)

// estateParser holds what is needed across blocks: the sink and, for checks that span
// blocks, where each depends_on and each schedule's blackout names were written.
type estateParser struct {
	diagSink
	dependsOn    map[*Service]*hcl.Attribute
	blackoutRefs map[*Schedule][]hcl.Range
}

// ParseEstate parses and validates an estate configuration (conventionally firedrill.hcl;
// HCL JSON syntax when filename ends in .json). It reports every problem it finds, sorted by
// position. The returned Estate is nil only when the source could not be read as HCL at all;
// it must not be used when the diagnostics hold errors.
func ParseEstate(src []byte, filename string) (*Estate, Diagnostics) {
	p := &estateParser{
		diagSink:     diagSink{file: filename},
		dependsOn:    map[*Service]*hcl.Attribute{},
		blackoutRefs: map[*Schedule][]hcl.Range{},
	}
	cfg := p.parse(src)
	p.diags.Sort()
	return cfg, p.diags
}

func (p *estateParser) parse(src []byte) *Estate {
	body := p.parseFile(src, p.file)
	if body == nil {
		return nil
	}
	sum := sha256.Sum256(src)
	cfg := &Estate{File: p.file, SHA256: hex.EncodeToString(sum[:])}
	content, hd := body.Content(configSchema)
	p.hcl(hd)

	// The estate's approval block is the default policy of every run (its plan and schedule
	// declare none).
	cfg.DefaultApproval = p.approvals(content.Blocks, "the estate").policy
	// Each block type is its own namespace.
	declared := map[string]map[string]hcl.Range{}
	for _, b := range content.Blocks {
		if b.Type == "approval" {
			continue
		}
		name, _ := p.label(b)
		seen := declared[b.Type]
		if seen == nil {
			seen = map[string]hcl.Range{}
			declared[b.Type] = seen
		}
		if prev, dup := seen[name]; dup {
			p.errorf(b.LabelRanges[0], "%s %q is already declared at line %d", b.Type, name, prev.Start.Line)
			continue
		}
		seen[name] = b.DefRange
		switch b.Type {
		case "site":
			cfg.Sites = append(cfg.Sites, p.site(b, name))
		case "service":
			cfg.Services = append(cfg.Services, p.service(b, name))
		case "schedule":
			cfg.Schedules = append(cfg.Schedules, p.schedule(b, name))
		case "blackout":
			cfg.Blackouts = append(cfg.Blackouts, p.blackout(b, name))
		case "notify":
			cfg.Notify = append(cfg.Notify, p.notify(b, name))
		}
	}
	p.checkPrimary(cfg)
	p.checkDependencies(cfg)
	p.checkSchedules(cfg)
	return cfg
}

func (p *estateParser) site(b *hcl.Block, name string) *Site {
	s := &Site{Name: name, Pos: p.pos(b.DefRange)}
	content, hd := b.Body.Content(siteSchema)
	p.hcl(hd)
	if a := content.Attributes["role"]; a != nil {
		v, _ := p.oneOf(a, string(SiteRolePrimary), string(SiteRoleDR), string(SiteRoleBackup))
		s.Role = SiteRole(v)
	} else {
		p.errorf(b.DefRange, "site %q: role is required (\"primary\", \"dr\" or \"backup\")", name)
	}
	if a := content.Attributes["ingress"]; a != nil {
		s.Ingress, _ = p.httpURL(a)
	}
	dbAt := map[string]hcl.Range{}
	for _, nb := range content.Blocks {
		switch nb.Type {
		case "nomad":
			if s.Nomad != nil {
				p.errorf(nb.DefRange, "site %q: only one nomad block is allowed", name)
				continue
			}
			s.Nomad = p.nomad(nb)
		case "postgres":
			db, _ := p.label(nb)
			if prev, dup := dbAt[db]; dup {
				p.errorf(nb.LabelRanges[0], "site %q: postgres %q is already declared at line %d", name, db, prev.Start.Line)
				continue
			}
			dbAt[db] = nb.DefRange
			s.Databases = append(s.Databases, p.postgres(nb, db))
		}
	}
	if s.Nomad == nil {
		p.errorf(b.DefRange, "site %q: a nomad block is required (with at least address and region)", name)
	}
	return s
}

func (p *estateParser) nomad(b *hcl.Block) *NomadEndpoint {
	n := &NomadEndpoint{Namespace: DefaultNomadNamespace, Pos: p.pos(b.DefRange)}
	content, hd := b.Body.Content(nomadSchema)
	p.hcl(hd)
	attrs := content.Attributes
	if a := attrs["address"]; a != nil {
		n.Address, _ = p.httpURL(a)
	} else {
		p.errorf(b.DefRange, "nomad: address is required (e.g. \"https://nomad.example:4646\")")
	}
	if a := attrs["region"]; a != nil {
		n.Region, _ = p.nonEmpty(a)
	} else {
		p.errorf(b.DefRange, "nomad: region is required")
	}
	for name, dst := range map[string]*string{
		"datacenter": &n.Datacenter, "token_env": &n.TokenEnv, "token_file": &n.TokenFile,
		"ca_cert": &n.CACert, "client_cert": &n.ClientCert, "client_key": &n.ClientKey,
		"tls_server_name": &n.TLSServerName,
	} {
		if a := attrs[name]; a != nil {
			*dst, _ = p.str(a)
		}
	}
	if a := attrs["namespace"]; a != nil {
		n.Namespace, _ = p.nonEmpty(a)
	}
	if attrs["token_env"] != nil && attrs["token_file"] != nil {
		p.errorf(attrs["token_file"].NameRange, "nomad: token_env and token_file are exclusive: set one")
	}
	return n
}

func (p *estateParser) postgres(b *hcl.Block, name string) *Database {
	db := &Database{Name: name, Pos: p.pos(b.DefRange)}
	content, hd := b.Body.Content(postgresSchema)
	p.hcl(hd)
	env, file := content.Attributes["dsn_env"], content.Attributes["dsn_file"]
	switch {
	case env != nil && file != nil:
		p.errorf(file.NameRange, "postgres %q: dsn_env and dsn_file are exclusive: set one", name)
	case env == nil && file == nil:
		p.errorf(b.DefRange, "postgres %q: dsn_env or dsn_file is required", name)
	}
	if env != nil {
		db.DSNEnv, _ = p.nonEmpty(env)
	}
	if file != nil {
		db.DSNFile, _ = p.nonEmpty(file)
	}
	return db
}

func (p *estateParser) service(b *hcl.Block, name string) *Service {
	svc := &Service{Name: name, NomadJob: name, Pos: p.pos(b.DefRange)}
	content, hd := b.Body.Content(serviceSchema)
	p.hcl(hd)
	attrs := content.Attributes
	if a := attrs["description"]; a != nil {
		svc.Description, _ = p.str(a)
	}
	if a := attrs["owner"]; a != nil {
		svc.Owner, _ = p.str(a)
	}
	if a := attrs["criticality"]; a != nil {
		v, _ := p.oneOf(a, string(CriticalityCore), string(CriticalityImportant), string(CriticalitySupporting))
		svc.Criticality = Criticality(v)
	} else {
		p.errorf(b.DefRange, "service %q: criticality is required (\"core\", \"important\" or \"supporting\")", name)
	}
	for _, o := range []struct {
		name string
		dst  *time.Duration
	}{{"rto", &svc.RTO}, {"rpo", &svc.RPO}} {
		if a := attrs[o.name]; a != nil {
			*o.dst, _ = p.duration(a)
		} else {
			p.errorf(b.DefRange, "service %q: %s is required (a duration such as \"30m\")", name, o.name)
		}
	}
	if a := attrs["depends_on"]; a != nil {
		svc.DependsOn, _ = p.uniqueStrings(a)
		p.dependsOn[svc] = a
	}
	if a := attrs["nomad_job"]; a != nil {
		svc.NomadJob, _ = p.nonEmpty(a)
	}
	if a := attrs["drill_every"]; a != nil {
		svc.DrillEvery, _ = p.positiveDuration(a)
	}
	if a := attrs["pilot_light"]; a != nil {
		if n, ok := p.integer(a); ok {
			if n < 0 || n > maxCount {
				p.errorf(a.Expr.Range(), "pilot_light: %d is out of range: write a number from 0 to %d (the allocations the service runs on a DR site in standby)", n, maxCount)
			} else {
				svc.PilotLight = int(n)
			}
		}
	}
	for _, cb := range content.Blocks {
		switch cb.Type {
		case "check":
			if c := p.check(cb); c != nil {
				svc.Checks = append(svc.Checks, c)
			}
		case "canary":
			if svc.Canary != nil {
				p.errorf(cb.DefRange, "service %q: only one canary block is allowed", name)
				continue
			}
			svc.Canary = p.canary(cb)
		}
	}
	return svc
}

// placeholder finds {name} in a check URL.
var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

func (p *estateParser) check(b *hcl.Block) *Check {
	c := &Check{Kind: CheckKind(b.Labels[0]), ExpectStatus: DefaultExpectStatus, Interval: DefaultCheckInterval, Pos: p.pos(b.DefRange)}
	if c.Kind != CheckHTTP {
		p.errorf(b.LabelRanges[0], "check kind %q is not supported: use check \"http\"", c.Kind)
	}
	content, hd := b.Body.Content(checkSchema)
	p.hcl(hd)
	attrs := content.Attributes
	if a := attrs["url"]; a != nil {
		c.URL, _ = p.checkURL(a)
	} else {
		p.errorf(b.DefRange, "check: url is required")
	}
	if a := attrs["expect_status"]; a != nil {
		if n, ok := p.integer(a); ok {
			if n < 100 || n > 599 {
				p.errorf(a.Expr.Range(), "expect_status: %d is not an HTTP status (100 to 599)", n)
			} else {
				c.ExpectStatus = int(n)
			}
		}
	}
	if a := attrs["expect_body"]; a != nil {
		c.ExpectBody, _ = p.str(a)
	}
	if a := attrs["interval"]; a != nil {
		if d, ok := p.positiveDuration(a); ok {
			c.Interval = d
		}
	}
	if a := attrs["headers"]; a != nil {
		c.Headers, _ = p.stringMap(a)
	}
	if a := attrs["headers_from_env"]; a != nil {
		c.HeadersFromEnv, _ = p.stringMap(a)
		for h := range c.HeadersFromEnv {
			if _, dup := c.Headers[h]; dup {
				p.errorf(a.Expr.Range(), "headers_from_env: header %q is also in headers: set it in one place", h)
			}
		}
	}
	if a := attrs["ca_cert"]; a != nil {
		c.CACert, _ = p.str(a)
	}
	if a := attrs["tls_server_name"]; a != nil {
		c.TLSServerName, _ = p.str(a)
	}
	return c
}

// checkURL reads a check URL: {site} and {ingress} are its only placeholders, and once they
// are filled in it must be an absolute http(s) URL.
func (p *estateParser) checkURL(a *hcl.Attribute) (string, bool) {
	v, ok := p.str(a)
	if !ok {
		return "", false
	}
	for _, m := range placeholder.FindAllString(v, -1) {
		if m != "{site}" && m != "{ingress}" {
			p.errorf(a.Expr.Range(), "url: unknown placeholder %s: only {site} and {ingress} are replaced", m)
			return v, false
		}
	}
	sample := strings.NewReplacer("{site}", "site", "{ingress}", "http://ingress.invalid").Replace(v)
	if strings.ContainsAny(sample, "{}") {
		p.errorf(a.Expr.Range(), "url: unbalanced brace in %q", v)
		return v, false
	}
	if err := checkHTTPURL(sample); err != nil {
		p.errorf(a.Expr.Range(), "url: %q is not an absolute http or https URL (start with \"http://\", \"https://\" or \"{ingress}\")", v)
		return v, false
	}
	return v, true
}

// sqlIdent is a plain, unquoted SQL identifier: the canary table name is put into SQL text.
var sqlIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func (p *estateParser) canary(b *hcl.Block) *Canary {
	c := &Canary{Interval: DefaultCanaryInterval, MinRows: DefaultCanaryMinRows, MinDuration: DefaultCanaryMinDuration, Pos: p.pos(b.DefRange)}
	content, hd := b.Body.Content(canarySchema)
	p.hcl(hd)
	attrs := content.Attributes
	if a := attrs["url"]; a != nil {
		// An HTTP canary: through the service, for stores that are not PostgreSQL.
		if v, ok := p.nonEmpty(a); ok {
			if !strings.HasPrefix(v, "{ingress}") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
				p.errorf(a.Expr.Range(), "url: %q must start with {ingress}, http:// or https://", v)
			} else {
				c.URL = v
			}
		}
		for _, n := range []string{"database", "table"} {
			if d := attrs[n]; d != nil {
				p.errorf(d.NameRange, "canary: %s is for a PostgreSQL canary; an HTTP canary (url) has none", n)
			}
		}
	} else {
		if a := attrs["database"]; a != nil {
			c.Database, _ = p.nonEmpty(a)
		} else {
			p.errorf(b.DefRange, "canary: database is required (or url, for an HTTP canary)")
		}
		if a := attrs["table"]; a != nil {
			if v, ok := p.str(a); ok {
				if sqlIdent.MatchString(v) {
					c.Table = v
				} else {
					p.errorf(a.Expr.Range(), "table: %q is not a plain SQL identifier (letters, digits and '_', not starting with a digit, at most 63)", v)
				}
			}
		} else {
			p.errorf(b.DefRange, "canary: table is required")
		}
	}
	if a := attrs["interval"]; a != nil {
		if d, ok := p.positiveDuration(a); ok {
			c.Interval = d
		}
	}
	if a := attrs["min_rows"]; a != nil {
		if n, ok := p.integer(a); ok {
			if n < 1 {
				p.errorf(a.Expr.Range(), "min_rows: must be at least 1, got %d", n)
			} else {
				c.MinRows = n
			}
		}
	}
	if a := attrs["min_duration"]; a != nil {
		if d, ok := p.duration(a); ok {
			c.MinDuration = d
		}
	}
	return c
}

// checkPrimary requires a primary site: a drill fails over from one.
func (p *estateParser) checkPrimary(cfg *Estate) {
	if len(cfg.Sites) == 0 {
		p.errorAt(Pos{File: p.file, Line: 1, Column: 1}, "the configuration declares no site: add site blocks with role = \"primary\" and \"dr\"")
		return
	}
	for _, s := range cfg.Sites {
		// A missing or invalid role is already reported; "no primary" would only repeat it.
		if s.Role == SiteRolePrimary || s.Role == "" {
			return
		}
	}
	p.errorAt(cfg.Sites[0].Pos, "no site has role = \"primary\": a drill needs a site to fail over from")
}
