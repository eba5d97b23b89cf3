package id

import (
	"strings"
	"testing"
	"time"
)

func TestNewIsPrefixedUniqueAndTimeOrdered(t *testing.T) {
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		got := New(Scan, base.Add(time.Duration(i)*time.Microsecond*7))
		if !strings.HasPrefix(got, "scan_") || len(got) != len("scan_")+26 {
			t.Fatalf("bad id %q", got)
		}
		if seen[got] {
			t.Fatalf("duplicate id %q", got)
		}
		seen[got] = true
		if got <= prev {
			t.Fatalf("ids not ordered: %q after %q", got, prev)
		}
		prev = got
	}
}
