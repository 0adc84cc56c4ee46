package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/internal/password"
)

// cheap keeps the tests fast; the format and the comparison are the same.
var cheap = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h, err := password.Hash("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("Hash = %q, want a PHC argon2id string with its parameters", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Errorf("Hash %q contains the password", h)
	}
	if err := password.Verify(h, "correct horse battery"); err != nil {
		t.Errorf("Verify(right password) = %v", err)
	}
	if err := password.Verify(h, "correct horse batterY"); !errors.Is(err, password.ErrMismatch) {
		t.Errorf("Verify(wrong password) = %v, want ErrMismatch", err)
	}
	h2, _ := password.Hash("correct horse battery", cheap)
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if password.NeedsRehash(h, cheap) || !password.NeedsRehash(h, password.DefaultParams) {
		t.Error("NeedsRehash does not compare the parameters")
	}
}

func TestDefaultParamsHash(t *testing.T) {
	t.Parallel()
	h, err := password.Hash("a long enough password", password.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("Hash = %q", h)
	}
	if err := password.Verify(h, "a long enough password"); err != nil {
		t.Error(err)
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	t.Parallel()
	good, _ := password.Hash("correct horse battery", cheap)
	parts := strings.Split(good, "$")
	tests := []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=18$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4194304,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=100,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$AAAA",
	}
	for _, h := range tests {
		err := password.Verify(h, "correct horse battery")
		if err == nil || errors.Is(err, password.ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want a malformed-hash error", h, err)
		}
	}
}

func TestCheckPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pw string
		ok bool
	}{
		{"short", false},
		{"elevenchars", false},
		{"twelve chars", true},
		{"비밀번호는열두글자이상입니다", true},
		{strings.Repeat(" ", 20), false},
		{strings.Repeat("a", password.MaxLength+1), false},
		{"\xff\xfe invalid utf8 here", false},
	}
	for _, tt := range tests {
		if err := password.CheckPolicy(tt.pw); (err == nil) != tt.ok {
			t.Errorf("CheckPolicy(%q) = %v, want ok=%v", tt.pw, err, tt.ok)
		}
	}
}
