package app_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
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

// A delivery is replayed to a bare URL (a staging receiver with no
// endpoint of its own): the same event, signed with the endpoint's secret,
// in a delivery of its own; that receiver's 410 is its own business and
// leaves the endpoint enabled.
func TestReplayToABareURL(t *testing.T) {
	s := newStack(t, "sqlite")
	live := newReceiver(t, http.StatusOK)
	bin := newReceiver(t, http.StatusGone)
	_, endpointID, secret := s.setup("bare", live.URL)
	s.scan("/q/bare", nil)
	live.next(t)
	scan := s.onlyScan()
	sourceID := workflows.DeliveryWorkflowID(scan.ID, endpointID)
	if err := s.waitClosed(sourceID); err != nil {
		t.Fatalf("the delivery: %v", err)
	}

	wantID := workflows.ReplayURLWorkflowID(outbox.EventID(scan.ID), bin.URL)
	dry := s.call(http.MethodPost, "/api/v1/deliveries/"+sourceID+"/replay", map[string]any{"url": bin.URL, "dry_run": true}, http.StatusOK)
	if dry["id"] != wantID || dry["url"] != bin.URL || dry["endpoint_id"] != endpointID || dry["event_id"] != outbox.EventID(scan.ID) {
		t.Fatalf("dry run answered %v", dry)
	}
	started := s.call(http.MethodPost, "/api/v1/deliveries/"+sourceID+"/replay", map[string]any{"url": bin.URL}, http.StatusAccepted)
	if started["id"] != wantID {
		t.Fatalf("replay answered %v, want delivery %s", started, wantID)
	}
	d := bin.next(t)
	if err := webhook.Verify(secret, d.Header, d.Body, 5*time.Minute, time.Now()); err != nil {
		t.Fatalf("the replay's signature does not verify with the endpoint's secret: %v", err)
	}
	if d.Header.Get("Webhook-Id") != outbox.EventID(scan.ID) {
		t.Fatalf("replayed event %q, want %s", d.Header.Get("Webhook-Id"), outbox.EventID(scan.ID))
	}
	if err := s.waitClosed(wantID); err == nil {
		t.Fatal("the replay answered 410 and still succeeded")
	}
	ep := s.call(http.MethodGet, "/api/v1/endpoints/"+endpointID, nil, http.StatusOK)
	if ep["enabled"] != true || ep["state"] != "enabled" || ep["failing_since"] != nil {
		t.Fatalf("the bare URL's 410 touched the endpoint: %v", ep)
	}
	log := s.call(http.MethodGet, "/api/v1/deliveries/"+wantID, nil, http.StatusOK)
	last, _ := log["last_attempt"].(map[string]any)
	if log["endpoint_id"] != endpointID || log["attempts"] != float64(1) || last["url"] != bin.URL || last["response_status"] != float64(410) {
		t.Fatalf("the replay's log: %v", log)
	}

	s.call(http.MethodPost, "/api/v1/deliveries/"+sourceID+"/replay", map[string]any{"url": "ftp://example.com/"}, http.StatusUnprocessableEntity)
	s.call(http.MethodPost, "/api/v1/deliveries/"+sourceID+"/replay", map[string]any{"url": bin.URL, "endpoint_id": endpointID}, http.StatusUnprocessableEntity)
}
