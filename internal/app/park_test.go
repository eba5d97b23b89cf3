package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// orderedReceiver answers 200 and keeps the webhook-id of every request in
// arrival order.
type orderedReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	ids []string
}

func newOrderedReceiver(t *testing.T) *orderedReceiver {
	r := &orderedReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.ids = append(r.ids, req.Header.Get("Webhook-Id"))
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *orderedReceiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// withParking turns parking on as `scanforge serve` has it by default.
func withParking(s *stack) {
	s.configure = func(c *config.Config) {
		c.ParkFor = 7 * 24 * time.Hour
		c.DrainRate = 100
	}
}

// waitLong is eventually with a bound for hundreds of deliveries on a
// loaded machine; it asserts nothing about speed.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countParked counts endpointID's deliveries in state paused (visibility).
func (s *stack) countParked(endpointID string) int64 {
	s.t.Helper()
	res, err := s.temporal.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("%s = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
			workflows.SearchEndpoint, endpointID, workflows.SearchState, workflows.StatePaused),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return res.GetCount()
}

// Pause an endpoint, scan 200 times, see 200 parked deliveries and nothing
// sent; resume: the receiver gets all 200, in scan order, none twice.
func TestPausedEndpointParksScansAndDrainsThemInScanOrder(t *testing.T) {
	const scans = 200
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			s := newStack(t, kind, withParking)
			rcv := newOrderedReceiver(t)
			_, endpointID, _ := s.setup("drain", rcv.URL)

			if got := s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/pause", nil, http.StatusOK); got["state"] != models.EndpointPaused {
				t.Fatalf("pause answered %v", got)
			}
			for i := 0; i < scans; i++ {
				s.scan("/l/drain", http.Header{"User-Agent": {iPhoneSafari}})
			}
			waitLong(t, "200 parked deliveries", func() bool { return s.countParked(endpointID) == scans })
			listed := s.call(http.MethodGet, "/api/v1/deliveries?state=paused&endpoint_id="+endpointID+"&limit=5", nil, http.StatusOK)
			if data := listed["data"].([]any); len(data) != 5 || data[0].(map[string]any)["state"] != "paused" {
				t.Fatalf("GET /deliveries?state=paused = %v", listed)
			}
			if got := rcv.received(); len(got) != 0 {
				t.Fatalf("the receiver got %d deliveries while paused", len(got))
			}

			if got := s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/resume", nil, http.StatusOK); got["state"] != models.EndpointEnabled {
				t.Fatalf("resume answered %v", got)
			}
			waitLong(t, "200 deliveries", func() bool { return len(rcv.received()) >= scans })

			var stored []models.Scan
			if err := s.store.DB().Order("id").Find(&stored).Error; err != nil || len(stored) != scans {
				t.Fatalf("%d scans stored (%v), want %d", len(stored), err, scans)
			}
			want := make([]string, len(stored))
			for i, sc := range stored {
				want[i] = outbox.EventID(sc.ID)
			}
			got := rcv.received()
			if !slices.Equal(got, want) {
				t.Fatalf("deliveries not in scan order or not all once:\n got %d %v\nwant %d %v", len(got), got, len(want), want)
			}
			first := workflows.DeliveryWorkflowID(stored[0].ID, endpointID)
			if err := s.waitClosed(first); err != nil {
				t.Fatalf("first delivery: %v", err)
			}
			if kind == "sqlite" {
				recordRun(t, s, first, "", "recorded-v4-park-resume-200.json")
			}
		})
	}
}

// TestDrainRate measures how fast 1,000 parked deliveries drain after a
// resume, at the default pace and unpaced. It runs only when
// SCANFORGE_MEASURE_DRAIN is set (see BENCHMARKS.md).
func TestDrainRate(t *testing.T) {
	if os.Getenv("SCANFORGE_MEASURE_DRAIN") == "" {
		t.Skip("set SCANFORGE_MEASURE_DRAIN=1 to measure")
	}
	const scans = 1000
	for _, rate := range []int{20, 1000} {
		t.Run(fmt.Sprintf("rate-%d", rate), func(t *testing.T) {
			s := newStack(t, "sqlite", func(s *stack) {
				s.configure = func(c *config.Config) { c.ParkFor, c.DrainRate = 7*24*time.Hour, rate }
			})
			rcv := newOrderedReceiver(t)
			_, endpointID, _ := s.setup("bench", rcv.URL)
			s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/pause", nil, http.StatusOK)
			for i := 0; i < scans; i++ {
				s.scan("/l/bench", http.Header{"User-Agent": {iPhoneSafari}})
			}
			waitLong(t, "parked deliveries", func() bool { return s.countParked(endpointID) == scans })
			start := time.Now()
			s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/resume", nil, http.StatusOK)
			waitLong(t, "deliveries", func() bool { return len(rcv.received()) >= scans })
			took := time.Since(start)
			got := rcv.received()
			inOrder := slices.IsSortedFunc(got, strings.Compare)
			t.Logf("drain of %d parked deliveries at SCANFORGE_DRAIN_RATE=%d: %s, %.1f deliveries/s, in scan order: %v, received %d",
				scans, rate, took.Round(100*time.Millisecond), float64(scans)/took.Seconds(), inOrder, len(got))
		})
	}
}

// An endpoint that answered 410 is disabled; the scans after it park, and
// enabling it again drains them in scan order.
func TestScansAfterA410ParkAndDrainWhenReEnabled(t *testing.T) {
	s := newStack(t, "postgres", withParking)
	rcv := newReceiver(t, http.StatusGone, http.StatusOK)
	_, endpointID, _ := s.setup("gone", rcv.URL)
	s.scan("/l/gone", http.Header{"User-Agent": {iPhoneSafari}})
	rcv.next(t)
	waitLong(t, "the endpoint disabled by the 410", func() bool {
		return s.call(http.MethodGet, "/api/v1/endpoints/"+endpointID, nil, http.StatusOK)["state"] == models.EndpointGone
	})
	s.scan("/l/gone", http.Header{"User-Agent": {iPhoneSafari}})
	s.scan("/l/gone", http.Header{"User-Agent": {iPhoneSafari}})
	waitLong(t, "2 parked deliveries", func() bool { return s.countParked(endpointID) == 2 })

	s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/enable", nil, http.StatusOK)
	var stored []models.Scan
	if err := s.store.DB().Order("id").Find(&stored).Error; err != nil || len(stored) != 3 {
		t.Fatalf("%d scans (%v)", len(stored), err)
	}
	for _, sc := range stored[1:] {
		if got := rcv.next(t).Header.Get("Webhook-Id"); got != outbox.EventID(sc.ID) {
			t.Fatalf("drained %s, want %s (scan order)", got, outbox.EventID(sc.ID))
		}
	}
}
