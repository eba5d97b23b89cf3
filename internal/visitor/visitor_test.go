package visitor

import (
	"net/netip"
	"testing"
	"time"
)

func TestKeySameWithinDayDifferentAcrossDaysAndCodes(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a, _ := New(secret)
	b, _ := New(secret) // another replica with the same secret
	ip := netip.MustParseAddr("203.0.113.7")
	ua := "Mozilla/5.0 (iPhone)"
	morning := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	night := time.Date(2026, 12, 6, 23, 59, 59, 0, time.UTC)
	next := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

	k := a.Key(morning, ip, ua, "code_1")
	if len(k) != 32 {
		t.Fatalf("key %q: want 32 hex digits", k)
	}
	if got := b.Key(night, ip, ua, "code_1"); got != k {
		t.Errorf("same visitor, code and day on another replica: %q, want %q", got, k)
	}
	for name, other := range map[string]string{
		"next day":     a.Key(next, ip, ua, "code_1"),
		"other code":   a.Key(morning, ip, ua, "code_2"),
		"other ip":     a.Key(morning, netip.MustParseAddr("203.0.113.8"), ua, "code_1"),
		"other agent":  a.Key(morning, ip, ua+" ", "code_1"),
		"fields moved": a.Key(morning, ip, "", ua+"code_1"),
	} {
		if other == k {
			t.Errorf("%s: same key %q", name, k)
		}
	}
	c, _ := New([]byte("another secret of thirty-two b.."))
	if c.Key(morning, ip, ua, "code_1") == k {
		t.Error("another secret gives the same key")
	}
}

func TestKeeperForgetsOldDays(t *testing.T) {
	k, _ := New(nil)
	day := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		k.Key(day.AddDate(0, 0, i), netip.Addr{}, "ua", "c")
	}
	if len(k.days) > 2 {
		t.Errorf("%d day keys kept, want at most 2", len(k.days))
	}
}
