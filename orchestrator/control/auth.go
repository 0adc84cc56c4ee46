package control

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// API tokens.
const (
	// TokenPrefix starts every API token, so that a leaked one is recognisable (secret
	// scanners) and a mistyped credential is refused before any lookup.
	TokenPrefix = "fdt_"
	// tokenBytes is the token's randomness: 256 bits.
	tokenBytes = 32
	// DefaultTokenExpiresIn is a new token's lifetime when TokenCreateParams.ExpiresIn is empty.
	DefaultTokenExpiresIn = 90 * 24 * time.Hour
	// MaxTokenExpiresIn is the longest lifetime a token may be given.
	MaxTokenExpiresIn = 365 * 24 * time.Hour
	// MinTokenExpiresIn is the shortest.
	MinTokenExpiresIn = time.Minute
	// maxDescription bounds a token's description.
	maxDescription = 200
)

// tokenLen is the length of a token: the prefix and 43 base64url characters.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// newToken returns a fresh token and the hex SHA-256 that is all the store keeps of it.
func newToken() (secret, hash string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("read random bytes: %w", err)
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashToken(secret), nil
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// wellFormed reports whether s can be a token firedrill issued.
func wellFormed(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	return err == nil
}

// Authenticate turns an API token into the caller it stands for, acting through via. A
// missing, unknown, expired or revoked token, or one whose user is disabled, is an
// unauthenticated *Error; the token itself never appears in an error or a log.
func (c *Control) Authenticate(ctx context.Context, token string, via drills.Via) (*Caller, error) {
	switch via {
	case "":
		via = drills.ViaAPI
	case drills.ViaAPI, drills.ViaCLI, drills.ViaWeb:
	default:
		// A console session authenticates with SessionAuthenticate, never with a token.
		return nil, invalidf("via", "via %q is not one of cli, api, web", via)
	}
	if token == "" {
		return nil, unauthenticatedf("an API token is required (Authorization: Bearer <token>)")
	}
	if !wellFormed(token) {
		return nil, unauthenticatedf("the API token is not one firedrill issued")
	}
	auth, err := c.cfg.Store.TokenAuthenticate(ctx, &store.TokenAuthenticateParams{SecretHash: hashToken(token), Now: c.cfg.Clock.Now()})
	if err != nil {
		var msg string
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, &Error{Category: CategoryUnauthenticated, Message: "the API token is not known", Err: err}
		case errors.Is(err, store.ErrTokenExpired):
			msg = "the API token has expired: ask an admin for a new one"
		case errors.Is(err, store.ErrTokenRevoked):
			msg = "the API token was revoked"
		case errors.Is(err, store.ErrUserDisabled):
			msg = "the user of this API token is disabled"
		default:
			c.log.ErrorContext(ctx, "authentication failed", "err", err)
			return nil, internal(err)
		}
		// A known token refused: who it was is worth keeping (the token's ID, never the token).
		if auth != nil && auth.Token != nil {
			tok := auth.Token
			c.record(ctx, drills.Actor{Kind: drills.ActorUser, Name: tok.User, Via: via, TokenID: tok.ID},
				recAuthenticate, tok.ID, store.OutcomeDenied, msg, nil)
		}
		return nil, &Error{Category: CategoryUnauthenticated, Message: msg, Err: err}
	}
	return &Caller{
		Actor: drills.Actor{Kind: drills.ActorUser, Name: auth.Token.User, Via: via, TokenID: auth.Token.ID},
		Roles: auth.Roles(),
	}, nil
}

// WhoamiGet says who the caller is and what it may do. Every authenticated caller may ask.
func (c *Control) WhoamiGet(ctx context.Context, caller *Caller) (*Whoami, error) {
	if caller == nil || !caller.Actor.Authenticated() {
		return nil, unauthenticatedf("whoami needs an authenticated caller: give an API token (FIREDRILL_TOKEN)")
	}
	w := &Whoami{Actor: caller.Actor, Roles: nonNil(slices.Clone(caller.Roles)), Operations: []Operation{}}
	for _, op := range Operations() {
		if Allowed(op, caller.Roles) {
			w.Operations = append(w.Operations, op)
		}
	}
	if caller.Actor.TokenID != "" {
		tok, err := c.cfg.Store.TokenGet(ctx, caller.Actor.TokenID)
		switch {
		case err == nil:
			exp := tok.ExpiresAt
			w.TokenExpiresAt = &exp
		case !errors.Is(err, store.ErrNotFound):
			return nil, internal(err)
		}
	}
	return w, nil
}

