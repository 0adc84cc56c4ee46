package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/serverconfig"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// writeServerConfig writes src as a server configuration in a new directory.
func writeServerConfig(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// configCheckSettings runs config check --json and returns its settings by key.
func configCheckSettings(t *testing.T, env map[string]string, args ...string) (map[string]settingJSON, cliResult) {
	t.Helper()
	res := runCLI(t, context.Background(), env, append([]string{"config", "check", "--json"}, args...)...)
	var out struct {
		Valid    bool          `json:"valid"`
		Problems []problemJSON `json:"problems"`
		Settings []settingJSON `json:"settings"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("config check --json: %v\n%s%s", err, res.stdout, res.stderr)
	}
	byKey := map[string]settingJSON{}
	for _, s := range out.Settings {
		byKey[s.Key] = s
	}
	return byKey, res
}

// A setting is taken from the flag, else its variable, else the file, else the default.
func TestServerConfigPrecedence(t *testing.T) {
	t.Parallel()
	path := writeServerConfig(t, "listen = \"127.0.0.1:7001\"\nworker {\n  poll = \"7s\"\n  concurrency = 7\n}\n")
	for _, tt := range []struct {
		name       string
		env        map[string]string
		flags      []string
		want, from string
	}{
		{name: "the file over the default", want: "127.0.0.1:7001", from: sourceFile},
		{name: "the variable over the file", env: map[string]string{"FIREDRILL_LISTEN": "127.0.0.1:7002"}, want: "127.0.0.1:7002", from: sourceEnv},
		{name: "the flag over the variable", env: map[string]string{"FIREDRILL_LISTEN": "127.0.0.1:7002"}, flags: []string{"--listen", "127.0.0.1:7003"}, want: "127.0.0.1:7003", from: sourceFlag},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, res := configCheckSettings(t, tt.env, append([]string{path}, tt.flags...)...)
			if res.code != exitOK {
				t.Fatalf("config check = %d\n%s%s", res.code, res.stdout, res.stderr)
			}
			if l := got["listen"]; l.Value == nil || *l.Value != tt.want || l.Source != tt.from {
				t.Errorf("listen = %+v, want %s from %s", l, tt.want, tt.from)
			}
			// The others are untouched by the listen overrides.
			if p := got["worker.poll"]; p.Value == nil || *p.Value != "7s" || p.Source != sourceFile || p.From != path+":3:3" {
				t.Errorf("worker.poll = %+v, want 7s from the file at line 3", p)
			}
			if s := got["scheduler.tick"]; s.Source != sourceDefault {
				t.Errorf("scheduler.tick = %+v, want the default", s)
			}
		})
	}
	// The file names itself through the variable too.
	got, res := configCheckSettings(t, map[string]string{serverconfig.EnvServerConfig: path})
	if res.code != exitOK || got["worker.concurrency"].Source != sourceFile {
		t.Errorf("config check with %s = %d %+v", serverconfig.EnvServerConfig, res.code, got["worker.concurrency"])
	}
}

// A secret is never printed, whichever way it came: only where it came from.
func TestConfigCheckNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	const password = "hunter2-Zq9"
	secretFile := filepath.Join(t.TempDir(), "db-url")
	if err := os.WriteFile(secretFile, []byte("postgres://fd:"+password+"@db/fd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeServerConfig(t, "database {\n  url_env = \"PG_RUNTIME_URL\"\n  migrate = true\n  migration_url_file = \""+secretFile+"\"\n}\n")
	env := map[string]string{"PG_RUNTIME_URL": "postgres://fd:" + password + "@db/fd", "FIREDRILL_OIDC_CLIENT_SECRET": password}
	for _, args := range [][]string{
		{path},
		{path, "--json"},
		{path, "--database-url", "postgres://fd:" + password + "@other/fd"},
		{path, "--json", "--database-url", "postgres://fd:" + password + "@other/fd"},
	} {
		res := runCLI(t, context.Background(), env, append([]string{"config", "check"}, args...)...)
		if res.code != exitOK {
			t.Errorf("config check %v = %d\n%s%s", args, res.code, res.stdout, res.stderr)
		}
		if strings.Contains(res.stdout+res.stderr, password) {
			t.Errorf("config check %v printed the password:\n%s%s", args, res.stdout, res.stderr)
		}
		if !strings.Contains(res.stdout, "PG_RUNTIME_URL") && !strings.Contains(res.stdout, "--database-url") {
			t.Errorf("config check %v does not say where the database URL comes from:\n%s", args, res.stdout)
		}
	}
	got, _ := configCheckSettings(t, env, path)
	if u := got["database.url"]; u.Value != nil || u.Ref != "env PG_RUNTIME_URL" || !u.Secret {
		t.Errorf("database.url = %+v, want no value, from env PG_RUNTIME_URL", u)
	}
	// A reference that resolves to nothing is a positioned problem, not an empty URL.
	res := runCLI(t, context.Background(), nil, "config", "check", path)
	if res.code != exitError || !strings.Contains(res.stdout, path+":2:3: database.url: the environment variable PG_RUNTIME_URL it names is not set") {
		t.Errorf("config check without PG_RUNTIME_URL = %d\n%s", res.code, res.stdout)
	}
}

// The acceptance: the real binary on a broken file prints every problem at its position and
// exits 1.
func TestConfigCheckBrokenFileExits1WithPositions(t *testing.T) {
	t.Parallel()
	path := writeServerConfig(t, "listen = \"8080\"\ndatabase {\n  url = \"postgres://fd:hunter2@db/fd\"\n}\nworkers {\n}\n")
	out, err := exec.Command(binPath, "config", "check", path).Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitError {
		t.Fatalf("config check on a broken file: %v, want exit 1\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{path + ":1:10: listen:", path + ":3:9: database.url:", path + ":5:1: Unsupported block type"}
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, lines[i], w)
		}
	}
	if strings.Contains(string(out), "hunter2") {
		t.Errorf("the refused password is printed:\n%s", out)
	}
	// serve refuses to start on it, with the same positions.
	serveOut, err := exec.Command(binPath, "serve", "--server-config", path, "--database-url", "sqlite:"+filepath.Join(t.TempDir(), "fd.db")).CombinedOutput()
	if err == nil || !strings.Contains(string(serveOut), path+":3:9: database.url") {
		t.Errorf("serve on a broken configuration: %v\n%s", err, serveOut)
	}
}

// The shipped example passes config check.
func TestConfigCheckAcceptsTheExample(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), map[string]string{"PG_RUNTIME_URL": "postgres://fd@db/fd"},
		"config", "check", "../../examples/firedrill-server.hcl")
	if res.code != exitOK || !strings.Contains(res.stdout, "valid") {
		t.Errorf("config check examples/firedrill-server.hcl = %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// Every setting is serve's flag with the variable serve derives from it, so the file, the
// environment and the flag are one setting.
func TestEverySettingIsAServeFlag(t *testing.T) {
	serve := (&app{getenv: func(string) string { return "" }}).rootCommand()
	cmd, _, err := serve.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range serverconfig.Settings() {
		if envOf(s.Flag) != s.Env {
			t.Errorf("%s: env %s, but --%s reads %s", s.Key, s.Env, s.Flag, envOf(s.Flag))
		}
		if cmd.Flag(s.Flag) == nil {
			t.Errorf("%s: serve has no --%s", s.Key, s.Flag)
		}
	}
	if cmd.Flag(serverConfigFlag) == nil || envOf(serverConfigFlag) != serverconfig.EnvServerConfig {
		t.Errorf("serve --%s reads %s, want %s", serverConfigFlag, envOf(serverConfigFlag), serverconfig.EnvServerConfig)
	}
	if !slices.Contains(serverconfig.EnvVars(), envOIDCClientSecret) {
		t.Errorf("EnvVars() lacks %s", envOIDCClientSecret)
	}
}

// serve --server-config runs with the file's listen address, TLS, estate and database (from
// the variable the file names).
func TestServeWithServerConfig(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Trust authentication ignores the password: it is there to be kept out of the output.
	dsn := strings.Replace(storetest.NewDatabase(t), "postgres://postgres@", "postgres://postgres:hunter2-Zq9@", 1)
	if !strings.Contains(dsn, "hunter2-Zq9") {
		t.Fatalf("test database URL %s is not postgres://postgres@...", dsn)
	}
	dir := t.TempDir()
	writeSelfSignedCert(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	estate, err := filepath.Abs("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "server.hcl")
	src := "listen = \"" + addr + "\"\nestate = \"" + estate + "\"\ndatabase {\n  url_env = \"PG_TEST_RUNTIME_URL\"\n  migrate = true\n}\ntls {\n  cert_file = \"cert.pem\"\n  key_file = \"key.pem\"\n}\nlog {\n  level = \"info\"\n}\n"
	if err := os.WriteFile(cfgPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, binPath, "serve", "--server-config", cfgPath)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PG_TEST_RUNTIME_URL="+dsn)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	var serving string
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), "firedrill serving on ") {
			serving = sc.Text()
			break
		}
	}
	if !strings.Contains(serving, "firedrill serving on https://"+addr) {
		t.Fatalf("serve did not serve HTTPS on the file's %s:\n%s", addr, strings.Join(seen, "\n"))
	}
	if strings.Contains(strings.Join(seen, "\n"), "hunter2-Zq9") {
		t.Errorf("serve printed the database password:\n%s", strings.Join(seen, "\n"))
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	token := bootstrapToken(t, ctx, dsn)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/api/v1/sites", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Sites []any `json:"sites"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || len(body.Sites) != 3 {
		t.Errorf("GET /api/v1/sites = %d %v %v, want the file's estate's 3 sites", resp.StatusCode, err, body)
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeSelfSignedCert writes a certificate for 127.0.0.1 and its key, PEM.
func writeSelfSignedCert(t *testing.T, certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "firedrill test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The README's table of variables lists every one serve reads, for the deployment files.
func TestReadmeListsEveryServerConfigVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range serverconfig.EnvVars() {
		if !strings.Contains(string(readme), "| `"+v+"` |") {
			t.Errorf("README's server configuration table lacks %s", v)
		}
	}
	for _, s := range serverconfig.Settings() {
		if !strings.Contains(string(readme), "| `"+s.Env+"` | `"+s.Key+"` | `--"+s.Flag+"` |") {
			t.Errorf("README's table lacks the row of %s (%s, --%s)", s.Key, s.Env, s.Flag)
		}
	}
}

// What serve refuses at start-up beyond a value's type, config check refuses too, at the
// file's setting when the file gave it.
func TestConfigCheckRefusesWhatServeWould(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src string
		flags     []string
		want      string
	}{
		{name: "a signing key without its institution", src: "signing_key_file = \"key.pem\"\n", want: ":1:1: --institution (institution) is required"},
		{name: "an identity provider without a client", src: "oidc {\n  issuer = \"https://sso.bank.example\"\n  redirect_url = \"https://fd.bank.example/auth/callback\"\n  role_map = { sre = [\"sre\"] }\n}\n", want: ":2:3: --oidc-client-id (oidc.client_id) is required"},
		{name: "a role map flag naming no role", src: "oidc {\n  issuer = \"https://sso.bank.example\"\n  client_id = \"fd\"\n  redirect_url = \"https://fd.bank.example/auth/callback\"\n}\n", flags: []string{"--oidc-role-map", "sre=root"}, want: ":2:3: --oidc-role-map (oidc.role_map): role mapping"},
		{name: "an unknown regulator profile", src: "findings {\n  retest_profile = \"kr-nope\"\n}\n", want: ":2:3: --retest-profile (findings.retest_profile)"},
		{name: "a certificate that does not load", src: "tls {\n  cert_file = \"missing.pem\"\n  key_file = \"missing-key.pem\"\n}\n", want: ":2:3: --tls-cert-file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeServerConfig(t, tt.src)
			res := runCLI(t, context.Background(), nil, append([]string{"config", "check", path}, tt.flags...)...)
			if res.code != exitError || !strings.Contains(res.stdout, path+tt.want) {
				t.Errorf("config check = %d\n%s\nwant a problem at %s%s", res.code, res.stdout, path, tt.want)
			}
		})
	}
}

// The server configuration's notify targets join the estate's, one name one target.
func TestServerConfigNotifyTargets(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "fd.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg, diags := serverconfig.Parse([]byte("notify \"desk\" {\n  kind = \"slack\"\n  url_env = \"SLACK_URL\"\n}\n"), "server.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a := &app{serverConfig: cfg, getenv: func(string) string { return "" }}
	if n, err := a.newNotifier(nil, st, &secret.Resolver{}); err != nil || n == nil {
		t.Errorf("a notifier for the server configuration's target alone = %v, %v", n, err)
	}
	estate := &drills.Estate{Notify: []*drills.NotifyChannel{{Name: "desk", Kind: "slack", URLEnv: "S", Pos: drills.Pos{File: "firedrill.hcl", Line: 9, Column: 1}}}}
	if _, err := a.newNotifier(estate, st, &secret.Resolver{}); err == nil || !strings.Contains(err.Error(), `server.hcl:1:1: notify "desk" is also declared in the estate at firedrill.hcl:9:1`) {
		t.Errorf("the same name in both = %v, want both positions", err)
	}
}

// The client secret comes from the variable the configuration names, or its file; both is a
// mistake.
func TestOIDCClientSecretFromTheNamedVariable(t *testing.T) {
	env := map[string]string{"SSO_SECRET": "s3cret", envOIDCClientSecret: "default-secret"}
	a := &app{getenv: func(k string) string { return env[k] }}
	if s, err := a.oidcClientSecret("SSO_SECRET", ""); err != nil || s != "s3cret" {
		t.Errorf("from SSO_SECRET = %q, %v", s, err)
	}
	if s, err := a.oidcClientSecret("", ""); err != nil || s != "default-secret" {
		t.Errorf("from the default variable = %q, %v", s, err)
	}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := a.oidcClientSecret("UNSET_SECRET", file); err != nil || s != "file-secret" {
		t.Errorf("from the file = %q, %v", s, err)
	}
	if _, err := a.oidcClientSecret("SSO_SECRET", file); err == nil || !strings.Contains(err.Error(), "SSO_SECRET") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("both = %v, want an error naming SSO_SECRET without the secret", err)
	}
}

// The file's retest profile sets when findings fall due, unless the file (or the variable, or
// the flag) gives findings.due, as on the command line.
func TestServerConfigRetestProfile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src, want string
	}{
		{"the profile's deadline", "findings {\n  retest_profile = \"us-ffiec-bcm\"\n}\n", "8760h0m0s"},
		{"the file's due date wins", "findings {\n  retest_profile = \"us-ffiec-bcm\"\n  due = \"720h\"\n}\n", "720h0m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, res := configCheckSettings(t, nil, writeServerConfig(t, tt.src))
			if d := got["findings.due"]; res.code != exitOK || d.Value == nil || *d.Value != tt.want || d.Source != sourceFile {
				t.Errorf("findings.due = %+v (exit %d), want %s from the file", d, res.code, tt.want)
			}
		})
	}
}
