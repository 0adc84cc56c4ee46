package control

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/password"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Console sessions.
const (
	// SessionPrefix starts every console session secret (the cookie's value), so that a leaked
	// one is recognisable and a mistyped one refused before any lookup.
	SessionPrefix = "fds_"
	// DefaultSessionIdle ends a session nobody used for that long: 30 minutes.
	DefaultSessionIdle = 30 * time.Minute
	// DefaultSessionMaxAge ends a session that long after sign-in, however busy: 12 hours (a
	// working day, so a console left open overnight asks to sign in again).
	DefaultSessionMaxAge = 12 * time.Hour
)

// Names under which sign-ins are recorded.
const (
	recPasswordSet = "user.password"
	recSignIn      = "session.sign_in"
	recSignOut     = "session.sign_out"
)

// OIDCActor is who changes the roles of a user signed in through the identity provider: the
// provider's claims decide them, as configured, and the record says so.
var OIDCActor = drills.Actor{Kind: drills.ActorSystem, Name: "oidc"}

// SessionPolicy bounds console sessions.
type SessionPolicy struct {
	// Idle ends a session unused for that long. Defaults to DefaultSessionIdle.
	Idle time.Duration
	// MaxAge ends a session that long after sign-in. Defaults to DefaultSessionMaxAge.
	MaxAge time.Duration
}

func (p SessionPolicy) withDefaults() SessionPolicy {
	if p.Idle <= 0 {
		p.Idle = DefaultSessionIdle
	}
	if p.MaxAge <= 0 {
		p.MaxAge = DefaultSessionMaxAge
	}
	return p
}

// NewSession is a console session just signed in: its secret goes into the cookie, once, and
// is stored only as a hash.
type NewSession struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Method    string    `json:"method"`
	ExpiresAt time.Time `json:"expires_at"`
	Secret    string    `json:"-"`
}

// PasswordSetParams set a local account's password.
type PasswordSetParams struct {
	// User comes from the API's path.
	User     string `json:"-"`
	Password string `json:"password"`
}

// PasswordSet sets a user's console password (admins only): hashed with argon2id, checked
// against the policy, recorded without it; the user's console sessions end.
func (c *Control) PasswordSet(ctx context.Context, caller *Caller, p *PasswordSetParams) (*UserView, error) {
	if p == nil {
		p = &PasswordSetParams{}
	}
	if err := c.authorize(ctx, caller, OpUserManage, recPasswordSet, p.User); err != nil {
		return nil, err
	}
	fail := func(err error) error {
		return c.failed(ctx, caller, recPasswordSet, p.User, err, "user "+p.User, nil)
	}
	if p.User == "" {
		return nil, fail(invalidf("name", "the user's name is required"))
	}
	if err := password.CheckPolicy(p.Password); err != nil {
		return nil, fail(invalidf("password", "%s", err.Error()))
	}
	hash, err := password.Hash(p.Password, c.passwordParams())
	if err != nil {
		return nil, fail(internal(err))
	}
	var u *store.User
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = c.cfg.Store.UserPasswordSetTx(ctx, tx, &store.UserPasswordSetParams{Name: p.User, Hash: hash, At: c.cfg.Clock.Now()}); err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, recPasswordSet, p.User, "console password set; the user's sessions ended", nil)
	})
	if err != nil {
		return nil, fail(err)
	}
	v := userViewOf(u)
	return &v, nil
}

func (c *Control) passwordParams() password.Params {
	if c.cfg.PasswordParams != nil {
		return *c.cfg.PasswordParams
	}
	return password.DefaultParams
}

// wrongCredentials is the one answer to an unknown user, a user without a password and a
// wrong password, so that a sign-in form tells nobody which names exist.
const wrongCredentials = "the user name or password is wrong"

// PasswordSignInParams sign in to the console with a local account.
type PasswordSignInParams struct {
	User     string
	Password string
	// ClientAddr is the client's address, kept with the session.
	ClientAddr string
}

