// Package clientip works out the address of the client behind an HTTP request,
// trusting X-Forwarded-For only when it was written by a proxy we know.
package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// From returns the client address of r: the TCP peer (r.RemoteAddr), or, only
// when the peer is inside one of trusted, the right-most X-Forwarded-For entry
// that is not itself trusted (walking right to left).
//
// Walking from the right matters: everything left of the first untrusted hop
// was written by the client and can be forged, so it is never believed. If
// every entry is trusted (a client on the internal network), the left-most one
// is returned. A malformed entry met during the walk (e.g. nginx's "unknown")
// makes the whole header untrustworthy, so the peer is returned instead.
// Several X-Forwarded-For header lines are read as one comma-separated list.
//
// IPv4-mapped IPv6 addresses are unmapped. The zero netip.Addr is returned
// only when r is nil or RemoteAddr cannot be parsed. Never panics.
func From(r *http.Request, trusted []netip.Prefix) netip.Addr {
	if r == nil {
		return netip.Addr{}
	}
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !contains(trusted, peer) {
		return peer
	}

	hops := forwardedHops(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHost(hops[i])
		if !ok {
			return peer
		}
		if i == 0 || !contains(trusted, hop) {
			return hop
		}
	}
	return peer // no X-Forwarded-For header
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes and bare
// addresses ("10.0.0.0/8, 127.0.0.1, ::1"). Bare addresses become /32 or /128
// prefixes; prefixes are masked; IPv4-mapped IPv6 entries are unmapped so they
// match the unmapped addresses From compares. Empty entries are skipped; an
// empty list gives nil. The error names the first bad entry.
func ParsePrefixes(csv string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for _, entry := range strings.Split(csv, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		prefix, err := parsePrefix(entry)
		if err != nil {
			return nil, fmt.Errorf("clientip: invalid trusted proxy entry %q: %w", entry, err)
		}
		prefixes = append(prefixes, prefix)
	}
	return prefixes, nil
}

func parsePrefix(entry string) (netip.Prefix, error) {
	if !strings.Contains(entry, "/") {
		addr, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, err
		}
		if addr.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("zoned address not allowed")
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	prefix, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, err
	}
	if addr := prefix.Addr(); addr.Is4In6() {
		if prefix.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix shorter than /96")
		}
		prefix = netip.PrefixFrom(addr.Unmap(), prefix.Bits()-96)
	}
	return prefix.Masked(), nil
}

// parseHost accepts "ip", "ip:port", "[ipv6]" and "[ipv6]:port", as found in
// RemoteAddr and (from some proxies) in X-Forwarded-For entries.
func parseHost(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	if addrPort, err := netip.ParseAddrPort(s); err == nil {
		return normalize(addrPort.Addr()), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return normalize(addr), true
}

func normalize(addr netip.Addr) netip.Addr {
	return addr.Unmap().WithZone("")
}

func forwardedHops(values []string) []string {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	return hops
}

func contains(prefixes []netip.Prefix, addr netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
