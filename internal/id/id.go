// Package id makes the public identifiers of ScanForge objects: a type prefix
// and a time-ordered random part (48-bit millisecond time, 10 bits of
// microseconds within it, 70 random bits; Crockford base32), so IDs sort by
// creation time to the microsecond and make stable cursors.
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
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	micros := uint64(t.UnixMicro() % 1000)
	hi := uint64(t.UnixMilli())<<16 | micros<<6 | uint64(b[7]&0x3f)
	binary.BigEndian.PutUint64(b[:8], hi)
	out := make([]byte, 0, len(prefix)+1+26)
	out = append(out, prefix...)
	out = append(out, '_')
	// 128 bits → 26 base32 digits (the top digit carries 3 bits).
	lo := binary.BigEndian.Uint64(b[8:])
	var digits [26]byte
	for i := 25; i >= 0; i-- {
		digits[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(append(out, digits[:]...))
}
