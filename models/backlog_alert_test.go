package models_test

import (
	"context"
	"slices"
	"testing"

	"github.com/scanforge/scanforge/models"
)

// The backlog watch looks at the stopped endpoints of workspaces that have
// an operational endpoint; an alert is claimed once until cleared, and
// goes with its endpoint.
func TestBacklogAlertsAreClaimedOnceUntilCleared(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		ws, _ := s.CreateWorkspace(ctx, "acme")
		quiet, _ := s.CreateWorkspace(ctx, "no operational endpoint")
		endpoint := func(workspaceID string, operational bool) models.Endpoint {
			e := models.Endpoint{WorkspaceID: workspaceID, URL: "https://hooks.example.com", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Enabled: true, Operational: operational}
			if err := s.CreateEndpoint(ctx, &e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		endpoint(ws.ID, true)
		paused, disabled, running := endpoint(ws.ID, false), endpoint(ws.ID, false), endpoint(ws.ID, false)
		elsewhere := endpoint(quiet.ID, false)
		for _, e := range []models.Endpoint{paused, elsewhere} {
			if _, err := s.PauseEndpoint(ctx, e.WorkspaceID, e.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DisableEndpoint(ctx, disabled.ID, models.CauseGone, "410"); err != nil {
			t.Fatal(err)
		}
		stopped, err := s.StoppedEndpoints(ctx)
		var ids []string
		for _, e := range stopped {
			ids = append(ids, e.ID)
			if e.Secret != "" {
				t.Fatal("a stopped endpoint came with its secret")
			}
		}
		if want := []string{paused.ID, disabled.ID}; err != nil || !slices.Equal(ids, want) {
			t.Fatalf("stopped endpoints %v (%v), want %v (not %s: running, nor %s: no operational endpoint)", ids, err, want, running.ID, elsewhere.ID)
		}

		for i, want := range []bool{true, false} {
			if claimed, err := s.ClaimBacklogAlert(ctx, paused.ID, 1500); err != nil || claimed != want {
				t.Fatalf("claim %d: %v (%v), want %v", i+1, claimed, err, want)
			}
		}
		if alerts, err := s.BacklogAlerts(ctx); err != nil || len(alerts) != 1 || alerts[0].EndpointID != paused.ID || alerts[0].Parked != 1500 {
			t.Fatalf("alerts %+v (%v)", alerts, err)
		}
		if err := s.ClearBacklogAlert(ctx, paused.ID); err != nil {
			t.Fatal(err)
		}
		if claimed, err := s.ClaimBacklogAlert(ctx, paused.ID, 1200); err != nil || !claimed {
			t.Fatalf("claim after clearing: %v (%v)", claimed, err)
		}
		if err := s.DeleteEndpoint(ctx, ws.ID, paused.ID); err != nil {
			t.Fatal(err)
		}
		if alerts, err := s.BacklogAlerts(ctx); err != nil || len(alerts) != 0 {
			t.Fatalf("alerts of a deleted endpoint %+v (%v)", alerts, err)
		}
	})
}
