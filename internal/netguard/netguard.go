// Package netguard keeps outbound webhook deliveries away from internal
// networks (SSRF). A Guard judges addresses against the special-purpose
// ranges (loopback, RFC 1918, link-local with the cloud metadata service,
// CGNAT, multicast, reserved, documentation, IPv6 unique-local and the IPv6
// forms that embed a forbidden IPv4 address), with an allowlist of networks
// as the way out. It is used twice: when an endpoint is saved (CheckURL, for
// a clear answer) and when a delivery dials (DialContext, the real guard:
// it resolves the name, checks every address and connects only to a checked
// one, so a name that starts resolving elsewhere — DNS rebinding — is caught).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Resolver looks up the addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Guard.
type Options struct {
	// AllowPrivate opens loopback, RFC 1918, carrier-grade NAT and IPv6
	// unique-local addresses (dev mode, on-prem installs). Link-local (the
	// cloud metadata service), multicast and reserved ranges stay closed.
	AllowPrivate bool
	// Allow lists networks that are reachable whatever the ranges say.
	Allow []netip.Prefix
	// Resolver looks up host names; nil means net.DefaultResolver.
	Resolver Resolver
	// LookupTimeout bounds CheckURL's lookup; 0 means DefaultLookupTimeout.
	LookupTimeout time.Duration
}

// Defaults of a Guard.
const (
	DefaultLookupTimeout = 5 * time.Second
	dialTimeout          = 30 * time.Second // as http.DefaultTransport
	dialKeepAlive        = 30 * time.Second
)

// Guard decides which addresses outbound deliveries may reach. It is safe
// for concurrent use.
type Guard struct {
	allowPrivate  bool
	allow         []netip.Prefix
	resolver      Resolver
	lookupTimeout time.Duration
}

// New returns a Guard with opts.
func New(opts Options) *Guard {
	g := &Guard{
		allowPrivate:  opts.AllowPrivate,
		allow:         append([]netip.Prefix(nil), opts.Allow...),
		resolver:      opts.Resolver,
		lookupTimeout: opts.LookupTimeout,
	}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	if g.lookupTimeout <= 0 {
		g.lookupTimeout = DefaultLookupTimeout
	}
	return g
}

// BlockedError says why an address may not be reached. It is permanent: the
// same address is refused on every try.
type BlockedError struct {
	Host string     // the host name that resolved to Addr; "" for an IP literal
	Addr netip.Addr // the refused address
	Kind string     // what it is: "a loopback address"
	Via  string     // the embedded IPv4 address that decided: "IPv4-mapped 127.0.0.1"
}

// Reason reads "127.0.0.1 is a loopback address" or "db.internal resolves
// to 10.0.0.5, a private address".
func (e *BlockedError) Reason() string {
	what := e.Kind
	if e.Via != "" {
		what += " (" + e.Via + ")"
	}
	if e.Host != "" {
		return e.Host + " resolves to " + e.Addr.String() + ", " + what
	}
	return e.Addr.String() + " is " + what
}

func (e *BlockedError) Error() string { return "blocked: " + e.Reason() }

// Permanent tells error classifiers (activities.Classify) that no retry can
// succeed.
func (e *BlockedError) Permanent() bool { return true }

// Check returns a *BlockedError when addr may not be reached, nil when it may.
func (g *Guard) Check(addr netip.Addr) error {
	addr = addr.WithZone("") // Prefix.Contains never matches a zoned address
	if !addr.IsValid() {
		return &BlockedError{Addr: addr, Kind: "an invalid address"}
	}
	v := classify(addr)
	if !v.forbidden() || g.allowed(addr) || v.via.IsValid() && g.allowed(v.via) || v.private && g.allowPrivate {
		return nil
	}
	e := &BlockedError{Addr: addr, Kind: v.kind}
	if v.via.IsValid() {
		e.Via = v.form + " " + v.via.String()
	}
	return e
}

