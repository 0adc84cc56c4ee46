// Package nomadacl reads Nomad ACL policies (the subset firedrill's drills need: namespace
// and node rules) and answers what a set of them allows. The pre-flight credential check
// uses it to prove a site's token allows what a plan will do; the site simulator uses it to
// refuse what a token does not allow, as a Nomad server would. It performs no I/O.
package nomadacl

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Namespace capabilities firedrill's actions need.
const (
	CapListJobs  = "list-jobs"
	CapReadJob   = "read-job"
	CapSubmitJob = "submit-job"
	CapScaleJob  = "scale-job"
)

// Policy values of a namespace or node rule.
const (
	PolicyDeny  = "deny"
	PolicyRead  = "read"
	PolicyWrite = "write"
	PolicyScale = "scale"
)

// namespaceCaps are the capabilities each namespace policy grants (Nomad's expansion, cut to
// the ones this package knows).
var namespaceCaps = map[string][]string{
	PolicyRead:  {CapListJobs, CapReadJob},
	PolicyScale: {CapListJobs, CapReadJob, CapScaleJob},
	PolicyWrite: {CapListJobs, CapReadJob, CapSubmitJob, CapScaleJob},
}

type namespaceRule struct {
	Name         string   `hcl:"name,label"`
	Policy       string   `hcl:"policy,optional"`
	Capabilities []string `hcl:"capabilities,optional"`
	Remain       hcl.Body `hcl:",remain"`
}

type nodeRule struct {
	Policy string   `hcl:"policy"`
	Remain hcl.Body `hcl:",remain"`
}

type policyFile struct {
	Namespaces []namespaceRule `hcl:"namespace,block"`
	Node       *nodeRule       `hcl:"node,block"`
	Remain     hcl.Body        `hcl:",remain"`
}

// Policy is one parsed ACL policy.
type Policy struct {
	// namespaces maps a namespace name or glob to its granted capabilities; a deny rule
	// maps to nil with denied set.
	namespaces map[string][]string
	denied     map[string]bool
	node       string
}

// Parse reads the rules of a Nomad ACL policy (HCL). Blocks other than namespace and node
// (agent, operator, quota, plugin, host_volume) are accepted and ignored.
func Parse(rules string) (*Policy, error) {
	f, hd := hclsyntax.ParseConfig([]byte(rules), "policy.hcl", hcl.InitialPos)
	if hd.HasErrors() {
		return nil, fmt.Errorf("parse policy: %s", hd.Error())
	}
	var pf policyFile
	if hd := gohcl.DecodeBody(f.Body, nil, &pf); hd.HasErrors() {
		return nil, fmt.Errorf("parse policy: %s", hd.Error())
	}
	p := &Policy{namespaces: map[string][]string{}, denied: map[string]bool{}}
	for _, ns := range pf.Namespaces {
		if ns.Policy != "" && ns.Policy != PolicyDeny && namespaceCaps[ns.Policy] == nil {
			return nil, fmt.Errorf("parse policy: namespace %q: unknown policy %q", ns.Name, ns.Policy)
		}
		if ns.Policy == PolicyDeny || slices.Contains(ns.Capabilities, PolicyDeny) {
			p.denied[ns.Name] = true
			continue
		}
		p.namespaces[ns.Name] = append(slices.Clone(namespaceCaps[ns.Policy]), ns.Capabilities...)
	}
	if pf.Node != nil {
		switch pf.Node.Policy {
		case PolicyDeny, PolicyRead, PolicyWrite:
			p.node = pf.Node.Policy
		default:
			return nil, fmt.Errorf("parse policy: node: unknown policy %q", pf.Node.Policy)
		}
	}
	return p, nil
}

// Set is the union of the policies of one token, as Nomad merges them: a deny wins.
type Set []*Policy

// rule returns the rule of the policy that governs namespace: an exact name, else the
// longest glob that matches it.
func (p *Policy) rule(namespace string) (caps []string, denied, found bool) {
	if p.denied[namespace] {
		return nil, true, true
	}
	if c, ok := p.namespaces[namespace]; ok {
		return c, false, true
	}
	best := ""
	for pattern := range mergedKeys(p) {
		if ok, _ := path.Match(pattern, namespace); ok && strings.ContainsAny(pattern, "*?[") && len(pattern) > len(best) {
			best = pattern
		}
	}
	if best == "" {
		return nil, false, false
	}
	return p.namespaces[best], p.denied[best], true
}

func mergedKeys(p *Policy) map[string]bool {
	out := map[string]bool{}
	for k := range p.namespaces {
		out[k] = true
	}
	for k := range p.denied {
		out[k] = true
	}
	return out
}

// AllowsNamespace reports whether the set grants capability in namespace.
func (s Set) AllowsNamespace(namespace, capability string) bool {
	allowed := false
	for _, p := range s {
		caps, denied, found := p.rule(namespace)
		if !found {
			continue
		}
		if denied {
			return false
		}
		if slices.Contains(caps, capability) {
			allowed = true
		}
	}
	return allowed
}

// AllowsNode reports whether the set grants node read (write false) or node write.
func (s Set) AllowsNode(write bool) bool {
	best := ""
	for _, p := range s {
		switch p.node {
		case PolicyDeny:
			return false
		case PolicyWrite:
			best = PolicyWrite
		case PolicyRead:
			if best == "" {
				best = PolicyRead
			}
		}
	}
	if write {
		return best == PolicyWrite
	}
	return best != ""
}
