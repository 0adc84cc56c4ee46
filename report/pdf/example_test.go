package pdf_test

import (
	"bytes"
	"fmt"
	"iter"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/report/pdf"
)

// A report is rendered from its header and its drills, streamed: the bundle writer passes the
// drills as it reads them from the database, and the renderer reads each once.
func ExampleRenderer_Render() {
	h := &report.Header{
		ID: "R-2027-0001", Version: 1, State: "draft", Language: "en",
		Institution: "Hanbit Bank Co., Ltd.",
		Profile:     report.ProfileRef{ID: "kr-efsr", Title: "Electronic Financial Supervisory Regulation"},
		Period: report.PeriodRef{Name: "2026",
			Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		GeneratedAt: time.Date(2027, 1, 5, 1, 30, 0, 0, time.UTC),
		Summary:     report.Summary{Status: drills.Compliant, Drills: 1, DrillsPassed: 1},
	}
	var drillsOfThePeriod iter.Seq2[*report.Drill, error] = func(yield func(*report.Drill, error) bool) {
		yield(&report.Drill{RunID: "run-1", Plan: "payments-failover", State: drills.RunSucceeded, Passed: true,
			CreatedAt: time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)}, nil)
	}

	r, err := pdf.New(pdf.Config{MaxDrillSections: 50})
	if err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer
	if err := r.Render(&out, h, drillsOfThePeriod); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bytes.HasPrefix(out.Bytes(), []byte("%PDF-")))
	// Output: true
}
