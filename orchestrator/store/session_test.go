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
