package drills_test

import (
	"testing"

	"github.com/firedrill/firedrill/drills"
)

func TestParseNotifyChannels(t *testing.T) {
	t.Parallel()
	base := `
site "a" {
  role = "primary"
  nomad {
    address = "http://127.0.0.1:1"
    region  = "r"
  }
}
`
	good := base + `
notify "ops" {
  kind    = "webhook"
  url     = "https://hooks.bank.example/firedrill"
  key_env = "HOOK_KEY"
  events  = ["run_ended", "stop_condition"]
}
notify "sre" {
  kind    = "slack"
  url_env = "SLACK_URL"
}
notify "compliance" {
  kind         = "email"
  smtp         = "smtp.bank.example:587"
  from         = "firedrill@bank.example"
  to           = ["dr@bank.example"]
  password_env = "SMTP_PASSWORD"
  starttls     = true
}
`
	cfg, diags := drills.ParseEstate([]byte(good), "c.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(cfg.Notify) != 3 || cfg.Notify[0].KeyEnv != "HOOK_KEY" || len(cfg.Notify[0].Events) != 2 || !cfg.Notify[2].StartTLS || cfg.Notify[1].URLEnv != "SLACK_URL" {
		t.Errorf("Notify = %+v", cfg.Notify)
	}
	tests := []struct{ block, want string }{
		{`notify "x" { kind = "pager" }`, `c.hcl:10:21: kind: "pager" is not one of`},
		{"notify \"x\" {\n kind = \"webhook\"\n url = \"https://h.example\"\n}", `notify "x": a webhook needs exactly one of key_env or key_file`},
		{"notify \"x\" {\n kind = \"slack\"\n url_env = \"A\"\n events = [\"run_exploded\"]\n}", `events: unknown event "run_exploded"`},
		{"notify \"x\" {\n kind = \"email\"\n smtp = \"h:25\"\n from = \"a@b.example\"\n to = [\"not an address\"]\n}", `to: "not an address" is not an email address`},
		{"notify \"x\" {\n kind = \"slack\"\n url = \"https://hooks.slack.com/services/SECRET\"\n}", `slack needs exactly one of url_env or url_file`},
	}
	for _, tt := range tests {
		_, diags := drills.ParseEstate([]byte(base+"\n"+tt.block+"\n"), "c.hcl")
		wantDiag(t, "ParseConfig", diags, tt.want)
	}
}
