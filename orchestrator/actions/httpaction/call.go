package httpaction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// maxEvidenceBody is how much of a call's reply is kept as evidence.
const maxEvidenceBody = 4 << 10

// maxErrorBody is how much of a failed call's reply an error quotes.
const maxErrorBody = 256

// redacted replaces a secret header's value wherever a reply echoes it.
const redacted = "[redacted]"

// Call sends one request (a webhook: switch a GSLB record, page a team). It never retries:
// the receiver may act on a request whose reply was lost, and must not act twice.
type Call struct{ cfg Config }

// Spec implements actions.Action.
func (a *Call) Spec() drills.ActionSpec {
	s, _ := drills.LookupAction(drills.ActionHTTPCall)
	return s
}

// Run implements actions.Action. Headers from the environment are resolved before anything
// is sent, so a missing secret fails the step without calling. The request is bounded by ctx
// (the step's timeout) only: a webhook may take longer than a health poll.
func (a *Call) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	step := req.Instance.Step
	clk := req.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	method := strings.ToUpper(step.String("method"))
	if method == "" {
		method = http.MethodPost
	}
	rawURL := step.String("url")
	if req.Site != nil {
		rawURL = ExpandURL(rawURL, req.Site)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes the URL, which may carry a password: name the step's param only.
		return nil, errors.New("url: not a valid URL")
	}
	shown := u.Redacted()
	ev := map[string]any{"method": method, "url": shown}
	res := &actions.Result{Evidence: ev}
	if u.Scheme != "http" && u.Scheme != "https" {
		return res, fmt.Errorf("url %s: scheme must be http or https", shown)
	}

	literal := step.StringMap("headers")
	fromEnv := step.StringMap("headers_from_env")
	header := make(http.Header, len(literal)+len(fromEnv))
	for name, v := range literal {
		header.Set(name, v)
	}
	var secrets []string
	for _, name := range slices.Sorted(maps.Keys(fromEnv)) {
		if _, dup := header[http.CanonicalHeaderKey(name)]; dup {
			return res, fmt.Errorf("header %s is set in both headers and headers_from_env", name)
		}
		v, err := a.cfg.Secrets.Resolve(secret.Ref{Env: fromEnv[name]})
		if err != nil {
			return res, fmt.Errorf("header %s: %w; nothing was sent", name, err)
		}
		header.Set(name, v)
		secrets = append(secrets, v)
	}
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", "firedrill-call")
	}
	names := slices.Sorted(maps.Keys(header))
	ev["headers"] = names

	var body io.Reader
	if b := step.String("body"); b != "" {
		body = strings.NewReader(b)
	}
	httpReq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return res, fmt.Errorf("%s %s: %w", method, shown, err)
	}
	// Go sends req.Host, not a Host header: honour one written in the plan (a GSLB probed
	// through a fixed address).
	if h := header.Get("Host"); h != "" {
		httpReq.Host = h
		header.Del("Host")
	}
	httpReq.Header = header

	start := clk.Now()
	resp, err := a.cfg.Client.Do(httpReq)
	if err != nil {
		ev["duration_ms"] = clk.Now().Sub(start).Milliseconds()
		// The client's error names the URL without its password, never a header's value.
		return res, fmt.Errorf("%s %s: %w", method, shown, err)
	}
	defer resp.Body.Close()
	reply, readErr := io.ReadAll(io.LimitReader(resp.Body, maxEvidenceBody+1))
	ev["duration_ms"] = clk.Now().Sub(start).Milliseconds()
	ev["status"] = resp.StatusCode
	ev["response_truncated"] = len(reply) > maxEvidenceBody
	text := redact(string(reply[:min(len(reply), maxEvidenceBody)]), secrets)
	ev["response_body"] = text

	want, hasWant := step.Int("expect_status")
	switch {
	case hasWant && int64(resp.StatusCode) != want:
		return res, fmt.Errorf("%s %s: status %d, want %d%s", method, shown, resp.StatusCode, want, snippet(text))
	case !hasWant && (resp.StatusCode < 200 || resp.StatusCode > 299):
		return res, fmt.Errorf("%s %s: status %d, want 2xx%s", method, shown, resp.StatusCode, snippet(text))
	}
	if readErr != nil {
		// The receiver answered as expected; a reply cut short does not undo the call.
		ev["response_error"] = readErr.Error()
	}
	return res, nil
}

// redact removes every secret value from s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, redacted)
	}
	return s
}

// snippet formats the start of a reply for an error, on one line.
func snippet(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if body == "" {
		return ""
	}
	if len(body) > maxErrorBody {
		body = strings.ToValidUTF8(body[:maxErrorBody], "") + "..."
	}
	return ": " + body
}
