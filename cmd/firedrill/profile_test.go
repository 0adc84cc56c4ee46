package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/orchestrator/control"
)

// The profile commands read the embedded profiles: no server, no token.

func TestProfileList(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "profile", "list")
	if res.code != exitOK {
		t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
	}
	golden(t, "profile-list.txt", res.stdout)
}

func TestProfileListInKoreanFromTheEnvironment(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), map[string]string{"FIREDRILL_LANG": "ko"}, "profile", "list")
	if res.code != exitOK || !strings.Contains(res.stdout, "금융위원회") || !strings.Contains(res.stdout, "Monetary Authority of Singapore") {
		t.Errorf("exit %d, stdout %s: want kr-efsr in Korean and the others in English", res.code, res.stdout)
	}
}

func TestProfileShowDefaultsToTheProfilesLanguage(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "profile", "show", "kr-efsr")
	if res.code != exitOK {
		t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
	}
	golden(t, "profile-show-kr-efsr.txt", res.stdout)
	en := runCLI(t, context.Background(), nil, "profile", "show", "kr-efsr", "--lang", "en")
	if en.code != exitOK || !strings.Contains(en.stdout, "regulator:  Financial Services Commission (Korea)") {
		t.Errorf("--lang en: exit %d, stdout %s", en.code, en.stdout)
	}
}

func TestProfileShowJSON(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "profile", "show", "uk-pra-ss1-21", "--json")
	if res.code != exitOK {
		t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
	}
	golden(t, "profile-show-uk.json", res.stdout)
	var v control.ProfileView
	if err := json.Unmarshal([]byte(res.stdout), &v); err != nil || v.RetentionYears != 6 || len(v.Clauses) == 0 {
		t.Errorf("--json = %v, %+v; want the UK profile with its 6 years", err, v)
	}
}

func TestProfileShowRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"profile", "show", "kr-efsa"}, `profile "kr-efsa": no such profile (one of eu-dora, kr-efsr, sg-mas-trm, uk-pra-ss1-21, us-ffiec-bcm)`},
		{[]string{"profile", "show", "kr-efsr", "--lang", "korean"}, `--lang: "korean" is not a two-letter language code`},
		{[]string{"profile", "list", "--lang", "KO"}, `--lang: "KO" is not a two-letter language code`},
		{[]string{"profile", "show"}, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		res := runCLI(t, context.Background(), nil, tt.args...)
		if res.code != exitError || !strings.Contains(res.stderr, tt.want) || res.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", tt.args, res.code, res.stdout, res.stderr, tt.want)
		}
	}
}
