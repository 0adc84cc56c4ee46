// Package profiles holds the regulator profiles firedrill ships (kr-efsr, eu-dora,
// sg-mas-trm, uk-pra-ss1-21, us-ffiec-bcm), one HCL file each, embedded so that every command
// and the server read the same rules with nothing but the binary. Adding a profile is adding
// a file: drills.ParseProfile reads it; no Go type changes. It performs no I/O beyond its
// embedded files.
package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/firedrill/firedrill/drills"
)

// FS holds the profiles, one <id>.hcl per profile.
//
//go:embed *.hcl
var FS embed.FS

// ErrNotFound is returned by Load for an id no shipped profile has.
var ErrNotFound = errors.New("no such profile")

// IDs lists the ids of the shipped profiles, sorted.
func IDs() []string {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		// The embedded root always reads; failing here is a build defect.
		panic(fmt.Sprintf("read embedded profiles: %v", err))
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".hcl"); ok && !e.IsDir() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Load parses the shipped profile id. An unknown id gives an error wrapping ErrNotFound that
// lists the known ones; a profile that does not parse gives its diagnostics
// (drills.Diagnostics, file:line:col: message).
func Load(id string) (*drills.Profile, error) {
	ids := IDs()
	if !slices.Contains(ids, id) {
		return nil, fmt.Errorf("profile %q: %w (one of %s)", id, ErrNotFound, strings.Join(ids, ", "))
	}
	name := id + ".hcl"
	src, err := FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read profile %s: %w", name, err)
	}
	file := path.Join("profiles", name)
	p, hd := drills.ParseProfile(file, src)
	if hd.HasErrors() {
		return nil, fmt.Errorf("profile %s: %w", id, drills.DiagnosticsFromHCL(file, hd).Err())
	}
	if p.ID != id {
		return nil, fmt.Errorf("profile %s: the file declares profile %q: a profile's id is its file name", file, p.ID)
	}
	return p, nil
}

// All parses every shipped profile, sorted by id.
func All() ([]*drills.Profile, error) {
	ids := IDs()
	out := make([]*drills.Profile, 0, len(ids))
	for _, id := range ids {
		p, err := Load(id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
