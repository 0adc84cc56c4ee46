package report

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// PEM block types of the signing key files.
const (
	privateKeyPEMType = "PRIVATE KEY"
	publicKeyPEMType  = "PUBLIC KEY"
)

// LoadOrCreateSigningKey reads the institution's Ed25519 signing key from path (a PKCS#8 PEM
// file), generating it there with mode 0600 when the file does not exist yet. The key lives
// only in that file: never in the database or the logs. created says whether it was made now.
func LoadOrCreateSigningKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	if path == "" {
		return nil, false, errors.New("signing key: no path (set --signing-key or FIREDRILL_SIGNING_KEY)")
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := ParsePrivateKeyPEM(b)
		if err != nil {
			return nil, false, fmt.Errorf("signing key %s: %w", path, err)
		}
		return key, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: generate: %w", path, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	// O_EXCL: two replicas generating at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreateSigningKey(path)
		}
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: privateKeyPEMType, Bytes: der})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, fmt.Errorf("signing key %s: write: %w", path, werr)
	}
	return key, true, nil
}

// ParsePrivateKeyPEM parses a PKCS#8 PEM Ed25519 private key.
func ParsePrivateKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != privateKeyPEMType {
		return nil, fmt.Errorf("not a PEM %q block", privateKeyPEMType)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PKCS#8: %w", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the key is a %T, not Ed25519", k)
	}
	return key, nil
}

// PublicKeyPEM encodes pub as a PEM SPKI ("PUBLIC KEY") block, the form openssl reads.
func PublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: publicKeyPEMType, Bytes: der}), nil
}

// ParsePublicKeyPEM parses a PEM SPKI Ed25519 public key.
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != publicKeyPEMType {
		return nil, fmt.Errorf("not a PEM %q block", publicKeyPEMType)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("SPKI: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the key is a %T, not Ed25519", k)
	}
	return pub, nil
}

// Fingerprint is the hex SHA-256 of pub's SPKI DER: what a report's cover names, and what a
// regulator compares with the key the institution gave them.
func Fingerprint(pub ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}
