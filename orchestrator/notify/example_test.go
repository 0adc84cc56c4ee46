package notify_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/firedrill/firedrill/orchestrator/notify"
)

// A receiver checks each request's signature over the raw body before trusting it, and
// de-duplicates on the delivery ID (retries carry the same one).
func ExampleVerifySignature() {
	key := []byte("shared-signing-key")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		// A real receiver also rejects a timestamp more than a few minutes from its clock.
		err = notify.VerifySignature(key, r.Header.Get(notify.HeaderTimestamp), body, r.Header.Get(notify.HeaderSignature))
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Println("accepted", r.Header.Get(notify.HeaderEvent), "delivery", r.Header.Get(notify.HeaderDelivery))
	})

	body := `{"event":"run_started","run_id":"run-1","id":"n-1"}`
	for _, k := range [][]byte{key, []byte("forged")} {
		req := httptest.NewRequest(http.MethodPost, "/hooks/firedrill", strings.NewReader(body))
		req.Header.Set(notify.HeaderEvent, "run_started")
		req.Header.Set(notify.HeaderDelivery, "n-1")
		req.Header.Set(notify.HeaderTimestamp, "1773480413")
		req.Header.Set(notify.HeaderSignature, notify.Sign(k, "1773480413", []byte(body)))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// accepted run_started delivery n-1
	// 200
	// 401
}