// SignInPassword checks a local account's password and opens a console session. It has no
// caller: it is what makes one. Every attempt is recorded (never the password).
func (c *Control) SignInPassword(ctx context.Context, p *PasswordSignInParams) (*NewSession, error) {
	if p == nil {
		p = &PasswordSignInParams{}
	}
	if p.User == "" {
		return nil, invalidf("user", "the user name is required")
	}
	if p.Password == "" {
		return nil, invalidf("password", "the password is required")
	}
	u, hash, err := c.cfg.Store.UserCredentials(ctx, p.User)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, internal(err)
	}
	if hash == "" {
		// Hash anyway, so that an unknown name takes as long as a wrong password.
		hash = c.dummyHash()
	}
	verr := password.Verify(hash, p.Password)
	if u == nil {
		// What was typed is not recorded: people type their password into the name field.
		c.record(ctx, drills.Actor{}, recSignIn, "", store.OutcomeDenied, "unknown user", map[string]any{"method": store.SessionMethodPassword})
		return nil, unauthenticatedf(wrongCredentials)
	}
	actor := drills.Actor{Kind: drills.ActorUser, Name: u.Name, Via: drills.ViaConsole}
	deny := func(internalMsg, public string) error {
		c.record(ctx, actor, recSignIn, u.Name, store.OutcomeDenied, internalMsg, map[string]any{"method": store.SessionMethodPassword})
		return unauthenticatedf("%s", public)
	}
	switch {
	case !u.HasPassword:
		return nil, deny("the user has no console password", wrongCredentials)
	case errors.Is(verr, password.ErrMismatch):
		return nil, deny("wrong password", wrongCredentials)
	case verr != nil:
		c.log.ErrorContext(ctx, "stored password hash unusable", "user", u.Name, "err", verr)
		return nil, deny("stored password hash unusable", wrongCredentials)
	case u.Disabled:
		return nil, deny("the user is disabled", "this user is disabled: ask an admin")
	}
	return c.openSession(ctx, u.Name, store.SessionMethodPassword, p.ClientAddr, nil)
}

// dummyHash is a valid hash of a random password with the configured parameters.
func (c *Control) dummyHash() string {
	c.dummyOnce.Do(func() {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		c.dummy, _ = password.Hash(base64.RawURLEncoding.EncodeToString(b), c.passwordParams())
	})
	return c.dummy
}

// openSession stores a new session of user, recording the sign-in with detail.
func (c *Control) openSession(ctx context.Context, user, method, addr string, detail map[string]any) (*NewSession, error) {
	secret, hash, err := newSecret(SessionPrefix)
	if err != nil {
		return nil, internal(err)
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["method"] = method
	now := c.cfg.Clock.Now()
	caller := &Caller{Actor: drills.Actor{Kind: drills.ActorUser, Name: user, Via: drills.ViaConsole}}
	var out *NewSession
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		s, err := c.cfg.Store.SessionCreateTx(ctx, tx, &store.SessionCreateParams{
			SecretHash: hash, User: user, Method: method, ClientAddr: addr, At: now, ExpiresAt: now.Add(c.sessions.MaxAge),
		})
		if err != nil {
			return err
		}
		out = &NewSession{ID: s.ID, User: user, Method: method, ExpiresAt: s.ExpiresAt, Secret: secret}
		detail["session_id"] = s.ID
		return c.recordTx(ctx, tx, caller, recSignIn, user, "signed in to the console", detail)
	})
	if err != nil {
		return nil, c.failed(ctx, caller, recSignIn, user, err, "user "+user, nil)
	}
	return out, nil
}

