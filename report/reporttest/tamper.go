// Package reporttest helps tests of what reads report bundles: it alters a bundle as someone
// tampering with it would. Only tests import it.
package reporttest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
)

// FlipByte returns b with its middle byte changed: one altered byte, what a hash must catch.
func FlipByte(b []byte) []byte {
	c := bytes.Clone(b)
	if len(c) > 0 {
		c[len(c)/2] ^= 0x20
	}
	return c
}

// Tamper returns the bundle with the file name's bytes changed by edit, every other file as
// it was, and the manifest neither brought in step nor signed again.
func Tamper(bundle []byte, name string, edit func([]byte) []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		return nil, fmt.Errorf("tamper: %w", err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("tamper: %s: %w", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("tamper: %s: %w", f.Name, err)
		}
		if f.Name == name {
			b, found = edit(b), true
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(b); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fmt.Errorf("tamper: the bundle has no %s", name)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
