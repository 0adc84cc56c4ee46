package secret_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/orchestrator/secret"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cr3t-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := &secret.Resolver{LookupEnv: func(k string) (string, bool) {
		if k == "TOKEN" {
			return " s3cr3t-env ", true
		}
		return "", false
	}}
	tests := []struct {
		ref     secret.Ref
		want    string
		wantErr error
	}{
		{ref: secret.Ref{}, want: ""},
		{ref: secret.Ref{Env: "TOKEN"}, want: "s3cr3t-env"},
		{ref: secret.Ref{Env: "UNSET"}, wantErr: secret.ErrMissing},
		{ref: secret.Ref{File: tokenFile}, want: "s3cr3t-file"},
		{ref: secret.Ref{File: filepath.Join(dir, "nope")}, wantErr: secret.ErrMissing},
		{ref: secret.Ref{File: emptyFile}, wantErr: secret.ErrMissing},
	}
	for _, tt := range tests {
		got, err := r.Resolve(tt.ref)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("Resolve(%v) = %q, %v; want %q, %v", tt.ref, got, err, tt.want, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Resolve(%v) error leaks the secret: %v", tt.ref, err)
		}
	}
}

func TestRefStringNeverHoldsValue(t *testing.T) {
	t.Parallel()
	if got := (secret.Ref{Env: "NOMAD_TOKEN"}).String(); got != "env:NOMAD_TOKEN" {
		t.Errorf("String() = %q, want env:NOMAD_TOKEN", got)
	}
	if got := (secret.Ref{}).String(); got != "none" {
		t.Errorf("String() = %q, want none", got)
	}
}
