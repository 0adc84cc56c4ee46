package control

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/firedrill/firedrill/drills"
	oreport "github.com/firedrill/firedrill/orchestrator/report"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/report"
)

// Reports is what the report operations need beyond the store: the gatherer (profiles and
// their evaluation wired in), the institution's signing key and the PDF renderer.
type Reports struct {
	// Gatherer is required.
	Gatherer *oreport.Gatherer
	// Key signs every bundle; required. It lives in a file (report.LoadOrCreateSigningKey),
	// never in the database.
	Key ed25519.PrivateKey
	// PDF renders report.pdf; nil leaves report.pdf out of the bundles.
	PDF report.PDFRenderer
	// Institution is who reports, on every report's cover.
	Institution string
	// TempDir holds a bundle while it is built, before it is stored; "" is the system's.
	TempDir string
}

// ReportView is a stored report, as the API and CLI show it.
type ReportView struct {
	ID          string        `json:"id"`
	Version     int           `json:"version"`
	Replaces    string        `json:"replaces,omitempty"`
	Profile     string        `json:"profile"`
	Period      string        `json:"period"`
	PeriodStart time.Time     `json:"period_start"`
	PeriodEnd   time.Time     `json:"period_end"`
	Lang        string        `json:"lang"`
	State       string        `json:"state"`
	CreatedBy   drills.Actor  `json:"created_by"`
	CreatedAt   time.Time     `json:"created_at"`
	PublishedBy *drills.Actor `json:"published_by,omitempty"`
	PublishedAt *time.Time    `json:"published_at,omitempty"`
	// ManifestSHA256 is the SHA-256 of the bundle's manifest.json: what its signature covers.
	ManifestSHA256        string `json:"manifest_sha256"`
	Size                  int64  `json:"size"`
	SigningKeyFingerprint string `json:"signing_key_fingerprint"`
}

func reportViewOf(r *store.Report) *ReportView {
	v := &ReportView{
		ID: r.ID, Version: r.Version, Replaces: r.ReplacesID, Profile: r.Profile, Period: r.Period,
		PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodEnd, Lang: r.Lang, State: r.State, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, PublishedAt: r.PublishedAt, ManifestSHA256: r.ManifestSHA256, Size: r.Size,
		SigningKeyFingerprint: r.SigningKeyFingerprint,
	}
	if !r.PublishedBy.IsZero() {
		by := r.PublishedBy
		v.PublishedBy = &by
	}
	return v
}

// ReportExportParams ask for a draft report.
type ReportExportParams struct {
	// Profile is the regulator profile (kr-efsr, eu-dora, ...).
	Profile string `json:"profile"`
	// Period is "2026", "2026-H1", "2026-Q3" or "2026-01-01..2026-06-30".
	Period string `json:"period"`
	// Lang is one of the profile's report languages; empty is its first.
	Lang string `json:"lang,omitempty"`
	// Replaces names the published report this draft corrects: it becomes the next version,
	// for the same profile and period.
	Replaces string `json:"replaces,omitempty"`
}

// ReportListParams filter ReportList.
type ReportListParams struct {
	State   string `json:"state,omitempty"`
	Profile string `json:"profile,omitempty"`
	Period  string `json:"period,omitempty"`
	Limit   int    `json:"limit,omitempty"`
}

// Report operations' record names.
const (
	recReportExport  = string(OpReportExport)
	recReportPublish = string(OpReportPublish)
)

// seesDrafts tells whether the caller reads draft reports: every role that reads reports
// does, except the auditor's, which sees published reports only (Scopes).
func seesDrafts(caller *Caller) bool { return !Scoped(OpReportRead, caller) }

func (c *Control) reports() (*Reports, error) {
	if c.cfg.Reports == nil || c.cfg.Reports.Gatherer == nil || len(c.cfg.Reports.Key) != ed25519.PrivateKeySize {
		return nil, conflictf("this server does not export reports: it was started without the regulator profiles or a signing key (--signing-key)")
	}
	return c.cfg.Reports, nil
}

