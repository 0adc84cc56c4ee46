package console

import (
	"sync"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
)

// Login rate limiting. The limiter lives in the memory of one serve replica: with several
// replicas behind a load balancer each keeps its own counts, so an attacker gets up to that
// many times the attempts (still bounded, and every attempt is in the operations log). Run
// the console on one replica, or pin clients to one, where that matters.
const (
	// DefaultAccountFailures is how many wrong passwords for one account, in a row, are
	// allowed before it is locked out.
	DefaultAccountFailures = 5
	// DefaultAddressFailures is how many failed sign-ins from one client address are allowed
	// before the address is locked out: more, since people share NAT addresses.
	DefaultAddressFailures = 20
	// DefaultLockout is the first lockout; each further failure while locked out or right
	// after doubles it, up to DefaultMaxLockout.
	DefaultLockout = 30 * time.Second
	// DefaultMaxLockout caps the lockout: 15 minutes.
	DefaultMaxLockout = 15 * time.Minute
	// failureWindow forgets failures older than this.
	failureWindow = time.Hour
	// maxTracked bounds the limiter's memory: past it, the oldest entries are forgotten.
	maxTracked = 100_000
)

// RateLimit configures login rate limiting; zero fields take the defaults.
type RateLimit struct {
	AccountFailures int
	AddressFailures int
	Lockout         time.Duration
	MaxLockout      time.Duration
}

func (l RateLimit) withDefaults() RateLimit {
	if l.AccountFailures <= 0 {
		l.AccountFailures = DefaultAccountFailures
	}
	if l.AddressFailures <= 0 {
		l.AddressFailures = DefaultAddressFailures
	}
	if l.Lockout <= 0 {
		l.Lockout = DefaultLockout
	}
	if l.MaxLockout <= 0 {
		l.MaxLockout = DefaultMaxLockout
	}
	return l
}

// limiter counts failed sign-ins per key ("account:x", "addr:y") and locks keys out with
// exponential backoff. It is safe for concurrent use.
type limiter struct {
	cfg   RateLimit
	clock clock.Clock
	mu    sync.Mutex
	keys  map[string]*attempts
}

type attempts struct {
	failures    int
	last        time.Time
	lockedUntil time.Time
}

func newLimiter(cfg RateLimit, c clock.Clock) *limiter {
	return &limiter{cfg: cfg.withDefaults(), clock: c, keys: map[string]*attempts{}}
}

// retryAfter returns how long until account and addr may try again: 0 when both may now.
func (l *limiter) retryAfter(account, addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	var wait time.Duration
	for _, k := range []string{"account:" + account, "addr:" + addr} {
		if a, ok := l.keys[k]; ok && a.lockedUntil.After(now) {
			wait = max(wait, a.lockedUntil.Sub(now))
		}
	}
	return wait
}

// fail records a failed sign-in of account from addr.
func (l *limiter) fail(account, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if len(l.keys) >= maxTracked {
		l.forgetLocked(now)
	}
	l.failLocked("account:"+account, l.cfg.AccountFailures, now)
	l.failLocked("addr:"+addr, l.cfg.AddressFailures, now)
}

func (l *limiter) failLocked(key string, allowed int, now time.Time) {
	a, ok := l.keys[key]
	if !ok || now.Sub(a.last) > failureWindow {
		a = &attempts{}
		l.keys[key] = a
	}
	a.failures++
	a.last = now
	if over := a.failures - allowed; over > 0 {
		lock := l.cfg.Lockout
		for i := 1; i < over && lock < l.cfg.MaxLockout; i++ {
			lock *= 2
		}
		a.lockedUntil = now.Add(min(lock, l.cfg.MaxLockout))
	}
}

// succeed forgets the failures of account (not of the address: one good password from an
// address does not unlock guessing at the others).
func (l *limiter) succeed(account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, "account:"+account)
}

// forgetLocked drops entries outside the window, then, if still full, every unlocked one.
func (l *limiter) forgetLocked(now time.Time) {
	for k, a := range l.keys {
		if now.Sub(a.last) > failureWindow {
			delete(l.keys, k)
		}
	}
	if len(l.keys) < maxTracked {
		return
	}
	for k, a := range l.keys {
		if !a.lockedUntil.After(now) {
			delete(l.keys, k)
		}
	}
}
