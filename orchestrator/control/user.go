package control

import (
	"context"
	"fmt"
	"strings"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// UserList lists users.
func (c *Control) UserList(ctx context.Context, caller *Caller) ([]UserView, error) {
	if err := c.authorize(ctx, caller, OpUserRead, "", ""); err != nil {
		return nil, err
	}
	users, err := c.cfg.Store.UserList(ctx)
	if err != nil {
		return nil, internal(err)
	}
	last, err := c.cfg.Store.SignInLast(ctx)
	if err != nil {
		return nil, internal(err)
	}
	out := make([]UserView, 0, len(users))
	for _, u := range users {
		v := userViewOf(u)
		if t, ok := last[u.Name]; ok {
			v.LastSignInAt = &t
		}
		out = append(out, v)
	}
	return out, nil
}

// UserGet returns one user.
func (c *Control) UserGet(ctx context.Context, caller *Caller, name string) (*UserView, error) {
	if err := c.authorize(ctx, caller, OpUserRead, "", name); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, invalidf("name", "the user's name is required")
	}
	u, err := c.cfg.Store.UserGet(ctx, name)
	if err != nil {
		return nil, storeError(err, "user "+name, nil)
	}
	last, err := c.cfg.Store.SignInLast(ctx)
	if err != nil {
		return nil, internal(err)
	}
	v := userViewOf(u)
	if t, ok := last[u.Name]; ok {
		v.LastSignInAt = &t
	}
	return &v, nil
}

// UserCreate creates a user with roles; the grants are recorded.
func (c *Control) UserCreate(ctx context.Context, caller *Caller, p *UserCreateParams) (*UserView, error) {
	if p == nil {
		p = &UserCreateParams{}
	}
	if err := c.authorize(ctx, caller, OpUserManage, recUserCreate, p.Name); err != nil {
		return nil, err
	}
	fail := func(err error) error {
		return c.failed(ctx, caller, recUserCreate, p.Name, err, "user "+p.Name, map[error]string{
			store.ErrDuplicate: fmt.Sprintf("user %s already exists", p.Name),
		})
	}
	if err := store.CheckUserName(p.Name); err != nil {
		return nil, fail(invalidf("name", "%s", err.Error()))
	}
	if len(p.Roles) == 0 {
		return nil, fail(invalidf("roles", "give at least one role (%s)", strings.Join(drills.Roles, ", ")))
	}
	for i, r := range p.Roles {
		if !drills.IsRole(r) {
			return nil, fail(invalidf(fmt.Sprintf("roles[%d]", i), "%q is not a role (%s)", r, strings.Join(drills.Roles, ", ")))
		}
	}
	var u *store.User
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = c.cfg.Store.UserCreateTx(ctx, tx, &store.UserCreateParams{Name: p.Name, Roles: p.Roles, By: caller.Actor, At: c.cfg.Clock.Now()}); err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, recUserCreate, p.Name, "user created", map[string]any{"roles": u.Roles})
	})
	if err != nil {
		return nil, fail(err)
	}
	v := userViewOf(u)
	return &v, nil
}

// UserDisable disables a user; their tokens stop working at once.
func (c *Control) UserDisable(ctx context.Context, caller *Caller, name string) (*UserView, error) {
	if err := c.authorize(ctx, caller, OpUserManage, recUserDisable, name); err != nil {
		return nil, err
	}
	fail := func(err error) error {
		return c.failed(ctx, caller, recUserDisable, name, err, "user "+name, map[error]string{
			store.ErrUserDisabled: fmt.Sprintf("user %s is already disabled", name),
		})
	}
	if name == "" {
		return nil, fail(invalidf("name", "the user's name is required"))
	}
	var u *store.User
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = c.cfg.Store.UserDisableTx(ctx, tx, &store.UserDisableParams{Name: name, By: caller.Actor, At: c.cfg.Clock.Now()}); err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, recUserDisable, name, "user disabled", nil)
	})
	if err != nil {
		return nil, fail(err)
	}
	v := userViewOf(u)
	return &v, nil
}

