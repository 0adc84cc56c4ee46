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
	"gorm.io/gorm"

	"github.com/firedrill/firedrill/drills"
)

// User errors.
var (
	// ErrUserDisabled: the user is disabled; they cannot act, and their tokens do not work.
	ErrUserDisabled = errors.New("user is disabled")
	// ErrAdminExists: a first admin was asked for, but an admin already exists.
	ErrAdminExists = errors.New("an admin already exists")
	// ErrLastAdmin: the change would leave no enabled admin, so nobody could manage users.
	ErrLastAdmin = errors.New("the last enabled admin cannot be disabled or lose the admin role")
	// ErrRoleNotHeld: the user does not hold the role (wraps ErrNotFound).
	ErrRoleNotHeld = fmt.Errorf("%w: the user does not hold the role", ErrNotFound)
)

// Role changes recorded in role_grants.
const (
	RoleChangeGrant  = "grant"
	RoleChangeRevoke = "revoke"
)

// User is a person known to firedrill, with the roles they hold.
type User struct {
	Name  string
	Roles []string
	// Disabled users cannot act; their tokens stop working at once.
	Disabled   bool
	CreatedAt  time.Time
	CreatedBy  drills.Actor
	UpdatedAt  time.Time
	DisabledAt *time.Time
	// DisabledBy is zero while the user is enabled.
	DisabledBy drills.Actor
	// HasPassword: the user may sign in to the console with a password (the hash itself is
	// read only by UserCredentials).
	HasPassword   bool
	PasswordSetAt *time.Time
	// OIDCIssuer and OIDCSubject link the user to an identity provider's account; empty when
	// the user never signed in through one.
	OIDCIssuer, OIDCSubject string
}

// HasRole reports whether the user holds role.
func (u *User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// RoleGrant is one recorded grant or revocation of a role.
type RoleGrant struct {
	ID   string
	User string
	Role string
	// Change is RoleChangeGrant or RoleChangeRevoke.
	Change string
	By     drills.Actor
	At     time.Time
}

var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// CheckUserName returns an error unless name is a valid user name: 1 to 64 lowercase letters,
// digits and . _ @ -, starting with a letter or digit.
func CheckUserName(name string) error {
	if !userName.MatchString(name) {
		return fmt.Errorf("user name %q: use 1 to 64 lowercase letters, digits and . _ @ -, starting with a letter or digit", name)
	}
	return nil
}

// normRoles sorts and deduplicates roles and checks that each is a known role.
func normRoles(roles []string) ([]string, error) {
	out := slices.Clone(roles)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, r := range out {
		if !drills.IsRole(r) {
			return nil, fmt.Errorf("unknown role %q (known: %v)", r, drills.Roles)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// lockUsers serialises the changes to users, roles and tokens: the last-admin and first-admin
// rules read every user, and must see what concurrent changes commit. Reads (authentication)
// are not blocked. SQLite transactions are IMMEDIATE: the writer lock is already held.
func (s *Store) lockUsers(db *gorm.DB) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	return db.Exec("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE").Error
}

func takeUser(db *gorm.DB, name string) (*userModel, error) {
	var m userModel
	if err := db.Where("name = ?", name).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("user %s: %w", name, translate(err))
	}
	return &m, nil
}

// recordRoleChange appends a role_grants row.
func recordRoleChange(db *gorm.DB, user, role, change string, by drills.Actor, at time.Time) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	return db.Create(&roleGrantModel{ID: id.String(), UserName: user, Role: role, Change: change, By: colsOf(by), At: at}).Error
}

// UserCreateParams are the arguments of UserCreate.
type UserCreateParams struct {
	Name string
	// Roles the user holds; at least one.
	Roles []string
	// By is who creates the user; required.
	By drills.Actor
	// At defaults to the clock's now.
	At time.Time
}

// UserCreate creates a user with roles and records each grant, by whom, in the same
// transaction. ErrDuplicate when the user exists.
func (s *Store) UserCreate(ctx context.Context, p *UserCreateParams) (*User, error) {
	return inTx(ctx, s, p, s.UserCreateTx)
}

// UserCreateTx is UserCreate in tx.
func (s *Store) UserCreateTx(ctx context.Context, tx *Tx, p *UserCreateParams) (*User, error) {
	if p == nil {
		return nil, errors.New("create user: params are required")
	}
	if err := CheckUserName(p.Name); err != nil {
		return nil, err
	}
	roles, err := normRoles(p.Roles)
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", p.Name, err)
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("create user %s: give at least one role (%v)", p.Name, drills.Roles)
	}
	if err := checkActor("create user "+p.Name+": By", p.By); err != nil {
		return nil, err
	}
	db := tx.with(ctx)
	if err := s.lockUsers(db); err != nil {
		return nil, fmt.Errorf("create user %s: %w", p.Name, err)
	}
	m, err := createUser(db, p.Name, roles, p.By, s.now(p.At))
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", p.Name, translate(err))
	}
	return userOf(m)
}

