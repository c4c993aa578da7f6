package referral

import (
	"net/netip"
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
// belongs to the program: its website's domain or a subdomain of it on the
// website's port, or an allowed domain (or subdomain) on the default port.
// The origin must be https unless the website itself is http: a plain-http
// page can be rewritten by anyone on its network. Loopback hosts, for
// development, may use any scheme and port. Anything that is not exactly
// scheme://host[:port] as browsers send it ("null", paths, user info) is
// refused.
func (p *Program) AllowsOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	site, err := url.Parse(p.WebsiteURL)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	loopback := isLoopback(host)
	if u.Scheme == "http" && site.Scheme != "http" && !loopback {
		return false
	}
	port := effectivePort(u)
	for i, d := range p.domains() {
		if host != d && !strings.HasSuffix(host, "."+d) {
			continue
		}
		want := "443"
		if u.Scheme == "http" {
			want = "80"
		}
		if i == 0 { // the website: its own port, if it names one
			if site.Port() != "" {
				want = site.Port()
			}
		}
		if port == want || loopback {
			return true
		}
	}
	return false
}

// effectivePort is the URL's port, or its scheme's default.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
