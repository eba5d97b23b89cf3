package bench

import (
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarise(ds)
	want := Latency{Count: 100, Mean: 50.5, P50: 50, P90: 90, P99: 99, Max: 100}
	if got != want {
		t.Errorf("summarise(1..100 ms) = %+v, want %+v", got, want)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("summarise sorted its input in place")
	}
	if got := summarise(nil); got != (Latency{}) {
		t.Errorf("summarise(nil) = %+v, want zero", got)
	}
	if got := summarise([]time.Duration{3 * time.Millisecond}); got.P50 != 3 || got.P99 != 3 || got.Max != 3 {
		t.Errorf("summarise(one) = %+v", got)
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	tests := []struct {
		ref, group, seq string
	}{
		{marker("sqlite-s2", 17), "sqlite-s2", "17"},
		{"https://bench.invalid/solo", "solo", ""},
		{"https://elsewhere.example/a/1", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		group, seq := splitMarker(tt.ref)
		if group != tt.group || seq != tt.seq {
			t.Errorf("splitMarker(%q) = %q, %q; want %q, %q", tt.ref, group, seq, tt.group, tt.seq)
		}
	}
}
