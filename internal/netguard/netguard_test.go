package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scanforge/scanforge/internal/netguard"
)

// fakeResolver answers from a map that a test may change between calls.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]string
}

func newResolver(hosts map[string][]string) *fakeResolver { return &fakeResolver{hosts: hosts} }

func (r *fakeResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hosts[host] = addrs
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	texts, ok := r.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, t := range texts {
		a := netip.MustParseAddr(t)
		if network == "ip4" && !a.Is4() || network == "ip6" && !a.Is6() {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// forbidden lists an address of every refused range with the kind the
// message names, and whether AllowPrivate opens it.
var forbidden = []struct {
	addr    string
	kind    string
	private bool
}{
	{"0.0.0.0", "an unspecified address", false},
	{"0.1.2.3", `a "this network" address`, false},
	{"10.0.0.5", "a private address", true},
	{"100.64.0.1", "a carrier-grade NAT address", true},
	{"100.127.255.254", "a carrier-grade NAT address", true},
	{"127.0.0.1", "a loopback address", true},
	{"127.255.0.9", "a loopback address", true},
	{"169.254.169.254", "a link-local address (cloud metadata service)", false},
	{"169.254.1.1", "a link-local address", false},
	{"172.16.0.1", "a private address", true},
	{"172.31.255.255", "a private address", true},
	{"192.0.0.8", "a reserved address (IETF protocol assignments)", false},
	{"192.0.2.10", "a documentation address", false},
	{"192.88.99.1", "a reserved address (deprecated 6to4 relay anycast)", false},
	{"192.168.1.1", "a private address", true},
	{"198.18.0.1", "a benchmarking address", false},
	{"198.19.255.1", "a benchmarking address", false},
	{"198.51.100.7", "a documentation address", false},
	{"203.0.113.7", "a documentation address", false},
	{"224.0.0.1", "a multicast address", false},
	{"239.255.255.250", "a multicast address", false},
	{"240.0.0.1", "a reserved address", false},
	{"255.255.255.255", "a broadcast address", false},
	{"::", "an unspecified address", false},
	{"::1", "a loopback address", true},
	{"fc00::1", "a unique-local address", true},
	{"fd12:3456:789a::1", "a unique-local address", true},
	{"fe80::1", "a link-local address", false},
	{"fe80::1%eth0", "a link-local address", false},
	{"fec0::1", "a deprecated site-local address", false},
	{"ff02::1", "a multicast address", false},
	{"100::1", "a discard-only address", false},
	{"64:ff9b:1::a00:5", "a local-use NAT64 address", false},
	{"2001::1", "a Teredo tunnel address", false},
	{"2001:2::1", "a benchmarking address", false},
	{"2001:10::1", "a reserved address (ORCHID)", false},
	{"2001:db8::1", "a documentation address", false},
	{"3fff::1", "a documentation address", false},
	{"4000::1", "a reserved address (outside global unicast 2000::/3)", false},
	{"5f00::1", "a reserved address (outside global unicast 2000::/3)", false},
	{"::8.8.8.8", "a deprecated IPv4-compatible address", false},
	// IPv6 forms of forbidden IPv4 addresses are judged by the IPv4 address.
	{"::ffff:127.0.0.1", "a loopback address (IPv4-mapped 127.0.0.1)", true},
	{"::ffff:a00:5", "a private address (IPv4-mapped 10.0.0.5)", true},
	{"::ffff:169.254.169.254", "a link-local address (cloud metadata service) (IPv4-mapped 169.254.169.254)", false},
	{"::127.0.0.1", "a loopback address (IPv4-compatible 127.0.0.1)", true},
	{"64:ff9b::127.0.0.1", "a loopback address (NAT64 127.0.0.1)", true},
	{"64:ff9b::a9fe:a9fe", "a link-local address (cloud metadata service) (NAT64 169.254.169.254)", false},
	{"2002:7f00:1::1", "a loopback address (6to4 127.0.0.1)", true},
	{"2002:c0a8:101::", "a private address (6to4 192.168.1.1)", true},
}

var public = []string{
	"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255",
	"172.32.0.0", "192.0.1.1", "192.169.0.1", "198.17.255.255", "198.20.0.0", "223.255.255.255",
	"2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
}

func TestCheck(t *testing.T) {
	strict := netguard.New(netguard.Options{})
	private := netguard.New(netguard.Options{AllowPrivate: true})
	for _, tt := range forbidden {
		t.Run(tt.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			err := strict.Check(addr)
			var blocked *netguard.BlockedError
			if !errors.As(err, &blocked) {
				t.Fatalf("Check(%s) = %v, want a *BlockedError", tt.addr, err)
			}
			want := "blocked: " + addr.WithZone("").String() + " is " + tt.kind
			if err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
			if err := private.Check(addr); (err == nil) != tt.private {
				t.Errorf("with AllowPrivate: Check(%s) = %v, want opened=%v", tt.addr, err, tt.private)
			}
		})
	}
	for _, a := range public {
		if err := strict.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("Check(%s) = %v, want nil", a, err)
		}
	}
	if err := strict.Check(netip.Addr{}); err == nil {
		t.Error("the zero Addr is allowed")
	}
}

func TestAllowlistOpensNetworks(t *testing.T) {
	g := netguard.New(netguard.Options{Allow: []netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("169.254.169.254/32"),
		netip.MustParsePrefix("fd00::/8"),
	}})
	for _, a := range []string{"10.1.2.3", "169.254.169.254", "::ffff:10.1.0.9", "64:ff9b::a01:203", "fd00::5"} {
		if err := g.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("allowlisted %s: %v", a, err)
		}
	}
	for _, a := range []string{"10.2.0.1", "169.254.169.253", "127.0.0.1", "fc00::1"} {
		if err := g.Check(netip.MustParseAddr(a)); err == nil {
			t.Errorf("%s is outside the allowlist but allowed", a)
		}
	}
}

