package console

import (
	"net/http"
	"strconv"
	"strings"
)

// Languages of the console: Korean and English, chosen by Accept-Language (English when
// neither is asked for).
const (
	langEN = "en"
	langKO = "ko"
)

// chooseLang picks ko or en from an Accept-Language header by quality.
func chooseLang(header string) string {
	best, bestQ := langEN, -1.0
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if (primary == langKO || primary == langEN) && q > bestQ && q > 0 {
			best, bestQ = primary, q
		}
	}
	return best
}

// langCookie is where the console's pages remember the language a person chose (pages'
// langCookie): the sign-in page speaks it too, and follows ?lang= as the pages do.
const langCookie = "firedrill_lang"

// langOf is the lang parameter, else the language the person chose on the pages, else the
// best of Accept-Language.
func langOf(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == langEN || l == langKO {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langEN || c.Value == langKO) {
		return c.Value
	}
	return chooseLang(r.Header.Get("Accept-Language"))
}

// Message keys.
const (
	msgInternal       = "internal"
	msgWrongPassword  = "wrong_password"
	msgLockedOut      = "locked_out"
	msgBadForm        = "bad_form"
	msgCSRF           = "csrf"
	msgSignedOut      = "signed_out"
	msgSessionEnded   = "session_ended"
	msgOIDCFailed     = "oidc_failed"
	msgOIDCNotEnabled = "oidc_not_enabled"
	msgNotFound       = "not_found"
)

// texts are the console's words in each language.
var texts = map[string]map[string]string{
	langEN: {
		"title":           "firedrill — disaster-recovery drills",
		"sign_in":         "Sign in",
		"user":            "User name",
		"password":        "Password",
		"sign_in_idp":     "Sign in with your bank's identity provider",
		"or":              "or with a local account",
		"signed_in_as":    "Signed in as",
		"roles":           "Roles",
		"no_roles":        "no role",
		"via":             "Signed in with",
		"method_password": "a local account",
		"method_oidc":     "the identity provider",
		"expires":         "Session ends at the latest",
		"sign_out":        "Sign out",
		"dashboard_soon":  "The dashboard, approvals, calendar and reports are built on this session.",
		"error_title":     "Something went wrong",
		"back":            "Back to sign-in",
		msgInternal:       "Internal error: the cause was logged. Try again.",
		msgWrongPassword:  "The user name or password is wrong.",
		msgLockedOut:      "Too many failed sign-ins. Try again in %s.",
		msgBadForm:        "The sign-in form could not be read.",
		msgCSRF:           "This form expired or did not come from firedrill (CSRF check). Reload the page and try again.",
		msgSignedOut:      "You are signed out.",
		msgSessionEnded:   "Your session ended. Sign in again.",
		msgOIDCFailed:     "Sign-in through the identity provider failed.",
		msgOIDCNotEnabled: "Sign-in through an identity provider is not configured.",
		msgNotFound:       "Page not found.",
	},
	langKO: {
		"title":           "firedrill — 재해복구 훈련",
		"sign_in":         "로그인",
		"user":            "사용자 이름",
		"password":        "비밀번호",
		"sign_in_idp":     "은행 통합인증(IdP)으로 로그인",
		"or":              "또는 로컬 계정으로 로그인",
		"signed_in_as":    "로그인 사용자",
		"roles":           "역할",
		"no_roles":        "역할 없음",
		"via":             "로그인 방식",
		"method_password": "로컬 계정",
		"method_oidc":     "통합인증(IdP)",
		"expires":         "세션 최대 만료 시각",
		"sign_out":        "로그아웃",
		"dashboard_soon":  "대시보드, 승인함, 일정, 보고서는 이 세션 위에 구축됩니다.",
		"error_title":     "문제가 발생했습니다",
		"back":            "로그인 화면으로",
		msgInternal:       "내부 오류가 발생했습니다. 원인은 로그에 기록되었습니다. 다시 시도하십시오.",
		msgWrongPassword:  "사용자 이름 또는 비밀번호가 올바르지 않습니다.",
		msgLockedOut:      "로그인 실패가 너무 많습니다. %s 후에 다시 시도하십시오.",
		msgBadForm:        "로그인 양식을 읽을 수 없습니다.",
		msgCSRF:           "양식이 만료되었거나 firedrill에서 온 것이 아닙니다(CSRF 검사). 페이지를 새로 고친 뒤 다시 시도하십시오.",
		msgSignedOut:      "로그아웃되었습니다.",
		msgSessionEnded:   "세션이 종료되었습니다. 다시 로그인하십시오.",
		msgOIDCFailed:     "통합인증(IdP) 로그인에 실패했습니다.",
		msgOIDCNotEnabled: "통합인증(IdP) 로그인이 설정되지 않았습니다.",
		msgNotFound:       "페이지를 찾을 수 없습니다.",
	},
}

// roleNames are the roles as people read them.
var roleNames = map[string]map[string]string{
	langEN: {"admin": "Administrator", "sre": "SRE", "compliance": "Compliance officer", "auditor": "Auditor", "viewer": "Viewer"},
	langKO: {"admin": "관리자", "sre": "SRE(운영)", "compliance": "준법감시인", "auditor": "감사인", "viewer": "조회자"},
}
