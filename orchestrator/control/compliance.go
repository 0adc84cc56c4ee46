package control

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/report"
)

// ComplianceParams ask how the estate stands under a regulator profile over a period.
type ComplianceParams struct {
	// Profile is the regulator profile (kr-efsr, eu-dora, ...). Required.
	Profile string `json:"profile"`
	// Period is as ReportExportParams.Period ("2026", "2026-H1", ...). Required.
	Period string `json:"period"`
	// Lang is the language of the reasons; empty is the profile's first.
	Lang string `json:"lang,omitempty"`
}

// ComplianceView is the profile's evaluation of the estate now: what a report exported now
// would say of each service, without building, signing or storing one.
type ComplianceView struct {
	Profile     string                  `json:"profile"`
	Period      string                  `json:"period"`
	PeriodStart time.Time               `json:"period_start"`
	PeriodEnd   time.Time               `json:"period_end"`
	Lang        string                  `json:"lang"`
	Status      drills.ComplianceStatus `json:"status"`
	// Services are in estate order, each with its measured figures from the latest drill of
	// the period that measured them.
	Services []report.Service `json:"services"`
	// EvaluatedAt is when: the runs ended by then count.
	EvaluatedAt time.Time `json:"evaluated_at"`
}

// ComplianceGet evaluates the estate under a profile over a period, as ReportExport would,
// and returns the evaluation; nothing is written. An evaluation is reused while no run ended
// and nothing was recorded, for ComplianceCacheFor and once more while it is renewed
// (complianceCache): EvaluatedAt says when it was made. The view is shared between callers:
// it must not be modified.
func (c *Control) ComplianceGet(ctx context.Context, caller *Caller, p *ComplianceParams) (*ComplianceView, error) {
	if err := c.authorize(ctx, caller, OpComplianceRead, "", ""); err != nil {
		return nil, err
	}
	if p == nil {
		p = &ComplianceParams{}
	}
	switch {
	case strings.TrimSpace(p.Profile) == "":
		return nil, invalidf("profile", "profile is required (kr-efsr, eu-dora, sg-mas-trm, uk-pra-ss1-21, us-ffiec-bcm, ...)")
	case strings.TrimSpace(p.Period) == "":
		return nil, invalidf("period", "period is required: a year (2026), a half (2026-H1), a quarter (2026-Q3) or a range (2026-01-01..2026-06-30)")
	}
	if c.cfg.Reports == nil || c.cfg.Reports.Gatherer == nil {
		return nil, conflictf("this server does not evaluate compliance: it was started without the regulator profiles")
	}
	if c.cfg.Estate == nil || c.cfg.Estate.Estate == nil {
		return nil, conflictf("this server has no estate (serve --config): compliance rates the estate's services")
	}
	g := c.cfg.Reports.Gatherer
	scope, err := g.Scope(p.Profile, p.Period, p.Lang)
	if err != nil {
		var inv *oreport.InvalidError
		if errors.As(err, &inv) {
			return nil, invalidf(inv.Field, "%s", inv.Message)
		}
		return nil, internal(err)
	}
	schedules, err := c.scheduledServices()
	if err != nil {
		return nil, err
	}
	// The audit head before the evaluation (see complianceCache).
	head, _, err := c.cfg.Store.AuditHead(ctx)
	if err != nil {
		return nil, internal(err)
	}
	now := c.cfg.Clock.Now()
	key := complianceKey{profile: scope.Profile.ID, period: scope.Period.Name, lang: scope.Lang}
	v, err := c.compliance.get(ctx, key, head, now, c.cfg.Store.AuditProgressOnly, func(ctx context.Context) (*ComplianceView, error) {
		ev, err := g.Evaluate(ctx, &oreport.EvaluateParams{Scope: scope, Now: now, Estate: c.cfg.Estate.Estate, Schedules: schedules})
		if err != nil {
			return nil, err
		}
		services := ev.Services
		if services == nil {
			services = []report.Service{}
		}
		return &ComplianceView{Profile: scope.Profile.ID, Period: scope.Period.Name, PeriodStart: scope.Period.Start, PeriodEnd: scope.Period.End,
			Lang: scope.Lang, Status: ev.Status, Services: services, EvaluatedAt: now}, nil
	})
	if err != nil {
		return nil, internal(err)
	}
	return v, nil
}
