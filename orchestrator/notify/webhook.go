package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Webhook request headers.
const (
	HeaderEvent     = "X-Firedrill-Event"
	HeaderDelivery  = "X-Firedrill-Delivery"
	HeaderTimestamp = "X-Firedrill-Timestamp"
	HeaderSignature = "X-Firedrill-Signature"
)

// signaturePrefix names the MAC algorithm in HeaderSignature.
const signaturePrefix = "sha256="

// ErrBadSignature means a webhook signature does not match the body, timestamp and key.
var ErrBadSignature = errors.New("webhook signature does not match")

// Sign returns the HeaderSignature value for a request: "sha256=" followed by the hex
// HMAC-SHA256 of timestamp + "." + body under key.
func Sign(key []byte, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(key, timestamp, body))
}

func mac(key []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks a webhook request's HeaderSignature against its HeaderTimestamp and
// raw body, in constant time. It returns ErrBadSignature (wrapped) on any mismatch. It does not
// judge the timestamp's age: a receiver should also reject old timestamps.
func VerifySignature(key []byte, timestamp string, body []byte, signature string) error {
	if len(key) == 0 {
		return errors.New("verify webhook signature: empty key")
	}
	if timestamp == "" {
		return fmt.Errorf("%w: no timestamp", ErrBadSignature)
	}
	hexSum, ok := strings.CutPrefix(signature, signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: want a %q signature", ErrBadSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return fmt.Errorf("%w: not hex", ErrBadSignature)
	}
	if !hmac.Equal(got, mac(key, timestamp, body)) {
		return ErrBadSignature
	}
	return nil
}

func (n *Notifier) webhookSender(c *Channel) func(context.Context, *Payload) error {
	return func(ctx context.Context, p *Payload) error {
		key, err := n.cfg.Secrets.Resolve(c.Webhook.Key)
		if err != nil {
			// The resolver's errors name the reference only.
			return fmt.Errorf("webhook signing key: %w", err)
		}
		body, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode webhook body: %w", err)
		}
		ts := strconv.FormatInt(n.clock.Now().Unix(), 10)
		header := http.Header{}
		header.Set("Content-Type", "application/json")
		header.Set(HeaderEvent, string(p.Event))
		header.Set(HeaderDelivery, p.ID)
		header.Set(HeaderTimestamp, ts)
		header.Set(HeaderSignature, Sign([]byte(key), ts, body))
		return scrub(n.post(ctx, "webhook", c.Webhook.URL, header, body), key)
	}
}

func (n *Notifier) slackSender(c *Channel) func(context.Context, *Payload) error {
	return func(ctx context.Context, p *Payload) error {
		hook, err := n.cfg.Secrets.Resolve(c.Slack.URL)
		if err != nil {
			return fmt.Errorf("slack webhook URL: %w", err)
		}
		body, err := json.Marshal(map[string]string{"text": slackText(p)})
		if err != nil {
			return fmt.Errorf("encode slack message: %w", err)
		}
		header := http.Header{}
		header.Set("Content-Type", "application/json")
		err = n.post(ctx, "slack", hook, header, body)
		// The URL is the credential: drop it from url.Error, and mask any other echo of it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = fmt.Errorf("slack: %s (webhook URL withheld): %w", uerr.Op, uerr.Err)
		}
		secrets := []string{hook}
		if u, perr := url.Parse(hook); perr == nil && len(u.Path) > 1 {
			secrets = append(secrets, u.Path, u.EscapedPath())
		}
		return scrub(err, secrets...)
	}
}

// slackText is the message's one line, with Slack's control characters escaped.
func slackText(p *Payload) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return p.emoji() + " " + esc.Replace(p.Summary())
}

// post sends one request and turns anything but a 2xx answer into an error that quotes the
// status and the start of the answer.
func (n *Notifier) post(ctx context.Context, what, target string, header http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s request: %w", what, err)
	}
	req.Header = header
	req.Header.Set("User-Agent", "firedrill-notify")
	resp, err := n.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("%s answered %s", what, resp.Status)
		if s := strings.TrimSpace(oneLine(string(snippet))); s != "" {
			msg += ": " + s
		}
		return errors.New(msg)
	}
	return nil
}

// scrub returns err with every occurrence of the given secrets masked. The chain is dropped
// when something was masked: a wrapped error would still print the secret.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "***")
		}
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}
