package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// The runs a report covers: the drills of its bundle, written with the report in its export's
// transaction. What an auditor may read of the runs is what published reports cover.

type reportRunModel struct {
	ReportID string `gorm:"column:report_id;primaryKey"`
	RunID    string `gorm:"column:run_id;primaryKey"`
}

func (reportRunModel) TableName() string { return "report_runs" }

// reportRunBatch is how many rows one INSERT of ReportRunInsertTx writes: a year's report
// covers thousands of runs.
const reportRunBatch = 500

// ReportRunInsertTx records that the draft report covers runIDs. A published report's runs
// never change (the database refuses).
func (s *Store) ReportRunInsertTx(ctx context.Context, tx *Tx, reportID string, runIDs []string) error {
	if reportID == "" {
		return errors.New("report runs insert: the report ID is required")
	}
	if len(runIDs) == 0 {
		return nil
	}
	rows := make([]reportRunModel, len(runIDs))
	for i, id := range runIDs {
		rows[i] = reportRunModel{ReportID: reportID, RunID: id}
	}
	if err := tx.with(ctx).CreateInBatches(rows, reportRunBatch).Error; err != nil {
		return fmt.Errorf("report runs insert %s: %w", reportID, translate(err))
	}
	return nil
}

// ReportRunListParams are the arguments of ReportRunList.
type ReportRunListParams struct {
	ReportID string
	// Limit defaults to DefaultRunListLimit and is capped at MaxRunListLimit.
	Limit int
}

// ReportRunPage is the first runs a report covers and how many it covers in all.
type ReportRunPage struct {
	Runs  []*Run
	Total int64
}

// ReportRunList returns the runs the report covers, oldest first, up to the limit, and how
// many it covers.
func (s *Store) ReportRunList(ctx context.Context, p *ReportRunListParams) (*ReportRunPage, error) {
	if p == nil || p.ReportID == "" {
		return nil, errors.New("report runs: the report ID is required")
	}
	db := s.db.WithContext(ctx)
	page := &ReportRunPage{}
	if err := db.Model(&reportRunModel{}).Where("report_id = ?", p.ReportID).Count(&page.Total).Error; err != nil {
		return nil, fmt.Errorf("report runs of %s: %w", p.ReportID, translate(err))
	}
	var ms []runModel
	err := db.Model(&runModel{}).Where("id IN (SELECT run_id FROM report_runs WHERE report_id = ?)", p.ReportID).
		Order("created_at, id").Limit(pageLimit(p.Limit, DefaultRunListLimit, MaxRunListLimit)).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("report runs of %s: %w", p.ReportID, translate(err))
	}
	page.Runs = make([]*Run, len(ms))
	for i := range ms {
		page.Runs[i] = runOf(&ms[i])
	}
	return page, nil
}

// RunPublished reports whether a published report covers the run.
func (s *Store) RunPublished(ctx context.Context, runID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&reportRunModel{}).Where("run_id = ? AND "+publishedReport, runID).Limit(1).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("run %s published: %w", runID, translate(err))
	}
	return n > 0, nil
}

// publishedReport is the condition, on a report_runs row, that its report is published.
const publishedReport = "EXISTS (SELECT 1 FROM reports WHERE reports.id = report_runs.report_id AND reports.state = 'published')"

// coveredByPublished keeps the runs of q that a published report covers.
func coveredByPublished(q *gorm.DB) *gorm.DB {
	return q.Where("EXISTS (SELECT 1 FROM report_runs WHERE report_runs.run_id = runs.id AND " + publishedReport + ")")
}
