package enrich

import (
	"errors"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
)

// recordingLocator returns geo for every address and remembers what it was
// asked.
type recordingLocator struct {
	mu    sync.Mutex
	asked []netip.Addr
	geo   Geo
	err   error
	panic bool
}

func (l *recordingLocator) Locate(ip netip.Addr) (Geo, error) {
	l.mu.Lock()
	l.asked = append(l.asked, ip)
	l.mu.Unlock()
	if l.panic {
		panic("locator exploded")
	}
	return l.geo, l.err
}

func TestEnrichGeo(t *testing.T) {
	paris := Geo{Country: "France", CountryCode: "FR", City: "Paris"}
	tests := []struct {
		name      string
		locator   *recordingLocator
		ip        string // "" means the zero Addr
		want      Geo
		wantAsked string // address the locator must have been asked; "" for not asked
	}{
		{"public IPv4", &recordingLocator{geo: paris}, "81.2.69.142", paris, "81.2.69.142"},
		{"IPv4-mapped is unmapped", &recordingLocator{geo: paris}, "::ffff:81.2.69.142", paris, "81.2.69.142"},
		{"public IPv6", &recordingLocator{geo: paris}, "2a01:4f8::1", paris, "2a01:4f8::1"},
		{"private not asked", &recordingLocator{geo: paris}, "192.168.0.10", Geo{}, ""},
		{"loopback not asked", &recordingLocator{geo: paris}, "::1", Geo{}, ""},
		{"link-local not asked", &recordingLocator{geo: paris}, "169.254.0.1", Geo{}, ""},
		{"unspecified not asked", &recordingLocator{geo: paris}, "0.0.0.0", Geo{}, ""},
		{"zero Addr not asked", &recordingLocator{geo: paris}, "", Geo{}, ""},
		{"locator error gives empty geo", &recordingLocator{geo: paris, err: errors.New("boom")}, "81.2.69.142", Geo{}, "81.2.69.142"},
		{"locator panic gives empty geo", &recordingLocator{geo: paris, panic: true}, "81.2.69.142", Geo{}, "81.2.69.142"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ip netip.Addr
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			res := New(tt.locator).Enrich(Input{IP: ip, Method: http.MethodGet, UserAgent: chromeUA})
			assertGeo(t, res.Geo, tt.want)
			switch {
			case tt.wantAsked == "" && len(tt.locator.asked) != 0:
				t.Errorf("locator asked %v, want not asked", tt.locator.asked)
			case tt.wantAsked != "" && (len(tt.locator.asked) != 1 || tt.locator.asked[0] != netip.MustParseAddr(tt.wantAsked)):
				t.Errorf("locator asked %v, want [%s]", tt.locator.asked, tt.wantAsked)
			}
			if res.Device.Type != DeviceDesktop || res.Bot.IsBot {
				t.Errorf("device/bot = %+v/%+v, want desktop human", res.Device, res.Bot)
			}
		})
	}
}

func TestEnrichNilLocator(t *testing.T) {
	res := New(nil).Enrich(Input{IP: netip.MustParseAddr("81.2.69.142"), Method: http.MethodGet, UserAgent: chromeUA})
	if res.Geo != (Geo{}) {
		t.Errorf("Geo = %+v, want empty", res.Geo)
	}
}

// TestEnrichEndToEnd runs a real GeoIP database through Enrich.
func TestEnrichEndToEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "GeoLite2-City.mmdb")
	writeCityDB(t, path, "GeoLite2-City", testRecords("London"))
	geo, err := OpenGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	defer geo.Close()
	e := New(geo)

	iphone := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
	tests := []struct {
		name string
		in   Input
		want Result
	}{
		{
			name: "iPhone in London",
			in:   Input{IP: netip.MustParseAddr("81.2.69.142"), Method: http.MethodGet, UserAgent: iphone, Header: http.Header{}},
			want: Result{
				Geo: Geo{Country: "United Kingdom", CountryCode: "GB", Region: "England", City: "London",
					Latitude: ptr(51.5142), Longitude: ptr(-0.0931), Timezone: "Europe/London"},
				Device: Device{Type: DeviceMobile, Browser: "Safari", BrowserVersion: "17.4.1", OS: "iOS", OSVersion: "17.4.1"},
			},
		},
		{
			name: "iPhone prefetching from a private network",
			in:   Input{IP: netip.MustParseAddr("10.0.0.1"), Method: http.MethodGet, UserAgent: iphone, Header: http.Header{"Sec-Purpose": {"prefetch"}}},
			want: Result{
				Device: Device{Type: DeviceMobile, Browser: "Safari", BrowserVersion: "17.4.1", OS: "iOS", OSVersion: "17.4.1"},
				Bot:    Bot{IsBot: true, Reason: ReasonPrefetch},
			},
		},
		{
			name: "curl without headers",
			in:   Input{IP: netip.MustParseAddr("2a01:4f8:100::7"), Method: http.MethodGet, UserAgent: "curl/8.5.0"},
			want: Result{
				Geo: Geo{Country: "Germany", CountryCode: "DE", Region: "Bavaria", City: "Nuremberg",
					Latitude: ptr(49.4478), Longitude: ptr(11.0683), Timezone: "Europe/Berlin"},
				Device: Device{Type: DeviceBot, Browser: "curl", BrowserVersion: "8.5.0"},
				Bot:    Bot{IsBot: true, Reason: ReasonHTTPLibrary},
			},
		},
		{
			name: "no user agent",
			in:   Input{IP: netip.MustParseAddr("8.8.8.8"), Method: http.MethodGet},
			want: Result{Device: Device{Type: DeviceUnknown}, Bot: Bot{IsBot: true, Reason: ReasonEmptyUserAgent}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Enrich(tt.in)
			assertGeo(t, got.Geo, tt.want.Geo)
			if got.Device != tt.want.Device {
				t.Errorf("Device = %+v, want %+v", got.Device, tt.want.Device)
			}
			if got.Bot != tt.want.Bot {
				t.Errorf("Bot = %+v, want %+v", got.Bot, tt.want.Bot)
			}
		})
	}
}

// TestEnrichConcurrent is meant for -race.
func TestEnrichConcurrent(t *testing.T) {
	g, _ := openTestDB(t)
	e := New(g)
	cases := loadUserAgents(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, c := range cases {
				if i%4 != w {
					continue
				}
				res := e.Enrich(Input{IP: netip.MustParseAddr("81.2.69.142"), Method: http.MethodGet, UserAgent: c.ua})
				if res.Device != c.device || res.Bot != c.bot || res.Geo.City != "London" {
					t.Errorf("user_agents.tsv:%d: Enrich = %+v", c.line, res)
				}
			}
		}()
	}
	wg.Wait()
}
