package httpaction

import (
	"context"
	"fmt"
	"net/http"

	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Preflighter checks, before a run touches anything, that every service of the plan passes
// its HTTP checks on the plan's from site: a service that does not serve there has nothing
// to fail over, and a drill that "restores" it proves nothing.
type Preflighter struct{ wait *WaitHealthy }

// NewPreflighter returns the HTTP pre-flight checks, with the same configuration (client,
// timeouts, secrets) as the actions.
func NewPreflighter(cfg Config) *Preflighter {
	for _, a := range Actions(cfg) {
		if w, ok := a.(*WaitHealthy); ok {
			return &Preflighter{wait: w}
		}
	}
	panic("httpaction: Actions has no WaitHealthy")
}

// Preflight implements actions.Preflighter: one "serving" check per service of the plan
// that has checks, each check polled once on the from site.
func (p *Preflighter) Preflight(ctx context.Context, req *actions.PreflightRequest) []actions.PreflightCheck {
	from := req.Config.Site(req.Plan.From)
	if from == nil {
		return nil
	}
	var out []actions.PreflightCheck
	for _, name := range req.Plan.Services {
		svc := req.Config.Service(name)
		if svc == nil || len(svc.Checks) == 0 {
			continue
		}
		check := actions.PreflightCheck{Check: "serving", Site: from.Name, Subject: svc.Name + " checks", OK: true,
			Detail: fmt.Sprintf("%d checks pass on %s", len(svc.Checks), from.Name)}
		for _, c := range svc.Checks {
			url := ExpandURL(c.URL, from)
			prepared, err := p.wait.prepare(c)
			if err == nil {
				err = p.wait.probe(ctx, url, c, prepared, p.wait.cfg.RequestTimeout)
			}
			if err != nil {
				check.OK = false
				check.Detail = fmt.Sprintf("%s is not serving on %s: nothing to fail over (%s %s: %v)", svc.Name, from.Name, http.MethodGet, url, err)
				break
			}
		}
		out = append(out, check)
	}
	return out
}

var _ actions.Preflighter = (*Preflighter)(nil)
