package postgres

import (
	"strings"
	"testing"
	"time"
)

func TestParseLSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{in: "0/0", want: 0},
		{in: "0/3000148", want: 0x3000148},
		{in: "16/B374D848", want: 0x16<<32 | 0xB374D848},
		{in: "", wantErr: true},
		{in: "16", wantErr: true},
		{in: "x/1", wantErr: true},
		{in: "1/100000000", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseLSN(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseLSN(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{in: "firedrill_canary", want: `"firedrill_canary"`},
		{in: "ops.Canary_2", want: `"ops"."Canary_2"`},
		{in: "", want: ""},
		{in: "1canary", want: ""},
		{in: `canary"; drop table x; --`, want: ""},
		{in: "a.b.c", want: ""},
		{in: "a.", want: ""},
		{in: strings.Repeat("a", 64), want: ""},
	}
	for _, tt := range tests {
		id, err := parseTable(tt.in)
		got := ""
		if err == nil {
			got = id.Sanitize()
		}
		if got != tt.want {
			t.Errorf("parseTable(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	p, err := New(Config{})
	if err != nil {
		t.Fatalf("New(Config{}) = %v", err)
	}
	if p.cfg.CallTimeout != DefaultCallTimeout || p.cfg.PromoteTimeout != DefaultPromoteTimeout ||
		p.cfg.PollInterval != DefaultPollInterval || p.cfg.Clock == nil || p.cfg.Secrets == nil {
		t.Errorf("New(Config{}) did not apply the defaults: %+v", p.cfg)
	}
	tests := []struct {
		cfg  Config
		want string
	}{
		{cfg: Config{CallTimeout: -time.Second}, want: "CallTimeout"},
		{cfg: Config{PromoteTimeout: 1500 * time.Millisecond}, want: "PromoteTimeout"},
		{cfg: Config{PromoteTimeout: -time.Second}, want: "PromoteTimeout"},
		{cfg: Config{PollInterval: -time.Second}, want: "PollInterval"},
		{cfg: Config{MaxAttempts: -1}, want: "MaxAttempts"},
		{cfg: Config{RetryBackoff: -time.Second}, want: "RetryBackoff"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.want)
		}
	}
}