func createUser(db *gorm.DB, name string, roles []string, by drills.Actor, at time.Time) (*userModel, error) {
	m := userModel{Name: name, Roles: mustJSON(roles), CreatedAt: at, UpdatedAt: at, CreatedBy: colsOf(by)}
	if err := db.Create(&m).Error; err != nil {
		return nil, err
	}
	for _, r := range roles {
		if err := recordRoleChange(db, name, r, RoleChangeGrant, by, at); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// UserBootstrapParams are the arguments of UserBootstrapTx.
type UserBootstrapParams struct {
	Name string
	// By is who bootstraps (a person at a firedrill host); required.
	By drills.Actor
	// At defaults to the clock's now.
	At time.Time
}

// UserBootstrapTx makes Name the first admin, in tx: it creates the user with the admin role
// (or grants it to an existing, enabled user) and records the grant. It refuses with
// ErrAdminExists once any user holds the admin role, disabled or not; concurrent bootstraps
// are serialised, so exactly one can win.
func (s *Store) UserBootstrapTx(ctx context.Context, tx *Tx, p *UserBootstrapParams) (*User, error) {
	if p == nil {
		return nil, errors.New("bootstrap: params are required")
	}
	if err := CheckUserName(p.Name); err != nil {
		return nil, err
	}
	if err := checkActor("bootstrap: By", p.By); err != nil {
		return nil, err
	}
	db := tx.with(ctx)
	if err := s.lockUsers(db); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	users, err := listUsers(db)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	var existing *User
	for _, u := range users {
		if u.HasRole(drills.RoleAdmin) {
			return nil, fmt.Errorf("bootstrap: %w (%s)", ErrAdminExists, u.Name)
		}
		if u.Name == p.Name {
			existing = u
		}
	}
	at := s.now(p.At)
	if existing == nil {
		m, err := createUser(db, p.Name, []string{drills.RoleAdmin}, p.By, at)
		if err != nil {
			return nil, fmt.Errorf("bootstrap %s: %w", p.Name, translate(err))
		}
		return userOf(m)
	}
	if existing.Disabled {
		return nil, fmt.Errorf("bootstrap %s: %w", p.Name, ErrUserDisabled)
	}
	m, err := changeRole(db, p.Name, drills.RoleAdmin, RoleChangeGrant, p.By, at)
	if err != nil {
		return nil, fmt.Errorf("bootstrap %s: %w", p.Name, err)
	}
	return userOf(m)
}

// UserGet returns a user, or ErrNotFound.
func (s *Store) UserGet(ctx context.Context, name string) (*User, error) {
	m, err := takeUser(s.db.WithContext(ctx), name)
	if err != nil {
		return nil, err
	}
	return userOf(m)
}

// UserList returns every user by name.
func (s *Store) UserList(ctx context.Context) ([]*User, error) {
	out, err := listUsers(s.db.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

func listUsers(db *gorm.DB) ([]*User, error) {
	var ms []userModel
	if err := db.Order("name").Find(&ms).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]*User, 0, len(ms))
	for i := range ms {
		u, err := userOf(&ms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// UserDisableParams are the arguments of UserDisable.
type UserDisableParams struct {
	Name string
	// By is who disables the user; required.
	By drills.Actor
	// At defaults to the clock's now.
	At time.Time
}

// UserDisable disables a user: they can no longer act, and their tokens stop working at once
// (authentication reads the user with the token). ErrUserDisabled when already disabled,
// ErrLastAdmin for the last enabled admin.
func (s *Store) UserDisable(ctx context.Context, p *UserDisableParams) (*User, error) {
	return inTx(ctx, s, p, s.UserDisableTx)
}

// UserDisableTx is UserDisable in tx.
func (s *Store) UserDisableTx(ctx context.Context, tx *Tx, p *UserDisableParams) (*User, error) {
	if p == nil || p.Name == "" {
		return nil, errors.New("disable user: Name is required")
	}
	if err := checkActor("disable user "+p.Name+": By", p.By); err != nil {
		return nil, err
	}
	db := tx.with(ctx)
	if err := s.lockUsers(db); err != nil {
		return nil, fmt.Errorf("disable user %s: %w", p.Name, err)
	}
	m, err := takeUser(db, p.Name)
	if err != nil {
		return nil, fmt.Errorf("disable user: %w", err)
	}
	u, err := userOf(m)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, fmt.Errorf("disable user %s: %w", p.Name, ErrUserDisabled)
	}
	if u.HasRole(drills.RoleAdmin) {
		if err := checkNotLastAdmin(db, p.Name); err != nil {
			return nil, fmt.Errorf("disable user %s: %w", p.Name, err)
		}
	}
	at := s.now(p.At)
	set := setActor(map[string]any{"disabled": true, "disabled_at": at, "updated_at": at}, "disabled_by_", p.By)
	if err := db.Model(&userModel{}).Where("name = ?", p.Name).UpdateColumns(set).Error; err != nil {
		return nil, fmt.Errorf("disable user %s: %w", p.Name, translate(err))
	}
	// Their console sessions end too: they are refused on the next request anyway, and the
	// rows say why.
	if err := revokeUserSessions(db, p.Name, SessionRevokedUserDisabled, at); err != nil {
		return nil, fmt.Errorf("disable user %s: %w", p.Name, err)
	}
	m.Disabled, m.DisabledAt, m.DisabledBy, m.UpdatedAt = true, &at, colsOf(p.By), at
	return userOf(m)
}

// checkNotLastAdmin returns ErrLastAdmin unless an enabled admin other than name exists.
func checkNotLastAdmin(db *gorm.DB, name string) error {
	users, err := listUsers(db)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Name != name && !u.Disabled && u.HasRole(drills.RoleAdmin) {
			return nil
		}
	}
	return ErrLastAdmin
}

// RoleChangeParams are the arguments of RoleGrant and RoleRevoke.
type RoleChangeParams struct {
	User string
	Role string
	// By is who changes the role; required.
	By drills.Actor
	// At defaults to the clock's now.
	At time.Time
}

// RoleGrant grants a role to an enabled user and records who did, in the same transaction.
// ErrDuplicate when the user holds it already.
func (s *Store) RoleGrant(ctx context.Context, p *RoleChangeParams) (*User, error) {
	return inTx(ctx, s, p, s.RoleGrantTx)
}

// RoleGrantTx is RoleGrant in tx.
func (s *Store) RoleGrantTx(ctx context.Context, tx *Tx, p *RoleChangeParams) (*User, error) {
	return s.roleChangeTx(ctx, tx, p, RoleChangeGrant)
}

// RoleRevoke revokes a role and records who did, in the same transaction: tokens stop acting
// with it at once. ErrRoleNotHeld when the user does not hold it, ErrLastAdmin for the admin
// role of the last enabled admin.
func (s *Store) RoleRevoke(ctx context.Context, p *RoleChangeParams) (*User, error) {
	return inTx(ctx, s, p, s.RoleRevokeTx)
}

// RoleRevokeTx is RoleRevoke in tx.
func (s *Store) RoleRevokeTx(ctx context.Context, tx *Tx, p *RoleChangeParams) (*User, error) {
	return s.roleChangeTx(ctx, tx, p, RoleChangeRevoke)
}

func (s *Store) roleChangeTx(ctx context.Context, tx *Tx, p *RoleChangeParams, change string) (*User, error) {
	if p == nil || p.User == "" {
		return nil, fmt.Errorf("%s role: User is required", change)
	}
	op := fmt.Sprintf("%s role %s of %s", change, p.Role, p.User)
	if !drills.IsRole(p.Role) {
		return nil, fmt.Errorf("%s: unknown role %q (known: %v)", op, p.Role, drills.Roles)
	}
	if err := checkActor(op+": By", p.By); err != nil {
		return nil, err
	}
	db := tx.with(ctx)
	if err := s.lockUsers(db); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	m, err := changeRole(db, p.User, p.Role, change, p.By, s.now(p.At))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return userOf(m)
}

// changeRole grants or revokes a role of a user, with its role_grants row; users are locked.
func changeRole(db *gorm.DB, name, role, change string, by drills.Actor, at time.Time) (*userModel, error) {
	m, err := takeUser(db, name)
	if err != nil {
		return nil, err
	}
	u, err := userOf(m)
	if err != nil {
		return nil, err
	}
	roles := u.Roles
	switch {
	case change == RoleChangeGrant && u.Disabled:
		return nil, ErrUserDisabled
	case change == RoleChangeGrant && u.HasRole(role):
		return nil, fmt.Errorf("%s already holds %s: %w", name, role, ErrDuplicate)
	case change == RoleChangeGrant:
		roles = append(slices.Clone(roles), role)
		slices.Sort(roles)
	case !u.HasRole(role):
		return nil, ErrRoleNotHeld
	default:
		if role == drills.RoleAdmin && !u.Disabled {
			if err := checkNotLastAdmin(db, name); err != nil {
				return nil, err
			}
		}
		roles = slices.DeleteFunc(slices.Clone(roles), func(r string) bool { return r == role })
	}
	if err := db.Model(&userModel{}).Where("name = ?", name).
		UpdateColumns(map[string]any{"roles": mustJSON(roles), "updated_at": at}).Error; err != nil {
		return nil, translate(err)
	}
	if err := recordRoleChange(db, name, role, change, by, at); err != nil {
		return nil, translate(err)
	}
	m.Roles, m.UpdatedAt = mustJSON(roles), at
	return m, nil
}

// RoleGrantList returns the recorded grants and revocations of user ("" for every user),
// oldest first.
func (s *Store) RoleGrantList(ctx context.Context, user string) ([]*RoleGrant, error) {
	q := s.db.WithContext(ctx).Model(&roleGrantModel{})
	if user != "" {
		q = q.Where("user_name = ?", user)
	}
	var ms []roleGrantModel
	if err := q.Order("at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("role grants of %q: %w", user, translate(err))
	}
	out := make([]*RoleGrant, len(ms))
	for i, m := range ms {
		out[i] = &RoleGrant{ID: m.ID, User: m.UserName, Role: m.Role, Change: m.Change, By: m.By.actor(), At: m.At.UTC()}
	}
	return out, nil
}

func userOf(m *userModel) (*User, error) {
	var roles []string
	if err := json.Unmarshal(m.Roles, &roles); err != nil {
		return nil, fmt.Errorf("user %s: roles: %w", m.Name, err)
	}
	if roles == nil {
		roles = []string{}
	}
	return &User{
		Name: m.Name, Roles: roles, Disabled: m.Disabled, CreatedAt: m.CreatedAt.UTC(), CreatedBy: m.CreatedBy.actor(),
		UpdatedAt: m.UpdatedAt.UTC(), DisabledAt: utcPtr(m.DisabledAt), DisabledBy: m.DisabledBy.actor(),
		HasPassword: m.PasswordHash != "", PasswordSetAt: utcPtr(m.PasswordSetAt), OIDCIssuer: m.OIDCIssuer, OIDCSubject: m.OIDCSubject,
	}, nil
}