// TokenCreate creates a token; the secret is returned once and stored only as a hash.
func (c *Control) TokenCreate(ctx context.Context, caller *Caller, p *TokenCreateParams) (*NewToken, error) {
	if p == nil {
		p = &TokenCreateParams{}
	}
	if err := c.authorize(ctx, caller, OpTokenManage, recTokenCreate, p.User); err != nil {
		return nil, err
	}
	expires, err := c.tokenParams(ctx, p)
	if err != nil {
		return nil, c.failed(ctx, caller, recTokenCreate, p.User, err, "user "+p.User, nil)
	}
	var out *NewToken
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = c.tokenCreateTx(ctx, tx, caller.Actor, p.User, p.Description, p.Roles, expires)
		if err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, recTokenCreate, out.ID, "token created for "+p.User, tokenDetail(&out.TokenView))
	})
	if err != nil {
		return nil, c.failed(ctx, caller, recTokenCreate, p.User, err, "user "+p.User, map[error]string{
			store.ErrRoleNotHeld: fmt.Sprintf("%s does not hold every role asked for the token", p.User),
		})
	}
	return out, nil
}

// tokenParams checks p, fills its default roles (every role of the user) and returns the
// token's expiry.
func (c *Control) tokenParams(ctx context.Context, p *TokenCreateParams) (time.Time, error) {
	if p.User == "" {
		return time.Time{}, invalidf("user", "user is required")
	}
	if len(p.Description) > maxDescription {
		return time.Time{}, invalidf("description", "description is longer than %d characters", maxDescription)
	}
	in := DefaultTokenExpiresIn
	if p.ExpiresIn != "" {
		d, err := time.ParseDuration(p.ExpiresIn)
		if err != nil {
			return time.Time{}, invalidf("expires_in", "expires_in %q is not a duration such as 720h", p.ExpiresIn)
		}
		in = d
	}
	if in < MinTokenExpiresIn || in > MaxTokenExpiresIn {
		return time.Time{}, invalidf("expires_in", "expires_in must be between %s and %s (a year)", MinTokenExpiresIn, MaxTokenExpiresIn)
	}
	for i, r := range p.Roles {
		if !drills.IsRole(r) {
			return time.Time{}, invalidf(fmt.Sprintf("roles[%d]", i), "%q is not a role (%s)", r, strings.Join(drills.Roles, ", "))
		}
	}
	u, err := c.cfg.Store.UserGet(ctx, p.User)
	if err != nil {
		return time.Time{}, err
	}
	if u.Disabled {
		return time.Time{}, conflictf("user %s is disabled", u.Name)
	}
	if len(p.Roles) == 0 {
		p.Roles = u.Roles
	}
	for i, r := range p.Roles {
		if !u.HasRole(r) {
			return time.Time{}, invalidf(fmt.Sprintf("roles[%d]", i), "%s does not hold the role %s; a token acts with roles of its user", u.Name, r)
		}
	}
	if len(p.Roles) == 0 {
		return time.Time{}, conflictf("user %s holds no role: grant one first", u.Name)
	}
	return c.cfg.Clock.Now().Add(in), nil
}

// tokenCreateTx makes a token and records its hash in tx.
func (c *Control) tokenCreateTx(ctx context.Context, tx *store.Tx, by drills.Actor, user, desc string, roles []string, expires time.Time) (*NewToken, error) {
	secret, hash, err := newToken()
	if err != nil {
		return nil, err
	}
	tok, err := c.cfg.Store.TokenCreateTx(ctx, tx, &store.TokenCreateParams{
		User: user, Description: desc, Roles: roles, SecretHash: hash, ExpiresAt: expires, By: by, At: c.cfg.Clock.Now(),
	})
	if err != nil {
		return nil, err
	}
	return &NewToken{TokenView: tokenViewOf(tok), Secret: secret}, nil
}

