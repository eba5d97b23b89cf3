package api_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/netguard"
)

// mapResolver resolves the names it knows; others do not exist.
type mapResolver map[string][]string

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	texts, ok := m[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, len(texts))
	for i, t := range texts {
		out[i] = netip.MustParseAddr(t)
	}
	return out, nil
}

var testHosts = mapResolver{
	"hooks.example.com": {"93.184.216.34"},
	"localhost":         {"127.0.0.1", "::1"},
	"internal.test":     {"10.0.0.5"},
}

func withGuard(opts netguard.Options) func(*api.Options) {
	opts.Resolver = testHosts
	g := netguard.New(opts)
	return func(o *api.Options) { o.EndpointURLCheck = g.CheckURL }
}

// forbiddenURLs point at internal networks, each with the reason the 422
// must give.
var forbiddenURLs = []struct{ url, reason string }{
	{"http://127.0.0.1:9000/hook", "127.0.0.1 is a loopback address"},
	{"http://localhost:9000/hook", "localhost resolves to 127.0.0.1, a loopback address"},
	{"http://internal.test/hook", "internal.test resolves to 10.0.0.5, a private address"},
	{"http://10.0.0.5/", "10.0.0.5 is a private address"},
	{"http://172.16.3.4/", "172.16.3.4 is a private address"},
	{"https://192.168.1.10:8443/", "192.168.1.10 is a private address"},
	{"http://100.64.1.1/", "100.64.1.1 is a carrier-grade NAT address"},
	{"http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (cloud metadata service)"},
	{"http://0.0.0.0:8080/", "0.0.0.0 is an unspecified address"},
	{"http://224.0.0.1/", "224.0.0.1 is a multicast address"},
	{"http://198.18.0.1/", "198.18.0.1 is a benchmarking address"},
	{"http://[::1]:9000/", "::1 is a loopback address"},
	{"http://[::]/", ":: is an unspecified address"},
	{"http://[fd00::1]/", "fd00::1 is a unique-local address"},
	{"http://[fe80::1]/", "fe80::1 is a link-local address"},
	{"http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address (IPv4-mapped 127.0.0.1)"},
	{"http://[::ffff:a9fe:a9fe]/", "::ffff:169.254.169.254 is a link-local address (cloud metadata service) (IPv4-mapped 169.254.169.254)"},
	{"http://[64:ff9b::a00:5]/", "64:ff9b::a00:5 is a private address (NAT64 10.0.0.5)"},
	{"http://[2002:a00:5::1]/", "2002:a00:5::1 is a private address (6to4 10.0.0.5)"},
}

const internalSuffix = "; deliveries to internal networks are not allowed"

func TestEndpointURLToInternalNetworkIsRefused(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, withGuard(netguard.Options{}))
		ep := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/scanforge"}`, http.StatusCreated)["id"].(string)
		// A name that does not resolve (yet) is accepted: the dial decides.
		e.call("POST", "/api/v1/endpoints", `{"url":"https://not-yet.example.com/"}`, http.StatusCreated)

		for _, tt := range forbiddenURLs {
			body, _ := json.Marshal(map[string]string{"url": tt.url})
			for _, r := range []request{
				{Method: "POST", Path: "/api/v1/endpoints", Body: string(body), Key: e.key},
				{Method: "PATCH", Path: "/api/v1/endpoints/" + ep, Body: string(body), Key: e.key},
			} {
				rec := e.do(r)
				if rec.Code != http.StatusUnprocessableEntity {
					t.Errorf("%s %s: status %d, want 422: %s", r.Method, tt.url, rec.Code, rec.Body)
					continue
				}
				errObj := errorOf(t, rec)
				want := "url: " + tt.reason + internalSuffix
				if errObj["field"] != "url" || errObj["message"] != want || errObj["code"] != "validation_failed" {
					t.Errorf("%s %s: error %v, want field url and message %q", r.Method, tt.url, errObj, want)
				}
			}
		}
		if got := e.call("GET", "/api/v1/endpoints/"+ep, "", http.StatusOK)["url"]; got != "https://hooks.example.com/scanforge" {
			t.Errorf("refused updates changed the URL to %v", got)
		}
		if n := len(e.call("GET", "/api/v1/endpoints", "", http.StatusOK)["data"].([]any)); n != 2 {
			t.Errorf("%d endpoints, want the 2 accepted ones", n)
		}
		// Changing other fields of an endpoint does not need a URL check.
		e.call("PATCH", "/api/v1/endpoints/"+ep, `{"description":"renamed"}`, http.StatusOK)
	})
}

