package webhooks

import (
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
)

func TestCheckURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxURLLen-len("https://example.com/"))
	tests := []struct {
		raw, code string // code "" when accepted
	}{
		{"https://example.com/webhooks", ""},
		{"http://example.com", ""},
		{"HTTPS://Example.com:8443/hooks?source=advocate", ""},
		{"https://[2001:db8::1]:8443/hooks", ""},
		{long, ""},
		{"", "url_required"},
		{long + "a", "url_too_long"},
		{"https://exa mple.com/", "invalid_url"},
		{"https://example.com/\x00", "invalid_url"},
		{"/webhooks", "url_scheme_not_allowed"},
		{"example.com/webhooks", "url_scheme_not_allowed"},
		{"ftp://example.com/", "url_scheme_not_allowed"},
		{"javascript:alert(1)", "url_scheme_not_allowed"},
		{"https:example.com", "invalid_url"},
		{"https:///webhooks", "invalid_url"},
		{"https://:443/webhooks", "invalid_url"},
		{"https://user:pass@example.com/", "url_credentials_not_allowed"},
		{"https://token@example.com/", "url_credentials_not_allowed"},
		{"https://@example.com/", "url_credentials_not_allowed"},
		{"https://example.com/#top", "url_fragment_not_allowed"},
		{"https://example.com/#", "url_fragment_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			u, err := CheckURL(tc.raw)
			if tc.code == "" {
				if err != nil || u == nil {
					t.Fatalf("CheckURL(%q) = %v, %v; want it accepted", tc.raw, u, err)
				}
				return
			}
			e, ok := referral.AsError(err)
			if !ok || e.Code != tc.code || e.Kind != referral.KindInvalid || e.Fields["url"] == "" {
				t.Errorf("CheckURL(%q) = %v, want a 422 %s on field url", tc.raw, err, tc.code)
			}
		})
	}
}
