package report

import (
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// csvTimeLayout writes times in runs.csv: UTC, milliseconds, as stored.
const csvTimeLayout = "2006-01-02T15:04:05.000Z"

// RunsCSVHeader is the first row of runs.csv: one row per step result follows.
var RunsCSVHeader = []string{
	"run_id", "plan", "plan_sha256", "run_state", "passed", "forced",
	"step_key", "step_name", "action", "site", "service", "attempt", "step_state",
	"started_at", "ended_at", "duration_ms", "error",
}

// runsCSVWriter writes runs.csv: the header row, then a row per step result of each drill.
type runsCSVWriter struct{ cw *csv.Writer }

func newRunsCSVWriter(w io.Writer) (*runsCSVWriter, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(RunsCSVHeader); err != nil {
		return nil, err
	}
	return &runsCSVWriter{cw: cw}, nil
}

func (c *runsCSVWriter) drill(d *Drill) error {
	for _, s := range d.Steps {
		row := []string{
			d.RunID, d.Plan, d.PlanSHA256, string(d.State), strconv.FormatBool(d.Passed), strconv.FormatBool(d.Forced),
			s.Key, s.Name, s.Action, s.Site, s.Service, strconv.Itoa(s.Attempt), string(s.State),
			s.StartedAt.UTC().Format(csvTimeLayout), csvTime(s.EndedAt), csvInt(s.DurationMS), s.Error,
		}
		if err := c.cw.Write(row); err != nil {
			return err
		}
	}
	return nil
}

func (c *runsCSVWriter) end() error {
	c.cw.Flush()
	return c.cw.Error()
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(csvTimeLayout)
}

func csvInt(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

// The JUnit XML shape CI tools read: a testsuite per run, a testcase per step result.
type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
}

// junitWriter writes junit.xml: a testsuite per drill within one testsuites element.
type junitWriter struct {
	w   io.Writer
	enc *xml.Encoder
}

func newJUnitWriter(w io.Writer, h *Header) (*junitWriter, error) {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(w, "<testsuites name=%q>\n", xmlAttr("firedrill "+h.Profile.ID+" "+h.Period.Name)); err != nil {
		return nil, err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("  ", "  ")
	return &junitWriter{w: w, enc: enc}, nil
}

func (j *junitWriter) drill(d *Drill) error {
	if err := j.enc.Encode(junitSuiteOf(d)); err != nil {
		return fmt.Errorf("run %s: %w", d.RunID, err)
	}
	if err := j.enc.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(j.w, "\n")
	return err
}

func (j *junitWriter) end() error {
	_, err := io.WriteString(j.w, "</testsuites>\n")
	return err
}

// xmlAttr escapes s for an attribute value written by hand.
func xmlAttr(s string) string {
	var b []byte
	for _, r := range s {
		switch r {
		case '"', '&', '<', '>':
			b = fmt.Appendf(b, "&#%d;", r)
		default:
			b = append(b, string(r)...)
		}
	}
	return string(b)
}

func junitSuiteOf(d *Drill) *junitSuite {
	s := &junitSuite{
		Name: d.RunID, Tests: len(d.Steps), Timestamp: d.CreatedAt.UTC().Format(csvTimeLayout),
		Properties: []junitProperty{
			{"plan", d.Plan}, {"plan_sha256", d.PlanSHA256}, {"run_state", string(d.State)},
			{"passed", strconv.FormatBool(d.Passed)}, {"forced", strconv.FormatBool(d.Forced)},
		},
	}
	var total int64
	for _, st := range d.Steps {
		c := junitCase{Name: st.Key, Classname: d.Plan, Time: seconds(st.DurationMS)}
		if st.Attempt > 1 {
			c.Name = fmt.Sprintf("%s (attempt %d)", st.Key, st.Attempt)
		}
		if st.DurationMS != nil {
			total += *st.DurationMS
		}
		switch st.State {
		case drills.StepFailed:
			c.Failure = &junitProblem{Message: st.Error, Type: string(st.State)}
			s.Failures++
		case drills.StepSucceeded:
		case drills.StepSkipped:
			c.Skipped = &junitProblem{Message: st.Error}
			s.Skipped++
		default:
			// unknown, aborted, still running: the step has no verdict of its own.
			c.Error = &junitProblem{Message: st.Error, Type: string(st.State)}
			s.Errors++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Time = seconds(&total)
	return s
}

func seconds(ms *int64) string {
	if ms == nil {
		return "0"
	}
	return strconv.FormatFloat(float64(*ms)/1000, 'f', 3, 64)
}
