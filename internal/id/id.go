// Package id makes the public identifiers of ScanForge objects: a type prefix
// and a time-ordered random part (48-bit millisecond time + 80 random bits,
// Crockford base32), so IDs sort by creation time and make stable cursors.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// Prefixes of each kind of object.
const (
	Workspace = "ws"
	APIKey    = "key"
	Code      = "code"
	Endpoint  = "ep"
	Scan      = "scan"
	Event     = "evt"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// New returns prefix + "_" + 26 base32 characters ordered by t.
func New(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand never fails on supported platforms
	out := make([]byte, 0, len(prefix)+1+26)
	out = append(out, prefix...)
	out = append(out, '_')
	// 128 bits → 26 base32 digits (the top digit carries 3 bits).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var digits [26]byte
	for i := 25; i >= 0; i-- {
		digits[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(append(out, digits[:]...))
}