// ReportExport builds, signs and stores a draft report of a profile over a period, and
// records the export. The runs it covers are those created in the period and ended by now.
func (c *Control) ReportExport(ctx context.Context, caller *Caller, p *ReportExportParams) (*ReportView, error) {
	name := recReportExport
	if err := c.authorize(ctx, caller, OpReportExport, name, ""); err != nil {
		return nil, err
	}
	if p == nil {
		p = &ReportExportParams{}
	}
	target := p.Profile + " " + p.Period
	fail := func(err error) error { return c.failed(ctx, caller, name, target, err, "report "+p.Replaces, nil) }
	switch {
	case strings.TrimSpace(p.Profile) == "":
		return nil, fail(invalidf("profile", "profile is required (kr-efsr, eu-dora, sg-mas-trm, uk-pra-ss1-21, us-ffiec-bcm, ...)"))
	case strings.TrimSpace(p.Period) == "":
		return nil, fail(invalidf("period", "period is required: a year (2026), a half (2026-H1), a quarter (2026-Q3) or a range (2026-01-01..2026-06-30)"))
	}
	rs, err := c.reports()
	if err != nil {
		return nil, fail(err)
	}
	if c.cfg.Estate == nil || c.cfg.Estate.Estate == nil {
		return nil, fail(conflictf("this server has no estate (serve --config): a report rates the estate's services"))
	}
	version := 1
	if p.Replaces != "" {
		old, err := c.cfg.Store.ReportGet(ctx, p.Replaces)
		if err != nil {
			return nil, fail(err)
		}
		switch {
		case old.State != store.ReportPublished:
			return nil, fail(invalidf("replaces", "report %s is a draft: export again instead of correcting it", old.ID))
		case old.Profile != p.Profile || old.Period != p.Period:
			return nil, fail(invalidf("replaces", "report %s is of %s %s: a correction keeps its profile and period", old.ID, old.Profile, old.Period))
		}
		version = old.Version + 1
	}
	scope, err := rs.Gatherer.Scope(p.Profile, p.Period, p.Lang)
	if err != nil {
		var inv *oreport.InvalidError
		if errors.As(err, &inv) {
			return nil, fail(invalidf(inv.Field, "%s", inv.Message))
		}
		return nil, fail(internal(err))
	}
	schedules, err := c.scheduledServices()
	if err != nil {
		return nil, fail(err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fail(internal(err))
	}
	now := c.cfg.Clock.Now()
	tmp, err := os.CreateTemp(rs.TempDir, "firedrill-report-*.zip")
	if err != nil {
		return nil, fail(internal(err))
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	m, _, err := rs.Gatherer.Export(ctx, tmp, &oreport.ExportParams{
		Scope: scope, ID: "R-" + id.String(), Version: version, Replaces: p.Replaces, Institution: rs.Institution,
		GeneratedBy: caller.Actor.String(), Now: now, Estate: c.cfg.Estate.Estate, Key: rs.Key, PDF: rs.PDF,
		Schedules: schedules,
	})
	if err != nil {
		return nil, fail(internal(err))
	}
	runIDs, err := bundleRunIDs(ctx, tmp)
	if err != nil {
		return nil, fail(internal(err))
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fail(internal(err))
	}
	var stored *store.Report
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		stored, err = c.cfg.Store.ReportInsertTx(ctx, tx, &store.ReportInsertParams{
			ID: m.ReportID, Version: version, ReplacesID: p.Replaces, Profile: scope.Profile.ID, Period: scope.Period.Name,
			PeriodStart: scope.Period.Start, PeriodEnd: scope.Period.End, Lang: scope.Lang, CreatedBy: caller.Actor, At: now,
			ManifestSHA256: m.SHA256, SigningKeyFingerprint: m.SigningKeyFingerprint, Bundle: tmp,
		})
		if err != nil {
			return err
		}
		if err := c.cfg.Store.ReportRunInsertTx(ctx, tx, stored.ID, runIDs); err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, name, stored.ID, "report exported", map[string]any{
			"profile": stored.Profile, "period": stored.Period, "lang": stored.Lang, "version": version, "replaces": p.Replaces,
			"manifest_sha256": m.SHA256, "size": stored.Size, "runs": len(runIDs),
		})
	})
	if err != nil {
		return nil, fail(err)
	}
	return reportViewOf(stored), nil
}

