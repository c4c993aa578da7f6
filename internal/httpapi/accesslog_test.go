package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// lockedBuffer is a log destination that handlers may write concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestShortLinkAccessLog: at the default level, successful short-link
// redirects (the hot path) are left out of the access log, but one that
// fails is in it, with its request id; every one carries the id header.
func TestShortLinkAccessLog(t *testing.T) {
	tests := []struct {
		name     string
		programs bool
		path     string
		status   int
		logged   bool
	}{
		{"redirect", true, "/r/JANE20", http.StatusFound, false},
		{"unknown code, to the website", true, "/r/NOBODY", http.StatusFound, false},
		{"nowhere to go", false, "/r/JANE20", http.StatusNotFound, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := storetest.Open(t, store.SQLite)
			if tc.programs {
				p, _, _ := storetest.Program(t, db, "Acme", "USD", "https://yoursite.com")
				if _, err := db.CreateCustomer(context.Background(), p, referral.NewCustomer{Key: "jane", Email: "jane@example.com",
					ReferralCode: "JANE20"}); err != nil {
					t.Fatal(err)
				}
			}
			var logs lockedBuffer
			srv := httptest.NewServer(web.APIHandler(httpapi.New(db, slog.New(slog.NewTextHandler(&logs, nil)), httpapi.Config{})))
			defer srv.Close()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := client.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			srv.Close() // waits for the handler, and so for its log line
			rid := res.Header.Get("X-Request-Id")
			if res.StatusCode != tc.status || !strings.HasPrefix(rid, "req_") {
				t.Fatalf("status %d, X-Request-Id %q; want %d and an id", res.StatusCode, rid, tc.status)
			}
			if logged := strings.Contains(logs.String(), "request_id="+rid); logged != tc.logged {
				t.Errorf("in the access log: %v, want %v\n%s", logged, tc.logged, logs.String())
			}
		})
	}
}
