package pages

import (
	"net/url"
	"slices"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

var adminMessages = map[string][2]string{
	"nav.users":             {"Users", "사용자"},
	"users.title":           {"Users, roles and tokens", "사용자, 역할, 토큰"},
	"users.intro":           {"Every change here is recorded with who made it (the audit log). A disabled user is signed out at once and their tokens stop working.", "여기서의 모든 변경은 변경한 사람과 함께 감사 로그에 기록됩니다. 비활성화된 사용자는 즉시 로그아웃되고 토큰도 사용할 수 없게 됩니다."},
	"users.name":            {"Name", "이름"},
	"users.sign_in":         {"Sign-in", "로그인 방식"},
	"users.last_sign_in":    {"Last sign-in", "최근 로그인"},
	"users.never":           {"never", "없음"},
	"users.enabled":         {"enabled", "사용 중"},
	"users.disabled":        {"disabled", "비활성"},
	"users.disabled_by":     {"disabled by %s on %s", "%s이(가) %s에 비활성화"},
	"users.no_method":       {"API tokens only", "API 토큰만"},
	"users.method_password": {"password", "비밀번호"},
	"users.method_oidc":     {"identity provider", "통합 인증(OIDC)"},
	"users.manage":          {"Manage", "관리"},
	"users.create":          {"Add a user", "사용자 추가"},
	"users.create_do":       {"Add user", "추가"},
	"users.create_note":     {"A new user has no password: set one on their page, or let them sign in through the identity provider.", "새 사용자에게는 비밀번호가 없습니다. 사용자 화면에서 비밀번호를 설정하거나 통합 인증으로 로그인하게 하십시오."},
	"users.none":            {"No users.", "사용자가 없습니다."},
	"users.back":            {"All users", "전체 사용자"},
	"users.roles_h":         {"Roles", "역할"},
	"users.revoke":          {"Revoke %s", "%s 회수"},
	"users.grant":           {"Grant a role", "역할 부여"},
	"users.grant_do":        {"Grant", "부여"},
	"users.no_roles":        {"No role: the user can sign in but do nothing.", "역할 없음: 로그인은 가능하나 아무 작업도 할 수 없습니다."},
	"users.password_h":      {"Console password", "콘솔 비밀번호"},
	"users.password_set_at": {"Set on %s.", "%s 설정."},
	"users.password_none":   {"No password set.", "비밀번호가 설정되지 않았습니다."},
	"users.password":        {"New password (at least 12 characters)", "새 비밀번호 (12자 이상)"},
	"users.password_do":     {"Set password", "비밀번호 설정"},
	"users.password_note":   {"Setting a password ends the user's console sessions. Tell it to them in person, never by e-mail.", "비밀번호를 설정하면 해당 사용자의 콘솔 세션이 종료됩니다. 전자우편이 아닌 직접 전달하십시오."},
	"users.disable_h":       {"Disable the user", "사용자 비활성화"},
	"users.disable_do":      {"Disable %s", "%s 비활성화"},
	"users.disable_note":    {"Disabling cannot be undone from the console: the user is signed out and every token of theirs stops working at once.", "콘솔에서는 되돌릴 수 없습니다. 사용자는 즉시 로그아웃되고 모든 토큰이 중지됩니다."},
	"users.disable_confirm": {"I understand: disable this user now", "확인했습니다: 지금 비활성화합니다"},
	"users.history":         {"Role history", "역할 변경 이력"},
	"users.change_grant":    {"granted", "부여"},
	"users.change_revoke":   {"revoked", "회수"},
	"tokens.title":          {"API tokens", "API 토큰"},
	"tokens.none":           {"No tokens.", "토큰이 없습니다."},
	"tokens.id":             {"Token", "토큰"},
	"tokens.description":    {"Description", "설명"},
	"tokens.expires":        {"Expires", "만료"},
	"tokens.last_used":      {"Last used", "최근 사용"},
	"tokens.state":          {"State", "상태"},
	"tokens.active":         {"active", "사용 중"},
	"tokens.revoked":        {"revoked %s by %s", "%s %s이(가) 회수"},
	"tokens.expired":        {"expired", "만료됨"},
	"tokens.revoke_do":      {"Revoke", "회수"},
	"tokens.create":         {"Create a token", "토큰 생성"},
	"tokens.create_do":      {"Create token", "토큰 생성"},
	"tokens.roles_hint":     {"Roles the token acts with (none ticked: all of the user's)", "토큰이 사용할 역할 (선택하지 않으면 사용자의 모든 역할)"},
	"tokens.expires_in":     {"Valid for", "유효 기간"},
	"tokens.created_h":      {"Token created", "토큰이 생성되었습니다"},
	"tokens.secret_once":    {"Copy the token now: this is the only time it is shown. firedrill keeps only its hash and cannot show it again.", "지금 토큰을 복사하십시오. 토큰은 이번 한 번만 표시되며, firedrill은 해시만 보관하므로 다시 보여 줄 수 없습니다."},
	"tokens.secret":         {"Secret", "토큰 값"},
	"tokens.for":            {"For %s, roles %s, expires %s.", "대상 %s, 역할 %s, 만료 %s."},
	"tokens.done":           {"I have copied it", "복사했습니다"},
	"tokens.life_1d":        {"1 day", "1일"},
	"tokens.life_7d":        {"7 days", "7일"},
	"tokens.life_30d":       {"30 days", "30일"},
	"tokens.life_90d":       {"90 days (default)", "90일 (기본값)"},
	"tokens.life_365d":      {"365 days (the most)", "365일 (최대)"},
}

func init() { addMessages(adminMessages) }

// tokenLifetimes are the validity periods the create form offers (TokenCreateParams.ExpiresIn),
// with their texts' keys.
var tokenLifetimes = []struct{ Value, Label string }{
	{"24h", "tokens.life_1d"}, {"168h", "tokens.life_7d"}, {"720h", "tokens.life_30d"}, {"2160h", "tokens.life_90d"}, {"8760h", "tokens.life_365d"},
}

type usersData struct {
	Users []userRow
	Roles []string
}

// userRow is a user as the pages list them: with their sign-in methods in words.
type userRow struct {
	control.UserView
	Methods []string
}

func userRowOf(q *req, u control.UserView) userRow {
	r := userRow{UserView: u}
	for _, m := range u.SignInMethods {
		r.Methods = append(r.Methods, tr(q.lang, "users.method_"+m))
	}
	return r
}

// tokenRow is a token with whether it has expired.
type tokenRow struct {
	control.TokenView
	Expired bool
}

func (h *handler) users(q *req) (string, string, any, error) {
	q.need(control.OpUserRead)
	list, err := h.cfg.Control.UserList(q.ctx, q.caller)
	if err != nil {
		return "", "", nil, err
	}
	d := &usersData{Roles: drills.Roles}
	for _, u := range list {
		d.Users = append(d.Users, userRowOf(q, u))
	}
	return "users", "nav.users", d, nil
}

type userData struct {
	User userRow
	// Grantable are the roles the user does not hold yet.
	Grantable []string
	History   []control.RoleGrantView
	// Tokens is nil when the caller may not manage tokens.
	Tokens    []tokenRow
	CanTokens bool
	Lifetimes []struct{ Value, Label string }
}

func (h *handler) user(q *req) (string, string, any, error) {
	q.need(control.OpUserRead)
	name := pathID(q, "name")
	u, err := h.cfg.Control.UserGet(q.ctx, q.caller, name)
	if err != nil {
		return "", "", nil, err
	}
	d := &userData{User: userRowOf(q, *u), Lifetimes: tokenLifetimes}
	for _, r := range drills.Roles {
		if !slices.Contains(u.Roles, r) {
			d.Grantable = append(d.Grantable, r)
		}
	}
	if d.History, err = h.cfg.Control.RoleGrantList(q.ctx, q.caller, name); err != nil {
		return "", "", nil, err
	}
	if q.may(control.OpTokenManage) {
		d.CanTokens = true
		toks, err := h.cfg.Control.TokenList(q.ctx, q.caller, name)
		if err != nil {
			return "", "", nil, err
		}
		for _, t := range toks {
			d.Tokens = append(d.Tokens, tokenRow{TokenView: t, Expired: !t.ExpiresAt.After(q.now)})
		}
	}
	return "user", "users.title", d, nil
}

func userPath(name string) string { return "/users/" + url.PathEscape(name) }

func (h *handler) userCreate(q *req) (string, error) {
	q.need(control.OpUserManage)
	u, err := h.cfg.Control.UserCreate(q.ctx, q.caller, &control.UserCreateParams{Name: formValue(q, "name"), Roles: q.r.PostForm["role"]})
	if err != nil {
		return "", err
	}
	return withNotice(userPath(u.Name), "created "+u.Name), nil
}

func (h *handler) userDisable(q *req) (string, error) {
	q.need(control.OpUserManage)
	name := pathID(q, "name")
	if formValue(q, "confirm") != "yes" {
		return "", errorf(control.CategoryInvalid, "confirm", "tick the box to confirm that %s is to be disabled", name)
	}
	u, err := h.cfg.Control.UserDisable(q.ctx, q.caller, name)
	if err != nil {
		return "", err
	}
	return withNotice(userPath(u.Name), "disabled "+u.Name), nil
}

func (h *handler) roleGrant(q *req) (string, error) {
	q.need(control.OpUserManage)
	u, err := h.cfg.Control.RoleGrant(q.ctx, q.caller, &control.RoleChangeParams{User: pathID(q, "name"), Role: formValue(q, "role")})
	if err != nil {
		return "", err
	}
	return withNotice(userPath(u.Name), "granted "+formValue(q, "role")), nil
}

func (h *handler) roleRevoke(q *req) (string, error) {
	q.need(control.OpUserManage)
	role := pathID(q, "role")
	u, err := h.cfg.Control.RoleRevoke(q.ctx, q.caller, &control.RoleChangeParams{User: pathID(q, "name"), Role: role})
	if err != nil {
		return "", err
	}
	return withNotice(userPath(u.Name), "revoked "+role), nil
}

func (h *handler) passwordSet(q *req) (string, error) {
	q.need(control.OpUserManage)
	// Not trimmed: the password is what was typed, spaces included.
	u, err := h.cfg.Control.PasswordSet(q.ctx, q.caller, &control.PasswordSetParams{User: pathID(q, "name"), Password: q.r.PostFormValue("password")})
	if err != nil {
		return "", err
	}
	return withNotice(userPath(u.Name), "password set"), nil
}

func (h *handler) tokenRevoke(q *req) (string, error) {
	q.need(control.OpTokenManage)
	tok, err := h.cfg.Control.TokenRevoke(q.ctx, q.caller, pathID(q, "id"))
	if err != nil {
		return "", err
	}
	return withNotice(userPath(tok.User), "revoked token "+tok.ID), nil
}

// tokenCreated is the page that shows a new token's secret: the only time it is shown.
type tokenCreated struct {
	Token *control.NewToken
}

// tokenCreate creates a token and answers the POST with the page showing its secret, once: it
// is never put in a URL, a redirect, a cookie or the log, and the page is not cached.
func (h *handler) tokenCreate(q *req) (string, string, any, error) {
	q.need(control.OpTokenManage)
	if err := q.r.ParseForm(); err != nil {
		return "", "", nil, errorf(control.CategoryInvalid, "", "the form could not be read: %v", err)
	}
	tok, err := h.cfg.Control.TokenCreate(q.ctx, q.caller, &control.TokenCreateParams{User: pathID(q, "name"),
		Description: formValue(q, "description"), Roles: q.r.PostForm["role"], ExpiresIn: formValue(q, "expires_in")})
	if err != nil {
		return "", "", nil, err
	}
	return "token", "tokens.created_h", &tokenCreated{Token: tok}, nil
}
