package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// An operational endpoint receives, signed like any webhook and no scan:
// delivery.gave_up when a delivery exhausts its horizon, endpoint.disabled
// when an endpoint answers 410, endpoint.enabled when it is resumed; the
// scan that parked meanwhile is then delivered.
func TestOperationalEndpointIsToldAboutTheWorkspacesWebhooks(t *testing.T) {
	s := newStack(t, "postgres", func(s *stack) {
		s.configure = func(c *config.Config) {
			c.ParkFor, c.DrainRate = 7*24*time.Hour, 20
			c.RetryInitial, c.RetryMax, c.RetryHorizon = 200*time.Millisecond, 200*time.Millisecond, time.Second
		}
	})
	ops := newReceiver(t, http.StatusOK)
	opsEP := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{"url": ops.URL, "operational": true}, http.StatusCreated)
	if opsEP["operational"] != true {
		t.Fatalf("created %v", opsEP)
	}
	opsSecret := opsEP["secret"].(string)
	rcv := newSwitchedReceiver(t, http.StatusServiceUnavailable)
	_, endpointID, _ := s.setup("ops", rcv.URL)

	s.scan("/q/ops", nil) // 503 until the 1 s horizon: gives up
	var gaveUp webhook.DeliveryGaveUp
	ev := nextEvent(t, ops, opsSecret)
	if err := json.Unmarshal(ev.Data, &gaveUp); err != nil || ev.Type != webhook.TypeDeliveryGaveUp || gaveUp.EndpointID != endpointID || gaveUp.LastStatus != 503 {
		t.Fatalf("%s data %+v (%v), want delivery.gave_up", ev.Type, gaveUp, err)
	}

	// The next request is answered 410 (the endpoint is disabled, state
	// gone), every later one 200. The receiver decides, not the test's
	// timing: a test that read the endpoint's state as soon as the 410
	// request arrived could read it before the worker had seen the answer.
	rcv.answer(http.StatusGone, http.StatusOK)
	s.scan("/q/ops", nil)
	var disabled webhook.EndpointDisabled
	ev = nextEvent(t, ops, opsSecret)
	if err := json.Unmarshal(ev.Data, &disabled); err != nil || ev.Type != webhook.TypeEndpointDisabled ||
		disabled.EndpointID != endpointID || disabled.State != "gone" || disabled.LastStatus != 410 {
		t.Fatalf("%s data %+v (%v), want endpoint.disabled", ev.Type, disabled, err)
	}
	if got := s.call(http.MethodGet, "/api/v1/endpoints/"+endpointID, nil, http.StatusOK)["state"]; got != "gone" {
		t.Fatalf("endpoint state %v after endpoint.disabled, want gone", got)
	}

	// A scan while the endpoint is off parks; the resume tells the
	// operational endpoint and drains it.
	s.scan("/q/ops", nil)
	eventually(t, "a parked delivery", func() bool { return s.countParked(endpointID) == 1 })
	s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/resume", nil, http.StatusOK)
	var enabled webhook.EndpointEnabled
	ev = nextEvent(t, ops, opsSecret)
	if ev.Type != webhook.TypeEndpointEnabled || json.Unmarshal(ev.Data, &enabled) != nil || enabled.EndpointID != endpointID {
		t.Fatalf("got %s %s, want endpoint.enabled", ev.Type, ev.Data)
	}
	rcv.skip(t, 1) // the 503s and the 410 before
	var scans []models.Scan
	if err := s.store.DB().Order("id").Find(&scans).Error; err != nil || len(scans) != 3 {
		t.Fatalf("%d scans (%v), want 3", len(scans), err)
	}
	if d := rcv.next(t); d.Header.Get("Webhook-Id") != outbox.EventID(scans[2].ID) {
		t.Fatalf("delivered %s, want the parked scan's event %s", d.Header.Get("Webhook-Id"), outbox.EventID(scans[2].ID))
	}
	select {
	case ev := <-ops.got:
		t.Fatalf("unexpected operational event %s", ev.Body)
	default:
	}
}

// switchedReceiver is a receiver whose answers the test sets as it goes:
// the statuses given to answer, in turn, the last one repeated.
type switchedReceiver struct {
	*receiver
	mu       sync.Mutex
	statuses []int
	answered int // requests answered since the last answer call
	seen     int // requests answered before it
}

func newSwitchedReceiver(t *testing.T, statuses ...int) *switchedReceiver {
	r := &switchedReceiver{receiver: &receiver{got: make(chan delivery, 100)}, statuses: statuses}
	r.receiver.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := r.statuses[min(r.answered, len(r.statuses)-1)]
		r.answered++
		r.mu.Unlock()
		r.got <- delivery{Header: req.Header.Clone(), Body: body}
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
	}))
	t.Cleanup(r.Close)
	return r
}

