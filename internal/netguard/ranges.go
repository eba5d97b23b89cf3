package netguard

import (
	"net/netip"
)

// forbiddenRange is a network deliveries must not reach. Private ranges are
// the ones AllowPrivate opens (dev mode, on-prem installs): loopback, RFC
// 1918, carrier-grade NAT and IPv6 unique-local. The others (link-local with
// the cloud metadata service, multicast, documentation, reserved …) stay
// closed unless listed in the allowlist.
type forbiddenRange struct {
	prefix  netip.Prefix
	kind    string // reads after "is": "a loopback address"
	private bool
}

func forbid(prefix, kind string, private bool) forbiddenRange {
	return forbiddenRange{prefix: netip.MustParsePrefix(prefix), kind: kind, private: private}
}

// Kinds of address, as the messages name them.
const (
	kindUnspecified = "an unspecified address"
	kindThisNetwork = `a "this network" address`
	kindPrivate     = "a private address"
	kindCGNAT       = "a carrier-grade NAT address"
	kindLoopback    = "a loopback address"
	kindLinkLocal   = "a link-local address"
	kindMetadata    = "a link-local address (cloud metadata service)"
	kindProtocol    = "a reserved address (IETF protocol assignments)"
	kindDocs        = "a documentation address"
	kind6to4Relay   = "a reserved address (deprecated 6to4 relay anycast)"
	kindBenchmark   = "a benchmarking address"
	kindMulticast   = "a multicast address"
	kindReserved    = "a reserved address"
	kindBroadcast   = "a broadcast address"
	kindUniqueLocal = "a unique-local address"
	kindSiteLocal   = "a deprecated site-local address"
	kindDiscard     = "a discard-only address"
	kindTeredo      = "a Teredo tunnel address"
	kindORCHID      = "a reserved address (ORCHID)"
	kindLocalNAT64  = "a local-use NAT64 address"
	kindV4Compat    = "a deprecated IPv4-compatible address"
	kindNotGlobal   = "a reserved address (outside global unicast 2000::/3)"
)

// ipv4Ranges follow the IANA IPv4 Special-Purpose Address Registry, minus the
// entries that are globally reachable (AS112, AMT). More specific entries
// come first: the first match names the address.
var ipv4Ranges = []forbiddenRange{
	forbid("0.0.0.0/32", kindUnspecified, false),
	forbid("0.0.0.0/8", kindThisNetwork, false),
	forbid("10.0.0.0/8", kindPrivate, true),
	forbid("100.64.0.0/10", kindCGNAT, true),
	forbid("127.0.0.0/8", kindLoopback, true),
	forbid("169.254.169.254/32", kindMetadata, false),
	forbid("169.254.0.0/16", kindLinkLocal, false),
	forbid("172.16.0.0/12", kindPrivate, true),
	forbid("192.0.0.0/24", kindProtocol, false),
	forbid("192.0.2.0/24", kindDocs, false),
	forbid("192.88.99.0/24", kind6to4Relay, false),
	forbid("192.168.0.0/16", kindPrivate, true),
	forbid("198.18.0.0/15", kindBenchmark, false),
	forbid("198.51.100.0/24", kindDocs, false),
	forbid("203.0.113.0/24", kindDocs, false),
	forbid("224.0.0.0/4", kindMulticast, false),
	forbid("255.255.255.255/32", kindBroadcast, false),
	forbid("240.0.0.0/4", kindReserved, false),
}

// ipv6Ranges are checked after the forms that embed an IPv4 address
// (mapped, compatible, NAT64, 6to4) were judged by their IPv4 address.
// Anything outside 2000::/3 that is not listed is reserved too.
var ipv6Ranges = []forbiddenRange{
	forbid("::/128", kindUnspecified, false),
	forbid("::1/128", kindLoopback, true),
	forbid("64:ff9b:1::/48", kindLocalNAT64, false),
	forbid("100::/64", kindDiscard, false),
	forbid("2001::/32", kindTeredo, false),
	forbid("2001:2::/48", kindBenchmark, false),
	forbid("2001:10::/28", kindORCHID, false),
	forbid("2001:20::/28", kindORCHID, false),
	forbid("2001:db8::/32", kindDocs, false),
	forbid("3fff::/20", kindDocs, false),
	forbid("fc00::/7", kindUniqueLocal, true),
	forbid("fe80::/10", kindLinkLocal, false),
	forbid("fec0::/10", kindSiteLocal, false),
	forbid("ff00::/8", kindMulticast, false),
}

var globalUnicast = netip.MustParsePrefix("2000::/3")

// IPv6 forms that carry an IPv4 address.
var (
	v4Mapped  = netip.MustParsePrefix("::ffff:0:0/96")
	v4Compat  = netip.MustParsePrefix("::/96") // deprecated by RFC 4291
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// verdict is what the range tables say about one address.
type verdict struct {
	kind    string     // "" when the address is allowed
	private bool       // the range is one AllowPrivate opens
	via     netip.Addr // the embedded IPv4 address that decided, if any
	form    string     // "IPv4-mapped", "NAT64", … when via is set
}

func (v verdict) forbidden() bool { return v.kind != "" }

// classify looks addr up in the tables. addr must carry no zone.
func classify(addr netip.Addr) verdict {
	if addr.Is4() {
		return lookup(ipv4Ranges, addr)
	}
	if embedded, form, ok := embeddedIPv4(addr); ok {
		v := lookup(ipv4Ranges, embedded)
		if v.forbidden() {
			v.via, v.form = embedded, form
			return v
		}
		if form == "IPv4-compatible" {
			return verdict{kind: kindV4Compat}
		}
		return verdict{}
	}
	if v := lookup(ipv6Ranges, addr); v.forbidden() {
		return v
	}
	if !globalUnicast.Contains(addr) {
		return verdict{kind: kindNotGlobal}
	}
	return verdict{}
}

func lookup(ranges []forbiddenRange, addr netip.Addr) verdict {
	for _, fr := range ranges {
		if fr.prefix.Contains(addr) {
			return verdict{kind: fr.kind, private: fr.private}
		}
	}
	return verdict{}
}

// embeddedIPv4 returns the IPv4 address an IPv6 address stands for, when it
// is one of the forms that carry one. :: and ::1 are themselves, not
// IPv4-compatible forms of 0.0.0.0 and 0.0.0.1.
func embeddedIPv4(addr netip.Addr) (netip.Addr, string, bool) {
	b := addr.As16()
	switch {
	case v4Mapped.Contains(addr):
		return addr.Unmap(), "IPv4-mapped", true
	case v4Compat.Contains(addr) && addr != netip.IPv6Unspecified() && addr != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:16])), "IPv4-compatible", true
	case nat64.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64", true
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4", true
	}
	return netip.Addr{}, "", false
}
