package console

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// home shows who is signed in; without a valid session it sends the browser to /login.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	secret := c.sessionSecret(r)
	caller, sess, err := c.cfg.Control.SessionAuthenticate(r.Context(), secret)
	if err != nil {
		if !unauthenticated(err) {
			c.internalError(w, r, err)
			return
		}
		notice := ""
		if secret != "" {
			// A cookie that no longer opens a session: forget it, and say why.
			c.setCookie(w, r, c.sessionCookieName(r), "", "/", -1)
			notice = msgSessionEnded
		}
		target := "/login"
		if notice != "" {
			target += "?notice=" + notice
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	method := "method_password"
	if sess.Method == store.SessionMethodOIDC {
		method = "method_oidc"
	}
	c.render(w, r, http.StatusOK, "home", pageData{
		User: caller.Actor.Name, Roles: caller.Roles, MethodKey: method, CSRF: csrfToken(secret),
		Expires: sess.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"), ExpiresISO: sess.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

// loginForm shows the sign-in page, with a fresh pre-session CSRF token (double-submit: the
// same random value in an HttpOnly cookie and in the form), so that another site cannot sign
// a browser in under an account of its choosing.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, _, err := c.cfg.Control.SessionAuthenticate(r.Context(), c.sessionSecret(r)); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, pageData{Notice: noticeOf(r.URL.Query().Get("notice"))}, "")
}

func noticeOf(v string) string {
	switch v {
	case msgSignedOut, msgSessionEnded:
		return v
	}
	return ""
}

// showLogin renders the sign-in page with a new login CSRF token.
func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, d pageData, user string) {
	tok, err := randomString()
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	c.setCookie(w, r, loginCookie, tok, "/login", int(oidcFlowMaxAge.Seconds()))
	d.CSRF, d.OIDC, d.User = tok, c.oidc != nil, user
	c.render(w, r, status, "login", d)
}

// loginPassword signs in with a local account.
func (c *Console) loginPassword(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		c.showLogin(w, r, http.StatusRequestEntityTooLarge, pageData{Error: msgBadForm}, "")
		return
	}
	f, err := decodeLoginForm(string(body))
	ck, cerr := r.Cookie(loginCookie)
	// The CSRF check comes first: a forged post learns nothing, not even whether the form
	// was well formed.
	if cerr != nil || ck.Value == "" || f.CSRF == "" || !equalSecret(f.CSRF, ck.Value) {
		c.showLogin(w, r, http.StatusForbidden, pageData{Error: msgCSRF}, "")
		return
	}
	if err != nil {
		c.log.InfoContext(r.Context(), "sign-in form refused", "field", formField(err))
		c.showLogin(w, r, http.StatusBadRequest, pageData{Error: msgBadForm}, "")
		return
	}
	addr := clientAddr(r)
	if wait := c.limiter.retryAfter(f.User, addr); wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Round(time.Second).Seconds())))
		d := pageData{Error: msgLockedOut}
		d.ErrorText = fmt.Sprintf(texts[langOf(r)][msgLockedOut], wait.Round(time.Second))
		c.log.WarnContext(r.Context(), "sign-in refused: locked out", "client_addr", addr, "retry_after", wait.Round(time.Second).String())
		c.showLogin(w, r, http.StatusTooManyRequests, d, f.User)
		return
	}
	s, err := c.cfg.Control.SignInPassword(r.Context(), &control.PasswordSignInParams{User: f.User, Password: f.Password, ClientAddr: addr})
	if err != nil {
		if !unauthenticated(err) {
			var e *control.Error
			if errors.As(err, &e) && e.Category == control.CategoryInvalid {
				c.showLogin(w, r, http.StatusBadRequest, pageData{Error: msgBadForm}, f.User)
				return
			}
			c.internalError(w, r, err)
			return
		}
		c.limiter.fail(f.User, addr)
		// The name typed is not logged (it may be a password typed in the wrong field); the
		// operations log has the known users' refusals.
		c.log.InfoContext(r.Context(), "sign-in refused", "client_addr", addr)
		d := pageData{Error: msgWrongPassword}
		if msg := safeMessage(err); msg != "" && msg != "the user name or password is wrong" {
			d.ErrorText = msg // a disabled user is told so, once the password was right
		}
		c.showLogin(w, r, http.StatusUnauthorized, d, f.User)
		return
	}
	c.limiter.succeed(f.User)
	c.setCookie(w, r, loginCookie, "", "/login", -1)
	c.startSession(w, r, s)
	c.log.InfoContext(r.Context(), "signed in", "user", s.User, "method", s.Method, "session_id", s.ID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// loginOIDC sends the browser to the identity provider.
func (c *Console) loginOIDC(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.render(w, r, http.StatusNotFound, "error", pageData{Error: msgOIDCNotEnabled})
		return
	}
	u, st, err := c.oidc.start(r.Context())
	if err != nil {
		c.log.ErrorContext(r.Context(), "OIDC sign-in could not start", "err", err)
		c.render(w, r, http.StatusBadGateway, "error", pageData{Error: msgOIDCFailed})
		return
	}
	c.setCookie(w, r, oidcCookie, st.encode(), "/auth/callback", int(oidcFlowMaxAge.Seconds()))
	http.Redirect(w, r, u, http.StatusFound)
}

