package main

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the report as the tables bench/README.md shows.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s; PostgreSQL %s; %s.\n\n", r.Machine, r.PostgresVersion, r.Started.UTC().Format(time.RFC3339))
	if s := r.Seed; s != nil {
		fmt.Fprintf(&b, "Seeded %d runs, %d step results, %d measurements (%d measurement events), %d approvals, %d run events with %d audit rows in %s (+ %s VACUUM ANALYZE, %s measurement events and audit chain).\n\n",
			s.Runs, s.Steps, s.Measurements, s.MeasurementEvents, s.Approvals, s.Events, s.AuditRows,
			s.Took.Round(time.Second), s.Analyze.Round(time.Second), s.AuditTook.Round(time.Second))
	}
	b.WriteString("| round | COPY | COPY MB | export | export / COPY | peak RSS (ru_maxrss) | VmHWM | bundle MB | loadavg before | after |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for i, rd := range r.Rounds {
		fmt.Fprintf(&b, "| %d | %s | %d | %s | %.2fx | %d MB | %d MB | %d | %s | %s |\n", i+1,
			rd.CopyTook.Round(10*time.Millisecond), rd.CopyBytes>>20, rd.Export.Took.Round(10*time.Millisecond), rd.Ratio(),
			rd.MaxRSS>>20, rd.Export.VmHWM>>20, rd.Export.Bytes>>20, rd.LoadBefore, rd.LoadAfter)
	}
	if len(r.Rounds) > 0 {
		rd := r.Rounds[0]
		fmt.Fprintf(&b, "\nRows copied: ")
		for i, s := range copyStatements() {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", s[0], rd.CopyRows[s[0]])
		}
		fmt.Fprintf(&b, ". Drills in the report: %d.\n\nBundle files (uncompressed):", rd.Export.Drills)
		for i, f := range r.Files {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %s %.1f MB", f.Name, float64(f.Size)/(1<<20))
		}
		b.WriteString(".\n")
	}
	if v := r.Verification; v != nil {
		fmt.Fprintf(&b, "\nreport.Verify of round 1's bundle: %d files, signature %t, %d audit rows, %d figures recomputed, %d problems (%s).\n",
			v.Files, v.SignatureValid, v.AuditRows, v.Figures, len(v.Problems), r.VerifyTook.Round(time.Millisecond))
	}
	return b.String()
}
