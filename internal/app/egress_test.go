package app_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// waitDispatched waits until the outbox has started the deliveries of a
// scan. The bound only keeps a broken build from hanging.
func waitDispatched(t *testing.T, store *models.Store, scanID string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var scan models.Scan
		if err := store.DB().First(&scan, "id = ?", scanID).Error; err != nil {
			t.Fatal(err)
		}
		if scan.DispatchedAt != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("scan %s never dispatched", scanID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withConfig adjusts the stack's configuration.
func withConfig(f func(*config.Config)) func(*stack) {
	return func(s *stack) { s.configure = f }
}

// TestInternalNetworksAreGuardedOutsideDevMode runs ScanForge as in
// production (private networks closed): the API refuses an endpoint on
// 127.0.0.1, and an endpoint that points there anyway (saved before the
// guard, or a name rebound since) fails its delivery at once, with the
// reason in the delivery log, without the receiver ever being reached.
func TestInternalNetworksAreGuardedOutsideDevMode(t *testing.T) {
	s := newStack(t, "sqlite", withConfig(func(c *config.Config) { c.AllowPrivateNetworks = false }))
	rcv := newReceiver(t, http.StatusNoContent)

	for _, u := range []string{rcv.URL + "/hook", strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1) + "/hook"} {
		ans := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{"url": u}, http.StatusUnprocessableEntity)
		errObj := ans["error"].(map[string]any)
		msg, _ := errObj["message"].(string)
		if errObj["field"] != "url" || !strings.Contains(msg, "127.0.0.1") || !strings.Contains(msg, "a loopback address; deliveries to internal networks are not allowed") {
			t.Errorf("POST endpoint %s: %v", u, errObj)
		}
	}

	code := s.call(http.MethodPost, "/api/v1/codes", map[string]any{
		"slug": "guarded", "name": "Guarded", "destination_url": "https://shop.example.com/spring",
	}, http.StatusCreated)
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	ep := models.Endpoint{
		WorkspaceID: code["workspace_id"].(string), URL: rcv.URL + "/hook", Secret: secret,
		Enabled: true, AllCodes: true, CodeIDs: []string{},
	}
	if err := s.store.CreateEndpoint(context.Background(), &ep); err != nil {
		t.Fatal(err)
	}

	s.scan("/q/guarded", nil)
	scan := s.onlyScan()
	wfID := workflows.DeliveryWorkflowID(scan.ID, ep.ID)
	waitDispatched(t, s.store, scan.ID)
	err = s.temporal.GetWorkflow(context.Background(), wfID, "").Get(context.Background(), nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeDeliveryFailed {
		t.Fatalf("workflow error = %v, want %s", err, workflows.ErrTypeDeliveryFailed)
	}
	attempts, _ := s.attempts(wfID)
	if len(attempts) != 1 {
		t.Fatalf("%d attempts, want 1 (a blocked address is not retried)", len(attempts))
	}
	a := attempts[0]
	if a.Outcome != activities.OutcomeFailed || a.StatusCode != 0 || a.Error != "blocked: 127.0.0.1 is a loopback address" {
		t.Errorf("attempt = outcome %q status %d error %q", a.Outcome, a.StatusCode, a.Error)
	}
	if n := len(rcv.got); n != 0 {
		t.Errorf("the receiver on 127.0.0.1 got %d requests, want 0", n)
	}
}
