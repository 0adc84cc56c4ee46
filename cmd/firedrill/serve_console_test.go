package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store/storetest"
	"github.com/firedrill/firedrill/web/console/oidctest"
)

// TestServeConsoleSignIn runs firedrill serve as a process with an identity provider: the
// bootstrap admin gets a password through `firedrill user password` and signs in with it, and
// a person signs in through the provider with a mapped group.
func TestServeConsoleSignIn(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	idp := oidctest.New(t, "firedrill", "serve-test-client-secret")
	// The redirect URL must be known before serve starts: take a free port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.CommandContext(ctx, binPath, "serve", "--migrate", "--database-url", dsn, "--listen", addr,
		"--oidc-issuer", idp.URL, "--oidc-client-id", "firedrill", "--oidc-redirect-url", "http://"+addr+"/auth/callback",
		"--oidc-role-map", "dr-sre=sre", "--oidc-role-map", "dr-audit=auditor",
		"--signing-key", filepath.Join(t.TempDir(), "signing.key"), "--institution", "Example Bank")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "FIREDRILL_OIDC_CLIENT_SECRET=serve-test-client-secret")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "firedrill serving on ") {
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	base := "http://" + addr

	admin := strings.TrimSpace(runCLI(t, ctx, nil, "user", "bootstrap", "root", "--database-url", dsn).stdout)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("the first admin's passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FIREDRILL_ADDR": base, "FIREDRILL_TOKEN": admin}
	if res := runCLI(t, ctx, env, "user", "password", "root", "--password-file", pwFile); res.code != exitOK {
		t.Fatalf("user password: exit %d: %s", res.code, res.stderr)
	}
	if res := runCLI(t, ctx, env, "user", "password", "root", "--password-file", writeFile(t, "short\n")); res.code == exitOK || !strings.Contains(res.stderr, "at least 12") {
		t.Errorf("a short password: exit %d: %s", res.code, res.stderr)
	}

	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 30 * time.Second}
	}
	read := func(resp *http.Response, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Request.URL.Path, string(b)
	}
	c := browser()
	_, login := read(c.Get(base + "/login"))
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(login)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", login)
	}
	path, home := read(c.PostForm(base+"/login", url.Values{"user": {"root"}, "password": {"the first admin's passphrase"}, "csrf_token": {m[1]}}))
	if path != "/" || !strings.Contains(home, `id="user">root<`) || !strings.Contains(home, `class="roles">(Administrator)`) {
		t.Fatalf("password sign-in landed on %s:\n%s", path, home)
	}
	// The console's pages sit behind the session: a form posted without its CSRF token is
	// refused before any operation runs.
	if res, err := c.PostForm(base+"/findings", url.Values{"title": {"x"}, "severity": {"low"}}); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "CSRF") {
			t.Errorf("a form without its CSRF token = %d %s, want 403 naming the token", res.StatusCode, body)
		}
	}
	// The API still answers beside the console.
	if path, body := read(c.Get(base + "/healthz")); path != "/healthz" || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %s", body)
	}

	idp.SignIn(oidctest.Person{Subject: "emp-77", Username: "auditor.kim", Groups: []string{"dr-audit"}})
	auditor := browser()
	path, home = read(auditor.Get(base + "/login/oidc"))
	// An auditor's home is the regulator portal.
	if path != "/portal" || !strings.Contains(home, `id="user">auditor.kim<`) || !strings.Contains(home, `class="roles">(Auditor)`) {
		t.Fatalf("OIDC sign-in landed on %s:\n%s", path, home)
	}
	// Its upload form goes through the session's CSRF check to the page, which reads the file:
	// with the token first, a file that is no bundle is the page's 400; without it, 403.
	_, form := read(auditor.Get(base + "/portal/verify"))
	tok := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(form)
	if tok == nil {
		t.Fatalf("no verify form:\n%s", form)
	}
	for _, withToken := range []bool{true, false} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if withToken {
			mw.WriteField("csrf_token", tok[1])
		}
		fw, _ := mw.CreateFormFile("bundle", "report.zip")
		fw.Write([]byte("not a zip"))
		mw.Close()
		res, err := auditor.Post(base+"/portal/verify", mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		switch {
		case withToken && (res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "bundle: ")):
			t.Errorf("an upload with its CSRF token = %d, want the page's 400 naming the bundle:\n%s", res.StatusCode, b)
		case !withToken && (res.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "CSRF")):
			t.Errorf("an upload without its CSRF token = %d %s, want 403 naming the token", res.StatusCode, b)
		}
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
