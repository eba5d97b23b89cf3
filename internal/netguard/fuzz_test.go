package netguard_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/scanforge/scanforge/internal/netguard"
)

// FuzzCheck judges arbitrary addresses. Whatever the input, the guard must
// not panic, must refuse every address the standard library calls
// loopback, private, link-local, multicast or unspecified (also in their
// IPv4-mapped form), must judge a mapped address as its IPv4 address, and
// AllowPrivate may only open addresses, never close one. The seed corpus is
// testdata/fuzz/FuzzCheck.
func FuzzCheck(f *testing.F) {
	strict := netguard.New(netguard.Options{})
	private := netguard.New(netguard.Options{AllowPrivate: true})
	f.Fuzz(func(t *testing.T, text string) {
		// Control parses "ip:port" itself: unparsable input is refused.
		if _, err := netip.ParseAddrPort(text); err != nil && strict.Control("tcp", text, nil) == nil {
			t.Fatalf("Control(%q) allowed an unparsable address", text)
		}
		addr, err := netip.ParseAddr(text)
		if err != nil {
			return
		}
		plain := addr.WithZone("")
		err = strict.Check(addr)
		if err != nil {
			var blocked *netguard.BlockedError
			if !errors.As(err, &blocked) || blocked.Addr != plain || !strings.HasPrefix(err.Error(), "blocked: "+plain.String()+" is ") {
				t.Fatalf("Check(%s) = %v (%T), want a *BlockedError about %s", addr, err, err, plain)
			}
		}
		for _, a := range []netip.Addr{plain, plain.Unmap()} {
			if err == nil && (!a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsMulticast()) {
				t.Fatalf("Check(%s) allowed it, but %s is not a global public unicast address", addr, a)
			}
		}
		if plain.Is4In6() && (err == nil) != (strict.Check(plain.Unmap()) == nil) {
			t.Fatalf("Check(%s) = %v disagrees with Check(%s)", addr, err, plain.Unmap())
		}
		if err == nil && private.Check(addr) != nil {
			t.Fatalf("AllowPrivate refuses %s that the strict guard allows", addr)
		}
		port := netip.AddrPortFrom(addr, 443).String()
		if (strict.Control("tcp", port, nil) == nil) != (err == nil) {
			t.Fatalf("Control(%q) disagrees with Check(%s) = %v", port, addr, err)
		}
	})
}
