// Package clientip finds the address of the person behind a request, the
// one key that rate limits, sign-in throttling, click counting and logs
// all share. Behind a reverse proxy the connection comes from the proxy,
// so the client is read from X-Forwarded-For, but only as far as trusted
// proxies wrote it: a client can put anything at the left of that header.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Proxies says which reverse proxies in front of Advocate are trusted to
// append the address they saw to X-Forwarded-For. The zero value trusts
// none: the client is the connection's peer.
type Proxies struct {
	hops int            // the nearest hops are proxies, whatever their address
	nets []netip.Prefix // hops with an address in these ranges are proxies
}

// Parse reads a trusted-proxies setting: "" (none), a number of hops
// ("1": one proxy such as nginx in front), or a comma-separated list of
// addresses and CIDR ranges ("10.0.0.0/8,127.0.0.1").
func Parse(s string) (Proxies, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Proxies{}, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 10 {
			return Proxies{}, fmt.Errorf("trusted proxies: %d hops; want 0 to 10", n)
		}
		return Proxies{hops: n}, nil
	}
	var p Proxies
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		pfx, err := netip.ParsePrefix(part)
		if err != nil {
			addr, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return Proxies{}, fmt.Errorf("trusted proxies: %q is neither a number of hops, an address nor a CIDR range", part)
			}
			pfx = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		if pfx.Addr().Is4In6() {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), max(pfx.Bits()-96, 0))
		}
		p.nets = append(p.nets, pfx.Masked())
	}
	return p, nil
}

// Hops trusts the n nearest hops, whatever their addresses.
func Hops(n int) Proxies { return Proxies{hops: n} }

// String is the setting as Parse reads it.
func (p Proxies) String() string {
	if len(p.nets) == 0 {
		if p.hops == 0 {
			return ""
		}
		return strconv.Itoa(p.hops)
	}
	parts := make([]string, len(p.nets))
	for i, n := range p.nets {
		parts[i] = n.String()
	}
	return strings.Join(parts, ",")
}

// IP returns the client's address: the connection's peer, unless that is
// a trusted proxy; then X-Forwarded-For is read from the right, skipping
// trusted proxies, and the first hop no trusted proxy vouches for beyond
// is the client. A hop that is not an address ends the walk at the last
// address that was trusted.
func (p Proxies) IP(r *http.Request) string {
	if p.hops == 0 && len(p.nets) == 0 {
		// The common case, on every short-link visit: an IPv4 peer is
		// already in its canonical form, so it needs no parsing.
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && isIPv4(host) {
			return host
		}
	}
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if p.hops == 0 && len(p.nets) == 0 {
		return peer.String()
	}
	client := peer
	hops := forwarded(r.Header)
	for i := 0; p.trusts(client, i) && i < len(hops); i++ {
		next := hopAddr(hops[len(hops)-1-i])
		if !next.IsValid() {
			break
		}
		client = next
	}
	return client.String()
}

// isIPv4 reports whether s is a dotted-quad IPv4 address, which is then
// canonical: ParseAddr refuses leading zeros.
func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// trusts reports whether addr, the i-th hop counted from Advocate (0 is
// the peer), is a proxy whose X-Forwarded-For entry may be believed.
func (p Proxies) trusts(addr netip.Addr, i int) bool {
	if p.hops > 0 {
		return i < p.hops
	}
	for _, n := range p.nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// forwarded lists the X-Forwarded-For hops of every header line, in order.
func forwarded(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for hop := range strings.SplitSeq(line, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// hopAddr reads one X-Forwarded-For entry; some proxies add a port.
func hopAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

// Bucket is what per-address limits count an address under: an IPv4
// address itself, but an IPv6 address's /64 network, because one home or
// phone gets a whole /64 and could otherwise use a fresh address for
// every request.
func Bucket(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() {
		return ip
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
