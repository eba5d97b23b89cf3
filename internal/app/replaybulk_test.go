package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
)

// A selection of failed deliveries is replayed with one call: first as a
// dry run to a new endpoint (nothing sent), then for real there, each scan
// once however often the call is repeated with its Idempotency-Key; then
// in place, in two calls of a limited size joined by the cursor.
func TestBulkReplayOfASelectionHereAndElsewhere(t *testing.T) {
	s := newStack(t, "postgres")
	const n = 3
	broken := newReceiver(t, 400, 400, 400, 200)
	_, brokenID, _ := s.setup("bulk-sel", broken.URL)
	for range n {
		s.scan("/q/bulk-sel", nil)
		broken.next(t)
	}
	failed := url.Values{"state": {"failed"}, "endpoint_id": {brokenID}}
	eventually(t, "three failed deliveries", func() bool { return len(s.listDeliveries(failed).Data) == n })
	var scans []models.Scan
	if err := s.store.DB().Order("id").Find(&scans).Error; err != nil || len(scans) != n {
		t.Fatalf("%d scans (%v)", len(scans), err)
	}
	var events []string
	for _, sc := range scans {
		events = append(events, outbox.EventID(sc.ID))
	}

	// A new endpoint (Convoy #1213: it should get yesterday's scans).
	staging := newOrderedReceiver(t)
	stagingID := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{"url": staging.URL}, http.StatusCreated)["id"].(string)
	selection := map[string]any{
		"endpoint_id": brokenID, "state": "failed", "since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"to_endpoint_id": stagingID, "dry_run": true,
	}
	dry := s.call(http.MethodPost, "/api/v1/deliveries/replay", selection, http.StatusOK)
	sample, _ := dry["sample"].([]any)
	if dry["dry_run"] != true || dry["accepted"] != float64(n) || dry["truncated"] != false || len(sample) != n {
		t.Fatalf("dry run answered %v", dry)
	}
	for _, raw := range sample {
		item := raw.(map[string]any)
		payload, _ := item["payload"].(map[string]any)
		if item["url"] != staging.URL || item["endpoint_id"] != stagingID || !slices.Contains(events, item["event_id"].(string)) ||
			payload["id"] != item["event_id"] {
			t.Fatalf("dry run sample %v", item)
		}
	}

	selection["dry_run"] = false
	first := s.callWith(http.Header{"Idempotency-Key": {"bulk-1"}}, http.MethodPost, "/api/v1/deliveries/replay", selection, http.StatusAccepted)
	if first["accepted"] != float64(n) || first["repeated"] != false || first["id"] == "" {
		t.Fatalf("bulk replay answered %v", first)
	}
	again := s.callWith(http.Header{"Idempotency-Key": {"bulk-1"}}, http.MethodPost, "/api/v1/deliveries/replay", selection, http.StatusAccepted)
	if again["id"] != first["id"] || again["repeated"] != true {
		t.Fatalf("the same request with the same key answered %v, want %v repeated", again, first["id"])
	}
	selection["limit"] = 1
	s.callWith(http.Header{"Idempotency-Key": {"bulk-1"}}, http.MethodPost, "/api/v1/deliveries/replay", selection, http.StatusConflict)
	delete(selection, "limit")
	waitLong(t, "the replays to the new endpoint", func() bool { return len(staging.received()) == n })
	time.Sleep(time.Second) // a duplicate would arrive about now
	if got := staging.received(); len(got) != n || !sameSet(got, events) {
		t.Fatalf("the new endpoint received %v, want each of %v once", got, events)
	}

	// In place, two at a time: the cursor continues the selection.
	page := s.call(http.MethodPost, "/api/v1/deliveries/replay", map[string]any{"endpoint_id": brokenID, "limit": 2}, http.StatusAccepted)
	if page["accepted"] != float64(2) || page["truncated"] != true || page["next_cursor"] == nil {
		t.Fatalf("first page answered %v", page)
	}
	rest := s.call(http.MethodPost, "/api/v1/deliveries/replay", map[string]any{"endpoint_id": brokenID, "limit": 2, "cursor": page["next_cursor"]}, http.StatusAccepted)
	if rest["accepted"] != float64(1) || rest["truncated"] != false {
		t.Fatalf("second page answered %v", rest)
	}
	var redelivered []string
	for range n {
		redelivered = append(redelivered, broken.next(t).Header.Get("Webhook-Id"))
	}
	if !sameSet(redelivered, events) {
		t.Fatalf("replayed in place %v, want %v", redelivered, events)
	}
	delivered := url.Values{"state": {"delivered"}, "endpoint_id": {brokenID}}
	eventually(t, "every delivery delivered", func() bool { return len(s.listDeliveries(delivered).Data) == n })
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
