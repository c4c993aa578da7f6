package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/clientip"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// Browser calls are limited per visitor address, secret keys per key, at
// the defaults serve uses. The clock is the database's, moved forward by
// the gap between requests, so that rates are exact and nothing sleeps.
func TestRateLimitsByCaller(t *testing.T) {
	visitors := func(n int) func(int) string { // n addresses, one after another
		return func(i int) string { return fmt.Sprintf("198.51.%d.%d", i%n/250, i%n%250) }
	}
	tests := []struct {
		name    string
		proxies string           // --trusted-proxies
		secret  bool             // the secret key, else the publishable one
		xff     func(int) string // X-Forwarded-For of the i-th request; nil for none
		n       int              // requests
		every   time.Duration    // between requests
		limited bool             // whether some request must be answered 429
	}{
		{name: "publishable key, 500 visitors at 500/s", proxies: "1", xff: visitors(500),
			n: 1500, every: 2 * time.Millisecond},
		{name: "publishable key, two visitors have separate budgets", proxies: "1", xff: visitors(2),
			n: 120, every: 2 * time.Millisecond},
		{name: "publishable key, one visitor at 500/s", proxies: "1", xff: visitors(1),
			n: 120, every: 2 * time.Millisecond, limited: true},
		{name: "proxies not trusted: a spoofed X-Forwarded-For is ignored", xff: visitors(500),
			n: 120, every: 2 * time.Millisecond, limited: true},
		{name: "one hop trusted: a client-prepended leftmost entry is ignored", proxies: "1",
			xff: func(i int) string { return visitors(500)(i) + ", 203.0.113.9" },
			n:   120, every: 2 * time.Millisecond, limited: true},
		{name: "CIDR trust: hops inside trusted ranges are skipped", proxies: "10.0.0.0/8,127.0.0.1/32",
			xff: func(i int) string { return visitors(500)(i) + ", 10.1.1.1" }, n: 1500, every: 2 * time.Millisecond},
		{name: "CIDR trust: one visitor behind an inner proxy", proxies: "10.0.0.0/8,127.0.0.1/32",
			xff: func(i int) string { return "198.51.100.1, 10.1.1.1" }, n: 120, every: 2 * time.Millisecond, limited: true},
		{name: "one IPv6 visitor rotating addresses within its /64", proxies: "1",
			xff: func(i int) string { return fmt.Sprintf("2001:db8:1:2::%x", i+1) }, n: 120, every: 2 * time.Millisecond, limited: true},
		{name: "IPv6 visitors in separate /64s", proxies: "1",
			xff: func(i int) string { return fmt.Sprintf("2001:db8:%x::1", i%500) }, n: 1500, every: 2 * time.Millisecond},
		{name: "secret key at 100/s, bulk sync", secret: true, n: 1200, every: 10 * time.Millisecond},
		{name: "secret key over its budget", secret: true, n: 1500, every: 2 * time.Millisecond, limited: true},
	}
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					proxies, err := clientip.Parse(tt.proxies)
					if err != nil {
						t.Fatal(err)
					}
					db := storetest.Open(t, engine)
					clock := newFakeClock(time.Now())
					e := newEnv(t, db, httpapi.Config{Proxies: proxies, Now: clock.Now,
						RateLimit: httpapi.DefaultRateLimit, RateBurst: httpapi.DefaultRateBurst,
						IPRateLimit: httpapi.DefaultIPRateLimit, IPRateBurst: httpapi.DefaultIPRateBurst})
					key := e.pk
					if tt.secret {
						key = e.sk
					}
					var first *response
					for i := range tt.n {
						h := map[string]string{"Origin": "https://yoursite.com"}
						if tt.xff != nil {
							h["X-Forwarded-For"] = tt.xff(i)
						}
						r := e.do(req{method: "GET", path: "/v1/sdk/config", key: key, header: h})
						if r.Status == http.StatusTooManyRequests {
							first = r
							if !tt.limited {
								t.Fatalf("request %d answered 429: %s", i+1, r.Body)
							}
							break
						}
						if r.Status != http.StatusOK {
							t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
						}
						clock.Add(tt.every)
					}
					if !tt.limited {
						return
					}
					if first == nil {
						t.Fatalf("%d requests, none answered 429", tt.n)
					}
					if p := first.problem(t); p.Code != "rate_limited" {
						t.Errorf("code %q, want rate_limited", p.Code)
					}
					if s, err := strconv.Atoi(first.Header.Get("Retry-After")); err != nil || s < 1 {
						t.Errorf("Retry-After %q, want whole seconds ≥ 1", first.Header.Get("Retry-After"))
					}
				})
			}
		})
	}
}
