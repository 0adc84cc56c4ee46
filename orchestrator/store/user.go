package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"

	"gorm.io/gorm/clause"
)

// Roles people can hold. Approval policies name them.
const (
	RoleSRE        = "sre"
	RoleCompliance = "compliance"
	RoleAuditor    = "auditor"
	RoleAdmin      = "admin"
)

// KnownRoles lists every role, sorted.
var KnownRoles = []string{RoleAdmin, RoleAuditor, RoleCompliance, RoleSRE}

// User is a person who may approve, decide or abort.
type User struct {
	Name      string
	Roles     []string
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HasRole reports whether the user holds role.
func (u *User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// UserUpsert creates a user or replaces its roles (and enables it).
func (s *Store) UserUpsert(ctx context.Context, name string, roles []string) (*User, error) {
	if !userName.MatchString(name) {
		return nil, fmt.Errorf("user name %q: use 1 to 64 lowercase letters, digits and . _ @ -", name)
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("user %s: give at least one role (%v)", name, KnownRoles)
	}
	roles = slices.Clone(roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	for _, r := range roles {
		if !slices.Contains(KnownRoles, r) {
			return nil, fmt.Errorf("user %s: unknown role %q (known: %v)", name, r, KnownRoles)
		}
	}
	b, err := json.Marshal(roles)
	if err != nil {
		return nil, err
	}
	now := s.now(time.Time{})
	m := userModel{Name: name, Roles: jsonDoc(b), CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"roles", "disabled", "updated_at"}),
	}).Create(&m).Error
	if err != nil {
		return nil, fmt.Errorf("save user %s: %w", name, translate(err))
	}
	return s.UserGet(ctx, name)
}

// UserGet returns a user, or ErrNotFound.
func (s *Store) UserGet(ctx context.Context, name string) (*User, error) {
	var m userModel
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("user %s: %w", name, translate(err))
	}
	return userOf(&m)
}

// UserList returns every user by name.
func (s *Store) UserList(ctx context.Context) ([]*User, error) {
	var ms []userModel
	if err := s.db.WithContext(ctx).Order("name").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list users: %w", translate(err))
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

// UserDisable disables a user: they can no longer approve, decide or abort.
func (s *Store) UserDisable(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Model(&userModel{}).Where("name = ?", name).
		UpdateColumns(map[string]any{"disabled": true, "updated_at": s.now(time.Time{})})
	if res.Error != nil {
		return fmt.Errorf("disable user %s: %w", name, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("disable user %s: %w", name, ErrNotFound)
	}
	return nil
}

func userOf(m *userModel) (*User, error) {
	var roles []string
	if err := json.Unmarshal(m.Roles, &roles); err != nil {
		return nil, fmt.Errorf("user %s: roles: %w", m.Name, err)
	}
	return &User{Name: m.Name, Roles: roles, Disabled: m.Disabled, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC()}, nil
}
