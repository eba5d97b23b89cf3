package enrich

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"

	"github.com/oschwald/geoip2-golang"
)

// GeoIP is a GeoLocator over a MaxMind GeoIP2 or GeoLite2 City database file
// (.mmdb). It is safe for concurrent use, including Locate during Reload.
//
// The file is read into memory rather than memory-mapped: a mapped file that
// is rewritten in place crashes the process with SIGBUS on the next lookup,
// and a mapped reader cannot be unmapped while lookups may still use it. In
// memory, Reload simply swaps in a new reader and the garbage collector frees
// the old one once in-flight lookups are done. The cost is the file's size
// in RAM (about 60 MB for GeoLite2-City).
type GeoIP struct {
	path   string
	reader atomic.Pointer[geoip2.Reader]
	loaded atomic.Pointer[fileStamp] // the file the reader was read from
}

// OpenGeoIP loads the City database at path. The error names the path when
// the file is missing, corrupt or not a City database.
func OpenGeoIP(path string) (*GeoIP, error) {
	reader, stamp, err := loadCityDB(path)
	if err != nil {
		return nil, err
	}
	g := &GeoIP{path: path}
	g.reader.Store(reader)
	g.loaded.Store(&stamp)
	return g, nil
}

// Locate looks ip up. Addresses that cannot have a location (private,
// loopback, link-local, unspecified, ...) and addresses absent from the
// database give an empty Geo and no error. IPv4-mapped IPv6 addresses are
// looked up as IPv4.
func (g *GeoIP) Locate(ip netip.Addr) (Geo, error) {
	ip = ip.Unmap()
	if !isLocatable(ip) {
		return Geo{}, nil
	}
	reader := g.reader.Load()
	if reader == nil {
		return Geo{}, fmt.Errorf("geoip %s: database is closed", g.path)
	}
	record, err := reader.City(net.IP(ip.AsSlice()))
	if err != nil {
		return Geo{}, fmt.Errorf("geoip %s: look up %s: %w", g.path, ip, err)
	}
	return geoFromCity(record), nil
}

// Reload re-reads the database file and swaps it in atomically; lookups in
// flight finish on the old data. On error the old database stays in use.
// Replace the file by renaming a complete new file over it (as geoipupdate
// does), so Reload never reads a half-written file.
func (g *GeoIP) Reload() error {
	reader, stamp, err := loadCityDB(g.path)
	if err != nil {
		return err
	}
	g.reader.Store(reader)
	g.loaded.Store(&stamp)
	return nil
}

// Close releases the database; later Locate calls return an error.
func (g *GeoIP) Close() error {
	// The reader is not closed explicitly: closing it would race with
	// lookups still using it, and an in-memory reader holds nothing the
	// garbage collector cannot free.
	g.reader.Store(nil)
	return nil
}

func loadCityDB(path string) (*geoip2.Reader, fileStamp, error) {
	// Stat before reading: if the file is replaced in between, the stamp is
	// the older one and the file watch reloads once more, harmlessly.
	stamp, err := statFile(path)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("geoip: read database %s: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("geoip: read database %s: %w", path, err)
	}
	reader, err := geoip2.FromBytes(data)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("geoip: open database %s: %w", path, err)
	}
	// A probe lookup rejects non-City databases (ASN, ISP, ...) now rather
	// than on every scan, and catches a corrupt search tree.
	if _, err := reader.City(net.IPv4(1, 1, 1, 1)); err != nil {
		var invalid geoip2.InvalidMethodError
		if errors.As(err, &invalid) {
			return nil, fileStamp{}, fmt.Errorf("geoip: database %s is type %q, not a City database", path, reader.Metadata().DatabaseType)
		}
		return nil, fileStamp{}, fmt.Errorf("geoip: database %s: %w", path, err)
	}
	return reader, stamp, nil
}

func geoFromCity(c *geoip2.City) Geo {
	geo := Geo{
		Country:     c.Country.Names["en"],
		CountryCode: c.Country.IsoCode,
		City:        c.City.Names["en"],
		Timezone:    c.Location.TimeZone,
	}
	if len(c.Subdivisions) > 0 {
		geo.Region = c.Subdivisions[0].Names["en"]
	}
	// The reader decodes a missing location as 0,0. No GeoIP2 record is
	// actually placed at "Null Island", so 0,0 means unknown.
	if c.Location.Latitude != 0 || c.Location.Longitude != 0 {
		lat, lon := c.Location.Latitude, c.Location.Longitude
		geo.Latitude, geo.Longitude = &lat, &lon
	}
	return geo
}
