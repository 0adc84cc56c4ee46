package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/firedrill/firedrill/drills"
)

// Token errors.
var (
	// ErrTokenRevoked: the token was revoked.
	ErrTokenRevoked = errors.New("token is revoked")
	// ErrTokenExpired: the token's expiry has passed.
	ErrTokenExpired = errors.New("token has expired")
)

// TokenUseInterval is how often a token's last_used_at is written at most: authentication
// runs on every API request, and a write per request would cost more than the request.
const TokenUseInterval = time.Minute

// Token is an API token, without its secret (which is never stored).
type Token struct {
	ID          string
	User        string
	Description string
	// Roles are the roles the token acts with, a subset of its user's when it was created;
	// it acts with those its user still holds.
	Roles      []string
	CreatedAt  time.Time
	CreatedBy  drills.Actor
	ExpiresAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	// RevokedBy is zero unless the token was revoked.
	RevokedBy drills.Actor
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TokenCreateParams are the arguments of TokenCreate.
type TokenCreateParams struct {
	User        string
	Description string
	// Roles the token acts with: a non-empty subset of the user's roles.
	Roles []string
	// SecretHash is the lowercase hex SHA-256 of the token; the token itself never reaches
	// the store. Unique.
	SecretHash string
	// ExpiresAt must be after At.
	ExpiresAt time.Time
	// By is who creates the token; required.
	By drills.Actor
	// At defaults to the clock's now.
	At time.Time
}

// TokenCreate records a new token of an enabled user (ErrUserDisabled otherwise). Its roles
// must be roles the user holds.
func (s *Store) TokenCreate(ctx context.Context, p *TokenCreateParams) (*Token, error) {
	return inTx(ctx, s, p, s.TokenCreateTx)
}

// TokenCreateTx is TokenCreate in tx.
func (s *Store) TokenCreateTx(ctx context.Context, tx *Tx, p *TokenCreateParams) (*Token, error) {
	if p == nil || p.User == "" {
		return nil, errors.New("create token: User is required")
	}
	op := "create token for " + p.User
	if !sha256Hex.MatchString(p.SecretHash) {
		return nil, fmt.Errorf("%s: SecretHash must be a lowercase hex SHA-256", op)
	}
	roles, err := normRoles(p.Roles)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("%s: give the token at least one role", op)
	}
	if err := checkActor(op+": By", p.By); err != nil {
		return nil, err
	}
	at := s.now(p.At)
	expires := utcMS(p.ExpiresAt)
	if !expires.After(at) {
		return nil, fmt.Errorf("%s: ExpiresAt %s is not after %s", op, expires.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	db := tx.with(ctx)
	if err := s.lockUsers(db); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	um, err := takeUser(db, p.User)
	if err != nil {
		return nil, fmt.Errorf("create token: %w", err)
	}
	u, err := userOf(um)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, fmt.Errorf("%s: %w", op, ErrUserDisabled)
	}
	for _, r := range roles {
		if !u.HasRole(r) {
			return nil, fmt.Errorf("%s: role %s: %w", op, r, ErrRoleNotHeld)
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	m := apiTokenModel{ID: id.String(), UserName: p.User, Description: p.Description, SecretHash: p.SecretHash,
		Roles: mustJSON(roles), CreatedAt: at, CreatedBy: colsOf(p.By), ExpiresAt: expires}
	if err := db.Create(&m).Error; err != nil {
		return nil, fmt.Errorf("%s: %w", op, translate(err))
	}
	return tokenOf(&m), nil
}

// TokenAuth is a token found by its secret, with its user as the user is now.
type TokenAuth struct {
	Token *Token
	// UserRoles are the roles the token's user holds now.
	UserRoles []string
}

// Roles are the roles the token acts with now: its roles that its user still holds.
func (a *TokenAuth) Roles() []string {
	out := []string{}
	for _, r := range a.Token.Roles {
		if slices.Contains(a.UserRoles, r) {
			out = append(out, r)
		}
	}
	return out
}

// TokenAuthenticateParams are the arguments of TokenAuthenticate.
type TokenAuthenticateParams struct {
	// SecretHash is the lowercase hex SHA-256 of the token presented.
	SecretHash string
	// Now is when the token is presented; defaults to the clock's now.
	Now time.Time
}

// TokenAuthenticate finds the token whose secret hashes to p.SecretHash, with its user, in one
// indexed read. ErrNotFound for an unknown token, ErrTokenRevoked, ErrTokenExpired, or
// ErrUserDisabled when its user is disabled (so a disabled user's tokens stop at once); with
// those three the TokenAuth is returned too, naming the token refused (for the record). A
// valid token's last use is recorded, at most once per TokenUseInterval.
func (s *Store) TokenAuthenticate(ctx context.Context, p *TokenAuthenticateParams) (*TokenAuth, error) {
	if p == nil || !sha256Hex.MatchString(p.SecretHash) {
		return nil, fmt.Errorf("authenticate token: %w", ErrNotFound)
	}
	now := s.now(p.Now)
	type row struct {
		Token        apiTokenModel `gorm:"embedded"`
		UserRoles    jsonDoc       `gorm:"column:user_roles"`
		UserDisabled bool          `gorm:"column:user_disabled"`
	}
	var rows []row
	err := s.db.WithContext(ctx).Raw(`SELECT t.*, u.roles AS user_roles, u.disabled AS user_disabled
FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.secret_hash = ?`, p.SecretHash).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("authenticate token: %w", translate(err))
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("authenticate token: %w", ErrNotFound)
	}
	r := &rows[0]
	tok := tokenOf(&r.Token)
	var userRoles []string
	if err := json.Unmarshal(r.UserRoles, &userRoles); err != nil {
		return nil, fmt.Errorf("authenticate token %s: roles of %s: %w", tok.ID, tok.User, err)
	}
	auth := &TokenAuth{Token: tok, UserRoles: userRoles}
	switch {
	case tok.RevokedAt != nil:
		return auth, fmt.Errorf("authenticate token %s: %w", tok.ID, ErrTokenRevoked)
	case !tok.ExpiresAt.After(now):
		return auth, fmt.Errorf("authenticate token %s: %w", tok.ID, ErrTokenExpired)
	case r.UserDisabled:
		return auth, fmt.Errorf("authenticate token %s: user %s: %w", tok.ID, tok.User, ErrUserDisabled)
	}
	if tok.LastUsedAt == nil || !tok.LastUsedAt.After(now.Add(-TokenUseInterval)) {
		if err := s.tokenUseRecord(ctx, tok.ID, now); err != nil {
			return nil, fmt.Errorf("authenticate token %s: record use: %w", tok.ID, translate(err))
		}
		tok.LastUsedAt = &now
	}
	return auth, nil
}

// tokenUsePG records a token's use unless it is recent or another request is recording it
// right now (SKIP LOCKED: the row lock is held by that request's write, which sets the same
// minute), and does not wait for its own WAL flush: set_config(..., true) is SET LOCAL for this
// statement's transaction, so only this write commits asynchronously. Losing the last use in
// a crash is harmless; making every request with a busy token queue behind one commit's fsync
// is not. One statement, one round trip. $1 now, $2 token id, $3 the stale bound.
const tokenUsePG = `WITH async AS (SELECT set_config('synchronous_commit', 'off', true) AS v)
UPDATE api_tokens SET last_used_at = $1
WHERE id = (SELECT id FROM api_tokens WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3) FOR UPDATE SKIP LOCKED)
  AND EXISTS (SELECT 1 FROM async WHERE v = 'off')`

// tokenUseRecord writes token id's last use as now, unless it was written within
// TokenUseInterval. It never waits for another request recording the same token's use.
func (s *Store) tokenUseRecord(ctx context.Context, id string, now time.Time) error {
	stale := utcMS(now.Add(-TokenUseInterval))
	if s.dialect == DialectPostgres {
		_, err := s.sqlDB.ExecContext(ctx, tokenUsePG, now, id, stale)
		return err
	}
	// SQLite has one writer at a time and no row locks to skip.
	return s.db.WithContext(ctx).Model(&apiTokenModel{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at <= ?)", id, stale).
		UpdateColumn("last_used_at", now).Error
}

// TokenGet returns a token by ID, or ErrNotFound.
func (s *Store) TokenGet(ctx context.Context, id string) (*Token, error) {
	var m apiTokenModel
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("token %s: %w", id, translate(err))
	}
	return tokenOf(&m), nil
}

// TokenList returns the tokens of user ("" for every user), oldest first.
func (s *Store) TokenList(ctx context.Context, user string) ([]*Token, error) {
	q := s.db.WithContext(ctx).Model(&apiTokenModel{})
	if user != "" {
		q = q.Where("user_name = ?", user)
	}
	var ms []apiTokenModel
	if err := q.Order("created_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("tokens of %q: %w", user, translate(err))
	}
	out := make([]*Token, len(ms))
	for i := range ms {
		out[i] = tokenOf(&ms[i])
	}
	return out, nil
}

// TokenRevokeParams are the arguments of TokenRevoke.
type TokenRevokeParams struct {
	ID string
	// By is who revokes the token; required.
	By drills.Actor
	// At defaults to the clock's now.
	At time.Time
}

// TokenRevoke revokes a token; it stops working at once. ErrTokenRevoked when it already was.
func (s *Store) TokenRevoke(ctx context.Context, p *TokenRevokeParams) (*Token, error) {
	return inTx(ctx, s, p, s.TokenRevokeTx)
}

// TokenRevokeTx is TokenRevoke in tx.
func (s *Store) TokenRevokeTx(ctx context.Context, tx *Tx, p *TokenRevokeParams) (*Token, error) {
	if p == nil || p.ID == "" {
		return nil, errors.New("revoke token: ID is required")
	}
	if err := checkActor("revoke token "+p.ID+": By", p.By); err != nil {
		return nil, err
	}
	at := s.now(p.At)
	db := tx.with(ctx)
	set := setActor(map[string]any{"revoked_at": at}, "revoked_by_", p.By)
	res := db.Model(&apiTokenModel{}).Where("id = ? AND revoked_at IS NULL", p.ID).UpdateColumns(set)
	if res.Error != nil {
		return nil, fmt.Errorf("revoke token %s: %w", p.ID, translate(res.Error))
	}
	var m apiTokenModel
	if err := db.Where("id = ?", p.ID).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("revoke token %s: %w", p.ID, translate(err))
	}
	if res.RowsAffected == 0 {
		return nil, fmt.Errorf("revoke token %s: %w", p.ID, ErrTokenRevoked)
	}
	return tokenOf(&m), nil
}

func tokenOf(m *apiTokenModel) *Token {
	var roles []string
	_ = json.Unmarshal(m.Roles, &roles)
	if roles == nil {
		roles = []string{}
	}
	return &Token{
		ID: m.ID, User: m.UserName, Description: m.Description, Roles: roles,
		CreatedAt: m.CreatedAt.UTC(), CreatedBy: m.CreatedBy.actor(), ExpiresAt: m.ExpiresAt.UTC(),
		LastUsedAt: utcPtr(m.LastUsedAt), RevokedAt: utcPtr(m.RevokedAt), RevokedBy: m.RevokedBy.actor(),
	}
}
