package webhooks_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

func TestIsPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		// Public.
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.215.14", true},
		{"100.63.255.255", true},  // just below shared space
		{"100.128.0.0", true},     // just above it
		{"172.32.0.1", true},      // just above 172.16/12
		{"198.20.0.1", true},      // just above benchmarking
		{"223.255.255.255", true}, // just below multicast
		{"2606:4700:4700::1111", true},
		{"2001:4860:4860::8888", true},
		{"2606:4700:4700::1111%eth0", true}, // a zone changes nothing
		{"::ffff:8.8.8.8", true},            // IPv4-mapped public
		{"64:ff9b::808:808", true},          // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},           // 6to4 of 8.8.8.8
		{"2001:0:808:808::f7f7:f7f7", true}, // Teredo: server 8.8.8.8, client 8.8.8.8

		// IPv4 special ranges.
		{"0.0.0.0", false},         // unspecified
		{"0.1.2.3", false},         // "this network" 0/8
		{"10.0.0.1", false},        // RFC 1918
		{"172.16.0.1", false},      // RFC 1918
		{"172.31.255.254", false},  // RFC 1918
		{"192.168.1.1", false},     // RFC 1918
		{"100.64.0.1", false},      // CGNAT shared space
		{"100.100.100.200", false}, // Alibaba Cloud metadata, in shared space
		{"127.0.0.1", false},       // loopback
		{"127.255.0.9", false},     // loopback
		{"169.254.169.254", false}, // link-local: cloud metadata
		{"169.254.0.1", false},     // link-local
		{"192.0.0.8", false},       // IETF protocol assignments
		{"192.0.2.1", false},       // TEST-NET-1
		{"198.51.100.7", false},    // TEST-NET-2
		{"203.0.113.9", false},     // TEST-NET-3
		{"198.18.0.1", false},      // benchmarking
		{"198.19.255.255", false},  // benchmarking
		{"224.0.0.1", false},       // multicast
		{"239.255.255.250", false}, // multicast (SSDP)
		{"240.0.0.1", false},       // reserved
		{"255.255.255.255", false}, // broadcast

		// IPv6 special ranges.
		{"::", false},               // unspecified
		{"::1", false},              // loopback
		{"fc00::1", false},          // unique local
		{"fd00:ec2::254", false},    // AWS metadata over IPv6, unique local
		{"fe80::1", false},          // link-local
		{"fe80::1%eth0", false},     // link-local with a zone
		{"2001:db8::1%eth0", false}, // documentation with a zone
		{"ff02::1", false},          // multicast
		{"ff05::2", false},          // multicast
		{"fec0::1", false},          // site-local (deprecated), outside 2000::/3
		{"100::1", false},           // discard-only
		{"2001:db8::1", false},      // documentation
		{"3fff::1", false},          // documentation
		{"2001:2::1", false},        // benchmarking
		{"64:ff9b:1::a00:1", false}, // local-use NAT64
		{"4000::1", false},          // unallocated, outside 2000::/3

		// IPv4 inside IPv6.
		{"::ffff:127.0.0.1", false},          // IPv4-mapped loopback
		{"::ffff:10.0.0.1", false},           // IPv4-mapped private
		{"::ffff:169.254.169.254", false},    // IPv4-mapped metadata
		{"::ffff:0.0.0.0", false},            // IPv4-mapped unspecified
		{"::127.0.0.1", false},               // IPv4-compatible loopback
		{"::10.0.0.1", false},                // IPv4-compatible private
		{"64:ff9b::7f00:1", false},           // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false},        // NAT64 of 169.254.169.254
		{"64:ff9b::c0a8:101", false},         // NAT64 of 192.168.1.1
		{"2002:a00:1::1", false},             // 6to4 of 10.0.0.1
		{"2002:7f00:1::1", false},            // 6to4 of 127.0.0.1
		{"2001:0:808:808::80ff:fffe", false}, // Teredo client 127.0.0.1 (stored inverted)
		{"2001:0:a00:1::f7f7:f7f7", false},   // Teredo server 10.0.0.1
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			if got := webhooks.IsPublic(a); got != tt.want {
				t.Errorf("IsPublic(%s) = %t, want %t", a, got, tt.want)
			}
		})
	}
	if webhooks.IsPublic(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

// fakeDNS is a fake DNS server.
type fakeDNS func(ctx context.Context, network, host string) ([]netip.Addr, error)

func (f fakeDNS) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return f(ctx, network, host)
}

