package nomad

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/nomadacl"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// need is one permission a plan needs on a site, and the steps that need it.
type need struct {
	what  string // "submit-job in namespace default", "node write"
	ok    func(nomadacl.Set) bool
	steps []string
}

// needs lists what the plan will ask of the site's cluster: reading jobs and nodes for the
// pre-flight and wait steps, submitting jobs for stop and run, scaling, writing nodes for
// drain and undrain; rollback and cleanup steps included, so a token that could inject the
// disaster but not undo it is caught too.
func needs(site *drills.Site, plan *drills.Plan) []*need {
	ns := site.Nomad.Namespace
	if ns == "" {
		ns = "default"
	}
	nsNeed := func(capability string, alt ...string) *need {
		return &need{what: capability + " in namespace " + ns, ok: func(s nomadacl.Set) bool {
			if s.AllowsNamespace(ns, capability) {
				return true
			}
			return slices.ContainsFunc(alt, func(c string) bool { return s.AllowsNamespace(ns, c) })
		}}
	}
	read := nsNeed(nomadacl.CapReadJob)
	read.steps = []string{"pre-flight"}
	nodeRead := &need{what: "node read", ok: func(s nomadacl.Set) bool { return s.AllowsNode(false) }, steps: []string{"pre-flight"}}
	submit := nsNeed(nomadacl.CapSubmitJob)
	scale := nsNeed(nomadacl.CapScaleJob, nomadacl.CapSubmitJob)
	nodeWrite := &need{what: "node write", ok: func(s nomadacl.Set) bool { return s.AllowsNode(true) }}
	for _, st := range slices.Concat(plan.Steps, plan.Rollback, plan.Cleanup) {
		if st.Site != site.Name {
			continue
		}
		var n *need
		switch st.Action {
		case drills.ActionNomadStopJob, drills.ActionNomadRunJob:
			n = submit
		case drills.ActionNomadScale:
			n = scale
		case drills.ActionNomadDrainSite, drills.ActionNomadUndrainSite:
			n = nodeWrite
		case drills.ActionNomadWaitHealthy:
			n = read
		default:
			continue
		}
		n.steps = append(n.steps, st.Action+" ("+st.Name+")")
	}
	var out []*need
	for _, n := range []*need{read, nodeRead, submit, scale, nodeWrite} {
		if len(n.steps) > 0 {
			out = append(out, n)
		}
	}
	return out
}

// credentials proves that the site's token allows what the plan will do there: it reads the
// token (/v1/acl/token/self) and its policies, and checks every permission the plan's steps
// need. A token the cluster refuses, or one whose policies lack a permission, fails the
// check before anything is touched; today's alternative was a 403 from the disaster step and
// another from the rollback.
func (p *Preflighter) credentials(ctx context.Context, sc *siteClient, site *drills.Site, plan *drills.Plan) actions.PreflightCheck {
	check := actions.PreflightCheck{Check: "credentials", Site: site.Name}
	wanted := needs(site, plan)
	var tok *api.ACLToken
	err := sc.call(ctx, "read the token", 0, func(ctx context.Context) error {
		t, _, err := sc.client.ACLTokens().Self((&api.QueryOptions{}).WithContext(ctx))
		tok = t
		return err
	})
	var se *statusError
	switch {
	case errors.As(err, &se) && se.Status == 400 && strings.Contains(se.Body, "ACL support disabled"):
		check.OK, check.Detail = true, "ACLs are disabled on the cluster: every call is allowed"
		return check
	case errors.As(err, &se) && se.Status == 403:
		check.Detail = fmt.Sprintf("the cluster refuses the token (%s): the plan needs %s", se, whatList(wanted))
		return check
	case err != nil:
		check.Detail = err.Error()
		return check
	}
	if tok.Type == "management" {
		check.OK, check.Detail = true, fmt.Sprintf("management token %q: allows everything", tok.Name)
		return check
	}
	var set nomadacl.Set
	for _, name := range tok.Policies {
		var pol *api.ACLPolicy
		err := sc.call(ctx, "read policy "+name, 0, func(ctx context.Context) error {
			pl, _, err := sc.client.ACLPolicies().Info(name, (&api.QueryOptions{}).WithContext(ctx))
			pol = pl
			return err
		})
		if err != nil {
			check.Detail = fmt.Sprintf("token %q: %v", tok.Name, err)
			return check
		}
		parsed, err := nomadacl.Parse(pol.Rules)
		if err != nil {
			check.Detail = fmt.Sprintf("token %q: policy %s: %v", tok.Name, name, err)
			return check
		}
		set = append(set, parsed)
	}
	var missing []string
	for _, n := range wanted {
		if !n.ok(set) {
			missing = append(missing, fmt.Sprintf("%s (for %s)", n.what, strings.Join(n.steps, ", ")))
		}
	}
	if len(missing) > 0 {
		check.Detail = fmt.Sprintf("token %q (policies %s) does not allow %s", tok.Name, strings.Join(tok.Policies, ", "), strings.Join(missing, "; "))
		return check
	}
	check.OK = true
	check.Detail = fmt.Sprintf("token %q allows %s", tok.Name, whatList(wanted))
	return check
}

func whatList(ns []*need) string {
	w := make([]string, len(ns))
	for i, n := range ns {
		w[i] = n.what
	}
	return strings.Join(w, ", ")
}
