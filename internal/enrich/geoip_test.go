package enrich

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// cityRecord is one network of a test City database.
type cityRecord struct {
	network string
	data    mmdbtype.Map
}

func names(en, de string) mmdbtype.Map {
	return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(de)}}
}

// londonRecord is shaped like a GeoIP2 City record; city is a parameter so a
// rewritten database can be told apart.
func londonRecord(city string) mmdbtype.Map {
	return mmdbtype.Map{
		"city":    names(city, city+" (de)"),
		"country": mmdbtype.Map{"iso_code": mmdbtype.String("GB"), "names": names("United Kingdom", "Vereinigtes Königreich")["names"]},
		"subdivisions": mmdbtype.Slice{
			mmdbtype.Map{"iso_code": mmdbtype.String("ENG"), "names": names("England", "England")["names"]},
			mmdbtype.Map{"iso_code": mmdbtype.String("WSM"), "names": names("Westminster", "Westminster")["names"]},
		},
		"location": mmdbtype.Map{
			"latitude":        mmdbtype.Float64(51.5142),
			"longitude":       mmdbtype.Float64(-0.0931),
			"time_zone":       mmdbtype.String("Europe/London"),
			"accuracy_radius": mmdbtype.Uint16(10),
		},
	}
}

func testRecords(londonCity string) []cityRecord {
	return []cityRecord{
		{"81.2.69.0/24", londonRecord(londonCity)},
		{"2a01:4f8:100::/48", mmdbtype.Map{
			"city":         names("Nuremberg", "Nürnberg"),
			"country":      mmdbtype.Map{"iso_code": mmdbtype.String("DE"), "names": names("Germany", "Deutschland")["names"]},
			"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("BY"), "names": names("Bavaria", "Bayern")["names"]}},
			"location": mmdbtype.Map{
				"latitude":  mmdbtype.Float64(49.4478),
				"longitude": mmdbtype.Float64(11.0683),
				"time_zone": mmdbtype.String("Europe/Berlin"),
			},
		}},
		// Country-only record: no location, so no coordinates.
		{"5.6.7.0/24", mmdbtype.Map{
			"country": mmdbtype.Map{"iso_code": mmdbtype.String("FR"), "names": names("France", "Frankreich")["names"]},
		}},
		// A private network the database does cover: Locate must still not
		// report it, since a private address says nothing about the client.
		{"10.0.0.0/24", londonRecord("Private London")},
	}
}

// writeCityDB writes a GeoIP2-City database to path via a temporary file and
// a rename, the way geoipupdate replaces a live database.
func writeCityDB(t *testing.T, path, dbType string, records []cityRecord) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		Languages:               []string{"en", "de"},
		IncludeReservedNetworks: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		_, network, err := net.ParseCIDR(r.network)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(network, r.data); err != nil {
			t.Fatalf("insert %s: %v", r.network, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "db-*.tmp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(tmp); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}

func openTestDB(t *testing.T) (*GeoIP, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "GeoIP2-City.mmdb")
	writeCityDB(t, path, "GeoIP2-City", testRecords("London"))
	g, err := OpenGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, path
}

func ptr(f float64) *float64 { return &f }

func TestGeoIPLocate(t *testing.T) {
	g, _ := openTestDB(t)

	london := Geo{
		Country: "United Kingdom", CountryCode: "GB", Region: "England", City: "London",
		Latitude: ptr(51.5142), Longitude: ptr(-0.0931), Timezone: "Europe/London",
	}
	nuremberg := Geo{
		Country: "Germany", CountryCode: "DE", Region: "Bavaria", City: "Nuremberg",
		Latitude: ptr(49.4478), Longitude: ptr(11.0683), Timezone: "Europe/Berlin",
	}
	tests := []struct {
		ip   string
		want Geo
	}{
		{"81.2.69.142", london},
		{"::ffff:81.2.69.142", london}, // IPv4-mapped IPv6
		{"2a01:4f8:100:1::2", nuremberg},
		{"5.6.7.8", Geo{Country: "France", CountryCode: "FR"}},
		{"8.8.8.8", Geo{}},      // not in the database
		{"2001:4860::1", Geo{}}, // not in the database
		{"10.0.0.1", Geo{}},     // private, though the database has it
		{"::ffff:10.0.0.1", Geo{}},
		{"192.168.1.1", Geo{}},
		{"127.0.0.1", Geo{}},
		{"::1", Geo{}},
		{"169.254.1.1", Geo{}},
		{"fe80::1", Geo{}},
		{"fd00::1", Geo{}},
		{"0.0.0.0", Geo{}},
		{"::", Geo{}},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got, err := g.Locate(netip.MustParseAddr(tt.ip))
			if err != nil {
				t.Fatalf("Locate(%s): %v", tt.ip, err)
			}
			assertGeo(t, got, tt.want)
		})
	}

	got, err := g.Locate(netip.Addr{})
	if err != nil || got != (Geo{}) {
		t.Errorf("Locate(zero Addr) = %+v, %v; want empty, nil", got, err)
	}
}