func (g *Guard) allowed(addr netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// checkAll refuses a host when any of its addresses is refused: a name that
// mixes public and internal addresses is not a webhook receiver.
func (g *Guard) checkAll(host string, addrs []netip.Addr, literal bool) error {
	for _, a := range addrs {
		if err := g.Check(a); err != nil {
			var blocked *BlockedError
			if errors.As(err, &blocked) && !literal {
				blocked.Host = host
			}
			return err
		}
	}
	return nil
}

// ipNetworks maps the dial networks the guard handles to lookup networks.
var ipNetworks = map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}

// DialContext resolves address, refuses it when any of its IP addresses is
// refused, and otherwise connects to the checked addresses in turn. It has
// the signature of http.Transport.DialContext. The dialer's Control function
// checks the address once more right before connecting.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	lookupNetwork, ok := ipNetworks[network]
	if !ok {
		return nil, fmt.Errorf("netguard: network %q is not supported", network)
	}
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("netguard: %w", err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("netguard: port %q is not a number between 0 and 65535", portText)
	}
	addrs, literal, err := g.resolve(ctx, lookupNetwork, host)
	if err != nil {
		return nil, err
	}
	if err := g.checkAll(host, addrs, literal); err != nil {
		return nil, err
	}
	dialer := net.Dialer{Timeout: dialTimeout, KeepAlive: dialKeepAlive, Control: g.Control}
	var errs []error
	for _, a := range addrs {
		conn, err := dialer.DialContext(ctx, network, netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// Control is a net.Dialer Control function: it refuses to connect to an
// address the guard refuses. DialContext uses it as a last check; any
// dialer may.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: cannot check address %q: %w", address, err)
	}
	return g.Check(ap.Addr())
}

// resolve returns host's addresses; literal says host was an IP address.
func (g *Guard) resolve(ctx context.Context, network, host string) ([]netip.Addr, bool, error) {
	if host == "" {
		// net.Dial takes an empty host as the local system.
		return []netip.Addr{netip.IPv4Unspecified()}, true, nil
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{addr}, true, nil
	}
	addrs, err := g.lookup(ctx, network, host)
	if err != nil {
		return nil, false, err
	}
	if len(addrs) == 0 {
		return nil, false, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return addrs, false, nil
}

// lookup resolves a host name. net.Resolver answers IPv4 addresses in their
// IPv4-mapped IPv6 form; they are IPv4 addresses, and are named so.
func (g *Guard) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	addrs, err := g.resolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = a.Unmap()
	}
	return out, nil
}

// URLError is CheckURL's refusal. It reads as a reason for whoever entered
// the URL: "db.internal resolves to 10.0.0.5, a private address; deliveries
// to internal networks are not allowed".
type URLError struct {
	Blocked *BlockedError
}

func (e *URLError) Error() string {
	return e.Blocked.Reason() + "; deliveries to internal networks are not allowed"
}

func (e *URLError) Unwrap() error { return e.Blocked }

// CheckURL tells whether rawURL's host may be reached now: an IP literal is
// judged as is, a host name by every address it resolves to. It returns a
// *URLError when not. It is the early, friendly check when an endpoint is
// saved; the guarantee is DialContext's, at every delivery. So a URL that
// does not parse or a name that does not resolve (yet) passes here: shape is
// the caller's check, and the dial decides.
func (g *Guard) CheckURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	host := u.Hostname()
	var addrs []netip.Addr
	literal := false
	if addr, err := netip.ParseAddr(host); err == nil {
		addrs, literal = []netip.Addr{addr}, true
	} else {
		ctx, cancel := context.WithTimeout(ctx, g.lookupTimeout)
		defer cancel()
		addrs, err = g.lookup(ctx, "ip", host)
		if err != nil {
			return nil
		}
	}
	if err := g.checkAll(host, addrs, literal); err != nil {
		var blocked *BlockedError
		if errors.As(err, &blocked) {
			return &URLError{Blocked: blocked}
		}
		return err
	}
	return nil
}
