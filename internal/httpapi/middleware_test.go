package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestIdempotencyFailures mounts a test route with the real API middleware
// (s.route: auth, panic recovery, idempotency) whose handler fails the way
// each case says on its first call, then succeeds. A failed first attempt
// must not be stored for replay, nor leave the key claimed: the retry with
// the same Idempotency-Key runs the handler again and gets its 201, and
// only a further retry is a replay.
func TestIdempotencyFailures(t *testing.T) {
	tests := []struct {
		name  string
		first func(w http.ResponseWriter) error
	}{
		{"error becomes 500", func(http.ResponseWriter) error { return errors.New("database gone") }},
		{"handler writes 503", func(w http.ResponseWriter) error {
			w.WriteHeader(http.StatusServiceUnavailable)
			return nil
		}},
		{"handler panics", func(http.ResponseWriter) error { panic("boom") }},
		{"handler panics after writing", func(w http.ResponseWriter) error {
			w.WriteHeader(http.StatusCreated)
			panic("boom")
		}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, sk, _ := storetest.Program(t, db, "Acme", "USD", "https://yoursite.com")
		s := New(db, slog.New(slog.DiscardHandler), Config{})
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				calls := 0
				mux := http.NewServeMux()
				s.route(mux, "POST /test", SecretKey, func(w http.ResponseWriter, r *http.Request) error {
					calls++
					if calls == 1 {
						return tc.first(w)
					}
					writeJSON(w, http.StatusCreated, map[string]int{"call": calls})
					return nil
				})
				srv := httptest.NewServer(mux)
				defer srv.Close()
				post := func() *http.Response {
					req, _ := http.NewRequest(http.MethodPost, srv.URL+"/test", strings.NewReader(`{"a":1}`))
					req.Header.Set("Authorization", "Bearer "+sk)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", "retry-"+strings.ReplaceAll(tc.name, " ", "-"))
					res, err := srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					return res
				}
				if res := post(); res.StatusCode < 500 && tc.name != "handler panics after writing" {
					t.Fatalf("first attempt: %d, want a 5xx", res.StatusCode)
				}
				res := post()
				if res.StatusCode != http.StatusCreated || calls != 2 || res.Header.Get("Idempotent-Replayed") != "" {
					t.Fatalf("retry: %d (replayed %q) after %d calls, want 201 from a second run of the handler",
						res.StatusCode, res.Header.Get("Idempotent-Replayed"), calls)
				}
				res = post()
				if res.StatusCode != http.StatusCreated || calls != 2 || res.Header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("second retry: %d (replayed %q) after %d calls, want the 201 replayed", res.StatusCode, res.Header.Get("Idempotent-Replayed"), calls)
				}
			})
		}
	})
}