// bundleRunIDs reads the runs a bundle covers from the bundle itself (its drills, one a run,
// as report.json and runs.csv list them), so that report_runs says exactly what the bundle
// shows a regulator.
func bundleRunIDs(ctx context.Context, f *os.File) ([]string, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b, err := report.OpenBundle(f, fi.Size())
	if err != nil {
		return nil, err
	}
	var ids []string
	for d, err := range b.Drills(ctx) {
		if err != nil {
			return nil, fmt.Errorf("the runs of the bundle: %w", err)
		}
		ids = append(ids, d.RunID)
	}
	return ids, nil
}

// ReportList lists reports, newest first. An auditor sees published reports only.
func (c *Control) ReportList(ctx context.Context, caller *Caller, p *ReportListParams) ([]*ReportView, error) {
	if err := c.authorize(ctx, caller, OpReportRead, "", ""); err != nil {
		return nil, err
	}
	if p == nil {
		p = &ReportListParams{}
	}
	switch p.State {
	case "", store.ReportDraft, store.ReportPublished:
	default:
		return nil, invalidf("state", "state %q is neither draft nor published", p.State)
	}
	if p.Limit < 0 || p.Limit > 1000 {
		return nil, invalidf("limit", "limit %d is not between 1 and 1000", p.Limit)
	}
	sp := &store.ReportListParams{State: p.State, Profile: p.Profile, Period: p.Period, Limit: p.Limit}
	if !seesDrafts(caller) {
		if p.State == store.ReportDraft {
			return []*ReportView{}, nil
		}
		sp.State = store.ReportPublished
	}
	rs, err := c.cfg.Store.ReportList(ctx, sp)
	if err != nil {
		return nil, internal(err)
	}
	out := make([]*ReportView, len(rs))
	for i, r := range rs {
		out[i] = reportViewOf(r)
	}
	return out, nil
}

// visibleReport returns the report id if the caller may see it: a draft is not found for
// whoever sees published reports only.
func (c *Control) visibleReport(ctx context.Context, caller *Caller, id string) (*store.Report, error) {
	if strings.TrimSpace(id) == "" {
		return nil, invalidf("id", "a report ID is required")
	}
	r, err := c.cfg.Store.ReportGet(ctx, id)
	if err != nil {
		return nil, storeError(err, "report "+id, nil)
	}
	if r.State != store.ReportPublished && !seesDrafts(caller) {
		return nil, notFoundf("report %s not found", id)
	}
	return r, nil
}

