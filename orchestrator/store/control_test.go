package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestFreeze(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		alice, bob := person("alice"), person("bob")
		if _, on, err := s.FreezeActive(ctx); err != nil || on {
			t.Fatalf("FreezeActive on a new database = %v, %v", on, err)
		}
		if _, err := s.FreezeLatest(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FreezeLatest on a new database = %v, want ErrNotFound", err)
		}
		if _, err := s.FreezeLift(ctx, &store.FreezeLiftParams{By: alice, At: at(0)}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FreezeLift with none on = %v, want ErrNotFound", err)
		}
		for _, bad := range []*store.FreezeSetParams{{By: alice}, {Reason: "no one"}, {By: drills.Actor{Kind: "god", Name: "x"}, Reason: "x"}} {
			if _, err := s.FreezeSet(ctx, bad); err == nil {
				t.Errorf("FreezeSet(%+v) succeeded", bad)
			}
		}
		f, err := s.FreezeSet(ctx, &store.FreezeSetParams{By: alice, Reason: "market turmoil", At: at(0)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FreezeSet(ctx, &store.FreezeSetParams{By: bob, Reason: "again", At: at(1)}); !errors.Is(err, store.ErrFrozen) {
			t.Errorf("second FreezeSet = %v, want ErrFrozen", err)
		}
		got, on, err := s.FreezeActive(ctx)
		if err != nil || !on || got.ID != f.ID || got.SetBy != alice || !got.SetAt.Equal(wantTime(at(0))) {
			t.Errorf("FreezeActive = %+v, %v, %v", got, on, err)
		}
		lifted, err := s.FreezeLift(ctx, &store.FreezeLiftParams{By: bob, At: at(time.Hour)})
		if err != nil || lifted.LiftedBy != bob || lifted.Active() {
			t.Errorf("FreezeLift = %+v, %v", lifted, err)
		}
		if _, on, _ := s.FreezeActive(ctx); on {
			t.Error("freeze still on after lifting")
		}
		if latest, err := s.FreezeLatest(ctx); err != nil || latest.ID != f.ID || latest.LiftedBy != bob {
			t.Errorf("FreezeLatest = %+v, %v", latest, err)
		}
		list, err := s.FreezeList(ctx)
		if err != nil || len(list) != 1 || list[0].LiftedAt == nil {
			t.Errorf("FreezeList = %v, %v", list, err)
		}

		// However many ask at once, one freeze goes on.
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = s.FreezeSet(ctx, &store.FreezeSetParams{By: alice, Reason: "race"}) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrFrozen):
				t.Errorf("concurrent FreezeSet = %v, want nil or ErrFrozen", err)
			}
		}
		if won != 1 {
			t.Errorf("%d concurrent FreezeSet calls succeeded, want 1", won)
		}
	})
}

