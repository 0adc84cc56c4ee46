package control

import (
	"context"
	"crypto/ed25519"
	"io"

	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/report"
)

// What a regulator does with a report besides reading it: see the runs it covers, and check a
// bundle against the institution's public key, as `firedrill report verify` does offline.

// MaxReportVerifySize bounds the bundle ReportVerify checks: 256 MiB, well above a year's
// report of 100,000 runs.
const MaxReportVerifySize = 256 << 20

// ReportRunsParams ask for the runs a report covers.
type ReportRunsParams struct {
	ID string `json:"id"`
	// Limit defaults to DefaultRunListLimit, at most MaxRunListLimit.
	Limit int `json:"limit,omitempty"`
}

// ReportRuns is the first runs a report covers, oldest first, and how many it covers.
type ReportRuns struct {
	Runs  []RunSummary `json:"runs"`
	Total int64        `json:"total"`
}

// ReportRuns returns the runs a report covers: those its bundle lists. Whoever may read the
// report may read these runs (an auditor's run.read reaches exactly the runs of published
// reports).
func (c *Control) ReportRuns(ctx context.Context, caller *Caller, p *ReportRunsParams) (*ReportRuns, error) {
	if p == nil {
		p = &ReportRunsParams{}
	}
	if err := c.authorize(ctx, caller, OpReportRead, "", p.ID); err != nil {
		return nil, err
	}
	if p.Limit < 0 || p.Limit > MaxRunListLimit {
		return nil, invalidf("limit", "limit must be between 1 and %d", MaxRunListLimit)
	}
	if _, err := c.visibleReport(ctx, caller, p.ID); err != nil {
		return nil, err
	}
	page, err := c.cfg.Store.ReportRunList(ctx, &store.ReportRunListParams{ReportID: p.ID, Limit: p.Limit})
	if err != nil {
		return nil, internal(err)
	}
	ids := make([]string, len(page.Runs))
	for i, r := range page.Runs {
		ids[i] = r.ID
	}
	ms, err := c.cfg.Store.MeasurementListRuns(ctx, ids)
	if err != nil {
		return nil, internal(err)
	}
	out := &ReportRuns{Runs: make([]RunSummary, 0, len(page.Runs)), Total: page.Total}
	for _, r := range page.Runs {
		out.Runs = append(out.Runs, runSummaryOf(r, ms[r.ID]))
	}
	return out, nil
}

// PublicKeyView is the public half of the key that signs this server's bundles.
type PublicKeyView struct {
	// PEM is the SubjectPublicKeyInfo PEM that `firedrill report verify` and OpenSSL read.
	PEM         string `json:"pem"`
	Fingerprint string `json:"fingerprint"`
}

// ReportPublicKey returns the public key that verifies this server's bundles.
func (c *Control) ReportPublicKey(ctx context.Context, caller *Caller) (*PublicKeyView, error) {
	if err := c.authorize(ctx, caller, OpReportVerify, "", ""); err != nil {
		return nil, err
	}
	pub, err := c.publicKey()
	if err != nil {
		return nil, err
	}
	pem, err := report.PublicKeyPEM(pub)
	if err != nil {
		return nil, internal(err)
	}
	fp, err := report.Fingerprint(pub)
	if err != nil {
		return nil, internal(err)
	}
	return &PublicKeyView{PEM: string(pem), Fingerprint: fp}, nil
}

func (c *Control) publicKey() (ed25519.PublicKey, error) {
	if c.cfg.Reports == nil || len(c.cfg.Reports.Key) != ed25519.PrivateKeySize {
		return nil, conflictf("this server signs no reports: it was started without a signing key (--signing-key)")
	}
	return c.cfg.Reports.Key.Public().(ed25519.PublicKey), nil
}

// ReportVerify checks a bundle of size bytes against this server's public key, as `firedrill
// report verify` does: the signature, every file's hash and size, the audit chain segment
// and every RTO and RPO recomputed. A bundle that does not hold is a Verification naming its
// problems, not an error; one that is not a bundle at all is invalid.
func (c *Control) ReportVerify(ctx context.Context, caller *Caller, r io.ReaderAt, size int64) (*report.Verification, error) {
	if err := c.authorize(ctx, caller, OpReportVerify, "", ""); err != nil {
		return nil, err
	}
	switch {
	case r == nil || size <= 0:
		return nil, invalidf("bundle", "the bundle is empty: upload the report's zip")
	case size > MaxReportVerifySize:
		return nil, invalidf("bundle", "the bundle is %d bytes, more than the %d this server verifies", size, MaxReportVerifySize)
	}
	pub, err := c.publicKey()
	if err != nil {
		return nil, err
	}
	v, err := report.Verify(r, size, pub)
	if err != nil {
		return nil, &Error{Category: CategoryInvalid, Field: "bundle", Message: "the file is not a report bundle: " + err.Error(), Err: err}
	}
	return v, nil
}
