package webhooks

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/referral"
)

// MaxURLLen is the longest endpoint URL accepted, in characters.
const MaxURLLen = 2048

// CheckURL parses an endpoint URL and refuses, each with its own code on
// field "url", what cannot be a delivery target whatever its host
// resolves to: nothing, more than MaxURLLen characters, anything but an
// absolute http or https URL with a host, credentials (they would be sent
// to the receiver with every delivery and shown to whoever reads the
// endpoint), and a fragment (never sent). A port is fine. Whether the host
// is a public address is Guard's check, made at creation and again at
// every delivery.
func CheckURL(raw string) (*url.URL, error) {
	bad := func(code, msg string) (*url.URL, error) { return nil, referral.FieldError(code, "url", msg) }
	if raw == "" {
		return bad("url_required", "URL is required.")
	}
	if utf8.RuneCountInString(raw) > MaxURLLen {
		return bad("url_too_long", "URL must be at most 2,048 characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || !referral.ValidText(raw) {
		return bad("invalid_url", "URL must be an absolute URL, such as https://example.com/webhooks.")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return bad("url_scheme_not_allowed", "URL must start with https:// or http://.")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return bad("invalid_url", "URL must name a host, such as https://example.com/webhooks.")
	}
	if u.User != nil {
		return bad("url_credentials_not_allowed", "URL must not hold a user name or password; authenticate deliveries by their signature.")
	}
	if strings.Contains(raw, "#") {
		return bad("url_fragment_not_allowed", "URL must not have a fragment (#…); it is never sent.")
	}
	return u, nil
}