func assertGeo(t *testing.T, got, want Geo) {
	t.Helper()
	if formatGeo(got) != formatGeo(want) {
		t.Errorf("got  %s\nwant %s", formatGeo(got), formatGeo(want))
	}
}

// formatGeo prints a Geo with its coordinates dereferenced, so Geos can be
// compared and read.
func formatGeo(g Geo) string {
	coord := func(f *float64) string {
		if f == nil {
			return "nil"
		}
		return fmt.Sprint(*f)
	}
	return fmt.Sprintf("{%q %q %q %q lat=%s lon=%s %q}",
		g.Country, g.CountryCode, g.Region, g.City, coord(g.Latitude), coord(g.Longitude), g.Timezone)
}

func TestOpenGeoIPErrors(t *testing.T) {
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.mmdb")
	if _, err := OpenGeoIP(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("OpenGeoIP(missing) error = %v, want one naming %s", err, missing)
	}

	corrupt := filepath.Join(dir, "corrupt.mmdb")
	if err := os.WriteFile(corrupt, []byte("this is not a MaxMind database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenGeoIP(corrupt); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("OpenGeoIP(corrupt) error = %v, want one naming %s", err, corrupt)
	}

	asn := filepath.Join(dir, "asn.mmdb")
	writeCityDB(t, asn, "GeoLite2-ASN", []cityRecord{{"81.2.69.0/24", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(20712)}}})
	_, err := OpenGeoIP(asn)
	if err == nil || !strings.Contains(err.Error(), asn) || !strings.Contains(err.Error(), "not a City database") {
		t.Errorf("OpenGeoIP(ASN db) error = %v, want one naming %s as not a City database", err, asn)
	}
}

func TestGeoIPReload(t *testing.T) {
	g, path := openTestDB(t)
	ip := netip.MustParseAddr("81.2.69.142")
	city := func() string {
		t.Helper()
		geo, err := g.Locate(ip)
		if err != nil {
			t.Fatal(err)
		}
		return geo.City
	}

	writeCityDB(t, path, "GeoIP2-City", testRecords("City of London"))
	if got := city(); got != "London" {
		t.Fatalf("before Reload: city = %q, want the old %q", got, "London")
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := city(); got != "City of London" {
		t.Fatalf("after Reload: city = %q, want %q", got, "City of London")
	}

	// A broken replacement is refused and the loaded data stays in use.
	if err := os.WriteFile(path, []byte("truncated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Reload(corrupt) error = %v, want one naming %s", err, path)
	}
	if got := city(); got != "City of London" {
		t.Fatalf("after failed Reload: city = %q, want %q", got, "City of London")
	}
}

// TestGeoIPReloadConcurrent is meant for -race: lookups run while the
// database is swapped underneath them.
func TestGeoIPReloadConcurrent(t *testing.T) {
	g, path := openTestDB(t)
	ip := netip.MustParseAddr("81.2.69.142")

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				geo, err := g.Locate(ip)
				if err == nil && geo.Country != "United Kingdom" {
					err = fmt.Errorf("country = %q during reload", geo.Country)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 20 {
		writeCityDB(t, path, "GeoIP2-City", testRecords(fmt.Sprint("London ", i)))
		if err := g.Reload(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestGeoIPClose(t *testing.T) {
	g, _ := openTestDB(t)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Locate(netip.MustParseAddr("81.2.69.142")); err == nil {
		t.Error("Locate after Close: no error")
	}
	// Addresses that need no lookup still answer without an error.
	if geo, err := g.Locate(netip.MustParseAddr("10.0.0.1")); err != nil || geo != (Geo{}) {
		t.Errorf("Locate(private) after Close = %+v, %v; want empty, nil", geo, err)
	}
}
