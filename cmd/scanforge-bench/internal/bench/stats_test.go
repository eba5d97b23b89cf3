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

func TestCapacityTakesEachSidesBestRun(t *testing.T) {
	fig := func(c int, rps, serverCPU float64) Figures {
		return Figures{Concurrency: c, PerSecond: rps, CPUPerRequestMS: serverCPU, ClientCPUPerRequestMS: 0.02}
	}
	bare := []Figures{fig(32, 40000, 0.03), fig(128, 36000, 0.04)}
	floor := []Figures{fig(32, 16000, 0.06), fig(128, 22000, 0.05)}
	ours := []Figures{fig(32, 15000, 0.07), fig(128, 20000, 0.06)}
	got := capacity(0, bare, floor, ours)
	// Bare at its best concurrency (32) against ours at its best (128); CPU
	// per request likewise (0.05 ms bare, 0.07 ms floor, 0.08 ms ours).
	want := Capacity{BestBare: 40000, BestFloor: 22000, BestOurs: 20000, Ratio: 0.5, FloorRatio: 0.55, CPURatio: 0.625, FloorCPURatio: 0.714}
	if got != want {
		t.Errorf("capacity(all) = %+v, want %+v", got, want)
	}
	at32 := func(f Figures) bool { return f.Concurrency == 32 }
	got = capacity(32, filter(bare, at32), filter(floor, at32), filter(ours, at32))
	want = Capacity{Concurrency: 32, BestBare: 40000, BestFloor: 16000, BestOurs: 15000, Ratio: 0.375, FloorRatio: 0.4, CPURatio: 0.556, FloorCPURatio: 0.625}
	if got != want {
		t.Errorf("capacity(32) = %+v, want %+v", got, want)
	}
}

// A server slowing over the rounds: the best round of each kind favours
// the kind that ran first (minimal, round 1), the paired ratio does not.
func TestPairedRatioCancelsADrift(t *testing.T) {
	rate := func(r ...float64) []WorkflowFigures {
		var out []WorkflowFigures
		for _, x := range r {
			out = append(out, WorkflowFigures{PerSecond: x})
		}
		return out
	}
	// ABBA positions 1–8 at 100, 90, … 30 per second; both kinds equal.
	minimal := rate(100, 70, 60, 30)
	delivery := rate(90, 80, 50, 40)
	// Best rounds: 90/100, 10 % short. Round by round 0.9, 1.14, 0.83, 1.33.
	if got, want := pairedRatio(delivery, minimal), (90.0/100+80.0/70)/2; got != want {
		t.Errorf("pairedRatio = %v, want %v (the mean of the middle two ratios)", got, want)
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3, 1, 2) = %v, want 2", got)
	}
	if got := median(nil); got != 0 {
		t.Errorf("median() = %v, want 0", got)
	}
}