// answer sets the answers of the next requests.
func (r *switchedReceiver) answer(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen += r.answered
	r.statuses, r.answered = statuses, 0
}

// skip drops the requests answered before the last answer call, and the
// first keep of those answered since.
func (r *switchedReceiver) skip(t *testing.T, keep int) {
	t.Helper()
	r.mu.Lock()
	n := r.seen + keep
	r.mu.Unlock()
	for range n {
		r.next(t)
	}
}

// nextEvent waits for the next request to r, checks its signature and
// decodes the event.
func nextEvent(t *testing.T, r *receiver, secret string) webhook.Event {
	t.Helper()
	d := r.next(t)
	if err := webhook.Verify(secret, d.Header, d.Body, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	var ev webhook.Event
	if err := json.Unmarshal(d.Body, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// More deliveries parked for a paused endpoint than the threshold: the
// operational endpoint is told once, with the count and the longest-parked
// scan; after a resume the alert is re-armed, and the next pause that
// parks too many tells it again.
func TestOperationalEndpointIsToldAboutAParkedBacklog(t *testing.T) {
	const threshold = 3
	s := newStack(t, "sqlite", func(s *stack) {
		s.configure = func(c *config.Config) {
			c.ParkFor, c.DrainRate = 7*24*time.Hour, 100
			c.BacklogAlert, c.BacklogCheck = threshold, 200*time.Millisecond
		}
	})
	ops := newReceiver(t, http.StatusOK)
	opsSecret := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{"url": ops.URL, "operational": true}, http.StatusCreated)["secret"].(string)
	rcv := newOrderedReceiver(t)
	_, endpointID, _ := s.setup("backlog", rcv.URL)

	nextBacklog := func() webhook.EndpointPausedBacklog {
		t.Helper()
		for {
			ev := nextEvent(t, ops, opsSecret)
			if ev.Type == webhook.TypeEndpointEnabled {
				continue
			}
			var data webhook.EndpointPausedBacklog
			if err := json.Unmarshal(ev.Data, &data); err != nil || ev.Type != webhook.TypeEndpointPausedBacklog {
				t.Fatalf("got %s %s (%v), want endpoint.paused_backlog", ev.Type, ev.Data, err)
			}
			return data
		}
	}
	parkScans := func(n int) []models.Scan {
		t.Helper()
		s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/pause", nil, http.StatusOK)
		var before int64
		s.store.DB().Model(&models.Scan{}).Count(&before)
		for range n {
			s.scan("/q/backlog", nil)
		}
		var scans []models.Scan
		if err := s.store.DB().Order("id").Offset(int(before)).Find(&scans).Error; err != nil || len(scans) != n {
			t.Fatalf("%d new scans (%v), want %d", len(scans), err, n)
		}
		return scans
	}

	scans := parkScans(threshold) // at the threshold, not above it
	eventually(t, "three parked deliveries", func() bool { return s.countParked(endpointID) == threshold })
	time.Sleep(time.Second) // an alert would be sent about now
	select {
	case d := <-ops.got:
		t.Fatalf("an operational event at the threshold: %s", d.Body)
	default:
	}
	s.scan("/q/backlog", nil) // above it
	got := nextBacklog()
	if got.EndpointID != endpointID || got.State != "paused" || got.Parked != threshold+1 || got.Threshold != threshold ||
		got.OldestScanID != scans[0].ID || got.OldestScanAt == nil || !got.OldestScanAt.Equal(scans[0].Timestamp) ||
		got.OldestDeliveryID != workflows.DeliveryWorkflowID(scans[0].ID, endpointID) || got.URL != rcv.URL {
		t.Fatalf("endpoint.paused_backlog %+v, want %d parked since scan %s at %s", got, threshold+1, scans[0].ID, scans[0].Timestamp)
	}
	s.scan("/q/backlog", nil) // still above: not again
	eventually(t, "five parked deliveries", func() bool { return s.countParked(endpointID) == threshold+2 })
	time.Sleep(time.Second)
	select {
	case d := <-ops.got:
		t.Fatalf("a second operational event for the same crossing: %s", d.Body)
	default:
	}

	// Resumed, drained, re-armed: the next pause that parks too many
	// sends it again.
	s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/resume", nil, http.StatusOK)
	waitLong(t, "the drain", func() bool { return len(rcv.received()) == threshold+2 })
	eventually(t, "the alert re-armed", func() bool {
		alerts, err := s.store.BacklogAlerts(context.Background())
		return err == nil && len(alerts) == 0
	})
	scans = parkScans(threshold + 1)
	if got := nextBacklog(); got.Parked != threshold+1 || got.OldestScanID != scans[0].ID {
		t.Fatalf("second crossing: %+v, want %d parked since %s", got, threshold+1, scans[0].ID)
	}
}
