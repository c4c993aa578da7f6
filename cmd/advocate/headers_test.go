package main

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEveryResponseTraced walks one URL of each kind the binary serves and
// checks that each response carries X-Request-Id and nosniff, and that the
// access log has it, except successful short-link redirects, which are
// counted in metrics instead (the hot path; logged at Debug).
func TestEveryResponseTraced(t *testing.T) {
	s := startServe(t, "--db", filepath.Join(t.TempDir(), "advocate.db"), "--log-format", "json")
	sk := secretRe.FindStringSubmatch(s.stdout.String())[1]
	status, body := call(t, "POST", s.url+"/v1/customers", sk, `{"key":"cus_1","email":"jane@x.com","name":"Jane Doe","referral_code":"JANE20"}`)
	if status != 201 {
		t.Fatalf("create customer: %d %s", status, body)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, method, path string
		status             int
		logged             bool
	}{
		{"api", "GET", "/v1/customers/cus_1", 200, true},
		{"api error", "GET", "/v1/customers/nobody", 404, true},
		{"unknown path", "GET", "/nope", 404, true},
		{"health", "GET", "/healthz", 200, true},
		{"ready", "GET", "/readyz", 200, true},
		{"openapi", "GET", "/openapi.yaml", 200, true},
		{"sdk asset", "GET", "/js/po.js", 200, true},
		{"short link", "GET", "/r/JANE20", 302, false},
		{"unknown short link, to the website", "GET", "/r/NOBODY99", 302, false},
		{"root", "GET", "/", 302, true},
		{"dashboard page", "GET", "/dashboard/login", 200, true},
		{"dashboard redirect", "GET", "/dashboard/", 303, true},
		{"dashboard asset", "GET", "/dashboard/assets/app.css", 200, true},
		{"dashboard form", "POST", "/dashboard/login", 401, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, s.url+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if strings.HasPrefix(tc.path, "/v1/") {
				req.Header.Set("Authorization", "Bearer "+sk)
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d", res.StatusCode, tc.status)
			}
			rid := res.Header.Get("X-Request-Id")
			if !strings.HasPrefix(rid, "req_") {
				t.Errorf("X-Request-Id %q, want a req_… id", rid)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			// The log line is written after the response is sent.
			logged := false
			for deadline := time.Now().Add(time.Second); !logged && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				logged = strings.Contains(s.stderr.String(), `"request_id":"`+rid+`"`)
			}
			if logged != tc.logged {
				t.Errorf("request %s in the access log: %v, want %v", rid, logged, tc.logged)
			}
		})
	}
}

// TestServeMetrics: /metrics is off on the public listener by default,
// served with the token when --metrics-token is set, and without one on
// --metrics-addr.
func TestServeMetrics(t *testing.T) {
	get := func(t *testing.T, url, token string) int {
		t.Helper()
		status, _ := call(t, "GET", url, token, "")
		return status
	}
	t.Run("default off", func(t *testing.T) {
		s := startServe(t, "--db", filepath.Join(t.TempDir(), "advocate.db"))
		if got := get(t, s.url+"/metrics", ""); got != http.StatusNotFound {
			t.Errorf("GET /metrics = %d, want 404", got)
		}
	})
	t.Run("token and private address", func(t *testing.T) {
		token := "a-metrics-token-of-some-length"
		s := startServe(t, "--db", filepath.Join(t.TempDir(), "advocate.db"), "--log-format", "json",
			"--metrics-token", token, "--metrics-addr", "127.0.0.1:0")
		m := regexp.MustCompile(`"msg":"metrics","addr":"([^"]+)"`).FindStringSubmatch(s.stderr.String())
		if m == nil {
			t.Fatalf("no metrics address logged:\n%s", s.stderr)
		}
		if strings.Contains(s.stderr.String(), token) {
			t.Error("the token is in the log")
		}
		tests := []struct {
			name, url, token string
			want             int
		}{
			{"public without token", s.url + "/metrics", "", http.StatusUnauthorized},
			{"public with a wrong token", s.url + "/metrics", token + "x", http.StatusUnauthorized},
			{"public with the token", s.url + "/metrics", token, http.StatusOK},
			{"private address", "http://" + m[1] + "/metrics", "", http.StatusOK},
			{"private address serves nothing else", "http://" + m[1] + "/healthz", "", http.StatusNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := get(t, tc.url, tc.token); got != tc.want {
					t.Errorf("GET %s = %d, want %d", tc.url, got, tc.want)
				}
			})
		}
	})
}
