package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestWriting: a request that may change something counts while it runs;
// reads and the quiet (hot) routes do not.
func TestWriting(t *testing.T) {
	s := New(storetest.Open(t, store.SQLite), slog.New(slog.DiscardHandler), Config{})
	s.quiet["POST /hot"] = true
	for _, c := range []struct {
		method, pattern string
		want            bool
	}{
		{"POST", "POST /v1/transactions", true},
		{"PUT", "PUT /v1/customers/{key}", true},
		{"DELETE", "DELETE /v1/webhook_endpoints/{id}", true},
		{"GET", "GET /v1/customers", false},
		{"HEAD", "GET /v1/customers", false},
		{"OPTIONS", "OPTIONS /v1/customers", false},
		{"POST", "POST /hot", false},
	} {
		var during bool
		h := s.instrument(c.pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { during = s.Writing() }))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, "/x", nil))
		if during != c.want {
			t.Errorf("%s %s: Writing() = %t while running, want %t", c.method, c.pattern, during, c.want)
		}
		if s.Writing() {
			t.Errorf("%s %s: still writing after the request", c.method, c.pattern)
		}
	}
}
