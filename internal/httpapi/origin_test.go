package httpapi_test

import (
	"net/http"
	"testing"
)

// Browser endpoints answer a page only on the program's own site: the
// website's host or its subdomains, same scheme and port. Lookalike hosts,
// other schemes and ports, opaque origins and non-origins are refused.
func TestBrowserOrigins(t *testing.T) {
	tests := []struct {
		origin string
		ok     bool
	}{
		{"https://yoursite.com", true},
		{"https://www.yoursite.com", true},
		{"https://shop.yoursite.com", true},
		{"https://app.yoursite.com", true}, // allowed_domains, and a subdomain anyway
		{"https://YOURSITE.COM", true},     // host names are case-insensitive
		{"https://yoursite.com:443", true}, // the default port, spelled out
		{"https://partner.example", true},  // allowed_domains
		{"https://a.partner.example", true},
		{"http://localhost:3000", true}, // loopback: any scheme and port, for development
		{"https://evilyoursite.com", false},
		{"https://yoursite.com.evil.com", false},
		{"https://yoursite.co", false},
		{"https://yoursite.com.", false}, // a distinct origin to browsers
		{"http://yoursite.com", false},   // another scheme: a page anyone on the network can change
		{"http://shop.yoursite.com", false},
		{"https://yoursite.com:8443", false}, // another port: another server
		{"https://shop.yoursite.com:8443", false},
		{"http://partner.example", false},
		{"https://partner.example:8443", false},
		{"null", false}, // sandboxed frames, file: pages
		{"", true},      // no Origin: not a browser page (a server, curl)
		{"https://yoursite.com/", false},
		{"https://yoursite.com/path", false},
		{"https://evil.com?.yoursite.com", false},
		{"https://evil.com#.yoursite.com", false},
		{"https://yoursite.com@evil.com", false},
		{"https://evil.com@yoursite.com", false},
		{"https://evil.com\\.yoursite.com", false},
		{"https://yoursitе.com", false}, // a Cyrillic е
		{"wss://yoursite.com", false},
		{"yoursite.com", false},
		{"https://", false},
	}
	eachEngine(t, func(t *testing.T, e *env) {
		resp := e.do(req{method: "PUT", path: "/v1/program", key: e.sk,
			body: map[string]any{"allowed_domains": []string{"partner.example", "localhost"}}})
		if resp.Status != http.StatusOK {
			t.Fatalf("set allowed_domains: %d %s", resp.Status, resp.Body)
		}
		for _, tt := range tests {
			t.Run(tt.origin, func(t *testing.T) {
				h := map[string]string{}
				if tt.origin != "" {
					h["Origin"] = tt.origin
				}
				for _, r := range []req{
					{method: "GET", path: "/v1/sdk/config", key: e.pk, header: h},
					{method: "POST", path: "/v1/track/click", header: h,
						body: map[string]any{"publishable_key": e.pk, "code": "NOSUCHCODE"}},
				} {
					resp := e.do(r)
					allowed := resp.Header.Get("Access-Control-Allow-Origin")
					switch {
					case tt.ok && resp.Status >= 300:
						t.Errorf("%s %s: %d %s, want it allowed", r.method, r.path, resp.Status, resp.Body)
					case tt.ok && tt.origin != "" && allowed != tt.origin:
						t.Errorf("%s %s: Access-Control-Allow-Origin %q, want %q", r.method, r.path, allowed, tt.origin)
					case !tt.ok && resp.Status != http.StatusForbidden:
						t.Errorf("%s %s: %d %s, want 403", r.method, r.path, resp.Status, resp.Body)
					case !tt.ok && resp.problem(t).Code != "origin_not_allowed":
						t.Errorf("%s %s: code %q, want origin_not_allowed", r.method, r.path, resp.problem(t).Code)
					case !tt.ok && allowed != "":
						t.Errorf("%s %s: refused but Access-Control-Allow-Origin %q", r.method, r.path, allowed)
					}
				}
			})
		}
	})
}