// callback finishes the code flow: the state must be this browser's, the code is exchanged
// with the PKCE verifier, the ID token verified (signature, issuer, audience, expiry, nonce),
// and the mapped roles applied to the user before the session opens.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.render(w, r, http.StatusNotFound, "error", pageData{Error: msgOIDCNotEnabled})
		return
	}
	// The flow's cookie is good for one callback, whatever happens.
	c.setCookie(w, r, oidcCookie, "", "/auth/callback", -1)
	refuse := func(status int, why string, err error, shown string) {
		c.log.WarnContext(r.Context(), "OIDC sign-in refused", "reason", why, "err", err)
		c.render(w, r, status, "error", pageData{Error: msgOIDCFailed, ErrorText: shown})
	}
	q := r.URL.Query()
	ck, err := r.Cookie(oidcCookie)
	if err != nil {
		refuse(http.StatusBadRequest, "no sign-in in progress in this browser", err, "")
		return
	}
	st, ok := decodeFlowState(ck.Value)
	if !ok || q.Get("state") == "" || !equalSecret(q.Get("state"), st.State) {
		refuse(http.StatusForbidden, "state mismatch", errors.New("the callback's state is not this browser's"), "")
		return
	}
	if e := q.Get("error"); e != "" {
		refuse(http.StatusUnauthorized, "the provider refused", errors.New(e), "")
		return
	}
	code := q.Get("code")
	if code == "" {
		refuse(http.StatusBadRequest, "no code", errors.New("the callback has no code"), "")
		return
	}
	id, err := c.oidc.finish(r.Context(), st, code)
	if err != nil {
		var fe *errFlow
		if errors.As(err, &fe) {
			refuse(http.StatusUnauthorized, fe.msg, fe.err, "")
			return
		}
		refuse(http.StatusBadGateway, "provider unreachable", err, "")
		return
	}
	s, err := c.cfg.Control.SignInOIDC(r.Context(), &control.OIDCSignInParams{
		Issuer: id.Issuer, Subject: id.Subject, Name: id.Name, Roles: id.Roles, ClientAddr: clientAddr(r),
	})
	if err != nil {
		if msg := safeMessage(err); msg != "" {
			refuse(http.StatusForbidden, "firedrill refused", err, msg)
			return
		}
		c.internalError(w, r, err)
		return
	}
	c.startSession(w, r, s)
	c.log.InfoContext(r.Context(), "signed in", "user", s.User, "method", s.Method, "session_id", s.ID, "groups", id.Groups)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session; it needs the session's CSRF token, so that another site cannot
// sign people out.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if !c.CheckCSRF(r) {
		c.render(w, r, http.StatusForbidden, "error", pageData{Error: msgCSRF})
		return
	}
	if err := c.cfg.Control.SignOut(r.Context(), c.sessionSecret(r)); err != nil {
		c.internalError(w, r, err)
		return
	}
	c.setCookie(w, r, c.sessionCookieName(r), "", "/", -1)
	http.Redirect(w, r, "/login?notice="+msgSignedOut, http.StatusSeeOther)
}