// ReportGet returns one report.
func (c *Control) ReportGet(ctx context.Context, caller *Caller, id string) (*ReportView, error) {
	if err := c.authorize(ctx, caller, OpReportRead, "", id); err != nil {
		return nil, err
	}
	r, err := c.visibleReport(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	return reportViewOf(r), nil
}

// ReportBundle writes the report's bundle (the signed zip) to w, a chunk at a time.
// start is called with the report before the first byte is written, so that a front end can
// set its headers; a failure after it has been called leaves w incomplete.
func (c *Control) ReportBundle(ctx context.Context, caller *Caller, id string, start func(*ReportView), w io.Writer) error {
	if err := c.authorize(ctx, caller, OpReportRead, "", id); err != nil {
		return err
	}
	r, err := c.visibleReport(ctx, caller, id)
	if err != nil {
		return err
	}
	if start != nil {
		start(reportViewOf(r))
	}
	if _, err := c.cfg.Store.ReportBundleCopy(ctx, id, w); err != nil {
		return storeError(err, "report "+id, nil)
	}
	return nil
}

// ReportPublish publishes a draft: the same report, its state published and the caller's
// sign-off in it, signed again; from then on it never changes. The publication is recorded.
func (c *Control) ReportPublish(ctx context.Context, caller *Caller, id string) (*ReportView, error) {
	name := recReportPublish
	if err := c.authorize(ctx, caller, OpReportPublish, name, id); err != nil {
		return nil, err
	}
	fail := func(err error) error { return c.failed(ctx, caller, name, id, err, "report "+id, nil) }
	if strings.TrimSpace(id) == "" {
		return nil, fail(invalidf("id", "a report ID is required"))
	}
	rs, err := c.reports()
	if err != nil {
		return nil, fail(err)
	}
	r, err := c.cfg.Store.ReportGet(ctx, id)
	if err != nil {
		return nil, fail(err)
	}
	if r.State == store.ReportPublished {
		return nil, fail(conflictf("report %s is already published (by %s at %s): a correction is a new version (report export --replaces %s)",
			id, r.PublishedBy, r.PublishedAt.Format(time.RFC3339), id))
	}
	fp, err := report.Fingerprint(rs.Key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fail(internal(err))
	}
	if fp != r.SigningKeyFingerprint {
		return nil, fail(conflictf("report %s was signed by key %s, but this server signs with %s: export it again", id, r.SigningKeyFingerprint, fp))
	}
	draft, err := os.CreateTemp(rs.TempDir, "firedrill-draft-*.zip")
	if err != nil {
		return nil, fail(internal(err))
	}
	defer func() {
		draft.Close()
		os.Remove(draft.Name())
	}()
	size, err := c.cfg.Store.ReportBundleCopy(ctx, id, draft)
	if err != nil {
		return nil, fail(err)
	}
	b, err := report.OpenBundle(draft, size)
	if err != nil {
		return nil, fail(internal(fmt.Errorf("report %s: %w", id, err)))
	}
	pub, err := os.CreateTemp(rs.TempDir, "firedrill-published-*.zip")
	if err != nil {
		return nil, fail(internal(err))
	}
	defer func() {
		pub.Close()
		os.Remove(pub.Name())
	}()
	now := c.cfg.Clock.Now()
	m, err := report.Publish(ctx, pub, b, report.SignOff{PublishedBy: caller.Actor.String(), PublishedAt: now}, rs.Key, rs.PDF)
	if err != nil {
		return nil, fail(internal(err))
	}
	if _, err := pub.Seek(0, io.SeekStart); err != nil {
		return nil, fail(internal(err))
	}
	var stored *store.Report
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		stored, err = c.cfg.Store.ReportPublishTx(ctx, tx, &store.ReportPublishParams{ID: id, By: caller.Actor, At: now, ManifestSHA256: m.SHA256, Bundle: pub})
		if err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, name, id, "report published", map[string]any{
			"profile": stored.Profile, "period": stored.Period, "version": stored.Version, "manifest_sha256": m.SHA256,
			"draft_manifest_sha256": r.ManifestSHA256,
		})
	})
	if err != nil {
		return nil, fail(err)
	}
	return reportViewOf(stored), nil
}

// scheduledServices is each schedule of the estate with the services its plan fails over,
// read from the plan file as the scheduler reads it. A plan that cannot be read fails the
// export: counting its fires for no service would understate the drills due.
func (c *Control) scheduledServices() ([]oreport.ScheduledServices, error) {
	est := c.cfg.Estate
	var out []oreport.ScheduledServices
	for _, sch := range est.Estate.Schedules {
		src, err := readPlanFile(est, sch.Plan)
		if err != nil {
			return nil, conflictf("schedule %s: its plan cannot be read (%v): the drills it made due cannot be counted", sch.Name, err)
		}
		plan, diags := drills.ParsePlan(src, sch.Plan)
		if plan == nil || diags.HasErrors() {
			return nil, conflictf("schedule %s: its plan %s does not parse: the drills it made due cannot be counted", sch.Name, sch.Plan)
		}
		out = append(out, oreport.ScheduledServices{Schedule: sch.Name, Services: slices.Clone(plan.Services)})
	}
	return out, nil
}