func tokenDetail(t *TokenView) map[string]any {
	return map[string]any{"token_id": t.ID, "user": t.User, "roles": t.Roles, "expires_at": t.ExpiresAt, "description": t.Description}
}

// TokenList lists tokens, of one user or ("") of all.
func (c *Control) TokenList(ctx context.Context, caller *Caller, user string) ([]TokenView, error) {
	if err := c.authorize(ctx, caller, OpTokenManage, "", user); err != nil {
		return nil, err
	}
	toks, err := c.cfg.Store.TokenList(ctx, user)
	if err != nil {
		return nil, internal(err)
	}
	out := make([]TokenView, 0, len(toks))
	for _, t := range toks {
		out = append(out, tokenViewOf(t))
	}
	return out, nil
}

// TokenRevoke revokes a token; it stops working at once.
func (c *Control) TokenRevoke(ctx context.Context, caller *Caller, id string) (*TokenView, error) {
	if err := c.authorize(ctx, caller, OpTokenManage, recTokenRevoke, id); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, c.failed(ctx, caller, recTokenRevoke, id, invalidf("id", "the token's id is required"), "", nil)
	}
	var out TokenView
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		tok, err := c.cfg.Store.TokenRevokeTx(ctx, tx, &store.TokenRevokeParams{ID: id, By: caller.Actor, At: c.cfg.Clock.Now()})
		if err != nil {
			return err
		}
		out = tokenViewOf(tok)
		return c.recordTx(ctx, tx, caller, recTokenRevoke, id, "token of "+tok.User+" revoked", tokenDetail(&out))
	})
	if err != nil {
		return nil, c.failed(ctx, caller, recTokenRevoke, id, err, "token "+id, nil)
	}
	return &out, nil
}

func tokenViewOf(t *store.Token) TokenView {
	return TokenView{
		ID: t.ID, User: t.User, Description: t.Description, Roles: nonNil(t.Roles), CreatedAt: t.CreatedAt,
		CreatedBy: t.CreatedBy, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt,
		RevokedBy: actorPtr(t.RevokedBy),
	}
}

// Bootstrap creates the first admin and a one-time token for them, and refuses (conflict)
// once any admin exists. It is the one operation without a caller: it runs on a firedrill host
// with direct access to the database (firedrill user bootstrap).
func (c *Control) Bootstrap(ctx context.Context, p *BootstrapParams) (*NewToken, error) {
	if p == nil {
		p = &BootstrapParams{}
	}
	if err := store.CheckUserName(p.Name); err != nil {
		return nil, invalidf("name", "%s", err.Error())
	}
	if p.By.IsZero() || p.By.Validate() != nil {
		return nil, invalidf("by", "who bootstraps must be given (the local person)")
	}
	by := &Caller{Actor: p.By}
	var out *NewToken
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := c.cfg.Store.UserBootstrapTx(ctx, tx, &store.UserBootstrapParams{Name: p.Name, By: p.By, At: c.cfg.Clock.Now()}); err != nil {
			return err
		}
		var err error
		out, err = c.tokenCreateTx(ctx, tx, p.By, p.Name, "bootstrap", []string{drills.RoleAdmin}, c.cfg.Clock.Now().Add(DefaultTokenExpiresIn))
		if err != nil {
			return err
		}
		return c.recordTx(ctx, tx, by, recBootstrap, p.Name, p.Name+" is the first admin", tokenDetail(&out.TokenView))
	})
	if err != nil {
		return nil, c.failed(ctx, by, recBootstrap, p.Name, err, "user "+p.Name, map[error]string{
			store.ErrAdminExists: "an admin already exists: ask them for a token (firedrill token create)",
		})
	}
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func actorPtr(a drills.Actor) *drills.Actor {
	if a.IsZero() {
		return nil
	}
	return &a
}
