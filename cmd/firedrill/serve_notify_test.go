package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// A run that serve's worker executes ends with a signed webhook to the estate's notify block.
// Its sites are unreachable, so pre-flight blocks it: the notification still says so.
func TestServeNotifiesWhenARunEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := "hook-signing-key"
	got := make(chan notify.Payload, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifySignature([]byte(key), r.Header.Get("X-Firedrill-Timestamp"), body, r.Header.Get("X-Firedrill-Signature")); err != nil {
			t.Errorf("webhook signature: %v", err)
		}
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		got <- p
	}))
	defer hook.Close()

	// The example estate, its Nomad sites pointed at a closed port, plus a webhook.
	src, err := os.ReadFile("../../examples/firedrill.hcl")
	if err != nil {
		t.Fatal(err)
	}
	estate := strings.NewReplacer("http://127.0.0.1:14646", "http://127.0.0.1:1", "http://127.0.0.1:14647", "http://127.0.0.1:1",
		"http://127.0.0.1:14648", "http://127.0.0.1:1").Replace(withoutDefaultApproval(t, string(src)))
	estate += "\nnotify \"ops\" {\n  kind    = \"webhook\"\n  url     = \"" + hook.URL + "\"\n  key_env = \"HOOK_KEY\"\n}\n"
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "plans"), 0o755); err != nil {
		t.Fatal(err)
	}
	plan, err := os.ReadFile("../../examples/plans/site-loss.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"firedrill.hcl": []byte(estate), "plans/site-loss.hcl": plan} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	dsn := storetest.NewDatabase(t)
	env := append(os.Environ(), "FIREDRILL_DATABASE_URL="+dsn, "HOOK_KEY="+key, "NOMAD_TOKEN_SANGAM=t", "NOMAD_TOKEN_YATAP=t", "NOMAD_TOKEN_BUSAN=t")
	serve := exec.CommandContext(ctx, binPath, "serve", "--listen", "127.0.0.1:0", "--config", filepath.Join(dir, "firedrill.hcl"), "--poll", "100ms")
	serve.Env = env
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	sc := bufio.NewScanner(stderr)
	var addr string
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "firedrill serving on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token := sreToken(t, st, "alice")

	submit := exec.CommandContext(ctx, binPath, "submit", filepath.Join(dir, "plans/site-loss.hcl"), "--json")
	submit.Env = append(env, "FIREDRILL_ADDR="+addr, "FIREDRILL_TOKEN="+token)
	out, err := submit.CombinedOutput()
	if err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	overdue := map[string]bool{}
	for {
		select {
		case p := <-got:
			if p.Event == notify.EventServiceOverdue {
				overdue[p.Service] = true
				continue
			}
			if p.Event != notify.EventRunEnded || p.State != "blocked" || !strings.Contains(p.Reason, "sangam") {
				t.Errorf("notification = %+v; want run_ended, blocked, naming the unreachable site", p)
			}
			// Never drilled, every service is overdue, and serve says so.
			if !overdue["auth"] || !overdue["payments"] || !overdue["remittance"] {
				t.Errorf("overdue notifications for %v; want auth, payments and remittance", overdue)
			}
			return
		case <-ctx.Done():
			t.Fatal("no run_ended notification arrived")
		}
	}
}