// RoleGrant grants a role.
func (c *Control) RoleGrant(ctx context.Context, caller *Caller, p *RoleChangeParams) (*UserView, error) {
	return c.roleChange(ctx, caller, p, store.RoleChangeGrant)
}

// RoleRevoke revokes a role.
func (c *Control) RoleRevoke(ctx context.Context, caller *Caller, p *RoleChangeParams) (*UserView, error) {
	return c.roleChange(ctx, caller, p, store.RoleChangeRevoke)
}

func (c *Control) roleChange(ctx context.Context, caller *Caller, p *RoleChangeParams, change string) (*UserView, error) {
	if p == nil {
		p = &RoleChangeParams{}
	}
	name := recRoleGrant
	if change == store.RoleChangeRevoke {
		name = recRoleRevoke
	}
	if err := c.authorize(ctx, caller, OpUserManage, name, p.User); err != nil {
		return nil, err
	}
	fail := func(err error) error {
		return c.failed(ctx, caller, name, p.User, err, "user "+p.User, map[error]string{
			store.ErrDuplicate:   fmt.Sprintf("user %s already holds the role %s", p.User, p.Role),
			store.ErrRoleNotHeld: fmt.Sprintf("user %s does not hold the role %s", p.User, p.Role),
		})
	}
	switch {
	case p.User == "":
		// The API takes the user from the path: /users/{name}/roles.
		return nil, fail(invalidf("name", "the user's name is required"))
	case !drills.IsRole(p.Role):
		return nil, fail(invalidf("role", "%q is not a role (%s)", p.Role, strings.Join(drills.Roles, ", ")))
	}
	var u *store.User
	err := c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		sp := &store.RoleChangeParams{User: p.User, Role: p.Role, By: caller.Actor, At: c.cfg.Clock.Now()}
		var err error
		if change == store.RoleChangeGrant {
			u, err = c.cfg.Store.RoleGrantTx(ctx, tx, sp)
		} else {
			u, err = c.cfg.Store.RoleRevokeTx(ctx, tx, sp)
		}
		if err != nil {
			return err
		}
		return c.recordTx(ctx, tx, caller, name, p.User, fmt.Sprintf("role %s %s", p.Role, map[string]string{
			store.RoleChangeGrant: "granted", store.RoleChangeRevoke: "revoked"}[change]), map[string]any{"role": p.Role})
	})
	if err != nil {
		return nil, fail(err)
	}
	v := userViewOf(u)
	return &v, nil
}

// RoleGrantList returns the history of role changes, of one user or ("") of all.
func (c *Control) RoleGrantList(ctx context.Context, caller *Caller, user string) ([]RoleGrantView, error) {
	if err := c.authorize(ctx, caller, OpUserRead, "", user); err != nil {
		return nil, err
	}
	gs, err := c.cfg.Store.RoleGrantList(ctx, user)
	if err != nil {
		return nil, internal(err)
	}
	out := make([]RoleGrantView, 0, len(gs))
	for _, g := range gs {
		out = append(out, RoleGrantView{User: g.User, Role: g.Role, Change: g.Change, By: g.By, At: g.At})
	}
	return out, nil
}

func userViewOf(u *store.User) UserView {
	return UserView{
		Name: u.Name, Roles: nonNil(u.Roles), Disabled: u.Disabled, CreatedAt: u.CreatedAt, CreatedBy: u.CreatedBy,
		DisabledAt: u.DisabledAt, DisabledBy: actorPtr(u.DisabledBy), SignInMethods: signInMethods(u),
	}
}

func signInMethods(u *store.User) []string {
	m := []string{}
	if u.HasPassword {
		m = append(m, "password")
	}
	if u.OIDCSubject != "" {
		m = append(m, "oidc")
	}
	return m
}
