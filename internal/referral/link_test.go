package referral_test

import (
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
)

func TestWithRef(t *testing.T) {
	tests := []struct {
		name, dest, want string
	}{
		{"bare host gets a path", "https://yoursite.com", "https://yoursite.com/?ref=JANE20"},
		{"root path", "https://yoursite.com/", "https://yoursite.com/?ref=JANE20"},
		{"path kept", "https://yoursite.com/pricing", "https://yoursite.com/pricing?ref=JANE20"},
		{"existing query order kept", "https://yoursite.com/p?b=2&a=1", "https://yoursite.com/p?b=2&a=1&ref=JANE20"},
		{"existing ref replaced", "https://yoursite.com/?ref=OLD&x=1", "https://yoursite.com/?x=1&ref=JANE20"},
		{"every earlier ref replaced", "https://yoursite.com/?ref=A&x=1&ref=B", "https://yoursite.com/?x=1&ref=JANE20"},
		{"similar names kept", "https://yoursite.com/?referrer=a&xref=b", "https://yoursite.com/?referrer=a&xref=b&ref=JANE20"},
		{"escaped values kept", "https://yoursite.com/?q=a%20b", "https://yoursite.com/?q=a%20b&ref=JANE20"},
		{"fragment kept", "https://yoursite.com/p?a=1#plans", "https://yoursite.com/p?a=1&ref=JANE20#plans"},
		{"empty query", "https://yoursite.com/?", "https://yoursite.com/?ref=JANE20"},
		{"port kept", "http://localhost:3000", "http://localhost:3000/?ref=JANE20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := referral.WithRef(tt.dest, "ref", "JANE20"); got != tt.want {
				t.Errorf("WithRef(%q) = %q, want %q", tt.dest, got, tt.want)
			}
		})
	}
	t.Run("custom parameter", func(t *testing.T) {
		got := referral.WithRef("https://yoursite.com/?ref=keep", "via", "JANE20")
		if want := "https://yoursite.com/?ref=keep&via=JANE20"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestCheckDestination(t *testing.T) {
	p := &referral.Program{WebsiteURL: "https://www.yoursite.com/home", AllowedDomains: []string{"partner.io"}}
	tests := []struct {
		name, dest string
		ok         bool
	}{
		{"website", "https://yoursite.com/pricing", true},
		{"website with www", "https://www.yoursite.com/", true},
		{"subdomain", "https://app.yoursite.com/signup?plan=pro", true},
		{"deep subdomain", "https://a.b.yoursite.com", true},
		{"http", "http://yoursite.com", true},
		{"upper case host", "https://YOURSITE.COM/x", true},
		{"with port", "https://yoursite.com:8443/x", true},
		{"allowed domain", "https://partner.io/landing", true},
		{"allowed domain subdomain", "https://shop.partner.io", true},
		{"other domain", "https://evil.com", false},
		{"lookalike suffix", "https://yoursite.com.evil.com", false},
		{"lookalike prefix", "https://evilyoursite.com", false},
		{"lookalike allowed", "https://notpartner.io", false},
		{"userinfo", "https://yoursite.com@evil.com", false},
		{"userinfo on own host", "https://user:pw@yoursite.com", false},
		{"ftp", "ftp://yoursite.com/file", false},
		{"javascript", "javascript:alert(1)", false},
		{"data", "data:text/html,hi", false},
		{"scheme relative", "//yoursite.com/x", false},
		{"relative", "/pricing", false},
		{"no host", "https:///pricing", false},
		{"too long", "https://yoursite.com/" + strings.Repeat("a", 2048), false},
		{"unparsable", "https://yoursite.com/%zz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := p.CheckDestination(tt.dest); (msg == "") != tt.ok {
				t.Errorf("CheckDestination(%q) = %q, want ok=%v", tt.dest, msg, tt.ok)
			}
		})
	}
}
