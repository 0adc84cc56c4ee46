package drills

import (
	"net/mail"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// Notification kinds: the moments a drill tells people about.
const (
	NotifyApprovalNeeded = "approval_needed"
	NotifyRunStarted     = "run_started"
	NotifyStopCondition  = "stop_condition"
	NotifyRunEnded       = "run_ended"
	NotifyServiceOverdue = "service_overdue"
)

// NotifyKinds lists every notification kind.
var NotifyKinds = []string{NotifyApprovalNeeded, NotifyRunStarted, NotifyStopCondition, NotifyRunEnded, NotifyServiceOverdue}

// NotifyChannel is a destination for notifications, declared in the estate:
//
//	notify "ops" { kind = "webhook"  url = "https://hooks.bank.example/firedrill"  key_env = "HOOK_KEY" }
//	notify "sre" { kind = "slack"  url_env = "SLACK_WEBHOOK_URL"  events = ["run_ended"] }
//	notify "compliance" { kind = "email"  smtp = "smtp.bank.example:587"  from = "firedrill@bank.example"
//	                      to = ["dr@bank.example"]  username = "firedrill"  password_env = "SMTP_PASSWORD" }
//
// Every credential (the webhook signing key, the Slack URL, the SMTP password) is referenced
// by an environment variable or a file, never written in the file.
type NotifyChannel struct {
	Name string
	// Kind is "webhook", "slack" or "email".
	Kind string
	// Events restricts the channel to these kinds (NotifyKinds); empty means all.
	Events []string
	// URL is the webhook's endpoint.
	URL string
	// KeyEnv/KeyFile reference the webhook's HMAC signing key.
	KeyEnv, KeyFile string
	// URLEnv/URLFile reference a Slack incoming-webhook URL (a credential itself).
	URLEnv, URLFile string
	// SMTP is the relay's host:port; From and To the addresses.
	SMTP     string
	From     string
	To       []string
	Username string
	// PasswordEnv/PasswordFile reference the SMTP password.
	PasswordEnv, PasswordFile string
	StartTLS                  bool
	Pos                       Pos
}

var notifySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "kind", Required: true}, {Name: "events"}, {Name: "url"}, {Name: "key_env"}, {Name: "key_file"},
	{Name: "url_env"}, {Name: "url_file"}, {Name: "smtp"}, {Name: "from"}, {Name: "to"}, {Name: "username"},
	{Name: "password_env"}, {Name: "password_file"}, {Name: "starttls"},
}}

func (p *estateParser) notify(b *hcl.Block, name string) *NotifyChannel {
	n := &NotifyChannel{Name: name, Pos: p.pos(b.DefRange)}
	content, hd := b.Body.Content(notifySchema)
	p.hcl(hd)
	attrs := content.Attributes
	str := func(key string, dst *string) {
		if a := attrs[key]; a != nil {
			*dst, _ = p.str(a)
		}
	}
	if a := attrs["kind"]; a != nil {
		n.Kind, _ = p.oneOf(a, "webhook", "slack", "email")
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"url", &n.URL}, {"key_env", &n.KeyEnv}, {"key_file", &n.KeyFile}, {"url_env", &n.URLEnv}, {"url_file", &n.URLFile},
		{"smtp", &n.SMTP}, {"from", &n.From}, {"username", &n.Username}, {"password_env", &n.PasswordEnv}, {"password_file", &n.PasswordFile}} {
		str(k.key, k.dst)
	}
	if a := attrs["events"]; a != nil {
		n.Events, _ = p.strings(a)
		for _, e := range n.Events {
			if !slices.Contains(NotifyKinds, e) {
				p.errorf(a.Expr.Range(), "events: unknown event %q; events: %v", e, NotifyKinds)
			}
		}
	}
	if a := attrs["to"]; a != nil {
		n.To, _ = p.strings(a)
		for _, addr := range n.To {
			if _, err := mail.ParseAddress(addr); err != nil {
				p.errorf(a.Expr.Range(), "to: %q is not an email address", addr)
			}
		}
	}
	if a := attrs["starttls"]; a != nil {
		n.StartTLS, _ = p.boolean(a)
	}
	need := func(ok bool, msg string) {
		if !ok {
			p.errorf(b.DefRange, "notify %q: %s", name, msg)
		}
	}
	switch n.Kind {
	case "webhook":
		need(n.URL != "" && checkHTTPURL(n.URL) == nil, "a webhook needs url, an absolute http(s) URL")
		need((n.KeyEnv == "") != (n.KeyFile == ""), "a webhook needs exactly one of key_env or key_file (the HMAC signing key)")
	case "slack":
		need((n.URLEnv == "") != (n.URLFile == ""), "slack needs exactly one of url_env or url_file (the webhook URL is a credential)")
	case "email":
		need(n.SMTP != "", "email needs smtp (host:port of the relay)")
		need(n.From != "", "email needs from")
		need(len(n.To) > 0, "email needs at least one address in to")
		need(!(n.PasswordEnv != "" && n.PasswordFile != ""), "give password_env or password_file, not both")
	}
	return n
}