// newSecret returns a fresh secret with prefix and the hex SHA-256 that is all the store
// keeps of it.
func newSecret(prefix string) (secret, hash string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("read random bytes: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashToken(secret), nil
}

// OIDCSignInParams are what the identity provider vouched for, in a verified ID token.
type OIDCSignInParams struct {
	Issuer  string
	Subject string
	// Name is the firedrill user name the claims give (e.g. preferred_username), checked
	// like any user name.
	Name string
	// Roles are the firedrill roles the configured claim mapping gives; the user holds
	// exactly these after signing in.
	Roles      []string
	ClientAddr string
}

// SignInOIDC opens a console session for a person the identity provider authenticated. The
// first sign-in creates the user, linked to the provider's subject; later ones follow the
// provider: the user's roles become exactly Roles, each change recorded as a role grant or
// revocation by OIDCActor. A user disabled in firedrill is refused whatever the provider says,
// and a local user of the same name who was never linked is not taken over.
func (c *Control) SignInOIDC(ctx context.Context, p *OIDCSignInParams) (*NewSession, error) {
	if p == nil || p.Issuer == "" || p.Subject == "" {
		return nil, invalidf("subject", "the identity provider's issuer and subject are required")
	}
	if err := store.CheckUserName(p.Name); err != nil {
		return nil, invalidf("name", "the identity provider's user name: %s", err.Error())
	}
	roles := slices.Clone(p.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	for i, r := range roles {
		if !drills.IsRole(r) {
			return nil, invalidf(fmt.Sprintf("roles[%d]", i), "%q is not a role (%s)", r, strings.Join(drills.Roles, ", "))
		}
	}
	actor := drills.Actor{Kind: drills.ActorUser, Name: p.Name, Via: drills.ViaConsole}
	deny := func(msg string) error {
		c.record(ctx, actor, recSignIn, p.Name, store.OutcomeDenied, msg, map[string]any{"method": store.SessionMethodOIDC, "subject": p.Subject})
		return unauthenticatedf("%s", msg)
	}
	u, err := c.cfg.Store.UserByOIDC(ctx, p.Issuer, p.Subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_, gerr := c.cfg.Store.UserGet(ctx, p.Name)
		switch {
		case gerr == nil:
			return nil, deny(fmt.Sprintf("a firedrill user named %s exists and is not linked to this identity provider account: an admin must resolve it", p.Name))
		case !errors.Is(gerr, store.ErrNotFound):
			return nil, internal(gerr)
		}
	case err != nil:
		return nil, internal(err)
	case u.Disabled:
		return nil, deny("this user is disabled in firedrill: ask an admin")
	case u.Name != p.Name:
		// The provider renamed the account: firedrill keeps the name its record knows.
		actor.Name = u.Name
	}
	if len(roles) == 0 {
		if u != nil {
			// The provider took every role away: so does firedrill, before refusing.
			if err := c.syncOIDCRoles(ctx, u, roles); err != nil {
				return nil, err
			}
		}
		return nil, deny("your identity provider grants you no firedrill role")
	}
	if u == nil {
		err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
			nu, err := c.cfg.Store.UserCreateTx(ctx, tx, &store.UserCreateParams{Name: p.Name, Roles: roles, By: OIDCActor, At: c.cfg.Clock.Now()})
			if err != nil {
				return err
			}
			if _, err := c.cfg.Store.UserOIDCLinkTx(ctx, tx, nu.Name, p.Issuer, p.Subject, c.cfg.Clock.Now()); err != nil {
				return err
			}
			return c.recordTx(ctx, tx, &Caller{Actor: OIDCActor}, recUserCreate, nu.Name, "user created at first sign-in through the identity provider",
				map[string]any{"roles": nu.Roles, "issuer": p.Issuer, "subject": p.Subject})
		})
		if err != nil {
			return nil, c.failed(ctx, &Caller{Actor: OIDCActor}, recUserCreate, p.Name, err, "user "+p.Name, nil)
		}
	} else if err := c.syncOIDCRoles(ctx, u, roles); err != nil {
		return nil, err
	}
	return c.openSession(ctx, actor.Name, store.SessionMethodOIDC, p.ClientAddr, map[string]any{"subject": p.Subject, "roles": roles})
}

