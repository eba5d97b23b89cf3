package app_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// A delivery that failed at one endpoint is sent to another one (a staging
// receiver): a dry run first says what would go, sending nothing; the
// replay then delivers the same event there.
func TestReplayToAnotherEndpointAndDryRun(t *testing.T) {
	s := newStack(t, "sqlite")
	broken := newReceiver(t, http.StatusBadRequest)
	staging := newOrderedReceiver(t)
	codeID, brokenID, _ := s.setup("elsewhere", broken.URL)
	other := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{"url": staging.URL, "code_ids": []string{codeID}}, http.StatusCreated)
	stagingID := other["id"].(string)
	// Staging is disabled, and parking is off in this stack: it gets
	// nothing of the scan until the replay.
	s.call(http.MethodPost, "/api/v1/endpoints/"+stagingID+"/disable", nil, http.StatusOK)
	s.scan("/q/elsewhere", nil)
	broken.next(t)
	scan := s.onlyScan()
	failedID := workflows.DeliveryWorkflowID(scan.ID, brokenID)
	if err := s.waitClosed(failedID); err == nil {
		t.Fatal("the delivery to the broken endpoint succeeded")
	}
	s.call(http.MethodPost, "/api/v1/endpoints/"+stagingID+"/enable", nil, http.StatusOK)

	dry := s.call(http.MethodPost, "/api/v1/deliveries/"+failedID+"/replay", map[string]any{"endpoint_id": stagingID, "dry_run": true}, http.StatusOK)
	wantID := workflows.DeliveryWorkflowID(scan.ID, stagingID)
	if dry["dry_run"] != true || dry["id"] != wantID || dry["url"] != staging.URL || dry["event_id"] != outbox.EventID(scan.ID) {
		t.Fatalf("dry run answered %v", dry)
	}
	if payload, _ := dry["payload"].(map[string]any); payload["id"] != outbox.EventID(scan.ID) {
		t.Fatalf("dry run payload %v", dry["payload"])
	}

	started := s.call(http.MethodPost, "/api/v1/deliveries/"+failedID+"/replay", map[string]any{"endpoint_id": stagingID}, http.StatusAccepted)
	if started["id"] != wantID {
		t.Fatalf("replay answered %v, want delivery %s", started, wantID)
	}
	if err := s.waitClosed(wantID); err != nil {
		t.Fatalf("replayed delivery: %v", err)
	}
	if got := staging.received(); len(got) != 1 || got[0] != outbox.EventID(scan.ID) {
		t.Fatalf("staging received %v, want the one event %s (the dry run sent nothing)", got, outbox.EventID(scan.ID))
	}
	s.call(http.MethodPost, "/api/v1/deliveries/"+failedID+"/replay", map[string]any{"endpoint_id": "ep_00000000000000000000000000"}, http.StatusUnprocessableEntity)
}

// An endpoint created with backfill_since gets the scans recorded before
// it existed, each once, and live scans after them as usual.
func TestNewEndpointBackfillsPastScans(t *testing.T) {
	s := newStack(t, "postgres")
	first := newOrderedReceiver(t)
	codeID, _, _ := s.setup("backfill", first.URL)
	before := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	for i := 0; i < 3; i++ {
		s.scan("/q/backfill", nil)
	}
	waitLong(t, "the first endpoint's deliveries", func() bool { return len(first.received()) == 3 })

	late := newOrderedReceiver(t)
	s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{"url": late.URL, "backfill_since": "2999-01-01T00:00:00Z"}, http.StatusUnprocessableEntity)
	s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{
		"url": late.URL, "code_ids": []string{codeID}, "backfill_since": before,
	}, http.StatusCreated)
	waitLong(t, "the backfill", func() bool { return len(late.received()) == 3 })
	s.scan("/q/backfill", nil)
	waitLong(t, "a live scan after the backfill", func() bool { return len(late.received()) == 4 })

	var stored []models.Scan
	if err := s.store.DB().Order("id").Find(&stored).Error; err != nil || len(stored) != 4 {
		t.Fatalf("%d scans (%v)", len(stored), err)
	}
	got := late.received()
	for i, sc := range stored {
		if !slices.Contains(got, outbox.EventID(sc.ID)) {
			t.Fatalf("scan %d (%s) not delivered to the new endpoint: %v", i, sc.ID, got)
		}
	}
	time.Sleep(time.Second) // a duplicate would arrive about now
	if n := len(late.received()); n != 4 {
		t.Fatalf("the new endpoint got %d deliveries, want 4 (each scan once)", n)
	}
}
