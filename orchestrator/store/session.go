package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Session errors.
var (
	// ErrSessionRevoked: the console session was signed out or ended by firedrill.
	ErrSessionRevoked = errors.New("session is revoked")
	// ErrSessionExpired: the session was idle too long or reached its absolute expiry.
	ErrSessionExpired = errors.New("session has expired")
)

// How a console session was signed in.
const (
	SessionMethodPassword = "password"
	SessionMethodOIDC     = "oidc"
)

// Why a session ended (console_sessions.revoke_reason).
const (
	SessionRevokedSignOut         = "signed out"
	SessionRevokedUserDisabled    = "user disabled"
	SessionRevokedPasswordChanged = "password changed"
	SessionRevokedIdle            = "idle timeout"
)

type consoleSessionModel struct {
	ID           string     `gorm:"column:id;primaryKey"`
	SecretHash   string     `gorm:"column:secret_hash"`
	UserName     string     `gorm:"column:user_name"`
	Method       string     `gorm:"column:method"`
	ClientAddr   string     `gorm:"column:client_addr"`
	CreatedAt    time.Time  `gorm:"column:created_at"`
	LastSeenAt   time.Time  `gorm:"column:last_seen_at"`
	ExpiresAt    time.Time  `gorm:"column:expires_at"`
	RevokedAt    *time.Time `gorm:"column:revoked_at"`
	RevokeReason string     `gorm:"column:revoke_reason"`
}

func (consoleSessionModel) TableName() string { return "console_sessions" }

// Session is a console session, as stored: never its secret.
type Session struct {
	ID         string
	User       string
	Method     string
	ClientAddr string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute expiry, whatever the activity.
	ExpiresAt    time.Time
	RevokedAt    *time.Time
	RevokeReason string
}

func sessionOf(m *consoleSessionModel) *Session {
	return &Session{
		ID: m.ID, User: m.UserName, Method: m.Method, ClientAddr: m.ClientAddr, CreatedAt: m.CreatedAt.UTC(),
		LastSeenAt: m.LastSeenAt.UTC(), ExpiresAt: m.ExpiresAt.UTC(), RevokedAt: utcPtr(m.RevokedAt), RevokeReason: m.RevokeReason,
	}
}

// SessionCreateParams are the arguments of SessionCreateTx.
type SessionCreateParams struct {
	// SecretHash is the lowercase hex SHA-256 of the session's secret.
	SecretHash string
	User       string
	// Method is SessionMethodPassword or SessionMethodOIDC.
	Method     string
	ClientAddr string
	At         time.Time
	ExpiresAt  time.Time
}

