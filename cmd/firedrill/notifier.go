package main

import (
	"fmt"
	"slices"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// newNotifier builds the notifier for the estate's notify blocks and the server
// configuration's; nil when there are none.
func (a *app) newNotifier(estate *drills.Estate, st *store.Store, secrets *secret.Resolver) (*notify.Notifier, error) {
	var blocks []*drills.NotifyChannel
	if estate != nil {
		blocks = append(blocks, estate.Notify...)
	}
	if a.serverConfig != nil {
		for _, n := range a.serverConfig.Notify {
			if i := slices.IndexFunc(blocks, func(e *drills.NotifyChannel) bool { return e.Name == n.Name }); i >= 0 {
				return nil, fmt.Errorf("%s: notify %q is also declared in the estate at %s: one name, one target", n.Pos, n.Name, blocks[i].Pos)
			}
			blocks = append(blocks, n)
		}
	}
	if len(blocks) == 0 {
		return nil, nil
	}
	var channels []notify.Channel
	for _, n := range blocks {
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