func TestUsersAndRoleGrants(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		root := person("root")
		for _, bad := range []store.UserCreateParams{
			{Name: "Alice", Roles: []string{"sre"}, By: root},
			{Name: "alice", By: root},
			{Name: "alice", Roles: []string{"king"}, By: root},
			{Name: "alice", Roles: []string{"sre"}},
		} {
			if _, err := s.UserCreate(ctx, &bad); err == nil {
				t.Errorf("UserCreate(%+v) succeeded", bad)
			}
		}
		u, err := s.UserCreate(ctx, &store.UserCreateParams{Name: "alice", Roles: []string{"sre", "compliance", "sre"}, By: root, At: at(0)})
		if err != nil || !reflect.DeepEqual(u.Roles, []string{"compliance", "sre"}) || u.CreatedBy != root || u.Disabled {
			t.Fatalf("UserCreate = %+v, %v", u, err)
		}
		if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: "alice", Roles: []string{"sre"}, By: root}); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("UserCreate of an existing user = %v, want ErrDuplicate", err)
		}
		grant := func(user, role string, when time.Duration) (*store.User, error) {
			return s.RoleGrant(ctx, &store.RoleChangeParams{User: user, Role: role, By: root, At: at(when)})
		}
		revoke := func(user, role string, when time.Duration) (*store.User, error) {
			return s.RoleRevoke(ctx, &store.RoleChangeParams{User: user, Role: role, By: root, At: at(when)})
		}
		if u, err := grant("alice", "auditor", time.Minute); err != nil || !u.HasRole("auditor") {
			t.Errorf("RoleGrant = %+v, %v", u, err)
		}
		if _, err := grant("alice", "auditor", time.Minute); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("granting a held role = %v, want ErrDuplicate", err)
		}
		if _, err := grant("alice", "king", time.Minute); err == nil {
			t.Error("granting an unknown role succeeded")
		}
		if _, err := grant("nobody", "sre", time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("granting to an unknown user = %v, want ErrNotFound", err)
		}
		if u, err := revoke("alice", "compliance", 2*time.Minute); err != nil || u.HasRole("compliance") {
			t.Errorf("RoleRevoke = %+v, %v", u, err)
		}
		if _, err := revoke("alice", "compliance", 2*time.Minute); !errors.Is(err, store.ErrRoleNotHeld) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoking a role not held = %v, want ErrRoleNotHeld", err)
		}
		grants, err := s.RoleGrantList(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range grants {
			if g.User != "alice" || g.By != root {
				t.Errorf("grant %+v: want alice's, by root", g)
			}
			got = append(got, g.Change+" "+g.Role)
		}
		want := []string{"grant compliance", "grant sre", "grant auditor", "revoke compliance"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("RoleGrantList = %v, want %v", got, want)
		}

		// The last enabled admin can neither go nor lose the role.
		if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: "ada", Roles: []string{"admin"}, By: root}); err != nil {
			t.Fatal(err)
		}
		if _, err := revoke("ada", "admin", 3*time.Minute); !errors.Is(err, store.ErrLastAdmin) {
			t.Errorf("revoking the last admin = %v, want ErrLastAdmin", err)
		}
		if _, err := s.UserDisable(ctx, &store.UserDisableParams{Name: "ada", By: root}); !errors.Is(err, store.ErrLastAdmin) {
			t.Errorf("disabling the last admin = %v, want ErrLastAdmin", err)
		}
		if _, err := grant("alice", "admin", 3*time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := revoke("ada", "admin", 4*time.Minute); err != nil {
			t.Errorf("revoking an admin while another remains = %v", err)
		}

		d, err := s.UserDisable(ctx, &store.UserDisableParams{Name: "ada", By: root, At: at(5 * time.Minute)})
		if err != nil || !d.Disabled || d.DisabledBy != root || d.DisabledAt == nil || !d.DisabledAt.Equal(wantTime(at(5*time.Minute))) {
			t.Fatalf("UserDisable = %+v, %v", d, err)
		}
		if _, err := s.UserDisable(ctx, &store.UserDisableParams{Name: "ada", By: root}); !errors.Is(err, store.ErrUserDisabled) {
			t.Errorf("disabling a disabled user = %v, want ErrUserDisabled", err)
		}
		if _, err := grant("ada", "sre", 6*time.Minute); !errors.Is(err, store.ErrUserDisabled) {
			t.Errorf("granting to a disabled user = %v, want ErrUserDisabled", err)
		}
		if _, err := s.UserDisable(ctx, &store.UserDisableParams{Name: "nobody", By: root}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserDisable(nobody) = %v", err)
		}
		if g, err := s.UserGet(ctx, "ada"); err != nil || !g.Disabled {
			t.Errorf("UserGet(ada) = %+v, %v", g, err)
		}
		if all, err := s.RoleGrantList(ctx, ""); err != nil || len(all) != len(want)+3 {
			t.Errorf("RoleGrantList(all) = %d grants, %v; want %d", len(all), err, len(want)+3)
		}
	})
}

