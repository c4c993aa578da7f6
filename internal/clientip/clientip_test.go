package clientip_test

import (
	"net/http/httptest"
	"testing"

	"github.com/advocate-oss/advocate/internal/clientip"
)

func TestIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted string   // the --trusted-proxies setting
		peer    string   // the connection's remote address
		xff     []string // X-Forwarded-For header lines
		want    string
	}{
		{name: "no proxy trusted: the peer", peer: "203.0.113.7:5000", want: "203.0.113.7"},
		{name: "no proxy trusted: a spoofed header is ignored", peer: "203.0.113.7:5000",
			xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "zero hops trust nobody", trusted: "0", peer: "203.0.113.7:5000",
			xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "one hop: the address the proxy saw", trusted: "1", peer: "10.0.0.2:80",
			xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "one hop: a client-prepended entry is ignored", trusted: "1", peer: "10.0.0.2:80",
			xff: []string{"1.2.3.4, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "one hop: prepended garbage is ignored", trusted: "1", peer: "10.0.0.2:80",
			xff: []string{"evil, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "one hop: header lines are read in order", trusted: "1", peer: "10.0.0.2:80",
			xff: []string{"1.2.3.4", "198.51.100.1"}, want: "198.51.100.1"},
		{name: "one hop without a header: the peer", trusted: "1", peer: "10.0.0.2:80", want: "10.0.0.2"},
		{name: "two hops: CDN then nginx", trusted: "2", peer: "10.0.0.2:80",
			xff: []string{"1.2.3.4, 198.51.100.1, 192.0.2.9"}, want: "198.51.100.1"},
		{name: "two hops, one present: the leftmost", trusted: "2", peer: "10.0.0.2:80",
			xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "CIDR: an untrusted peer's header is ignored", trusted: "10.0.0.0/8", peer: "203.0.113.7:5000",
			xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "CIDR: trusted hops are skipped", trusted: "10.0.0.0/8,127.0.0.1/32", peer: "127.0.0.1:80",
			xff: []string{"6.6.6.6, 198.51.100.1, 10.1.2.3, 10.9.9.9"}, want: "198.51.100.1"},
		{name: "CIDR: a bare address is a /32", trusted: "127.0.0.1", peer: "127.0.0.1:80",
			xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "CIDR: all hops trusted: the leftmost", trusted: "10.0.0.0/8", peer: "10.0.0.2:80",
			xff: []string{"10.3.3.3, 10.1.1.1"}, want: "10.3.3.3"},
		{name: "CIDR: garbage where the client should be ends at the last proxy", trusted: "10.0.0.0/8",
			peer: "10.0.0.2:80", xff: []string{"nonsense, 10.1.1.1"}, want: "10.1.1.1"},
		{name: "CIDR: IPv6 ranges", trusted: "fd00::/8", peer: "[fd00::2]:80",
			xff: []string{"2001:db8::1"}, want: "2001:db8::1"},
		{name: "an entry with a port", trusted: "1", peer: "10.0.0.2:80",
			xff: []string{"[2001:db8::1]:4711"}, want: "2001:db8::1"},
		{name: "an IPv4-mapped peer is IPv4", peer: "[::ffff:203.0.113.7]:5000", want: "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := clientip.Parse(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, line := range tt.xff {
				r.Header.Add("X-Forwarded-For", line)
			}
			if got := p.IP(r); got != tt.want {
				t.Errorf("IP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "", want: ""},
		{in: "1", want: "1"},
		{in: " 10.0.0.0/8 , 127.0.0.1 ", want: "10.0.0.0/8,127.0.0.1/32"},
		{in: "10.1.2.3/8", want: "10.0.0.0/8"},
		{in: "::ffff:10.0.0.0/104", want: "10.0.0.0/8"},
		{in: "-1", bad: true},
		{in: "11", bad: true},
		{in: "10.0.0.0/8,proxy.local", bad: true},
		{in: "true", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := clientip.Parse(tt.in)
			if tt.bad {
				if err == nil {
					t.Errorf("Parse(%q) = %q, want an error", tt.in, p)
				}
				return
			}
			if err != nil || p.String() != tt.want {
				t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, p, err, tt.want)
			}
		})
	}
}

func TestBucket(t *testing.T) {
	tests := []struct{ name, ip, want string }{
		{"IPv4 is itself", "198.51.100.7", "198.51.100.7"},
		{"IPv6 is its /64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"another address of the /64", "2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"not an address is itself", "pipe", "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientip.Bucket(tt.ip); got != tt.want {
				t.Errorf("Bucket(%q) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}
