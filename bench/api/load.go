package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// target is one measured endpoint: a name for the report and the request to send; path is
// called once per request (random run IDs).
type target struct {
	name string
	// auth: send the API token.
	auth bool
	path func(i int) string
}

// sample is one request's outcome.
type sample struct {
	// due is when the request should have been sent.
	due time.Time
	// latency is from the instant the request was due to the end of its body.
	latency time.Duration
	// service is from the instant it was actually sent to the end of its body.
	service time.Duration
	status  int
	bytes   int64
	err     error
}

// loader sends requests to one server.
type loader struct {
	base   string
	token  string
	client *http.Client
}

func newLoader(base, token string, timeout time.Duration) *loader {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     2 * time.Minute,
	}
	return &loader{base: base, token: token, client: &http.Client{Transport: tr, Timeout: timeout}}
}

func (l *loader) close() { l.client.CloseIdleConnections() }

// get sends one request and reads the whole body; due is when it should have been sent.
func (l *loader) get(ctx context.Context, t target, i int, due time.Time) sample {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+t.path(i), nil)
	if err != nil {
		return sample{due: due, err: err}
	}
	if t.auth {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	sent := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return sample{due: due, latency: time.Since(due), service: time.Since(sent), err: err}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	end := time.Now()
	s := sample{due: due, latency: end.Sub(due), service: end.Sub(sent), status: resp.StatusCode, bytes: n, err: err}
	if s.err == nil && resp.StatusCode != http.StatusOK {
		s.err = fmt.Errorf("GET %s: status %d", t.path(i), resp.StatusCode)
	}
	return s
}

// openLoop sends n requests to t at rate per second, the k-th due at start + k/rate whatever
// happened to the earlier ones, and returns their samples in order. first numbers the
// requests for t.path (so that successive slices draw different runs).
func (l *loader) openLoop(ctx context.Context, t target, rate float64, n, first int) []sample {
	period := time.Duration(float64(time.Second) / rate)
	out := make([]sample, n)
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
			out[k] = l.get(ctx, t, first+k, due)
		}()
	}
	wg.Wait()
	return out
}