func TestBootstrapFirstAdmin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		local := drills.Actor{Kind: drills.ActorLocal, Name: "ops", Via: drills.ViaCLI}
		bootstrap := func(name string) (*store.User, error) {
			var u *store.User
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				u, err = s.UserBootstrapTx(ctx, tx, &store.UserBootstrapParams{Name: name, By: local})
				return err
			})
			return u, err
		}
		// Concurrent bootstraps: exactly one becomes the first admin.
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = bootstrap(string(rune('a'+i)) + "dmin") })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrAdminExists):
				t.Errorf("concurrent bootstrap = %v, want nil or ErrAdminExists", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d bootstraps succeeded, want 1", won)
		}
		if _, err := bootstrap("zed"); !errors.Is(err, store.ErrAdminExists) {
			t.Errorf("bootstrap with an admin present = %v, want ErrAdminExists", err)
		}
		users, err := s.UserList(ctx)
		if err != nil || len(users) != 1 || !users[0].HasRole(drills.RoleAdmin) || users[0].CreatedBy != local {
			t.Fatalf("users after bootstrap = %+v, %v", users, err)
		}
		if g, err := s.RoleGrantList(ctx, users[0].Name); err != nil || len(g) != 1 || g[0].Role != drills.RoleAdmin || g[0].By != local {
			t.Errorf("bootstrap grant = %+v, %v", g, err)
		}
	})

	// An existing user can be made the first admin.
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: "kim", Roles: []string{"compliance"}, By: tester}); err != nil {
			t.Fatal(err)
		}
		var u *store.User
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			u, err = s.UserBootstrapTx(ctx, tx, &store.UserBootstrapParams{Name: "kim", By: tester})
			return err
		})
		if err != nil || !reflect.DeepEqual(u.Roles, []string{"admin", "compliance"}) {
			t.Errorf("bootstrap of an existing user = %+v, %v", u, err)
		}
	})
}

func hashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TestTokenUseNeverWaitsForAnotherRequest: while another request holds the token's row (it is
// writing the same last use), authentication skips the write instead of queueing behind it.
func TestTokenUseNeverWaitsForAnotherRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Postgres(t)
	if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: "alice", Roles: []string{"sre"}, By: tester}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.TokenCreate(ctx, &store.TokenCreateParams{User: "alice", Roles: []string{"sre"}, SecretHash: hashOf("busy"),
		ExpiresAt: at(24 * time.Hour), By: person("root"), At: at(0)})
	if err != nil {
		t.Fatal(err)
	}
	other := s.DBForTest().Begin()
	if err := other.Exec("SELECT id FROM api_tokens WHERE id = ? FOR UPDATE", tok.ID).Error; err != nil {
		t.Fatal(err)
	}
	// Were the write to wait for the lock, it would wait until this deadline and fail.
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := s.TokenAuthenticate(waitCtx, &store.TokenAuthenticateParams{SecretHash: hashOf("busy"), Now: at(time.Minute)})
	if err != nil || a.Token.ID != tok.ID {
		t.Fatalf("TokenAuthenticate while another request holds the token = %+v, %v; want authenticated at once", a, err)
	}
	if err := other.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TokenGet(ctx, tok.ID); got.LastUsedAt != nil {
		t.Errorf("last use written although the row was held = %v, want the write skipped", got.LastUsedAt)
	}
	// Once the row is free, the next request records the use.
	if _, err := s.TokenAuthenticate(ctx, &store.TokenAuthenticateParams{SecretHash: hashOf("busy"), Now: at(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TokenGet(ctx, tok.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(wantTime(at(2*time.Minute))) {
		t.Errorf("last use after the row was freed = %v, want %v", got.LastUsedAt, wantTime(at(2*time.Minute)))
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		root := person("root")
		for name, roles := range map[string][]string{"alice": {"sre", "compliance"}, "root": {"admin"}} {
			if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: name, Roles: roles, By: tester}); err != nil {
				t.Fatal(err)
			}
		}
		create := func(secret string, roles []string, expires time.Time) (*store.Token, error) {
			return s.TokenCreate(ctx, &store.TokenCreateParams{User: "alice", Description: "laptop", Roles: roles,
				SecretHash: hashOf(secret), ExpiresAt: expires, By: root, At: at(0)})
		}
		for _, bad := range []struct {
			name  string
			p     store.TokenCreateParams
			wants error
		}{
			{"not a hash", store.TokenCreateParams{User: "alice", Roles: []string{"sre"}, SecretHash: "fdt_plain", ExpiresAt: at(time.Hour), By: root, At: at(0)}, nil},
			{"no role", store.TokenCreateParams{User: "alice", SecretHash: hashOf("x"), ExpiresAt: at(time.Hour), By: root, At: at(0)}, nil},
			{"role not held", store.TokenCreateParams{User: "alice", Roles: []string{"admin"}, SecretHash: hashOf("x"), ExpiresAt: at(time.Hour), By: root, At: at(0)}, store.ErrRoleNotHeld},
			{"expired already", store.TokenCreateParams{User: "alice", Roles: []string{"sre"}, SecretHash: hashOf("x"), ExpiresAt: at(-time.Hour), By: root, At: at(0)}, nil},
			{"no one", store.TokenCreateParams{User: "alice", Roles: []string{"sre"}, SecretHash: hashOf("x"), ExpiresAt: at(time.Hour), At: at(0)}, nil},
			{"unknown user", store.TokenCreateParams{User: "bob", Roles: []string{"sre"}, SecretHash: hashOf("x"), ExpiresAt: at(time.Hour), By: root, At: at(0)}, store.ErrNotFound},
		} {
			if _, err := s.TokenCreate(ctx, &bad.p); err == nil || (bad.wants != nil && !errors.Is(err, bad.wants)) {
				t.Errorf("TokenCreate(%s) = %v, want an error (%v)", bad.name, err, bad.wants)
			}
		}
		tok, err := create("secret-1", []string{"sre", "compliance"}, at(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if tok.User != "alice" || tok.CreatedBy != root || !reflect.DeepEqual(tok.Roles, []string{"compliance", "sre"}) || tok.LastUsedAt != nil {
			t.Errorf("TokenCreate = %+v", tok)
		}
		if _, err := create("secret-1", []string{"sre"}, at(24*time.Hour)); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("a second token with the same secret = %v, want ErrDuplicate", err)
		}
		auth := func(secret string, when time.Duration) (*store.TokenAuth, error) {
			return s.TokenAuthenticate(ctx, &store.TokenAuthenticateParams{SecretHash: hashOf(secret), Now: at(when)})
		}
		a, err := auth("secret-1", time.Minute)
		if err != nil || a.Token.ID != tok.ID || !reflect.DeepEqual(a.Roles(), []string{"compliance", "sre"}) {
			t.Fatalf("TokenAuthenticate = %+v, %v", a, err)
		}
		// The last use is written at most once a minute.
		for _, when := range []time.Duration{time.Minute + time.Second, time.Minute + 59*time.Second} {
			if _, err := auth("secret-1", when); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.TokenGet(ctx, tok.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(wantTime(at(time.Minute))) {
			t.Errorf("last use within the minute = %v, want %v", got.LastUsedAt, wantTime(at(time.Minute)))
		}
		if _, err := auth("secret-1", 2*time.Minute+time.Second); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TokenGet(ctx, tok.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(wantTime(at(2*time.Minute+time.Second))) {
			t.Errorf("last use after the minute = %v", got.LastUsedAt)
		}
		// A role the user loses, the token loses at once.
		if _, err := s.RoleRevoke(ctx, &store.RoleChangeParams{User: "alice", Role: "compliance", By: root}); err != nil {
			t.Fatal(err)
		}
		if a, err := auth("secret-1", 3*time.Minute); err != nil || !reflect.DeepEqual(a.Roles(), []string{"sre"}) {
			t.Errorf("roles after the user lost compliance = %v, %v", a.Roles(), err)
		}
		if _, err := auth("wrong", 3*time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown token = %v, want ErrNotFound", err)
		}
		if _, err := auth("secret-1", 25*time.Hour); !errors.Is(err, store.ErrTokenExpired) {
			t.Errorf("expired token = %v, want ErrTokenExpired", err)
		}

		other, err := create("secret-2", []string{"sre"}, at(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		rev, err := s.TokenRevoke(ctx, &store.TokenRevokeParams{ID: other.ID, By: root, At: at(time.Hour)})
		if err != nil || rev.RevokedAt == nil || rev.RevokedBy != root {
			t.Errorf("TokenRevoke = %+v, %v", rev, err)
		}
		if _, err := s.TokenRevoke(ctx, &store.TokenRevokeParams{ID: other.ID, By: root}); !errors.Is(err, store.ErrTokenRevoked) {
			t.Errorf("revoking twice = %v, want ErrTokenRevoked", err)
		}
		if _, err := s.TokenRevoke(ctx, &store.TokenRevokeParams{ID: "nope", By: root}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoking an unknown token = %v, want ErrNotFound", err)
		}
		if _, err := auth("secret-2", 2*time.Hour); !errors.Is(err, store.ErrTokenRevoked) {
			t.Errorf("revoked token = %v, want ErrTokenRevoked", err)
		}

		// A disabled user's tokens stop at once, and they get no new ones.
		if _, err := s.UserDisable(ctx, &store.UserDisableParams{Name: "alice", By: root}); err != nil {
			t.Fatal(err)
		}
		if _, err := auth("secret-1", 4*time.Minute); !errors.Is(err, store.ErrUserDisabled) {
			t.Errorf("token of a disabled user = %v, want ErrUserDisabled", err)
		}
		if _, err := create("secret-3", []string{"sre"}, at(24*time.Hour)); !errors.Is(err, store.ErrUserDisabled) {
			t.Errorf("token for a disabled user = %v, want ErrUserDisabled", err)
		}
		list, err := s.TokenList(ctx, "alice")
		if err != nil || len(list) != 2 || list[0].ID != tok.ID {
			t.Errorf("TokenList(alice) = %+v, %v", list, err)
		}
		if all, err := s.TokenList(ctx, ""); err != nil || len(all) != 2 {
			t.Errorf("TokenList() = %d, %v", len(all), err)
		}
	})
}

func TestOperationsAreAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		alice := person("alice")
		alice.TokenID = "tok-1"
		op, err := s.OperationRecord(ctx, &store.OperationRecordParams{
			Actor: alice, Operation: "run.abort", Target: "run-1", Outcome: store.OutcomeOK, Message: "abort requested",
			Detail: map[string]any{"reason": "VAN down"}, At: at(0),
		})
		if err != nil || op.ID == 0 || op.Actor != alice || !op.At.Equal(wantTime(at(0))) {
			t.Fatalf("OperationRecord = %+v, %v", op, err)
		}
		if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Operation: "run.read", Outcome: store.OutcomeDenied, Message: "no token"}); err != nil {
			t.Errorf("recording an anonymous denial: %v", err)
		}
		if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Actor: alice, Operation: "x", Outcome: "maybe"}); err == nil {
			t.Error("an unknown outcome was recorded")
		}
		list, err := s.OperationList(ctx, &store.OperationListParams{Target: "run-1"})
		if err != nil || len(list) != 1 || !jsonEqual(t, list[0].Detail, []byte(`{"reason":"VAN down"}`)) {
			t.Errorf("OperationList = %+v, %v", list, err)
		}
		if all, err := s.OperationList(ctx, nil); err != nil || len(all) != 2 || all[0].Operation != "run.read" {
			t.Errorf("OperationList(all) = %+v, %v; want newest first", all, err)
		}
		if _, err := s.RoleGrantList(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserCreate(ctx, &store.UserCreateParams{Name: "alice", Roles: []string{"sre"}, By: tester}); err != nil {
			t.Fatal(err)
		}
		db := s.DBForTest()
		for _, stmt := range []string{
			"UPDATE operations SET message = 'nothing happened'",
			"DELETE FROM operations",
			"UPDATE role_grants SET role = 'admin'",
			"DELETE FROM role_grants",
		} {
			if err := db.Exec(stmt).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s = %v, want refused as append-only", stmt, err)
			}
		}
	})
}

func TestApprovals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "p", Source: []byte("plan")})
		if err != nil {
			t.Fatal(err)
		}
		deadline := at(time.Hour)
		newRun := func() *store.Run {
			t.Helper()
			r, err := s.RunInsert(ctx, &store.RunInsertParams{
				PlanID: plan.ID, PlanName: "p", RequestedBy: person("alice"), State: drills.RunAwaitingApproval,
				ApprovalRoles: []string{"sre", "compliance"}, ApprovalDeadline: &deadline,
			})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		roles := map[string][]string{"alice": {"sre"}, "bob": {"sre"}, "kim": {"compliance"}}
		decide := func(runID, by, decision string, when time.Duration) (*store.ApprovalOutcome, error) {
			return s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: runID, By: person(by), Roles: roles[by], Decision: decision, Comment: "ok", At: at(when)})
		}
		for _, bad := range []store.RunInsertParams{
			{PlanID: plan.ID, PlanName: "p", RequestedBy: tester, State: drills.RunAwaitingApproval},
			{PlanID: plan.ID, PlanName: "p", RequestedBy: tester, ApprovalRoles: []string{"sre"}},
			{PlanID: plan.ID, PlanName: "p", RequestedBy: tester, State: drills.RunAwaitingApproval, ApprovalRoles: []string{"sre", "sre"}},
			{PlanID: plan.ID, PlanName: "p", RequestedBy: tester, State: drills.RunAwaitingApproval, ApprovalRoles: []string{"king"}},
			{PlanID: plan.ID, PlanName: "p", State: drills.RunPending},
			{PlanID: plan.ID, PlanName: "p", RequestedBy: tester, State: drills.RunRunning},
			{PlanID: plan.ID, PlanName: "p", RequestedBy: tester, State: drills.RunAwaitingApproval, ApprovalRoles: []string{"sre"}, ClaimOwner: "r", ClaimFor: time.Minute},
		} {
			if _, err := s.RunInsert(ctx, &bad); err == nil {
				t.Errorf("RunInsert(%+v) succeeded", bad)
			}
		}

		run := newRun()
		if _, err := decide(run.ID, "alice", store.ApprovalApprove, 0); !errors.Is(err, store.ErrSelfApproval) {
			t.Errorf("the requester approving = %v, want ErrSelfApproval", err)
		}
		local := drills.Actor{Kind: drills.ActorLocal, Name: "bob", Via: drills.ViaCLI}
		if _, err := s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: run.ID, By: local, Roles: []string{"sre"}, Decision: store.ApprovalApprove}); err == nil {
			t.Error("an unauthenticated approval was recorded")
		}
		out, err := decide(run.ID, "bob", store.ApprovalApprove, time.Minute)
		if err != nil || out.Satisfied || !reflect.DeepEqual(out.Missing, []string{"compliance"}) || out.Run.State != drills.RunAwaitingApproval {
			t.Fatalf("bob's approval = %+v, %v; want still missing compliance", out, err)
		}
		if _, err := decide(run.ID, "bob", store.ApprovalApprove, time.Minute); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("bob again = %v, want ErrDuplicate", err)
		}
		out, err = decide(run.ID, "kim", store.ApprovalApprove, 2*time.Minute)
		if err != nil || !out.Satisfied || out.Run.State != drills.RunPending {
			t.Fatalf("kim's approval = %+v, %v; want the policy met and the run pending", out, err)
		}
		if _, err := decide(run.ID, "kim", store.ApprovalReject, 3*time.Minute); !errors.Is(err, store.ErrNotAwaitingApproval) {
			t.Errorf("deciding an approved run = %v, want ErrNotAwaitingApproval", err)
		}
		list, err := s.ApprovalList(ctx, run.ID)
		if err != nil || len(list) != 2 || list[0].By != person("bob") || list[1].By != person("kim") || !reflect.DeepEqual(list[1].Roles, []string{"compliance"}) {
			t.Errorf("ApprovalList = %+v, %v", list, err)
		}
		if byRun, err := s.ApprovalListRuns(ctx, []string{run.ID, "nope"}); err != nil || len(byRun[run.ID]) != 2 || len(byRun["nope"]) != 0 {
			t.Errorf("ApprovalListRuns = %v, %v", byRun, err)
		}

		// Two roles held by one person cover one of them.
		both := newRun()
		if _, err := s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: both.ID, By: person("eve"), Roles: []string{"sre", "compliance"}, Decision: store.ApprovalApprove, At: at(0)}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.RunGet(ctx, both.ID)
		approvals, _ := s.ApprovalList(ctx, both.ID)
		if got.State != drills.RunAwaitingApproval || len(store.MissingApprovals(got, approvals)) != 1 {
			t.Errorf("one person with both roles: run %s, missing %v; want still one role missing", got.State, store.MissingApprovals(got, approvals))
		}

		rejected := newRun()
		out, err = decide(rejected.ID, "kim", store.ApprovalReject, time.Minute)
		if err != nil || out.Run.State != drills.RunBlocked || out.Run.StateReason != "rejected by kim: ok" {
			t.Errorf("rejection = %+v, %v; want blocked with who and why", out, err)
		}

		late := newRun()
		if out, err := decide(late.ID, "bob", store.ApprovalApprove, 2*time.Hour); !errors.Is(err, store.ErrApprovalExpired) || !out.Expired {
			t.Errorf("approval after the deadline = %+v, %v; want ErrApprovalExpired", out, err)
		}
		if r, _ := s.RunGet(ctx, late.ID); r.State != drills.RunBlocked {
			t.Errorf("late run is %s, want blocked", r.State)
		}
		if a, _ := s.ApprovalList(ctx, late.ID); len(a) != 0 {
			t.Errorf("a late approval was recorded: %+v", a)
		}

		aborted := newRun()
		r, err := s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: aborted.ID, By: person("kim"), Reason: "not this week", At: at(time.Minute)})
		if err != nil || r.State != drills.RunAborted || r.EndedAt == nil || !strings.Contains(r.StateReason, "not this week") {
			t.Errorf("abort of a run awaiting approval = %+v, %v; want it ended aborted at once", r, err)
		}

		stale := newRun()
		ids, err := s.RunApprovalsExpire(ctx, at(2*time.Hour))
		if err != nil || !slices.Contains(ids, stale.ID) || slices.Contains(ids, aborted.ID) {
			t.Errorf("RunApprovalsExpire = %v, %v; want %s (and not the aborted run)", ids, err, stale.ID)
		}
		for _, id := range []string{run.ID, both.ID, rejected.ID, late.ID, aborted.ID, stale.ID} {
			assertEventsGapless(t, s, id)
		}
	})
}