// SessionCreateTx stores a new session of an enabled user in tx.
func (s *Store) SessionCreateTx(ctx context.Context, tx *Tx, p *SessionCreateParams) (*Session, error) {
	if p == nil || !sha256Hex.MatchString(p.SecretHash) {
		return nil, errors.New("create session: SecretHash must be a hex SHA-256")
	}
	if p.Method != SessionMethodPassword && p.Method != SessionMethodOIDC {
		return nil, fmt.Errorf("create session: method %q is not %s or %s", p.Method, SessionMethodPassword, SessionMethodOIDC)
	}
	at := s.now(p.At)
	if !p.ExpiresAt.After(at) {
		return nil, errors.New("create session: ExpiresAt must be after At")
	}
	db := tx.with(ctx)
	u, err := takeUser(db, p.User)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	if u.Disabled {
		return nil, fmt.Errorf("create session for %s: %w", p.User, ErrUserDisabled)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	m := consoleSessionModel{ID: id.String(), SecretHash: p.SecretHash, UserName: p.User, Method: p.Method, ClientAddr: p.ClientAddr,
		CreatedAt: at, LastSeenAt: at, ExpiresAt: utcMS(p.ExpiresAt)}
	if err := db.Create(&m).Error; err != nil {
		return nil, fmt.Errorf("create session for %s: %w", p.User, translate(err))
	}
	return sessionOf(&m), nil
}

// SessionAuth is a session found by its secret, with its user as the user is now.
type SessionAuth struct {
	Session *Session
	User    *User
}

// SessionAuthenticateParams are the arguments of SessionAuthenticate.
type SessionAuthenticateParams struct {
	SecretHash string
	// Now defaults to the clock's now.
	Now time.Time
	// IdleTimeout ends a session not used for that long; required.
	IdleTimeout time.Duration
}

// SessionAuthenticate finds the session whose secret hashes to p.SecretHash with its user, on
// every request: ErrNotFound, ErrSessionRevoked, ErrSessionExpired (idle or absolute), or
// ErrUserDisabled, in which case the session is revoked at once. A valid session's last use
// becomes now, which keeps it from going idle; it is written at most once per
// SessionSeenInterval (see there: idle expiry is accurate to that interval).
func (s *Store) SessionAuthenticate(ctx context.Context, p *SessionAuthenticateParams) (*SessionAuth, error) {
	if p == nil || !sha256Hex.MatchString(p.SecretHash) {
		return nil, fmt.Errorf("authenticate session: %w", ErrNotFound)
	}
	if p.IdleTimeout <= 0 {
		return nil, errors.New("authenticate session: IdleTimeout is required")
	}
	now := s.now(p.Now)
	db := s.db.WithContext(ctx)
	m, um, err := sessionWithUser(db, p.SecretHash)
	if err != nil {
		return nil, fmt.Errorf("authenticate session: %w", translate(err))
	}
	u, err := userOf(um)
	if err != nil {
		return nil, err
	}
	auth := &SessionAuth{Session: sessionOf(m), User: u}
	switch {
	case m.RevokedAt != nil:
		return auth, fmt.Errorf("authenticate session %s: %w", m.ID, ErrSessionRevoked)
	case u.Disabled:
		if err := revokeSession(db, m.ID, SessionRevokedUserDisabled, now); err != nil {
			return nil, fmt.Errorf("authenticate session %s: %w", m.ID, err)
		}
		return auth, fmt.Errorf("authenticate session %s: user %s: %w", m.ID, u.Name, ErrUserDisabled)
	case !m.ExpiresAt.After(now):
		return auth, fmt.Errorf("authenticate session %s: %w (absolute expiry)", m.ID, ErrSessionExpired)
	case !m.LastSeenAt.Add(p.IdleTimeout).After(now):
		if err := revokeSession(db, m.ID, SessionRevokedIdle, now); err != nil {
			return nil, fmt.Errorf("authenticate session %s: %w", m.ID, err)
		}
		return auth, fmt.Errorf("authenticate session %s: %w (idle)", m.ID, ErrSessionExpired)
	}
	if every := sessionSeenEvery(p.IdleTimeout); !m.LastSeenAt.After(now.Add(-every)) {
		if err := s.sessionSeenRecord(ctx, m.ID, now, every); err != nil {
			return nil, fmt.Errorf("authenticate session %s: record use: %w", m.ID, translate(err))
		}
		auth.Session.LastSeenAt = utcMS(now)
	}
	return auth, nil
}

// The columns of a session and of its user, as gorm maps them.
var (
	sessionColumns = newModelColumns[consoleSessionModel]()
	userColumns    = newModelColumns[userModel]()
)

// sessionWithUserSQL reads a session and its user as they are now, in one statement: every
// console request runs it, and a second round trip for the user cost as much as the first.
var sessionWithUserSQL = `SELECT ` + sessionColumns.list("s") + `, ` + userColumns.list("u") + `
        FROM console_sessions s JOIN users u ON u.name = s.user_name WHERE s.secret_hash = ?`

// sessionWithUser is the session whose secret hashes to secretHash, and its user, scanned
// without gorm (its reflection over two models cost more than the statement);
// gorm.ErrRecordNotFound when there is none.
func sessionWithUser(db *gorm.DB, secretHash string) (*consoleSessionModel, *userModel, error) {
	rs, err := db.Raw(sessionWithUserSQL, secretHash).Rows()
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	if !rs.Next() {
		if err := rs.Err(); err != nil {
			return nil, nil, err
		}
		return nil, nil, gorm.ErrRecordNotFound
	}
	var m consoleSessionModel
	var u userModel
	if err := rs.Scan(userColumns.dest(sessionColumns.dest(nil, &m), &u)...); err != nil {
		return nil, nil, err
	}
	return &m, &u, rs.Err()
}

// SessionSeenInterval is how often a session's last_seen_at is written at most, as
// TokenUseInterval is for tokens: every console request authenticates, and a write per request
// would cost more than the page. So last_seen_at may lag the last request by that much, and a
// session ends as idle up to that long before IdleTimeout of real inactivity: idle expiry is
// accurate to the interval (never late). An idle timeout under ten intervals writes every
// tenth of it instead, so the lag stays a tenth of the timeout.
const SessionSeenInterval = time.Minute

func sessionSeenEvery(idle time.Duration) time.Duration { return min(SessionSeenInterval, idle/10) }

// sessionSeenPG is tokenUsePG for a session: no write when another request is writing the
// same row right now (SKIP LOCKED), and no wait for its commit's flush (losing a last use in a
// crash only ends a session a little early). $1 now, $2 session id, $3 the stale bound.
const sessionSeenPG = `WITH async AS (SELECT set_config('synchronous_commit', 'off', true) AS v)
UPDATE console_sessions SET last_seen_at = $1
WHERE id = (SELECT id FROM console_sessions WHERE id = $2 AND last_seen_at <= $3 FOR UPDATE SKIP LOCKED)
  AND EXISTS (SELECT 1 FROM async WHERE v = 'off')`

// sessionSeenRecord writes session id's last use as now, unless it was written within every.
func (s *Store) sessionSeenRecord(ctx context.Context, id string, now time.Time, every time.Duration) error {
	stale := utcMS(now.Add(-every))
	if s.dialect == DialectPostgres {
		_, err := s.sqlDB.ExecContext(ctx, sessionSeenPG, utcMS(now), id, stale)
		return err
	}
	return s.db.WithContext(ctx).Model(&consoleSessionModel{}).Where("id = ? AND last_seen_at <= ?", id, stale).
		UpdateColumn("last_seen_at", utcMS(now)).Error
}

// SessionRevoke ends the session whose secret hashes to secretHash (signing out). It returns
// the session; ErrNotFound for an unknown one. Revoking a revoked session changes nothing.
func (s *Store) SessionRevoke(ctx context.Context, secretHash, reason string, at time.Time) (*Session, error) {
	if !sha256Hex.MatchString(secretHash) {
		return nil, fmt.Errorf("revoke session: %w", ErrNotFound)
	}
	db := s.db.WithContext(ctx)
	var m consoleSessionModel
	if err := db.Where("secret_hash = ?", secretHash).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("revoke session: %w", translate(err))
	}
	if m.RevokedAt == nil {
		at = s.now(at)
		if err := revokeSession(db, m.ID, reason, at); err != nil {
			return nil, fmt.Errorf("revoke session %s: %w", m.ID, err)
		}
		m.RevokedAt, m.RevokeReason = &at, reason
	}
	return sessionOf(&m), nil
}

