package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantFailed bool
	}{
		{name: "GET counts 2xx", status: http.StatusOK},
		{name: "POST bodies are unique", status: http.StatusCreated, body: `{"key":"k-{n}"}`},
		{name: "non-2xx fails", status: http.StatusUnprocessableEntity, wantFailed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]int{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				seen[r.Method+" "+r.Header.Get("Authorization")+" "+string(b)]++
				mu.Unlock()
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()

			r := load(context.Background(), config{URL: srv.URL, Key: "sk_x", Body: tt.body, Label: tt.name,
				Concurrency: 4, Duration: 200 * time.Millisecond})
			if got := r.Failed > 0; got != tt.wantFailed {
				t.Fatalf("failed %d (%s), want failures %v", r.Failed, r.FirstError, tt.wantFailed)
			}
			if !tt.wantFailed && len(r.Latencies) == 0 {
				t.Fatal("no successful requests counted")
			}
			if !strings.Contains(r.String(), "req/s") {
				t.Errorf("result line %q has no req/s", r.String())
			}
			mu.Lock()
			defer mu.Unlock()
			for req, n := range seen {
				if !strings.Contains(req, "Bearer sk_x") {
					t.Errorf("request %q without the key", req)
				}
				if tt.body != "" && (n > 1 || strings.Contains(req, "{n}") || !strings.HasPrefix(req, "POST ")) {
					t.Errorf("request %q sent %d times, want one POST with {n} replaced", req, n)
				}
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	r := &result{}
	for i := 1; i <= 200; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    int
		want time.Duration
	}{
		{50, 100 * time.Millisecond},
		{99, 198 * time.Millisecond},
		{100, 200 * time.Millisecond},
	} {
		if got := r.percentile(tt.p); got != tt.want {
			t.Errorf("p%d = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name string
		tmpl string
		n    int64
		want string
	}{
		{name: "unique number", tmpl: `{"key":"k-{n}"}`, n: 7, want: `{"key":"k-run-7"}`},
		{name: "number in run", tmpl: `{"key":"r{i}","code":"REF{i}"}`, n: 12, want: `{"key":"r12","code":"REF12"}`},
		{name: "cycle wraps to 1", tmpl: `{"ref":"REF{i%200}"}`, n: 201, want: `{"ref":"REF1"}`},
		{name: "cycle reaches K", tmpl: `{"ref":"REF{i%200}"}`, n: 200, want: `{"ref":"REF200"}`},
		{name: "bad cycle left alone", tmpl: `{i%0}{i%x}`, n: 3, want: `{i%0}{i%x}`},
		{name: "other braces kept", tmpl: `{"a":{"b":1}}`, n: 1, want: `{"a":{"b":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expand(tt.tmpl, "run", tt.n); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLoadModes(t *testing.T) {
	tests := []struct {
		name       string
		cfg        config
		wantOK     func(n int) bool // of successful requests
		wantFailed bool
	}{
		{name: "exactly n requests", cfg: config{Requests: 57, Body: `{"key":"c{i}"}`},
			wantOK: func(n int) bool { return n == 57 }},
		{name: "fixed rate sends about rate × duration", cfg: config{Rate: 200, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond},
			wantOK: func(n int) bool { return n >= 95 && n <= 101 }},
		{name: "expected redirect is not followed", cfg: config{URL: "/redirect", Status: http.StatusFound, Requests: 10},
			wantOK: func(n int) bool { return n == 10 }},
		{name: "other status than expected fails", cfg: config{Status: http.StatusFound, Requests: 5}, wantFailed: true,
			wantOK: func(n int) bool { return n == 0 }},
		{name: "raw: expected redirect", cfg: config{URL: "/redirect", Raw: true, Status: http.StatusFound, Requests: 20},
			wantOK: func(n int) bool { return n == 20 }},
		{name: "raw: chunked body read to its end", cfg: config{URL: "/chunked", Raw: true, Requests: 20},
			wantOK: func(n int) bool { return n == 20 }},
		{name: "raw: server closes the connection", cfg: config{URL: "/close", Raw: true, Requests: 20},
			wantOK: func(n int) bool { return n == 20 }},
		{name: "raw: fixed rate", cfg: config{Raw: true, Rate: 200, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond},
			wantOK: func(n int) bool { return n >= 95 && n <= 101 }},
		{name: "raw: other status than expected fails", cfg: config{Raw: true, Status: http.StatusFound, Requests: 5}, wantFailed: true,
			wantOK: func(n int) bool { return n == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			bodies := map[string]int{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies[string(b)]++
				mu.Unlock()
				if r.Header.Get("User-Agent") != "Mozilla/5.0 test" {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				switch r.URL.Path {
				case "/redirect":
					redirectTo("/elsewhere").ServeHTTP(w, r)
				case "/chunked":
					for range 3 {
						w.Write([]byte(strings.Repeat("x", 3000)))
						w.(http.Flusher).Flush()
					}
				case "/close":
					w.Header().Set("Connection", "close")
					w.Write([]byte("bye"))
				default:
					w.WriteHeader(http.StatusOK)
				}
			}))
			defer srv.Close()

			c := tt.cfg
			c.URL = srv.URL + c.URL
			c.Label, c.Concurrency = tt.name, 4
			c.Header = http.Header{"User-Agent": {"Mozilla/5.0 test"}}
			if c.Duration == 0 {
				c.Duration = time.Second
			}
			r := load(context.Background(), c)
			if got := r.Failed > 0; got != tt.wantFailed {
				t.Fatalf("failed %d (%s), want failures %v", r.Failed, r.FirstError, tt.wantFailed)
			}
			if !tt.wantOK(len(r.Latencies)) {
				t.Errorf("%d successful requests: %s", len(r.Latencies), r)
			}
			if c.Rate > 0 && c.Warmup > 0 && (r.WarmupOK < 15 || r.WarmupOK > 21) {
				t.Errorf("%d successful requests in the warm-up, want about %v", r.WarmupOK, c.Rate*c.Warmup.Seconds())
			}
			mu.Lock()
			defer mu.Unlock()
			if c.Body != "" {
				for i := 1; i <= c.Requests; i++ {
					if n := bodies[fmt.Sprintf(`{"key":"c%d"}`, i)]; n != 1 {
						t.Errorf("body of request %d sent %d times, want once", i, n)
					}
				}
			}
		})
	}
}

func TestBare302(t *testing.T) {
	srv := httptest.NewServer(redirectTo("https://example.com/?ref=REF1"))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(srv.URL + "/r/REF1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://example.com/?ref=REF1" ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("got %d Location %q Cache-Control %q, want 302 to the destination, not cached",
			resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
	}
}

// TestReceiver: the benchmark's webhook receiver answers 204 and counts.
func TestReceiver(t *testing.T) {
	srv := httptest.NewServer(receiver(&atomic.Int64{}))
	defer srv.Close()
	for range 3 {
		resp, err := http.Post(srv.URL+"/hooks", "application/json", strings.NewReader(`{"type":"x"}`))
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/count")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.TrimSpace(string(b)) != "3" {
		t.Errorf("count %q, want 3", b)
	}
}
