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

func TestEncodeKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		hi, lo uint64
		want   string
	}{
		{0, 0, "x_00000000000000000000000000"},
		{0, 33, "x_00000000000000000000000011"},                  // 33 = 1·32 + 1
		{1, 0, "x_0000000000000g000000000000"},                   // 2⁶⁴ = 16·32¹²
		{^uint64(0), ^uint64(0), "x_7zzzzzzzzzzzzzzzzzzzzzzzzz"}, // the top digit carries 3 bits
	} {
		if got := encode("x", c.hi, c.lo); got != c.want {
			t.Errorf("encode(%#x, %#x) = %q, want %q", c.hi, c.lo, got, c.want)
		}
	}
}

// SplitMix64's known answers: its finalizer applied to the first states of
// the generator seeded with 0 (increments of 0x9e3779b97f4a7c15).
func TestScrambleKnownAnswers(t *testing.T) {
	for i, want := range []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f} {
		if got := scramble(uint64(i+1) * 0x9e3779b97f4a7c15); got != want {
			t.Errorf("scramble(state %d) = %#x, want %#x", i+1, got, want)
		}
	}
}

func TestSequenceIsPrefixedAndUnique(t *testing.T) {
	a, b := NewSequence("req"), NewSequence("req")
	seen := map[string]bool{}
	for range 1000 {
		for _, got := range []string{a.Next(), b.Next()} {
			if !strings.HasPrefix(got, "req_") || len(got) != len("req_")+26 {
				t.Fatalf("bad id %q", got)
			}
			if seen[got] {
				t.Fatalf("id %q made twice", got)
			}
			seen[got] = true
		}
	}
}
