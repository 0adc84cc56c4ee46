package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web/console/oidctest"
)

// TestSecretsNeverLoggedOrStored signs in both ways, signs out and fails some sign-ins, then
// reads every row of every table and every log line: no password, session secret, CSRF token,
// client secret, authorization code or ID token may appear in either.
func TestSecretsNeverLoggedOrStored(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(o *options) { o.store, o.dsn = st, dsn })
	b.localUser(t, "kang", drills.RoleSRE)
	secrets := map[string]string{"password": goodPassword, "client secret": clientSecret, "wrong password": "a-wrong-password-typed-by-kang"}

	br := b.browser(t)
	br.signIn("kang", secrets["wrong password"])
	// A password typed into the name field is a secret too.
	secrets["password typed as a name"] = "kang-typed-his-passphrase-here"
	br.signIn(secrets["password typed as a name"], goodPassword)
	home := br.signIn("kang", goodPassword)
	secrets["session secret"] = br.sessionSecret()
	secrets["csrf token"] = home.csrf(t)
	br.post("/logout", url.Values{"csrf_token": {home.csrf(t)}})

	// The OIDC flow, step by step, to see the code and the ID token go by.
	b.idp.SignIn(oidctest.Person{Subject: "sub-kwon", Username: "kwon", Groups: []string{"dr-sre"}})
	ob := b.browser(t)
	ob.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cb, _ := url.Parse(ob.get(ob.get("/login/oidc").header.Get("Location")).header.Get("Location"))
	secrets["authorization code"] = cb.Query().Get("code")
	if p := ob.get(cb.String()); p.status != http.StatusSeeOther {
		t.Fatalf("OIDC callback: %d\n%s", p.status, p.body)
	}
	secrets["oidc session secret"] = ob.sessionSecret()
	secrets["ID token"] = b.idp.LastIDToken()
	// Its signature alone: a log line might hold a token cut short, never the whole JWS.
	secrets["ID token signature"] = secrets["ID token"][strings.LastIndex(secrets["ID token"], ".")+1:]
	if secrets["authorization code"] == "" || secrets["ID token"] == "" || secrets["oidc session secret"] == "" || secrets["session secret"] == "" {
		t.Fatalf("the flows did not run: %v", secrets)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var dump strings.Builder
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+pgx.Identifier{table}.Sanitize()+" t")
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		dump.WriteString(strings.Join(texts, "\n"))
	}
	if !strings.Contains(dump.String(), "$argon2id$v=19$") || !strings.Contains(dump.String(), "session.sign_in") {
		t.Fatal("the dump has no password hash or sign-in record: it did not read the tables")
	}
	logs := b.logs.String()
	if !strings.Contains(logs, "signed in") {
		t.Fatalf("the logs have no sign-in line: the test read nothing:\n%s", logs)
	}
	for what, s := range secrets {
		if strings.Contains(dump.String(), s) {
			t.Errorf("the database holds the %s", what)
		}
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold the %s", what)
		}
	}
}
