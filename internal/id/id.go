// Package id makes the public identifiers of ScanForge objects: a type prefix
// and a time-ordered random part (48-bit millisecond time, 10 bits of
// microseconds within it, 70 random bits; Crockford base32), so IDs sort by
// creation time to the microsecond and make stable cursors.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
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
	return encode(prefix, hi, binary.BigEndian.Uint64(b[8:]))
}

// Sequence makes IDs unique without reading random bytes for each: a
// random 64-bit stem per Sequence, then a counter, scrambled so that the
// IDs a client sees do not tell it how many were made between them. Its IDs
// look like New's but are not ordered by time, so they suit IDs that
// nothing sorts or pages through, such as request IDs: every redirect
// makes one, and New's random read was about as costly as the rest of the
// request ID middleware.
type Sequence struct {
	prefix           string
	stem, add, flips uint64 // random: the high half, and the counter's scramble
	n                atomic.Uint64
}

// NewSequence returns a Sequence of IDs with prefix.
func NewSequence(prefix string) *Sequence {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return &Sequence{
		prefix: prefix,
		stem:   binary.BigEndian.Uint64(b[:8]),
		add:    binary.BigEndian.Uint64(b[8:16]),
		flips:  binary.BigEndian.Uint64(b[16:]),
	}
}

// Next returns prefix + "_" + 26 base32 characters, different from every
// other ID of s and, but for a chance in 2⁶⁴ per pair of Sequences, of any
// other Sequence.
func (s *Sequence) Next() string {
	return encode(s.prefix, s.stem, scramble(s.n.Add(1)+s.add)^s.flips)
}

// scramble is SplitMix64's finalizer: a bijection of the 64-bit integers,
// so distinct counters stay distinct, that spreads neighbours far apart.
func scramble(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// encode returns prefix + "_" + the 128 bits hi, lo as 26 base32 digits
// (the top digit carries 3 bits).
func encode(prefix string, hi, lo uint64) string {
	out := make([]byte, 0, len(prefix)+1+26)
	out = append(out, prefix...)
	out = append(out, '_')
	var digits [26]byte
	for i := 25; i >= 0; i-- {
		digits[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(append(out, digits[:]...))
}
