package sitesim

import (
	"context"
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestErrorRate(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	st := sim.Site("sangam")
	c := newClient(t, st, "")

	st.SetErrorRate(0.5)
	var failed []int
	for i := range 6 {
		if _, _, err := c.Jobs().List(qo(ctx)); err != nil {
			if code := statusCode(t, err); code != http.StatusInternalServerError {
				t.Fatalf("request %d: status %d, want 500", i, code)
			}
			failed = append(failed, i)
		}
	}
	if len(failed) != 3 || failed[0] != 1 || failed[2] != 5 {
		t.Errorf("failed requests = %v, want every second one [1 3 5]", failed)
	}
	st.SetErrorRate(0)
	if _, _, err := c.Jobs().List(qo(ctx)); err != nil {
		t.Errorf("after clearing the error rate: %v", err)
	}
	st.SetLatency(5 * time.Millisecond)
	if _, _, err := c.Jobs().List(qo(ctx)); err != nil {
		t.Errorf("with latency: %v", err)
	}
}

func TestPartition(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	st := sim.Site("sangam")
	c := newClient(t, st, "")
	if _, _, err := c.Jobs().List(qo(ctx)); err != nil {
		t.Fatal(err)
	}
	addr := st.NomadAddress()

	if err := st.SetPartitioned(true); err != nil {
		t.Fatalf("SetPartitioned(true): %v", err)
	}
	_, _, err := c.Jobs().List(qo(ctx))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("List while partitioned = %v, want connection refused", err)
	}
	// The toy service stays reachable.
	if code, _ := healthz(t, st, "auth"); code != http.StatusOK {
		t.Errorf("healthz while partitioned = %d", code)
	}

	if err := st.SetPartitioned(false); err != nil {
		t.Fatalf("SetPartitioned(false): %v", err)
	}
	if st.NomadAddress() != addr {
		t.Errorf("address after heal = %s, want %s", st.NomadAddress(), addr)
	}
	if _, _, err := c.Jobs().List(qo(ctx)); err != nil {
		t.Errorf("List after heal: %v", err)
	}
}

func TestHang(t *testing.T) {
	t.Parallel()
	sim := setup(t, testConfig())
	ctx := testCtx(t)
	st := sim.Site("sangam")
	c := newClient(t, st, "")

	st.SetHang(true)
	hctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := c.Jobs().List(qo(hctx)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List while hanging = %v, want deadline exceeded", err)
	}

	// Releasing the hang lets a held request through.
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Jobs().List(qo(ctx))
		done <- err
	}()
	st.SetHang(false)
	if err := <-done; err != nil {
		t.Errorf("List after release: %v", err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	t.Parallel()
	sim, err := Start(t.Context(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	st := sim.Site("sangam")
	st.SetHang(true)
	go func() { _, _ = http.Get(st.NomadAddress() + "/v1/jobs") }()
	if err := sim.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sim.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := st.SetPartitioned(false); err == nil {
		t.Error("SetPartitioned on a closed site succeeded")
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no sites", Config{}},
		{"unnamed site", Config{Sites: []SiteConfig{{}}}},
		{"duplicate site", Config{Sites: []SiteConfig{{Name: "a"}, {Name: "a"}}}},
		{"duplicate job", Config{Sites: []SiteConfig{{Name: "a", Jobs: []JobConfig{{ID: "x"}, {ID: "x"}}}}}},
		{"unknown dependency", Config{Sites: []SiteConfig{{Name: "a", Jobs: []JobConfig{{ID: "x", DependsOn: []string{"y"}}}}}}},
		{"bad listen", Config{Sites: []SiteConfig{{Name: "a", NomadListen: "256.0.0.1:99999"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, err := Start(t.Context(), tt.cfg)
			if err == nil {
				_ = sim.Close()
				t.Fatalf("Start(%s) succeeded", tt.name)
			}
		})
	}
}
