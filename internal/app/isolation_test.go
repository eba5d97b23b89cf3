package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/workflows"
)

// TestDeliveryRoutesAreScopedToTheKeysWorkspace complements
// api/isolation_test.go, which walks every route of the router but cannot
// mount the delivery routes without Temporal: here the real delivery log
// answers. Another workspace's key gets 404 for A's delivery, endpoint
// actions and rotation, and lists show it nothing of A, even when filtered
// by A's IDs.
func TestDeliveryRoutesAreScopedToTheKeysWorkspace(t *testing.T) {
	s := newStack(t, "sqlite")
	rcv := newReceiver(t, http.StatusOK)
	codeID, endpointID, _ := s.setup("isolated", rcv.URL+"/hook")
	s.scan("/q/isolated", nil)
	rcv.next(t)
	scanID := s.onlyScan().ID
	deliveryID := workflows.DeliveryWorkflowID(scanID, endpointID)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, deliveryID, "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The routes work for A (so a 404 for B means something).
	s.call(http.MethodGet, "/api/v1/deliveries/"+deliveryID, nil, http.StatusOK)

	other, err := s.store.CreateWorkspace(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := s.store.CreateAPIKey(ctx, other.ID, "other")
	if err != nil {
		t.Fatal(err)
	}
	as := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.baseURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+otherKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}

	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/deliveries/" + deliveryID},
		{http.MethodPost, "/api/v1/deliveries/" + deliveryID + "/replay"},
		{http.MethodPost, "/api/v1/deliveries/" + deliveryID + "/retry"},
		{http.MethodPost, "/api/v1/endpoints/" + endpointID + "/replay"},
		{http.MethodPost, "/api/v1/endpoints/" + endpointID + "/test"},
		{http.MethodPost, "/api/v1/endpoints/" + endpointID + "/rotate-secret"},
		{http.MethodGet, "/api/v1/codes/" + codeID + "/scans"},
	} {
		if status, body := as(r.method, r.path, ""); status != http.StatusNotFound {
			t.Errorf("%s %s as another workspace: %d %s", r.method, r.path, status, body)
		}
	}
	for _, query := range []string{"", "?endpoint_id=" + endpointID, "?code_id=" + codeID, "?scan_id=" + scanID} {
		status, body := as(http.MethodGet, "/api/v1/deliveries"+query, "")
		if status != http.StatusOK || strings.Contains(body, deliveryID) || strings.Contains(body, rcv.URL) {
			t.Errorf("GET /api/v1/deliveries%s as another workspace: %d %s", query, status, body)
		}
	}

	// Nothing happened to A's delivery: still one run, one attempt.
	got := s.call(http.MethodGet, "/api/v1/deliveries/"+deliveryID, nil, http.StatusOK)
	if runs, _ := got["runs"].([]any); len(runs) != 1 {
		t.Errorf("A's delivery has %d runs after B's attempts: %v", len(runs), got)
	}
}
