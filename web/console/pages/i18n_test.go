package pages

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Every text the templates and the code ask for exists, in English and in Korean.
func TestEveryMessageKeyHasBothLanguages(t *testing.T) {
	for key, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %q lacks a language: %q", key, m)
		}
	}
	used := regexp.MustCompile(`\bt[f]? (?:\.|\$v|\.V) "([a-z_.]+)"`)
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, n := range names {
		src, err := fs.ReadFile(templateFS, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllSubmatch(src, -1) {
			seen++
			if _, ok := messages[string(m[1])]; !ok {
				t.Errorf("%s asks for the message %q, which does not exist", n, m[1])
			}
		}
	}
	goFiles, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	inCode := regexp.MustCompile(`tr\((?:q\.lang|v\.Lang|lang), "([a-z_.]+)"\)|return "[a-z]+", "([a-z]+\.[a-z_]+)",`)
	for _, n := range goFiles {
		src, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inCode.FindAllSubmatch(src, -1) {
			key := string(m[1]) + string(m[2])
			if _, ok := messages[key]; !ok && key != "no.such.key" {
				t.Errorf("%s asks for the message %q, which does not exist", n, key)
			}
		}
	}
	if seen < 100 {
		t.Errorf("found only %d message uses in the templates: the pattern no longer matches them", seen)
	}
}

// Korean falls back to English only for a key that has no Korean, and an unknown key shows
// itself (which the test above keeps out of the templates).
func TestTr(t *testing.T) {
	if got := tr("ko", "nav.runs"); got != "훈련 실행" {
		t.Errorf("tr(ko, nav.runs) = %q", got)
	}
	if got := tr("en", "nav.runs"); got != "Runs" {
		t.Errorf("tr(en, nav.runs) = %q", got)
	}
	if got := tr("ko", "no.such.key"); got != "no.such.key" {
		t.Errorf("tr(ko, no.such.key) = %q", got)
	}
}
