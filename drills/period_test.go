package drills_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		in         string
		loc        *time.Location
		start, end string
		ko, en     string
	}{
		{"2026", nil, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2026년", "2026"},
		// A Korean bank's year starts at midnight KST, 15:00 UTC the day before.
		{"2026", seoul, "2025-12-31T15:00:00Z", "2026-12-31T15:00:00Z", "2026년", "2026"},
		{"2026-H1", nil, "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026년 상반기", "the first half of 2026"},
		{"2026-H2", nil, "2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2026년 하반기", "the second half of 2026"},
		{"2026-Q3", nil, "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2026년 3분기", "Q3 2026"},
		{"2026-Q4", nil, "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z", "2026년 4분기", "Q4 2026"},
		// Both days are included.
		{"2026-01-01..2026-06-30", nil, "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-01-01~2026-06-30", "2026-01-01 to 2026-06-30"},
		{"2026-03-05..2026-03-05", nil, "2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z", "2026-03-05~2026-03-05", "2026-03-05 to 2026-03-05"},
	}
	for _, tt := range tests {
		p, err := drills.ParsePeriod(tt.in, tt.loc)
		if err != nil {
			t.Errorf("ParsePeriod(%q) = %v", tt.in, err)
			continue
		}
		if !p.Start.Equal(utc(tt.start)) || !p.End.Equal(utc(tt.end)) || p.Start.Location() != time.UTC || p.Name != tt.in {
			t.Errorf("ParsePeriod(%q) = %s [%v, %v), want [%s, %s) in UTC", tt.in, p.Name, p.Start, p.End, tt.start, tt.end)
		}
		if got := p.Label("ko"); got != tt.ko {
			t.Errorf("ParsePeriod(%q).Label(ko) = %q, want %q", tt.in, got, tt.ko)
		}
		if got := p.Label("en"); got != tt.en {
			t.Errorf("ParsePeriod(%q).Label(en) = %q, want %q", tt.in, got, tt.en)
		}
		if !p.Contains(p.Start) || p.Contains(p.End) || !p.Contains(p.End.Add(-time.Millisecond)) {
			t.Errorf("ParsePeriod(%q) is not [Start, End)", tt.in)
		}
	}
}

func TestParsePeriodErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "write a year (2026)"},
		{"26", "write a year (2026)"},
		{"2026-H3", "write a year"},
		{"2026-Q0", "write a year"},
		{"2026-13-01..2026-12-31", "2026-13-01 is not a date"},
		{"2026-02-30..2026-03-01", "2026-02-30 is not a date"},
		{"2026-06-30..2026-01-01", "ends before it starts"},
		{"1999", "between 2000 and 9998"},
		{" 2026", "write a year"},
	}
	for _, tt := range tests {
		_, err := drills.ParsePeriod(tt.in, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParsePeriod(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{90 * 24 * time.Hour, "90d"},
		{36 * time.Hour, "1d12h"},
		{3 * time.Hour, "3h"},
		{90 * time.Minute, "1h30m"},
		{319 * time.Millisecond, "319ms"},
		{24*time.Hour + time.Second, "1d1s"},
	}
	for _, tt := range tests {
		got := drills.FormatDuration(tt.d)
		if got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
		if back, err := drills.ParseDuration(got); err != nil || back != tt.d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", tt.d, back, err)
		}
	}
}
