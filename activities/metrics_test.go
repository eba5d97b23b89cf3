package activities_test

import (
	"context"
	"testing"

	"github.com/scanforge/scanforge/internal/metrics"
)

func TestAttemptsAreCounted(t *testing.T) {
	r := newReceiver(t, answer(503, nil, "down"))
	d, _, _ := setup(t, r.URL)
	m := metrics.New()
	d.Metrics = m
	if _, err := d.Attempt(context.Background(), testInput); err != nil {
		t.Fatal(err)
	}
	gone := testInput
	gone.EndpointID = "ep_deleted"
	if _, err := d.Attempt(context.Background(), gone); err != nil {
		t.Fatal(err)
	}

	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	latencies := map[string]uint64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			switch f.GetName() {
			case "scanforge_delivery_attempts_total":
				counts[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			case "scanforge_delivery_attempt_duration_seconds":
				latencies[s.GetLabel()[0].GetValue()] = s.GetHistogram().GetSampleCount()
			}
		}
	}
	if counts["retry"] != 1 || counts["endpoint_disabled"] != 1 {
		t.Errorf("attempts by outcome = %v", counts)
	}
	// Only the attempt that sent a request has a latency.
	if latencies["retry"] != 1 || latencies["endpoint_disabled"] != 0 {
		t.Errorf("latency samples by outcome = %v", latencies)
	}
}