func TestRunAbortRequest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		alice, bob := person("alice"), person("bob")
		if _, err := s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: b.run.ID, By: alice}); err == nil {
			t.Error("abort without a reason succeeded")
		}
		if _, err := s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: b.run.ID, Reason: "nobody"}); err == nil {
			t.Error("abort without who succeeded")
		}
		r, err := s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: b.run.ID, By: alice, Reason: "VAN down", At: at(0)})
		if err != nil || r.AbortRequestedBy != alice || r.AbortReason != "VAN down" || r.AbortRequestedAt == nil || r.AbortStopCondition != "" {
			t.Fatalf("RunAbortRequest = %+v, %v", r, err)
		}
		// The first request wins; a second is only recorded on the timeline.
		r, err = s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: b.run.ID, By: bob, Reason: "also", At: at(1)})
		if err != nil || r.AbortRequestedBy != alice {
			t.Errorf("second request = %+v, %v; want alice's kept", r, err)
		}
		if got, _ := s.RunGet(ctx, b.run.ID); got.AbortRequestedBy != alice || got.State != drills.RunPending {
			t.Errorf("stored run = %+v, want alice's request and still pending for its replica", got)
		}
		if _, err := s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: "nope", By: alice, Reason: "b"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("abort of an unknown run = %v", err)
		}
		assertEventsGapless(t, s, b.run.ID)

		// A stop condition's abort says which condition.
		other := insertRun(t, s, b.plan, drills.RunPending)
		cond := drills.Actor{Kind: drills.ActorStopCondition, Name: "rto_budget"}
		r, err = s.RunAbortRequest(ctx, &store.RunAbortRequestParams{RunID: other.ID, By: cond, Reason: "over budget"})
		if err != nil || r.AbortRequestedBy != cond || r.AbortStopCondition != "rto_budget" {
			t.Errorf("stop condition abort = %+v, %v", r, err)
		}
		if got, _ := s.RunGet(ctx, other.ID); got.AbortStopCondition != "rto_budget" {
			t.Errorf("stored stop condition = %q", got.AbortStopCondition)
		}
	})
}

