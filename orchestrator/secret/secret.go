// Package secret resolves references to secrets (Nomad tokens, database DSNs, HTTP headers)
// that the configuration names but never contains. Secrets live only in memory: this package
// never logs, stores or formats a secret's value, and its errors name the reference only.
package secret

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrMissing means a referenced secret is not set.
var ErrMissing = errors.New("secret is not set")

// Ref points at a secret: an environment variable or a file. At most one is set.
type Ref struct {
	Env  string
	File string
}

// IsZero reports whether the reference names nothing (no secret is needed).
func (r Ref) IsZero() bool { return r.Env == "" && r.File == "" }

// String describes the reference, never the value: "env:NOMAD_TOKEN_SANGAM" or "file:/run/token".
func (r Ref) String() string {
	switch {
	case r.Env != "":
		return "env:" + r.Env
	case r.File != "":
		return "file:" + r.File
	}
	return "none"
}

// Resolver reads secrets. Its lookups are injectable so that the demo and tests can provide
// secrets without touching the process environment.
type Resolver struct {
	// LookupEnv defaults to os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile defaults to os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Resolve returns the secret's value. A zero Ref resolves to "". Surrounding white space
// (a trailing newline in a token file) is trimmed.
func (r *Resolver) Resolve(ref Ref) (string, error) {
	switch {
	case ref.Env != "":
		lookup := os.LookupEnv
		if r != nil && r.LookupEnv != nil {
			lookup = r.LookupEnv
		}
		v, ok := lookup(ref.Env)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s: %w", ref, ErrMissing)
		}
		return strings.TrimSpace(v), nil
	case ref.File != "":
		read := os.ReadFile
		if r != nil && r.ReadFile != nil {
			read = r.ReadFile
		}
		b, err := read(ref.File)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("%s: %w", ref, ErrMissing)
			}
			// The OS error names the path only, never the content.
			return "", fmt.Errorf("read %s: %w", ref, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s is empty: %w", ref, ErrMissing)
		}
		return v, nil
	}
	return "", nil
}

// Overlay returns a LookupEnv that answers from values first, then from the process
// environment. The demo uses it to hand generated tokens to the Nomad actions.
func Overlay(values map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if v, ok := values[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
}
