package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web/console"
	"github.com/firedrill/firedrill/web/console/pages"
)

// envOIDCClientSecret holds the OIDC client secret; there is deliberately no flag for it.
const envOIDCClientSecret = "FIREDRILL_OIDC_CLIENT_SECRET"

// consoleOptions are serve's flags for the console's sign-in.
type consoleOptions struct {
	secureCookies              bool
	sessionIdle, sessionMaxAge time.Duration
	oidcIssuer, oidcClientID   string
	oidcSecretFile             string
	oidcRedirectURL            string
	oidcRoleClaim, oidcUser    string
	oidcRoleMap                []string
	oidcScopes                 []string
	// oidcSecretEnv names the variable holding the client secret; default
	// FIREDRILL_OIDC_CLIENT_SECRET.
	oidcSecretEnv string
	// shiftedHistory: serve --demo recorded the history on a shifted clock; the pages say so.
	shiftedHistory bool
}

func (o *consoleOptions) register(fs *pflag.FlagSet) {
	fs.BoolVar(&o.secureCookies, "secure-cookies", false, "mark console cookies Secure even without TLS here: set it behind a TLS-terminating proxy (env FIREDRILL_SECURE_COOKIES)")
	fs.DurationVar(&o.sessionIdle, "session-idle", control.DefaultSessionIdle, "a console session unused this long ends (env FIREDRILL_SESSION_IDLE)")
	fs.DurationVar(&o.sessionMaxAge, "session-max-age", control.DefaultSessionMaxAge, "a console session ends this long after sign-in, however busy (env FIREDRILL_SESSION_MAX_AGE)")
	fs.StringVar(&o.oidcIssuer, "oidc-issuer", "", "the bank's OpenID Connect identity provider (issuer URL); without it the console offers local accounts only (env FIREDRILL_OIDC_ISSUER)")
	fs.StringVar(&o.oidcClientID, "oidc-client-id", "", "firedrill's client ID at the identity provider (env FIREDRILL_OIDC_CLIENT_ID)")
	fs.StringVar(&o.oidcSecretFile, "oidc-client-secret-file", "", "file holding the client secret (env FIREDRILL_OIDC_CLIENT_SECRET_FILE); or give the secret itself in "+envOIDCClientSecret+"; never as a flag")
	fs.StringVar(&o.oidcSecretEnv, "oidc-client-secret-env", envOIDCClientSecret, "the name of the environment variable holding the client secret (env FIREDRILL_OIDC_CLIENT_SECRET_ENV)")
	fs.StringVar(&o.oidcRedirectURL, "oidc-redirect-url", "", "firedrill's /auth/callback as browsers reach it, registered at the provider, e.g. https://firedrill.bank.example/auth/callback (env FIREDRILL_OIDC_REDIRECT_URL)")
	fs.StringVar(&o.oidcRoleClaim, "oidc-role-claim", console.DefaultRoleClaim, "the ID token claim mapped to roles (env FIREDRILL_OIDC_ROLE_CLAIM)")
	fs.StringArrayVar(&o.oidcRoleMap, "oidc-role-map", nil, "group=role[,role]: a value of the role claim and the firedrill roles it gives; repeat (env FIREDRILL_OIDC_ROLE_MAP, one mapping)")
	fs.StringSliceVar(&o.oidcScopes, "oidc-scope", []string{"profile", "email", "groups"}, "scopes asked for besides openid; some providers refuse scopes they do not know (env FIREDRILL_OIDC_SCOPE)")
	fs.StringVar(&o.oidcUser, "oidc-username-claim", console.DefaultUsernameClaim, "the ID token claim naming the firedrill user (env FIREDRILL_OIDC_USERNAME_CLAIM)")
}

// console builds the console over ctl from the flags.
func (a *app) console(ctl *control.Control, o consoleOptions) (*console.Console, error) {
	cfg := console.Config{Control: ctl, SecureCookies: o.secureCookies, Clock: clock.Real{}, Logger: a.logger,
		Pages: func(caller func(*http.Request) (*control.Caller, error), csrf func(*http.Request) string) (http.Handler, error) {
			return pages.New(pages.Config{Control: ctl, Caller: caller, CSRFToken: csrf, Clock: clock.Real{}, Logger: a.logger, ShiftedHistory: o.shiftedHistory})
		}}
	if o.oidcIssuer != "" {
		secret, err := a.oidcClientSecret(o.oidcSecretEnv, o.oidcSecretFile)
		if err != nil {
			return nil, err
		}
		roles, err := console.ParseRoleMap(o.oidcRoleMap)
		if err != nil {
			return nil, fmt.Errorf("--oidc-role-map: %w", err)
		}
		cfg.OIDC = &console.OIDC{
			Issuer: o.oidcIssuer, ClientID: o.oidcClientID, ClientSecret: secret, RedirectURL: o.oidcRedirectURL,
			RoleClaim: o.oidcRoleClaim, RoleMap: roles, UsernameClaim: o.oidcUser, Scopes: o.oidcScopes,
		}
	}
	return console.New(cfg)
}

// oidcClientSecret reads the client secret from the variable envName (FIREDRILL_OIDC_CLIENT_SECRET
// unless --oidc-client-secret-env names another) or file ("" for a public client). Both given
// is a mistake worth stopping for.
func (a *app) oidcClientSecret(envName, file string) (string, error) {
	if envName == "" {
		envName = envOIDCClientSecret
	}
	env := a.getenv(envName)
	if file == "" {
		return env, nil
	}
	if env != "" {
		return "", errors.New("the OIDC client secret is given twice: set " + envName + " or --oidc-client-secret-file, not both")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--oidc-client-secret-file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("--oidc-client-secret-file %s is empty", file)
	}
	return s, nil
}
