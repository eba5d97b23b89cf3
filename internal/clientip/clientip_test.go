package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 127.0.0.1, fd00::/8, ::1")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		remoteAddr string
		xff        []string // one element per header line
		want       string   // "" means the zero Addr
	}{
		{"untrusted peer, no header", "203.0.113.7:51234", nil, "203.0.113.7"},
		{"untrusted peer ignores spoofed header", "203.0.113.7:51234", []string{"1.2.3.4"}, "203.0.113.7"},
		{"trusted peer, no header", "10.0.0.2:80", nil, "10.0.0.2"},
		{"trusted peer, single hop", "10.0.0.2:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"trusted peer, spoofed left part ignored", "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9"},
		{"trusted chain skipped right to left", "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.9, 10.1.1.1, 10.2.2.2"}, "198.51.100.9"},
		{"several header lines form one list", "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.9", "10.1.1.1"}, "198.51.100.9"},
		{"all hops trusted gives left-most", "10.0.0.2:80", []string{"10.9.9.9, 10.1.1.1"}, "10.9.9.9"},
		{"spaces and ports in entries", "10.0.0.2:80", []string{" 198.51.100.9:4711 ,10.1.1.1 "}, "198.51.100.9"},
		{"garbage header falls back to peer", "10.0.0.2:80", []string{"not-an-ip"}, "10.0.0.2"},
		{"garbage hop reached during walk falls back to peer", "10.0.0.2:80", []string{"198.51.100.9, unknown, 10.1.1.1"}, "10.0.0.2"},
		{"garbage left of the client is never read", "10.0.0.2:80", []string{"garbage, 198.51.100.9"}, "198.51.100.9"},
		{"empty header falls back to peer", "10.0.0.2:80", []string{""}, "10.0.0.2"},
		{"trailing comma falls back to peer", "10.0.0.2:80", []string{"198.51.100.9,"}, "10.0.0.2"},
		{"loopback proxy trusted as bare /32", "127.0.0.1:9000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"other loopback address not trusted", "127.0.0.2:9000", []string{"198.51.100.9"}, "127.0.0.2"},
		{"IPv6 peer with brackets, untrusted", "[2001:db8::1]:443", []string{"198.51.100.9"}, "2001:db8::1"},
		{"IPv6 peer with brackets, trusted", "[fd00::5]:443", []string{"2001:db8::42"}, "2001:db8::42"},
		{"IPv6 loopback peer trusted", "[::1]:443", []string{"[2001:db8::42]:5555"}, "2001:db8::42"},
		{"IPv6 hop in brackets without port", "[::1]:443", []string{"[2001:db8::42]"}, "2001:db8::42"},
		{"IPv4-mapped peer unmapped and trusted", "[::ffff:10.0.0.2]:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"IPv4-mapped hop unmapped", "10.0.0.2:80", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
		{"peer zone dropped", "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"remote addr without port", "203.0.113.7", nil, "203.0.113.7"},
		{"unparseable remote addr", "pipe", []string{"198.51.100.9"}, ""},
		{"empty remote addr", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/q/abc", nil)
			r.RemoteAddr = tt.remoteAddr
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := From(r, trusted)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("From(RemoteAddr=%q, XFF=%q) = %v, want %v", tt.remoteAddr, tt.xff, got, want)
			}
		})
	}
}

func TestFromNoTrustedProxies(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.2:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.9")
	if got, want := From(r, nil), netip.MustParseAddr("10.0.0.2"); got != want {
		t.Errorf("From = %v, want %v", got, want)
	}
	if got := From(nil, nil); got.IsValid() {
		t.Errorf("From(nil) = %v, want zero Addr", got)
	}
}

// TestFromRealServer checks RemoteAddr as net/http actually fills it in.
func TestFromRealServer(t *testing.T) {
	trusted, err := ParsePrefixes("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan netip.Addr, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- From(r, trusted)
	}))
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if addr, want := <-got, netip.MustParseAddr("198.51.100.9"); addr != want {
		t.Errorf("From = %v, want %v", addr, want)
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string // substring of the error; "" means no error
	}{
		{"", nil, ""},
		{" , ", nil, ""},
		{"10.0.0.0/8, 127.0.0.1", []string{"10.0.0.0/8", "127.0.0.1/32"}, ""},
		{"::1,fd00::/8", []string{"::1/128", "fd00::/8"}, ""},
		{"192.168.1.77/24", []string{"192.168.1.0/24"}, ""},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}, ""},
		{"::ffff:10.0.0.1", []string{"10.0.0.1/32"}, ""},
		{"10.0.0.0/8, 10.0.0.300", nil, `"10.0.0.300"`},
		{"10.0.0.0/33", nil, `"10.0.0.0/33"`},
		{"proxy.internal", nil, `"proxy.internal"`},
		{"fe80::1%eth0", nil, `"fe80::1%eth0"`},
		{"::ffff:0.0.0.0/8", nil, `"::ffff:0.0.0.0/8"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrefixes(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePrefixes(%q) error = %v, want one naming %s", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrefixes(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParsePrefixes(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != netip.MustParsePrefix(tt.want[i]) {
					t.Errorf("ParsePrefixes(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func FuzzFrom(f *testing.F) {
	f.Add("10.0.0.2:80", "6.6.6.6, 198.51.100.9, 10.1.1.1")
	f.Add("[::1]:443", "[2001:db8::42]:5555")
	f.Add("[fe80::1%eth0]:80", "unknown,,")
	trusted, err := ParsePrefixes("10.0.0.0/8, ::1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remoteAddr, xff string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remoteAddr
		r.Header.Set("X-Forwarded-For", xff)
		got := From(r, trusted)
		if got.Is4In6() || got.Zone() != "" {
			t.Errorf("From = %v, want unmapped and without zone", got)
		}
	})
}