func TestEndpointURLChecksInDevModeAndWithAllowlist(t *testing.T) {
	t.Run("dev mode opens loopback and private networks", func(t *testing.T) {
		e := newEnv(t, "sqlite", withGuard(netguard.Options{AllowPrivate: true}))
		for _, u := range []string{
			"http://127.0.0.1:9000/hook", "http://localhost:9000/hook", "http://internal.test/", "http://192.168.1.10/",
			"http://100.64.1.1/", "http://[::1]:9000/", "http://[fd00::1]/", "http://[::ffff:127.0.0.1]/",
		} {
			body, _ := json.Marshal(map[string]string{"url": u})
			e.call("POST", "/api/v1/endpoints", string(body), http.StatusCreated)
		}
		// Link-local (the cloud metadata service) stays closed even so.
		rec := e.do(request{Method: "POST", Path: "/api/v1/endpoints", Body: `{"url":"http://169.254.169.254/"}`, Key: e.key})
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "link-local") {
			t.Errorf("metadata address in dev mode: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("allowlisted networks are accepted", func(t *testing.T) {
		e := newEnv(t, "sqlite", withGuard(netguard.Options{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}))
		e.call("POST", "/api/v1/endpoints", `{"url":"http://10.0.0.5/hook"}`, http.StatusCreated)
		e.call("POST", "/api/v1/endpoints", `{"url":"http://internal.test/hook"}`, http.StatusCreated)
		rec := e.do(request{Method: "POST", Path: "/api/v1/endpoints", Body: `{"url":"http://192.168.1.10/"}`, Key: e.key})
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("192.168.1.10 outside the allowlist: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestURLHostForms refuses hosts that parsers read differently (shortened
// and numeric IPv4 forms), IPv6 zones and ports out of range, for
// destinations and endpoints alike.
func TestURLHostForms(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, tt := range []struct{ url, message string }{
		{"http://127.1/", "numeric form"},
		{"http://2130706433/", "numeric form"},
		{"http://0x7f000001/", "numeric form"},
		{"http://0177.0.0.1/", "numeric form"},
		{"http://127.0.0.1./", "numeric form"},
		{"http://[fe80::1%25eth0]/", "IPv6 zone"},
		{"http://example.com:0/", "port must be between 1 and 65535"},
		{"http://example.com:70000/", "port must be between 1 and 65535"},
	} {
		for _, r := range []struct{ path, field string }{{"/api/v1/endpoints", "url"}, {"/api/v1/codes", "destination_url"}} {
			body, _ := json.Marshal(map[string]string{r.field: tt.url})
			rec := e.do(request{Method: "POST", Path: r.path, Body: string(body), Key: e.key})
			if rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("%s %s: status %d, want 422: %s", r.field, tt.url, rec.Code, rec.Body)
				continue
			}
			if errObj := errorOf(t, rec); errObj["field"] != r.field || !strings.Contains(errObj["message"].(string), tt.message) {
				t.Errorf("%s %s: %v, want a message with %q", r.field, tt.url, errObj, tt.message)
			}
		}
	}
	for _, u := range []string{"http://192.0.2.1:8080/", "https://example.com:443/x", "https://x1.example.com/", "http://[2001:db8::1]/", "https://example.com./"} {
		body, _ := json.Marshal(map[string]string{"destination_url": u})
		e.call("POST", "/api/v1/codes", string(body), http.StatusCreated)
	}
}
