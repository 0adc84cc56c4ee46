// Package password hashes and verifies the passwords of local accounts with argon2id
// (RFC 9106), in the PHC string format, and holds the password policy. It performs no I/O
// and never logs: a password or its hash is returned to the caller only.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters of a hash.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Iterations (time cost).
	Iterations uint32
	// Parallelism (lanes).
	Parallelism uint8
	// SaltLen and KeyLen in bytes.
	SaltLen, KeyLen uint32
}

// DefaultParams follow RFC 9106's second recommended option (64 MiB, 3 passes) with 2 lanes,
// the cores a small firedrill host has: about 50-100 ms per hash there.
var DefaultParams = Params{Memory: 64 * 1024, Iterations: 3, Parallelism: 2, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters Verify accepts from a stored hash, so that a tampered row cannot
// make a sign-in allocate gigabytes or spin for minutes.
const (
	maxMemory     = 1 << 20 // 1 GiB
	maxIterations = 16
	maxKeyLen     = 64
)

// Policy.
const (
	// MinLength is the shortest password accepted, in characters (NIST SP 800-63B asks 8 at
	// least; a bank's console deserves more).
	MinLength = 12
	// MaxLength bounds a password in bytes, so hashing stays bounded.
	MaxLength = 256
)

// ErrMismatch: the password does not match the hash.
var ErrMismatch = errors.New("password does not match")

// CheckPolicy returns an error, safe to show, unless pw is acceptable as a new password.
func CheckPolicy(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return errors.New("the password is not valid UTF-8")
	case utf8.RuneCountInString(pw) < MinLength:
		return fmt.Errorf("the password must be at least %d characters long", MinLength)
	case len(pw) > MaxLength:
		return fmt.Errorf("the password must be at most %d bytes long", MaxLength)
	case strings.TrimSpace(pw) == "":
		return errors.New("the password is only spaces")
	}
	return nil
}

// Hash returns the PHC-format argon2id hash of pw with a fresh random salt:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key> (base64 without padding).
func Hash(pw string, p Params) (string, error) {
	if p.Memory == 0 || p.Iterations == 0 || p.Parallelism == 0 || p.SaltLen < 8 || p.KeyLen < 16 {
		return "", fmt.Errorf("argon2id params %+v: memory, iterations and parallelism must be set, salt at least 8 bytes, key at least 16", p)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify returns nil when pw matches encoded, ErrMismatch when it does not, and another
// error when encoded is not an argon2id hash this package accepts. The keys are compared in
// constant time.
func Verify(encoded, pw string) error {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

// NeedsRehash reports whether encoded was made with parameters other than p.
func NeedsRehash(encoded string, p Params) bool {
	got, salt, key, err := decode(encoded)
	return err != nil || got.Memory != p.Memory || got.Iterations != p.Iterations ||
		got.Parallelism != p.Parallelism || uint32(len(salt)) != p.SaltLen || uint32(len(key)) != p.KeyLen
}

func decode(encoded string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("argon2id version %q: want v=%d", parts[2], argon2.Version)
	}
	var m, t uint32
	var par uint8
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &par); err != nil || n != 3 {
		return p, nil, nil, fmt.Errorf("argon2id parameters %q: want m=N,t=N,p=N", parts[3])
	}
	if m == 0 || m > maxMemory || t == 0 || t > maxIterations || par == 0 {
		return p, nil, nil, fmt.Errorf("argon2id parameters %q are out of bounds", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("argon2id salt is not base64 of 8 bytes or more")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("argon2id key is not base64 of 16 to %d bytes", maxKeyLen)
	}
	p = Params{Memory: m, Iterations: t, Parallelism: par, SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}