// The operations control composes commit together or not at all.
func TestTxComposesOperations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		waiting := insertRun(t, s, b.plan, drills.RunAwaitingApproval)
		done := insertRun(t, s, b.plan, drills.RunPending)
		epoch := claimRunning(t, s, done.ID)
		if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: done.ID, Epoch: epoch, State: drills.RunSucceeded}); err != nil {
			t.Fatal(err)
		}
		alice := person("alice")
		freezeOn := func(fail bool) ([]string, error) {
			var aborted []string
			err := s.InTx(ctx, func(tx *store.Tx) error {
				if _, err := s.FreezeSetTx(ctx, tx, &store.FreezeSetParams{By: alice, Reason: "market turmoil"}); err != nil {
					return err
				}
				var err error
				if aborted, err = s.RunAbortActiveTx(ctx, tx, &store.RunAbortActiveParams{By: alice, Reason: "freeze: market turmoil"}); err != nil {
					return err
				}
				if _, err := s.OperationRecordTx(ctx, tx, &store.OperationRecordParams{Actor: alice, Operation: "freeze.set", Outcome: store.OutcomeOK, Detail: aborted}); err != nil {
					return err
				}
				if fail {
					return errors.New("boom")
				}
				return nil
			})
			return aborted, err
		}
		if _, err := freezeOn(true); err == nil || err.Error() != "boom" {
			t.Fatalf("failing composition = %v, want boom", err)
		}
		if _, on, _ := s.FreezeActive(ctx); on {
			t.Error("a rolled-back freeze is on")
		}
		if r, _ := s.RunGet(ctx, b.run.ID); r.AbortRequestedAt != nil {
			t.Error("a rolled-back abort was kept")
		}
		if ops, _ := s.OperationList(ctx, nil); len(ops) != 0 {
			t.Errorf("a rolled-back operation was recorded: %+v", ops)
		}

		aborted, err := freezeOn(false)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(aborted, []string{b.run.ID, waiting.ID}) {
			t.Errorf("aborted = %v, want the pending and the waiting run", aborted)
		}
		if r, _ := s.RunGet(ctx, b.run.ID); r.AbortRequestedBy != alice || r.State != drills.RunPending {
			t.Errorf("held run = %+v, want the abort requested for its replica", r)
		}
		if r, _ := s.RunGet(ctx, waiting.ID); r.State != drills.RunAborted {
			t.Errorf("run awaiting approval = %s, want aborted", r.State)
		}
		if r, _ := s.RunGet(ctx, done.ID); r.AbortRequestedAt != nil {
			t.Error("an ended run was asked to abort")
		}
		if ops, _ := s.OperationList(ctx, nil); len(ops) != 1 {
			t.Errorf("operations = %+v, want the freeze", ops)
		}
	})
}

