package referral

import (
	"net/url"
	"strings"
	"time"
)

// Link is a referral link: the customer's default link (their referral
// code on the program's website) or an extra link with its own code and
// destination.
type Link struct {
	ID             string
	ProgramID      string
	CustomerID     string
	CustomerKey    string
	Code           string
	DestinationURL string
	Default        bool
	Clicks         int64
	UniqueClicks   int64
	CreatedAt      time.Time
}

// WithRef returns dest with param=code added to its query, keeping the
// order of any existing parameters and replacing an earlier param.
func WithRef(dest, param, code string) string {
	u, err := url.Parse(dest)
	if err != nil {
		return dest
	}
	var kept []string
	if u.RawQuery != "" {
		for _, part := range strings.Split(u.RawQuery, "&") {
			name := part
			if i := strings.IndexByte(part, '='); i >= 0 {
				name = part[:i]
			}
			if n, err := url.QueryUnescape(name); err == nil && n == param {
				continue
			}
			if part != "" {
				kept = append(kept, part)
			}
		}
	}
	kept = append(kept, url.QueryEscape(param)+"="+url.QueryEscape(code))
	if u.Path == "" && u.Opaque == "" {
		u.Path = "/"
	}
	u.RawQuery = strings.Join(kept, "&")
	u.ForceQuery = false
	return u.String()
}

// CheckDestination validates an extra link's destination: an absolute
// http(s) URL on the program's website domain (or a subdomain of it) or on
// one of the program's allowed domains. Anything else would make Advocate's
// short links an open redirect.
func (p *Program) CheckDestination(dest string) string {
	const msg = "Destination must be an http(s) URL on the program's website domain or one of its allowed domains."
	if len(dest) > 2048 {
		return "Destination must be at most 2048 characters."
	}
	u, err := url.Parse(dest)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return msg
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range p.domains() {
		if host == d || strings.HasSuffix(host, "."+d) {
			return ""
		}
	}
	return msg
}

func (p *Program) domains() []string {
	var out []string
	if u, err := url.Parse(p.WebsiteURL); err == nil {
		out = append(out, strings.TrimPrefix(strings.ToLower(u.Hostname()), "www."))
	}
	for _, d := range p.AllowedDomains {
		out = append(out, strings.ToLower(d))
	}
	return out
}

// Click sources.
const (
	ClickShortLink = "short_link"
	ClickSDK       = "sdk"
)

// Click is one visit through a referral link, recorded off the request
// path. Visitor is an opaque hash; Unique is decided when it is stored.
type Click struct {
	ID         string
	ProgramID  string
	LinkID     string
	Source     string
	Visitor    string
	LandingURL string
	Referrer   string
	UserAgent  string
	At         time.Time
}

// LinkTarget is where a code sends a visitor, resolved once and cached.
type LinkTarget struct {
	ProgramID string
	LinkID    string
	Code      string
	URL       string // destination with the referral parameter added
}

// AllowsOrigin reports whether a browser origin ("https://shop.example.com")
// belongs to the program: its website's domain or a subdomain of it, or an
// allowed domain.
func (p *Program) AllowsOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range p.domains() {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
