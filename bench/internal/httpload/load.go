package httpload

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Target is one measured endpoint: a name for the report and the request to send; Path is
// called once per request (random run IDs).
type Target struct {
	Name string
	// Auth: send the loader's Auth header (a token, a session cookie).
	Auth bool
	Path func(i int) string
}

// Sample is one request's outcome.
type Sample struct {
	// Due is when the request should have been sent.
	Due time.Time
	// Latency is from the instant the request was due to the end of its body.
	Latency time.Duration
	// Service is from the instant it was actually sent to the end of its body.
	Service time.Duration
	Status  int
	Bytes   int64
	Err     error
}

// Loader sends requests to one server.
type Loader struct {
	base string
	// auth is set on the requests of targets with Auth.
	auth   http.Header
	client *http.Client
}

// NewLoader sends requests to base, with auth on those that need it.
func NewLoader(base string, auth http.Header, timeout time.Duration) *Loader {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     2 * time.Minute,
	}
	return &Loader{base: base, auth: auth, client: &http.Client{Transport: tr, Timeout: timeout}}
}

// Close closes the idle connections.
func (l *Loader) Close() { l.client.CloseIdleConnections() }

// Get sends one request and reads the whole body; due is when it should have been sent.
func (l *Loader) Get(ctx context.Context, t Target, i int, due time.Time) Sample {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+t.Path(i), nil)
	if err != nil {
		return Sample{Due: due, Err: err}
	}
	if t.Auth {
		l.setAuth(req)
	}
	sent := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return Sample{Due: due, Latency: time.Since(due), Service: time.Since(sent), Err: err}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	end := time.Now()
	s := Sample{Due: due, Latency: end.Sub(due), Service: end.Sub(sent), Status: resp.StatusCode, Bytes: n, Err: err}
	if s.Err == nil && resp.StatusCode != http.StatusOK {
		s.Err = fmt.Errorf("GET %s: status %d", t.Path(i), resp.StatusCode)
	}
	return s
}

// OpenLoop sends n requests to t at rate per second, the k-th due at start + k/rate whatever
// happened to the earlier ones, and returns their samples in order. first numbers the
// requests for t.Path (so that successive slices draw different runs).
func (l *Loader) OpenLoop(ctx context.Context, t Target, rate float64, n, first int) []Sample {
	period := time.Duration(float64(time.Second) / rate)
	out := make([]Sample, n)
	var wg sync.WaitGroup
	// Start a little ahead so that the first request is not already late.
	start := time.Now().Add(5 * time.Millisecond)
	timer := time.NewTimer(0)
	<-timer.C
	for k := range n {
		due := start.Add(time.Duration(k) * period)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				wg.Wait()
				return out[:k]
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[k] = l.Get(ctx, t, first+k, due)
		}()
	}
	wg.Wait()
	return out
}

func (l *Loader) setAuth(req *http.Request) {
	for k, vs := range l.auth {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
}

// GetBody GETs path, with the Auth header when auth, and returns the body of a 200 answer.
func (l *Loader) GetBody(ctx context.Context, path string, auth bool) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+path, nil)
	if err != nil {
		return "", err
	}
	if auth {
		l.setAuth(req)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d: %.500s", path, resp.StatusCode, body)
	}
	return string(body), nil
}

// GetJSON GETs path with the Auth header and decodes a 200 answer into v.
func (l *Loader) GetJSON(ctx context.Context, path string, v any) error {
	body, err := l.GetBody(ctx, path, true)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}
