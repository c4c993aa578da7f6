package webhooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
)

// MaxResponse is how much of a receiver's response body is read and kept:
// enough for an error message worth showing, never a body that fills the
// database or the memory of the delivery worker.
const MaxResponse = 64 << 10

// Resolver looks up a host's addresses; *net.Resolver is one. Tests pass a
// fake to play a DNS server that answers differently from one query to the
// next (rebinding).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard keeps webhook deliveries away from the network Advocate runs in
// (SSRF): an endpoint's host must resolve only to public addresses, both
// when the endpoint is saved (CheckHost) and when a delivery connects
// (Client), since a DNS answer can change between the two.
type Guard struct {
	// AllowPrivate turns the check off, for internal receivers and tests
	// (--webhook-allow-private).
	AllowPrivate bool
	// Resolver answers for host names; nil is net.DefaultResolver.
	Resolver Resolver
}

// CheckHost returns nil if host, an IP address or a name (a URL's
// Hostname()), is allowed to receive webhooks. Otherwise the error is a
// referral.Error on the field "url": webhook_url_not_public naming the
// address and why, or webhook_url_unresolvable.
func (g Guard) CheckHost(ctx context.Context, host string) error {
	_, err := g.resolve(ctx, "ip", host)
	return err
}

// resolve returns host's addresses when every one of them is allowed: a
// name with one private address among public ones is refused, since the
// dialler could pick any of them.
func (g Guard) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if r := notPublic(a); r != "" && !g.AllowPrivate {
			return nil, referral.FieldError("webhook_url_not_public", "url",
				fmt.Sprintf("The URL's address %s is not public (%s); webhooks are only sent to public addresses.", a, r))
		}
		return []netip.Addr{a}, nil
	}
	res := g.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	addrs, err := res.LookupNetIP(ctx, network, host)
	if err != nil || len(addrs) == 0 {
		why := "it has no address"
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr) && dnsErr.IsTimeout, errors.Is(err, context.DeadlineExceeded):
			why = "the lookup timed out"
		case err != nil && (!errors.As(err, &dnsErr) || !dnsErr.IsNotFound):
			why = "the lookup failed"
		}
		return nil, referral.FieldError("webhook_url_unresolvable", "url",
			fmt.Sprintf("The URL's host %q could not be resolved: %s.", host, why))
	}
	if !g.AllowPrivate {
		for _, a := range addrs {
			if r := notPublic(a); r != "" {
				return nil, referral.FieldError("webhook_url_not_public", "url",
					fmt.Sprintf("The URL's host %q resolves to %s, which is not public (%s); webhooks are only sent to public addresses.", host, a, r))
			}
		}
	}
	return addrs, nil
}

// Client returns the HTTP client for deliveries. Its dialler resolves the
// host itself, checks every address as CheckHost does and connects only to
// the addresses it checked, so a name that resolved to a public address
// when the endpoint was saved cannot be pointed at a private one later.
// It uses no proxy from the environment (the proxy would do the dialling,
// unchecked), never follows redirects (a 3xx is the receiver's answer, and
// a redirect could point anywhere), gives up after timeout, and verifies
// TLS as http.DefaultTransport does.
func (g Guard) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		// tcp, tcp4 or tcp6 asks for ip, ip4 or ip6 addresses.
		addrs, err := g.resolve(ctx, "ip"+strings.TrimPrefix(network, "tcp"), host)
		if err != nil {
			return nil, err
		}
		var first error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			if first == nil {
				first = err
			}
		}
		return nil, first
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:       dial,
			ForceAttemptHTTP2: true,
			MaxIdleConns:      100,
			// Sends to one receiver reuse their connections: the default
			// of 2 idle ones a host makes most sends dial anew when
			// several are in flight to it.
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
}

// ReadLimited reads at most n bytes of r; a longer body is cut, not an
// error. The rest is left unread: closing the response drops the
// connection rather than downloading whatever a receiver sends.
func ReadLimited(r io.Reader, n int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, n))
}

// IsPublic reports whether a is an address on the public internet, where
// webhooks may go: not loopback, private, link-local (with the cloud
// metadata service at 169.254.169.254), multicast, unspecified, shared,
// reserved, or documentation space, nor any of those inside an IPv6 form
// (IPv4-mapped, NAT64, 6to4, Teredo).
func IsPublic(a netip.Addr) bool {
	return a.IsValid() && notPublic(a) == ""
}

// notPublic names the kind of a non-public address, "" for a public one.
func notPublic(a netip.Addr) string {
	// Prefix.Contains never matches an address with a zone.
	a = a.Unmap().WithZone("")
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	}
	if a.Is6() {
		if embedded, via := embeddedV4(a); via != "" {
			for _, v4 := range embedded {
				if r := notPublic(v4); r != "" {
					return fmt.Sprintf("%s, %s %s", r, via, v4)
				}
			}
			return ""
		}
	}
	for _, s := range specialRanges {
		if s.prefix.Contains(a) {
			return s.what
		}
	}
	// Only 2000::/3 is allocated for global unicast; the rest of the IPv6
	// space outside the ranges above is reserved.
	if a.Is6() && !globalUnicast.Contains(a) {
		return "reserved"
	}
	return ""
}

// specialRanges are the IANA special-purpose ranges that the netip.Addr
// methods in notPublic do not cover and that no webhook receiver lives in.
var specialRanges = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT shared space"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001:2::/48"), "benchmarking"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
}

var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour     = netip.MustParsePrefix("2002::/16")
	teredo        = netip.MustParsePrefix("2001::/32")
)

// embeddedV4 returns the IPv4 addresses that an IPv6 translation address
// leads to, and the name of the translation; via is "" for other
// addresses.
func embeddedV4(a netip.Addr) (v4 []netip.Addr, via string) {
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return []netip.Addr{netip.AddrFrom4([4]byte(b[12:16]))}, "through NAT64 to"
	case sixToFour.Contains(a):
		return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}, "through 6to4 to"
	case teredo.Contains(a):
		// The Teredo server, then the client, whose address is stored
		// with its bits inverted.
		var client [4]byte
		for i := range client {
			client[i] = ^b[12+i]
		}
		return []netip.Addr{netip.AddrFrom4([4]byte(b[4:8])), netip.AddrFrom4(client)}, "through Teredo to"
	}
	return nil, ""
}