// syncOIDCRoles makes u's roles exactly roles, each grant and revocation recorded, in one
// transaction.
func (c *Control) syncOIDCRoles(ctx context.Context, u *store.User, roles []string) error {
	var grant, revoke []string
	for _, r := range roles {
		if !u.HasRole(r) {
			grant = append(grant, r)
		}
	}
	for _, r := range u.Roles {
		if !slices.Contains(roles, r) {
			revoke = append(revoke, r)
		}
	}
	if len(grant)+len(revoke) == 0 {
		return nil
	}
	by := &Caller{Actor: OIDCActor}
	now := c.cfg.Clock.Now()
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range grant {
			if _, err := c.cfg.Store.RoleGrantTx(ctx, tx, &store.RoleChangeParams{User: u.Name, Role: r, By: OIDCActor, At: now}); err != nil {
				return err
			}
			if err := c.recordTx(ctx, tx, by, recRoleGrant, u.Name, "role "+r+" granted by the identity provider's claims", map[string]any{"role": r}); err != nil {
				return err
			}
		}
		for _, r := range revoke {
			if _, err := c.cfg.Store.RoleRevokeTx(ctx, tx, &store.RoleChangeParams{User: u.Name, Role: r, By: OIDCActor, At: now}); err != nil {
				return err
			}
			if err := c.recordTx(ctx, tx, by, recRoleRevoke, u.Name, "role "+r+" revoked: the identity provider's claims no longer give it", map[string]any{"role": r}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return c.failed(ctx, by, recRoleGrant, u.Name, err, "user "+u.Name, nil)
	}
	return nil
}

// SessionAuthenticate turns a console session secret (the cookie) into the caller it stands
// for, on every request: the user's roles as they are now, Via console. A missing, unknown,
// expired or revoked session, or one whose user is disabled (their sessions end at once), is
// an unauthenticated *Error; the secret never appears in an error or a log.
func (c *Control) SessionAuthenticate(ctx context.Context, secret string) (*Caller, *store.Session, error) {
	if secret == "" {
		return nil, nil, unauthenticatedf("sign in first")
	}
	if !wellFormedSecret(secret, SessionPrefix) {
		return nil, nil, unauthenticatedf("the session is not one firedrill issued: sign in again")
	}
	auth, err := c.cfg.Store.SessionAuthenticate(ctx, &store.SessionAuthenticateParams{
		SecretHash: hashToken(secret), Now: c.cfg.Clock.Now(), IdleTimeout: c.sessions.Idle,
	})
	if err != nil {
		var msg string
		switch {
		case errors.Is(err, store.ErrNotFound):
			msg = "the session is not known: sign in again"
		case errors.Is(err, store.ErrSessionRevoked):
			msg = "you were signed out: sign in again"
		case errors.Is(err, store.ErrSessionExpired):
			msg = "the session has expired: sign in again"
		case errors.Is(err, store.ErrUserDisabled):
			msg = "this user is disabled: you were signed out"
			c.record(ctx, drills.Actor{Kind: drills.ActorUser, Name: auth.User.Name, Via: drills.ViaConsole},
				recAuthenticate, auth.Session.ID, store.OutcomeDenied, "session of a disabled user ended", nil)
		default:
			c.log.ErrorContext(ctx, "session authentication failed", "err", err)
			return nil, nil, internal(err)
		}
		return nil, nil, &Error{Category: CategoryUnauthenticated, Message: msg, Err: err}
	}
	return &Caller{
		Actor: drills.Actor{Kind: drills.ActorUser, Name: auth.User.Name, Via: drills.ViaConsole},
		Roles: nonNil(slices.Clone(auth.User.Roles)),
	}, auth.Session, nil
}

// SignOut ends the session of secret; an unknown or ended one changes nothing.
func (c *Control) SignOut(ctx context.Context, secret string) error {
	if !wellFormedSecret(secret, SessionPrefix) {
		return nil
	}
	s, err := c.cfg.Store.SessionRevoke(ctx, hashToken(secret), store.SessionRevokedSignOut, c.cfg.Clock.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		c.log.ErrorContext(ctx, "sign out failed", "err", err)
		return internal(err)
	}
	c.record(ctx, drills.Actor{Kind: drills.ActorUser, Name: s.User, Via: drills.ViaConsole}, recSignOut, s.User,
		store.OutcomeOK, "signed out of the console", map[string]any{"session_id": s.ID})
	return nil
}

func wellFormedSecret(s, prefix string) bool {
	if len(s) != len(prefix)+base64.RawURLEncoding.EncodedLen(tokenBytes) || !strings.HasPrefix(s, prefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	return err == nil
}
