package orchestrator

import (
	"context"

	"github.com/firedrill/firedrill/orchestrator/notify"
)

// Notifier receives the moments people want to hear about. *notify.Notifier is one.
type Notifier interface {
	Notify(ctx context.Context, e notify.Event) error
}

// notify tells the notifier, if any. A failure to enqueue is the notifier's to log; a drill
// never waits for, or fails because of, a notification.
func (r *Runner) notify(ctx context.Context, e notify.Event) {
	if r.cfg.Notifier == nil {
		return
	}
	if e.At.IsZero() {
		e.At = r.cfg.Clock.Now()
	}
	_ = r.cfg.Notifier.Notify(ctx, e)
}