// SessionList returns the sessions of a user, oldest first.
func (s *Store) SessionList(ctx context.Context, user string) ([]*Session, error) {
	var ms []consoleSessionModel
	if err := s.db.WithContext(ctx).Where("user_name = ?", user).Order("created_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("sessions of %s: %w", user, translate(err))
	}
	out := make([]*Session, len(ms))
	for i := range ms {
		out[i] = sessionOf(&ms[i])
	}
	return out, nil
}

// SignInLast is when each user last signed in to the console (opened a session), by name;
// a user who never did is absent.
func (s *Store) SignInLast(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		UserName string    `gorm:"column:user_name"`
		Last     time.Time `gorm:"column:last"`
	}
	if err := s.db.WithContext(ctx).Model(&consoleSessionModel{}).Select("user_name, MAX(created_at) AS last").
		Group("user_name").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("last sign-ins: %w", translate(err))
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.UserName] = r.Last.UTC()
	}
	return out, nil
}

func revokeSession(db *gorm.DB, id, reason string, at time.Time) error {
	return translate(db.Model(&consoleSessionModel{}).Where("id = ? AND revoked_at IS NULL", id).
		UpdateColumns(map[string]any{"revoked_at": utcMS(at), "revoke_reason": reason}).Error)
}

func revokeUserSessions(db *gorm.DB, user, reason string, at time.Time) error {
	return translate(db.Model(&consoleSessionModel{}).Where("user_name = ? AND revoked_at IS NULL", user).
		UpdateColumns(map[string]any{"revoked_at": utcMS(at), "revoke_reason": reason}).Error)
}

