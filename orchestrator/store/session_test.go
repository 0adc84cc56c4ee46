package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func sessionHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestConsoleSessions runs the session lifecycle on both dialects: create, use, idle and
// absolute expiry, sign-out, and the ends a password change and a disabled user bring.
func TestConsoleSessions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		by := drills.Actor{Kind: drills.ActorLocal, Name: "t", Via: drills.ViaCLI}
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		for _, name := range []string{"root", "kim"} {
			if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: name, Roles: []string{drills.RoleAdmin}, By: by, At: t0}); err != nil {
				t.Fatal(err)
			}
		}
		open := func(secret string, at time.Time) *store.Session {
			t.Helper()
			var out *store.Session
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				out, err = s.SessionCreateTx(ctx, tx, &store.SessionCreateParams{SecretHash: sessionHash(secret), User: "kim",
					Method: store.SessionMethodPassword, At: at, ExpiresAt: at.Add(12 * time.Hour)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		auth := func(secret string, at time.Time) error {
			_, err := s.SessionAuthenticate(ctx, &store.SessionAuthenticateParams{SecretHash: sessionHash(secret), Now: at, IdleTimeout: 30 * time.Minute})
			return err
		}
		open("a", t0)
		for i := 1; i <= 3; i++ { // used every 20 minutes: never idle
			if err := auth("a", t0.Add(time.Duration(i)*20*time.Minute)); err != nil {
				t.Fatalf("use %d: %v", i, err)
			}
		}
		if err := auth("a", t0.Add(60*time.Minute+30*time.Minute)); !errors.Is(err, store.ErrSessionExpired) {
			t.Errorf("after 30 idle minutes: %v, want ErrSessionExpired", err)
		}
		if err := auth("a", t0.Add(91*time.Minute)); !errors.Is(err, store.ErrSessionRevoked) {
			t.Errorf("an idle session used again: %v, want ErrSessionRevoked (it was ended)", err)
		}
		if err := auth("unknown", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown secret: %v", err)
		}
		open("b", t0)
		if err := auth("b", t0.Add(12*time.Hour)); !errors.Is(err, store.ErrSessionExpired) {
			t.Errorf("at the absolute expiry: %v, want ErrSessionExpired", err)
		}
		open("c", t0)
		if _, err := s.SessionRevoke(ctx, sessionHash("c"), store.SessionRevokedSignOut, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := auth("c", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrSessionRevoked) {
			t.Errorf("signed out: %v", err)
		}
		// A password change ends every session of the user.
		open("d", t0)
		err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := s.UserPasswordSetTx(ctx, tx, &store.UserPasswordSetParams{Name: "kim", Hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", At: t0.Add(time.Minute)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := auth("d", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrSessionRevoked) {
			t.Errorf("after a password change: %v", err)
		}
		u, hash, err := s.UserCredentials(ctx, "kim")
		if err != nil || !u.HasPassword || hash == "" {
			t.Errorf("UserCredentials = %+v, %q, %v", u, hash, err)
		}
		// Disabling the user ends them too.
		open("e", t0.Add(3*time.Minute))
		if _, err := s.UserDisable(ctx, &store.UserDisableParams{Name: "kim", By: by, At: t0.Add(4 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := auth("e", t0.Add(5*time.Minute)); !errors.Is(err, store.ErrSessionRevoked) {
			t.Errorf("after the user was disabled: %v", err)
		}
		list, err := s.SessionList(ctx, "kim")
		if err != nil || len(list) != 5 {
			t.Fatalf("SessionList = %d sessions, %v; want 5", len(list), err)
		}
		// b expired at its absolute bound and stayed unrevoked until the password change ended it.
		want := []string{store.SessionRevokedIdle, store.SessionRevokedPasswordChanged, store.SessionRevokedSignOut, store.SessionRevokedPasswordChanged, store.SessionRevokedUserDisabled}
		for i, ses := range list {
			if ses.RevokeReason != want[i] {
				t.Errorf("session %d ended for %q, want %q", i, ses.RevokeReason, want[i])
			}
		}
		// OIDC links are unique per provider account.
		err = s.InTx(ctx, func(tx *store.Tx) error {
			_, err := s.UserOIDCLinkTx(ctx, tx, "root", "https://idp", "sub-1", t0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if u, err := s.UserByOIDC(ctx, "https://idp", "sub-1"); err != nil || u.Name != "root" {
			t.Errorf("UserByOIDC = %v, %v", u, err)
		}
		err = s.InTx(ctx, func(tx *store.Tx) error {
			_, err := s.UserOIDCLinkTx(ctx, tx, "root", "https://idp", "sub-2", t0)
			return err
		})
		if !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("relinking root to another subject: %v, want ErrDuplicate", err)
		}
	})
}

// TestSessionSeenThrottled: a session's last use is written at most once per
// SessionSeenInterval (a tenth of a short idle timeout), and idle expiry counts from the last
// write, so it is early by less than the interval, never late.
func TestSessionSeenThrottled(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		by := drills.Actor{Kind: drills.ActorLocal, Name: "t", Via: drills.ViaCLI}
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: "kim", Roles: []string{drills.RoleViewer}, By: by, At: t0}); err != nil {
			t.Fatal(err)
		}
		err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := s.SessionCreateTx(ctx, tx, &store.SessionCreateParams{SecretHash: sessionHash("a"), User: "kim",
				Method: store.SessionMethodPassword, At: t0, ExpiresAt: t0.Add(12 * time.Hour)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		auth := func(at time.Time, idle time.Duration) (*store.SessionAuth, error) {
			return s.SessionAuthenticate(ctx, &store.SessionAuthenticateParams{SecretHash: sessionHash("a"), Now: at, IdleTimeout: idle})
		}
		stored := func() time.Time {
			t.Helper()
			list, err := s.SessionList(ctx, "kim")
			if err != nil || len(list) != 1 {
				t.Fatalf("sessions: %v %v", list, err)
			}
			return list[0].LastSeenAt
		}
		const idle = 30 * time.Minute
		every := store.SessionSeenInterval
		// Uses within the interval write nothing.
		for _, d := range []time.Duration{time.Second, every / 2, every - time.Millisecond} {
			a, err := auth(t0.Add(d), idle)
			if err != nil {
				t.Fatal(err)
			}
			if got := stored(); !got.Equal(t0) {
				t.Errorf("used at +%s: last_seen_at %s, want %s (not yet due)", d, got, t0)
			}
			if !a.Session.LastSeenAt.Equal(t0) {
				t.Errorf("used at +%s: the session says last seen %s, want the stored %s", d, a.Session.LastSeenAt, t0)
			}
		}
		// The first use an interval after the write writes.
		t1 := t0.Add(every)
		if _, err := auth(t1, idle); err != nil {
			t.Fatal(err)
		}
		if got := stored(); !got.Equal(t1) {
			t.Errorf("used at +%s: last_seen_at %s, want %s", every, got, t1)
		}
		// Used again just before the interval ends: nothing written, and the idle clock runs
		// from t1, so the session ends idle at t1+idle although it was used later.
		if _, err := auth(t1.Add(every-time.Millisecond), idle); err != nil {
			t.Fatal(err)
		}
		if _, err := auth(t1.Add(idle), idle); !errors.Is(err, store.ErrSessionExpired) {
			t.Errorf("idle since the last write: %v, want ErrSessionExpired (at most one interval early)", err)
		}
	})
	// A short idle timeout writes every tenth of it.
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		by := drills.Actor{Kind: drills.ActorLocal, Name: "t", Via: drills.ViaCLI}
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: "lee", Roles: []string{drills.RoleViewer}, By: by, At: t0}); err != nil {
			t.Fatal(err)
		}
		err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := s.SessionCreateTx(ctx, tx, &store.SessionCreateParams{SecretHash: sessionHash("b"), User: "lee",
				Method: store.SessionMethodPassword, At: t0, ExpiresAt: t0.Add(12 * time.Hour)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		const idle = 2 * time.Minute
		for i := 1; i <= 20; i++ { // every 12s, a tenth of the timeout: written each time, never idle
			at := t0.Add(time.Duration(i) * idle / 10)
			a, err := s.SessionAuthenticate(ctx, &store.SessionAuthenticateParams{SecretHash: sessionHash("b"), Now: at, IdleTimeout: idle})
			if err != nil {
				t.Fatalf("use %d: %v", i, err)
			}
			if !a.Session.LastSeenAt.Equal(at) {
				t.Fatalf("use %d: last seen %s, want %s", i, a.Session.LastSeenAt, at)
			}
		}
	})
}
