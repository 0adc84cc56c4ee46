package main

import (
	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// newNotifier builds the notifier for the estate's notify blocks; nil when there are none.
func (a *app) newNotifier(estate *drills.Estate, st *store.Store, secrets *secret.Resolver) (*notify.Notifier, error) {
	if estate == nil || len(estate.Notify) == 0 {
		return nil, nil
	}
	var channels []notify.Channel
	for _, n := range estate.Notify {
		ch := notify.Channel{Name: n.Name, Kind: notify.ChannelKind(n.Kind)}
		for _, e := range n.Events {
			ch.Events = append(ch.Events, notify.Kind(e))
		}
		switch n.Kind {
		case "webhook":
			ch.Webhook = notify.WebhookChannel{URL: n.URL, Key: secret.Ref{Env: n.KeyEnv, File: n.KeyFile}}
		case "slack":
			ch.Slack = notify.SlackChannel{URL: secret.Ref{Env: n.URLEnv, File: n.URLFile}}
		case "email":
			ch.Email = notify.EmailChannel{Addr: n.SMTP, From: n.From, To: n.To, Username: n.Username,
				Password: secret.Ref{Env: n.PasswordEnv, File: n.PasswordFile}, StartTLS: n.StartTLS}
		}
		channels = append(channels, ch)
	}
	return notify.New(notify.Config{Channels: channels, Store: st, Secrets: secrets, Logger: a.logger, Metrics: a.metrics})
}