// dnsZone answers from a fixed table, as NXDOMAIN for a name not in it.
func dnsZone(names map[string][]string) fakeDNS {
	return func(_ context.Context, _, host string) ([]netip.Addr, error) {
		addrs, ok := names[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

func TestCheckHost(t *testing.T) {
	names := map[string][]string{
		"hooks.example":    {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"internal.example": {"10.1.2.3"},
		"mixed.example":    {"93.184.215.14", "127.0.0.1"},
		"metadata.example": {"169.254.169.254"},
		"v6local.example":  {"::1"},
		"empty.example":    {},
	}
	tests := []struct {
		name  string
		host  string
		allow bool
		code  string // "" when allowed
		msg   string // in the message
	}{
		{name: "public name", host: "hooks.example"},
		{name: "public literal", host: "8.8.8.8"},
		{name: "public IPv6 literal", host: "2001:4860:4860::8888"},
		{name: "private name", host: "internal.example", code: "webhook_url_not_public", msg: `"internal.example" resolves to 10.1.2.3, which is not public (private)`},
		{name: "one private address among public ones", host: "mixed.example", code: "webhook_url_not_public", msg: "127.0.0.1"},
		{name: "cloud metadata by name", host: "metadata.example", code: "webhook_url_not_public", msg: "169.254.169.254, which is not public (link-local)"},
		{name: "IPv6 loopback by name", host: "v6local.example", code: "webhook_url_not_public", msg: "::1"},
		{name: "loopback literal", host: "127.0.0.1", code: "webhook_url_not_public", msg: "address 127.0.0.1 is not public (loopback)"},
		{name: "metadata literal", host: "169.254.169.254", code: "webhook_url_not_public", msg: "169.254.169.254"},
		{name: "IPv6 loopback literal", host: "::1", code: "webhook_url_not_public", msg: "::1"},
		{name: "IPv4-mapped literal", host: "::ffff:10.0.0.1", code: "webhook_url_not_public", msg: "private"},
		{name: "NAT64 literal", host: "64:ff9b::a9fe:a9fe", code: "webhook_url_not_public", msg: "through NAT64 to 169.254.169.254"},
		{name: "unknown name", host: "nowhere.example", code: "webhook_url_unresolvable", msg: `"nowhere.example" could not be resolved: it has no address`},
		{name: "name without addresses", host: "empty.example", code: "webhook_url_unresolvable", msg: "it has no address"},
		{name: "private name allowed", host: "internal.example", allow: true},
		{name: "loopback literal allowed", host: "127.0.0.1", allow: true},
		{name: "unknown name with private allowed", host: "nowhere.example", allow: true, code: "webhook_url_unresolvable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := dnsZone(names)
			g := webhooks.Guard{AllowPrivate: tt.allow, Resolver: fakeDNS(func(ctx context.Context, network, host string) ([]netip.Addr, error) {
				if _, err := netip.ParseAddr(host); err == nil {
					t.Errorf("an IP literal was looked up: %s", host)
				}
				return lookup(ctx, network, host)
			})}
			err := g.CheckHost(t.Context(), tt.host)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckHost(%q) = %v, want nil", tt.host, err)
				}
				return
			}
			e, ok := referral.AsError(err)
			if !ok {
				t.Fatalf("CheckHost(%q) = %v, want a referral.Error", tt.host, err)
			}
			if e.Code != tt.code || e.Kind != referral.KindInvalid || e.Fields["url"] == "" {
				t.Errorf("CheckHost(%q) = code %s, kind %d, fields %v; want code %s, KindInvalid, the field url", tt.host, e.Code, e.Kind, e.Fields, tt.code)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msg)
			}
		})
	}
}

// A failingReader lookup is unresolvable too, saying whether it timed out.
func TestCheckHostLookupFails(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}, "timed out"},
		{&net.DNSError{Err: "server misbehaving", Name: "slow.example", IsTemporary: true}, "the lookup failed"},
		{context.Canceled, "the lookup failed"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			g := webhooks.Guard{Resolver: fakeDNS(func(context.Context, string, string) ([]netip.Addr, error) { return nil, tt.err })}
			err := g.CheckHost(t.Context(), "slow.example")
			if e, ok := referral.AsError(err); !ok || e.Code != "webhook_url_unresolvable" || !strings.Contains(e.Message, tt.want) {
				t.Errorf("CheckHost = %v, want webhook_url_unresolvable saying %q", err, tt.want)
			}
		})
	}
}

