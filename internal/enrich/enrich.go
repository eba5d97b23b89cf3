package enrich

import (
	"net/http"
	"net/netip"
	"strings"
)

// Geo is where an IP address is, in English. Empty when unknown.
type Geo struct {
	Country     string
	CountryCode string // ISO 3166-1 alpha-2
	Region      string // first (largest) subdivision, e.g. a US state
	City        string
	Latitude    *float64 // nil when unknown
	Longitude   *float64 // nil when unknown
	Timezone    string   // IANA, e.g. "Europe/London"
}

// Device is what the client runs, from its User-Agent. Type is one of the
// Device* constants.
type Device struct {
	Type           string
	Browser        string
	BrowserVersion string
	OS             string
	OSVersion      string
}

// Bot is the verdict on whether a request is automated. Reason is one of the
// Reason* constants, empty when human.
type Bot struct {
	IsBot  bool
	Reason string
}

// Input is what Enrich needs from a request.
type Input struct {
	IP        netip.Addr
	Method    string
	UserAgent string
	Header    http.Header // may be nil
}

// Result is everything Enrich derives.
type Result struct {
	Geo    Geo
	Device Device
	Bot    Bot
}

// GeoLocator resolves an IP address to a location. GeoIP is the production
// implementation.
type GeoLocator interface {
	Locate(ip netip.Addr) (Geo, error)
}

// Enricher combines geo lookup, device parsing and bot detection.
// It is safe for concurrent use if its GeoLocator is.
type Enricher struct {
	geo  GeoLocator
	bots *botRules
	uas  *uaCache
}

// New returns an Enricher that locates IPs with geo. geo may be nil, in which
// case every Result has an empty Geo.
func New(geo GeoLocator) *Enricher {
	return &Enricher{geo: geo, bots: newBotRules(), uas: newUACache()}
}

// rules returns the bot rules New built; an Enricher not made by New builds
// them on every call, which is correct but slow.
func (e *Enricher) rules() *botRules {
	if e == nil || e.bots == nil {
		return newBotRules()
	}
	return e.bots
}

// Enrich derives geo, device and bot verdict for one request. It never fails
// and never panics: a failed or panicking geo lookup gives an empty Geo, since
// a scan must be recorded (and redirected) whether or not we know where it
// came from.
func (e *Enricher) Enrich(in Input) Result {
	var res Result
	ua := strings.TrimSpace(in.UserAgent)
	if ua == "" {
		res.Device = Device{Type: DeviceUnknown}
		res.Bot = Bot{IsBot: true, Reason: ReasonEmptyUserAgent}
	} else {
		facts := e.uas.get(ua, e.rules())
		res.Device = facts.device
		res.Bot = detectBot(in.Method, in.Header, facts.botReason)
	}
	res.Geo = e.locate(in.IP)
	return res
}

func (e *Enricher) locate(ip netip.Addr) (geo Geo) {
	if e == nil || e.geo == nil {
		return Geo{}
	}
	ip = ip.Unmap()
	if !isLocatable(ip) {
		return Geo{}
	}
	defer func() {
		if recover() != nil {
			geo = Geo{}
		}
	}()
	geo, err := e.geo.Locate(ip)
	if err != nil {
		return Geo{}
	}
	return geo
}

// isLocatable reports whether ip can have a geographic location: not
// invalid, private, loopback, link-local, multicast or unspecified.
func isLocatable(ip netip.Addr) bool {
	return ip.IsValid() &&
		!ip.IsPrivate() &&
		!ip.IsLoopback() &&
		!ip.IsLinkLocalUnicast() &&
		!ip.IsLinkLocalMulticast() &&
		!ip.IsInterfaceLocalMulticast() &&
		!ip.IsMulticast() &&
		!ip.IsUnspecified()
}