func TestCheckURL(t *testing.T) {
	res := newResolver(map[string][]string{
		"hooks.example.com": {"93.184.216.34", "2606:2800:220:1::1"},
		"db.internal":       {"10.0.0.5"},
		"mixed.example.com": {"93.184.216.34", "192.168.0.10"},
		"localhost":         {"127.0.0.1", "::1"},
		// net.Resolver answers IPv4 addresses in their IPv4-mapped form.
		"mapped.example.com": {"::ffff:10.0.0.5"},
	})
	g := netguard.New(netguard.Options{Resolver: res})
	tests := []struct {
		url, want string // want "" means allowed
	}{
		{"https://hooks.example.com/scanforge", ""},
		{"https://93.184.216.34:8443/x", ""},
		{"https://unknown.example.com/x", ""}, // does not resolve (yet): the dial decides
		{"::not a url", ""},
		{"http://db.internal/hook", "db.internal resolves to 10.0.0.5, a private address; deliveries to internal networks are not allowed"},
		{"http://mixed.example.com/", "mixed.example.com resolves to 192.168.0.10, a private address; deliveries to internal networks are not allowed"},
		{"http://mapped.example.com/", "mapped.example.com resolves to 10.0.0.5, a private address; deliveries to internal networks are not allowed"},
		{"http://localhost:9000/", "localhost resolves to 127.0.0.1, a loopback address; deliveries to internal networks are not allowed"},
		{"http://127.0.0.1:9000/", "127.0.0.1 is a loopback address; deliveries to internal networks are not allowed"},
		{"http://[::1]/", "::1 is a loopback address; deliveries to internal networks are not allowed"},
		{"http://[::ffff:7f00:1]/", "::ffff:127.0.0.1 is a loopback address (IPv4-mapped 127.0.0.1); deliveries to internal networks are not allowed"},
		{"http://[fe80::1%25eth0]/", "fe80::1 is a link-local address; deliveries to internal networks are not allowed"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (cloud metadata service); deliveries to internal networks are not allowed"},
	}
	for _, tt := range tests {
		err := g.CheckURL(context.Background(), tt.url)
		got := ""
		if err != nil {
			got = err.Error()
			var blocked *netguard.BlockedError
			if !errors.As(err, &blocked) {
				t.Errorf("CheckURL(%q) error %v does not wrap a *BlockedError", tt.url, err)
			}
		}
		if got != tt.want {
			t.Errorf("CheckURL(%q)\n got %q\nwant %q", tt.url, got, tt.want)
		}
	}
}

// countingServer is an HTTP server on 127.0.0.1 that counts the TCP
// connections it accepts.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestDialContext(t *testing.T) {
	srv, conns := countingServer(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	res := newResolver(map[string][]string{"receiver.test": {"127.0.0.1"}})

	t.Run("refuses loopback without connecting", func(t *testing.T) {
		g := netguard.New(netguard.Options{Resolver: res})
		for _, addr := range []string{"127.0.0.1:" + port, "receiver.test:" + port, "[::ffff:127.0.0.1]:" + port} {
			conn, err := g.DialContext(context.Background(), "tcp", addr)
			if conn != nil {
				conn.Close()
			}
			var blocked *netguard.BlockedError
			if !errors.As(err, &blocked) || !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "a loopback address") {
				t.Errorf("dial %s: %v, want a refusal naming 127.0.0.1 as loopback", addr, err)
			}
		}
		if n := conns.Load(); n != 0 {
			t.Errorf("receiver accepted %d connections, want 0", n)
		}
	})

	t.Run("connects when private networks are allowed", func(t *testing.T) {
		g := netguard.New(netguard.Options{Resolver: res, AllowPrivate: true})
		client := &http.Client{Transport: &http.Transport{DialContext: g.DialContext}}
		resp, err := client.Get("http://receiver.test:" + port + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("status %d", resp.StatusCode)
		}
	})

	t.Run("connects to an allowlisted network", func(t *testing.T) {
		g := netguard.New(netguard.Options{Resolver: res, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
		conn, err := g.DialContext(context.Background(), "tcp", "receiver.test:"+port)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	})

	t.Run("unresolvable names fail as DNS errors", func(t *testing.T) {
		g := netguard.New(netguard.Options{Resolver: res})
		_, err := g.DialContext(context.Background(), "tcp", "nowhere.test:80")
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) {
			t.Errorf("err = %v, want a *net.DNSError", err)
		}
	})

	t.Run("other networks are refused", func(t *testing.T) {
		g := netguard.New(netguard.Options{Resolver: res, AllowPrivate: true})
		if _, err := g.DialContext(context.Background(), "udp", "127.0.0.1:53"); err == nil {
			t.Error("udp dial allowed")
		}
	})
}

func TestControlRefusesForbiddenAddresses(t *testing.T) {
	srv, conns := countingServer(t)
	g := netguard.New(netguard.Options{})
	d := net.Dialer{Control: g.Control}
	conn, err := d.Dial("tcp", srv.Listener.Addr().String())
	if conn != nil {
		conn.Close()
	}
	var blocked *netguard.BlockedError
	if !errors.As(err, &blocked) {
		t.Fatalf("dial = %v, want a *BlockedError", err)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("receiver accepted %d connections, want 0", n)
	}
	if err := g.Control("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
	if err := g.Control("tcp", "not-an-address", nil); err == nil {
		t.Error("unparsable address allowed")
	}
}
