package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// TestMetricsAccess: /metrics is off on the API's listener unless a
// metrics token is set, and then needs that token; MetricsHandler (the
// private --metrics-addr listener) serves it without one.
func TestMetricsAccess(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	log := slog.New(slog.DiscardHandler)
	open := httptest.NewServer(web.APIHandler(httpapi.New(db, log, httpapi.Config{})))
	defer open.Close()
	guarded := httptest.NewServer(web.APIHandler(httpapi.New(db, log, httpapi.Config{MetricsToken: "s3cret-token"})))
	defer guarded.Close()
	private := httptest.NewServer(web.MetricsHandler(httpapi.New(db, log, httpapi.Config{})))
	defer private.Close()

	tests := []struct {
		name   string
		url    string
		auth   string
		status int
	}{
		{"no token set: not served", open.URL, "", http.StatusNotFound},
		{"no token set, any bearer: not served", open.URL, "Bearer ", http.StatusNotFound},
		{"token set, none sent", guarded.URL, "", http.StatusUnauthorized},
		{"token set, empty bearer", guarded.URL, "Bearer ", http.StatusUnauthorized},
		{"token set, wrong token", guarded.URL, "Bearer s3cret-tokem", http.StatusUnauthorized},
		{"token set, token without Bearer", guarded.URL, "s3cret-token", http.StatusUnauthorized},
		{"token set, a prefix of it", guarded.URL, "Bearer s3cret", http.StatusUnauthorized},
		{"token set, right token", guarded.URL, "Bearer s3cret-token", http.StatusOK},
		{"private listener", private.URL, "", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tc.url+"/metrics", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if has := strings.Contains(string(body), "advocate_clicks_queued"); has != (tc.status == http.StatusOK) {
				t.Errorf("body has metrics: %v, want %v", has, tc.status == http.StatusOK)
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}