// Every write of a run's state follows the run state machine.
func TestRunStateTransitions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		waiting := insertRun(t, s, b.plan, drills.RunAwaitingApproval)
		_, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: waiting.ID, Owner: "replica-a", LeaseFor: time.Minute})
		var te *drills.RunTransitionError
		if !errors.Is(err, store.ErrInvalidTransition) || !errors.As(err, &te) || te.From != drills.RunAwaitingApproval {
			t.Errorf("claiming a run awaiting approval = %v, want ErrInvalidTransition from awaiting_approval", err)
		}
		if r, _ := s.RunGet(ctx, waiting.ID); r.State != drills.RunAwaitingApproval || r.LeaseEpoch != 0 {
			t.Errorf("refused claim changed the run: %+v", r)
		}
		// pending -> succeeded skips running.
		err = s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunSucceeded})
		if !errors.Is(err, store.ErrInvalidTransition) || !errors.As(err, &te) || te.To != drills.RunSucceeded {
			t.Errorf("RunFinish pending -> succeeded = %v, want ErrInvalidTransition", err)
		}
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunWaitingOperator}); !errors.Is(err, store.ErrInvalidTransition) {
			t.Errorf("RunStateSet pending -> waiting_operator = %v, want ErrInvalidTransition", err)
		}
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning}); err != nil {
			t.Fatal(err)
		}
		if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunSucceeded}); err != nil {
			t.Fatalf("RunFinish running -> succeeded: %v", err)
		}
		_, err = s.RunClaim(ctx, &store.RunClaimParams{RunID: b.run.ID, Owner: "replica-b", LeaseFor: time.Minute})
		if !errors.Is(err, store.ErrRunTerminal) || !errors.Is(err, store.ErrInvalidTransition) {
			t.Errorf("claiming an ended run = %v, want ErrRunTerminal and ErrInvalidTransition", err)
		}
	})
}
