package spool

// The on-disk format: each record is its length and CRC-32C, then the
// scan as JSON.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"time"

	"github.com/scanforge/scanforge/models"
)

const (
	headerSize = 8 // length, then CRC-32C of the payload, both little-endian uint32
	// maxRecordSize bounds one record: a scan's text columns are cut to a
	// few kilobytes, so a larger length can only be a torn or corrupt header.
	maxRecordSize = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ReadFile returns the scans of a spool file (a segment or the quarantine
// file) up to its first torn or corrupt record, and the number of bytes
// left after them (0 when the whole file is valid).
func ReadFile(path string) (scans []models.Scan, dropped int64, err error) {
	scans, valid, size, err := readSegment(path)
	return scans, size - valid, err
}

func readSegment(path string) (scans []models.Scan, valid, size int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("spool: %w", err)
	}
	off := 0
	for len(data)-off >= headerSize {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > maxRecordSize || len(data)-off-headerSize < n {
			break
		}
		payload := data[off+headerSize : off+headerSize+n]
		if crc32.Checksum(payload, castagnoli) != sum {
			break
		}
		var r record
		if err := json.Unmarshal(payload, &r); err != nil {
			break
		}
		scans = append(scans, models.Scan(r))
		off += headerSize + n
	}
	return scans, int64(off), int64(len(data)), nil
}

// appendRecords frames each scan: length, CRC-32C, JSON payload.
func appendRecords(buf []byte, scans []models.Scan) ([]byte, error) {
	for i := range scans {
		r := record(scans[i])
		r.Latitude, r.Longitude = finite(r.Latitude), finite(r.Longitude)
		start := len(buf)
		buf = append(buf, make([]byte, headerSize)...)
		var err error
		if buf, err = jsonAppend(buf, &r); err != nil {
			return nil, fmt.Errorf("spool: encode scan %s: %w", r.ID, err)
		}
		payload := buf[start+headerSize:]
		binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, castagnoli))
	}
	return buf, nil
}

func jsonAppend(buf []byte, r *record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// finite drops a coordinate JSON cannot hold; the database stores those as
// unknown too.
func finite(f *float64) *float64 {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		return nil
	}
	return f
}

// record is models.Scan without its JSON tags, which hide fields (the visitor key)
// from the API: converting between the two fails to compile when the model
// gains, loses or changes a field, so the spool cannot fall behind it.
type record struct {
	ID             string
	WorkspaceID    string
	CodeID         string
	Slug           string
	CodeName       string
	Timestamp      time.Time
	Source         string
	DestinationURL string
	Country        string
	CountryCode    string
	Region         string
	City           string
	Latitude       *float64
	Longitude      *float64
	Timezone       string
	DeviceType     string
	Browser        string
	BrowserVersion string
	OS             string
	OSVersion      string
	Referrer       string
	UserAgent      string
	IsBot          bool
	BotReason      string
	TraceParent    string `json:",omitempty"`
	VisitorKey     string
	IsUnique       bool
	DispatchedAt   *time.Time
}
