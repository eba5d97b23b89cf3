package app_test

import (
	"net/http"
	"testing"

	"github.com/scanforge/scanforge/internal/outbox"
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
