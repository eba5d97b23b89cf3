package app_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/deliverylog"
)

// TestMeasureParkedBacklog measures what the backlog watch costs Temporal
// visibility (the embedded server, SQLite): the count of one endpoint's
// parked deliveries (every check, per stopped endpoint) and the search for
// the longest-parked one (once per alert), over SCANFORGE_MEASURE_BACKLOG
// parked deliveries (e.g. 1000), parked through real scans. It runs only
// when that is set (see BENCHMARKS.md) and asserts nothing about speed.
func TestMeasureParkedBacklog(t *testing.T) {
	parked, _ := strconv.Atoi(os.Getenv("SCANFORGE_MEASURE_BACKLOG"))
	if parked <= 0 {
		t.Skip("set SCANFORGE_MEASURE_BACKLOG=1000 to measure")
	}
	s := newStack(t, "sqlite", withParking)
	rcv := newOrderedReceiver(t)
	_, endpointID, _ := s.setup("bench-backlog", rcv.URL)
	s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/pause", nil, http.StatusOK)
	for range parked {
		s.scan("/q/bench-backlog", nil)
	}
	waitLong(t, "the parked backlog", func() bool { return s.countParked(endpointID) == int64(parked) })
	ws, err := s.store.ListWorkspaces(context.Background())
	if err != nil || len(ws) != 1 {
		t.Fatal(err)
	}
	log := deliverylog.New(s.temporal, deliverylog.Options{})
	ctx := context.Background()

	const rounds = 50
	start := time.Now()
	for range rounds {
		if n, err := log.CountParked(ctx, ws[0].ID, endpointID); err != nil || n != int64(parked) {
			t.Fatalf("%d parked (%v)", n, err)
		}
	}
	count := time.Since(start) / rounds
	start = time.Now()
	for range rounds / 10 {
		if _, ok, err := log.OldestParked(ctx, ws[0].ID, endpointID); err != nil || !ok {
			t.Fatalf("oldest: %v %v", ok, err)
		}
	}
	oldest := time.Since(start) / (rounds / 10)
	t.Logf("%d parked deliveries: CountParked %s per call, OldestParked %s per call", parked, count, oldest)
}