// UserPasswordSetParams are the arguments of UserPasswordSetTx.
type UserPasswordSetParams struct {
	Name string
	// Hash is the argon2id PHC string of the new password; never the password.
	Hash string
	At   time.Time
}

// UserPasswordSetTx sets an enabled user's password hash in tx and ends their console
// sessions: whoever knew the old password is signed out.
func (s *Store) UserPasswordSetTx(ctx context.Context, tx *Tx, p *UserPasswordSetParams) (*User, error) {
	if p == nil || p.Name == "" || len(p.Hash) < len("$argon2id$") || p.Hash[:len("$argon2id$")] != "$argon2id$" {
		return nil, errors.New("set password: Name and an argon2id Hash are required")
	}
	db := tx.with(ctx)
	if err := s.lockUsers(db); err != nil {
		return nil, fmt.Errorf("set password of %s: %w", p.Name, err)
	}
	m, err := takeUser(db, p.Name)
	if err != nil {
		return nil, fmt.Errorf("set password: %w", err)
	}
	if m.Disabled {
		return nil, fmt.Errorf("set password of %s: %w", p.Name, ErrUserDisabled)
	}
	at := s.now(p.At)
	if err := db.Model(&userModel{}).Where("name = ?", p.Name).
		UpdateColumns(map[string]any{"password_hash": p.Hash, "password_set_at": at, "updated_at": at}).Error; err != nil {
		return nil, fmt.Errorf("set password of %s: %w", p.Name, translate(err))
	}
	if err := revokeUserSessions(db, p.Name, SessionRevokedPasswordChanged, at); err != nil {
		return nil, fmt.Errorf("set password of %s: %w", p.Name, err)
	}
	m.PasswordHash, m.PasswordSetAt, m.UpdatedAt = p.Hash, &at, at
	return userOf(m)
}

// UserCredentials returns a user with their password hash ("" when they have none), for
// checking a sign-in; ErrNotFound for an unknown user.
func (s *Store) UserCredentials(ctx context.Context, name string) (*User, string, error) {
	m, err := takeUser(s.db.WithContext(ctx), name)
	if err != nil {
		return nil, "", err
	}
	u, err := userOf(m)
	if err != nil {
		return nil, "", err
	}
	return u, m.PasswordHash, nil
}

// UserByOIDC returns the user linked to an identity provider's account, or ErrNotFound.
func (s *Store) UserByOIDC(ctx context.Context, issuer, subject string) (*User, error) {
	if issuer == "" || subject == "" {
		return nil, fmt.Errorf("user of an OIDC identity: %w", ErrNotFound)
	}
	var m userModel
	if err := s.db.WithContext(ctx).Where("oidc_issuer = ? AND oidc_subject = ?", issuer, subject).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("user of OIDC subject %s: %w", subject, translate(err))
	}
	return userOf(&m)
}

// UserOIDCLinkTx links a user to an identity provider's account in tx. A user already linked
// to another subject is ErrDuplicate: a name taken by one account cannot be claimed by another.
func (s *Store) UserOIDCLinkTx(ctx context.Context, tx *Tx, name, issuer, subject string, at time.Time) (*User, error) {
	if issuer == "" || subject == "" {
		return nil, errors.New("link OIDC identity: issuer and subject are required")
	}
	db := tx.with(ctx)
	m, err := takeUser(db, name)
	if err != nil {
		return nil, fmt.Errorf("link OIDC identity: %w", err)
	}
	if m.OIDCSubject != "" && (m.OIDCIssuer != issuer || m.OIDCSubject != subject) {
		return nil, fmt.Errorf("link %s to OIDC subject %s: linked to another: %w", name, subject, ErrDuplicate)
	}
	at = s.now(at)
	if err := db.Model(&userModel{}).Where("name = ?", name).
		UpdateColumns(map[string]any{"oidc_issuer": issuer, "oidc_subject": subject, "updated_at": at}).Error; err != nil {
		return nil, fmt.Errorf("link %s to OIDC subject %s: %w", name, subject, translate(err))
	}
	m.OIDCIssuer, m.OIDCSubject, m.UpdatedAt = issuer, subject, at
	return userOf(m)
}
