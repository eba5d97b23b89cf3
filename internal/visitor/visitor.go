package visitor

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// hkdfInfo separates the visitor day keys from anything else ever derived
// from the same server secret.
const hkdfInfo = "scanforge visitor key v1 "

// Keyer computes visitor keys. It keeps the day keys it made in memory,
// two at most: the current day's and, around midnight, the previous one's.
type Keyer struct {
	secret []byte

	mu   sync.Mutex
	days map[string][]byte // UTC date → that day's HMAC key
}

// New returns a Keyer whose day keys derive from secret. An empty secret
// (a dev server without SCANFORGE_ENCRYPTION_KEY) is replaced by random
// bytes: keys then agree only within this process.
func New(secret []byte) (*Keyer, error) {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("visitor: random secret: %w", err)
		}
	}
	return &Keyer{secret: secret, days: map[string][]byte{}}, nil
}

// Key returns the visitor key of a scan of codeID by ip and userAgent at t:
// 32 hex digits (128 bits of the HMAC). An invalid ip counts as one
// address, so scans without one are told apart by user agent only.
func (k *Keyer) Key(t time.Time, ip netip.Addr, userAgent, codeID string) string {
	mac := hmac.New(sha256.New, k.dayKey(t.UTC().Format(time.DateOnly)))
	ipBytes, _ := ip.MarshalBinary()
	// Length-prefixed fields: no two different triples hash the same input.
	for _, field := range [][]byte{ipBytes, []byte(userAgent), []byte(codeID)} {
		mac.Write([]byte{byte(len(field) >> 24), byte(len(field) >> 16), byte(len(field) >> 8), byte(len(field))})
		mac.Write(field)
	}
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

func (k *Keyer) dayKey(date string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.days[date]; ok {
		return key
	}
	key, err := hkdf.Key(sha256.New, k.secret, nil, hkdfInfo+date, 32)
	if err != nil {
		panic(fmt.Sprintf("visitor: hkdf: %v", err)) // only for lengths beyond 255 hashes
	}
	if len(k.days) >= 2 {
		clear(k.days) // the days before are no longer needed, nor kept
	}
	k.days[date] = key
	return key
}