// loopbackReceiver is a webhook receiver on 127.0.0.1 that counts its requests.
func loopbackReceiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func postHook(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(t.Context(), "POST", url, strings.NewReader(`{"type":"test"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { res.Body.Close() })
	}
	return res, err
}

func TestClientLoopback(t *testing.T) {
	srv, hits := loopbackReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	_, err := postHook(t, webhooks.Guard{}.Client(15*time.Second), srv.URL)
	if e, ok := referral.AsError(err); !ok || e.Code != "webhook_url_not_public" || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("delivery to %s: %v; want webhook_url_not_public naming 127.0.0.1", srv.URL, err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the receiver got %d requests, want 0", n)
	}

	res, err := postHook(t, webhooks.Guard{AllowPrivate: true}.Client(15*time.Second), srv.URL)
	if err != nil {
		t.Fatalf("delivery with private addresses allowed: %v", err)
	}
	if res.StatusCode != http.StatusNoContent || hits.Load() != 1 {
		t.Errorf("status %d after %d requests, want 204 after 1", res.StatusCode, hits.Load())
	}
}

// DNS rebinding: the name is public when the endpoint is checked and
// points at 127.0.0.1 when the delivery dials it. The dial-time check must
// refuse it.
func TestClientRebinding(t *testing.T) {
	srv, hits := loopbackReceiver(t, func(w http.ResponseWriter, r *http.Request) {})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	var lookups atomic.Int32
	g := webhooks.Guard{Resolver: fakeDNS(func(_ context.Context, _, host string) ([]netip.Addr, error) {
		if host != "rebind.example" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		if lookups.Add(1) == 1 {
			return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	})}
	if err := g.CheckHost(t.Context(), "rebind.example"); err != nil {
		t.Fatalf("CheckHost at creation: %v", err)
	}
	_, err := postHook(t, g.Client(15*time.Second), "http://rebind.example:"+port+"/hook")
	if e, ok := referral.AsError(err); !ok || e.Code != "webhook_url_not_public" || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("delivery after rebinding: %v; want webhook_url_not_public naming 127.0.0.1", err)
	}
	if lookups.Load() != 2 {
		t.Errorf("%d lookups, want 2: one at the check, one at the dial", lookups.Load())
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the receiver got %d requests, want 0", n)
	}

	// The same resolver with private addresses allowed reaches the
	// receiver through the name, so the refusal above was the check's.
	g.AllowPrivate = true
	res, err := postHook(t, g.Client(15*time.Second), "http://rebind.example:"+port+"/hook")
	if err != nil || res.StatusCode != http.StatusOK || hits.Load() != 1 {
		t.Errorf("with private allowed: %v, %d requests; want 200 after 1", err, hits.Load())
	}
}

// A redirect is the receiver's answer, not a place to go.
func TestClientRedirect(t *testing.T) {
	var followed atomic.Bool
	srv, _ := loopbackReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	res, err := postHook(t, webhooks.Guard{AllowPrivate: true}.Client(15*time.Second), srv.URL+"/hook")
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusFound || followed.Load() {
		t.Errorf("status %d, followed %t; want 302, not followed", res.StatusCode, followed.Load())
	}
}

// A receiver that never answers is given up on at the timeout.
func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := loopbackReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) }) // before the server closes
	start := time.Now()
	c := webhooks.Guard{AllowPrivate: true}.Client(100 * time.Millisecond)
	// A backstop, so that a client without a timeout fails rather than hangs.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, nil)
	_, err := c.Do(req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > time.Second {
		t.Errorf("after %v: %v; want a timeout after 100ms", time.Since(start), err)
	}
}

// HTTPS_PROXY must not send deliveries through a proxy, which would dial
// the receiver unchecked.
func TestClientIgnoresProxyEnvironment(t *testing.T) {
	c := webhooks.Guard{}.Client(15 * time.Second)
	tr, ok := c.Transport.(*http.Transport)
	if !ok || tr.Proxy != nil {
		t.Errorf("transport %T with a proxy function; want *http.Transport without", c.Transport)
	}
	if tr.TLSClientConfig != nil {
		t.Errorf("TLS config %+v; want the default", tr.TLSClientConfig)
	}
}

func TestReadLimited(t *testing.T) {
	for _, size := range []int{0, 10, webhooks.MaxResponse, webhooks.MaxResponse + 1, 1 << 20} {
		body := bytes.Repeat([]byte("x"), size)
		got, err := webhooks.ReadLimited(bytes.NewReader(body), webhooks.MaxResponse)
		want := min(size, webhooks.MaxResponse)
		if err != nil || len(got) != want {
			t.Errorf("%d bytes: read %d, %v; want %d", size, len(got), err, want)
		}
	}
	// An error before the limit is the reader's error.
	boom := errors.New("connection reset")
	if _, err := webhooks.ReadLimited(&failingReader{err: boom}, webhooks.MaxResponse); !errors.Is(err, boom) {
		t.Errorf("ReadLimited of a failingReader body = %v, want %v", err, boom)
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }
