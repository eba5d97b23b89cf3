package models_test

import (
	"context"
	"slices"
	"testing"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/models"
)

// An endpoint's format and field policy are stored, updated and read back
// by every read the API, the outbox and the attempt use; an endpoint made
// without them gets the defaults.
func TestStoreEndpointFormatAndFields(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		ws, err := s.CreateWorkspace(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		plain := models.Endpoint{WorkspaceID: ws.ID, URL: "https://hooks.example/plain", Secret: "whsec_p", Enabled: true, AllCodes: true}
		two := 2
		policy := destination.Fields{Exclude: []string{"referrer", "user_agent"}, Geo: destination.GeoFull, RoundCoordinates: &two}
		slack := models.Endpoint{WorkspaceID: ws.ID, URL: "https://hooks.example/slack", Secret: "whsec_s", Enabled: true, AllCodes: true,
			Format: destination.FormatSlack, Fields: policy}
		for _, e := range []*models.Endpoint{&plain, &slack} {
			if err := s.CreateEndpoint(ctx, e); err != nil {
				t.Fatal(err)
			}
		}

		check := func(what string, got models.Endpoint, format string, f destination.Fields) {
			t.Helper()
			if got.Format != format || !slices.Equal(got.Fields.Exclude, f.Exclude) || got.Fields.SendsEverything() != f.SendsEverything() ||
				(f.RoundCoordinates != nil && (got.Fields.RoundCoordinates == nil || *got.Fields.RoundCoordinates != *f.RoundCoordinates)) {
				t.Errorf("%s: format %q fields %+v; want %q %+v", what, got.Format, got.Fields, format, f)
			}
		}
		got, err := s.GetEndpoint(ctx, ws.ID, plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		check("default endpoint", got, destination.FormatScanForge, destination.Fields{})
		if got, err = s.GetEndpointByID(ctx, slack.ID); err != nil {
			t.Fatal(err)
		}
		check("GetEndpointByID", got, destination.FormatSlack, policy)
		subscribed, err := s.SubscribedEndpoints(ctx, ws.ID, "code_x", false)
		if err != nil || len(subscribed) != 2 {
			t.Fatalf("subscribed: %+v, %v", subscribed, err)
		}
		for _, e := range subscribed {
			if e.ID == slack.ID {
				check("SubscribedEndpoints", e, destination.FormatSlack, policy)
			}
		}

		got.Format, got.Fields = destination.FormatDiscord, destination.Fields{Geo: destination.GeoCountry}
		if err := s.UpdateEndpoint(ctx, &got); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListEndpoints(ctx, ws.ID, models.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			if e.ID == slack.ID && (e.Format != destination.FormatDiscord || e.Fields.Geo != destination.GeoCountry || len(e.Fields.Exclude) != 0) {
				t.Errorf("after update: %q %+v", e.Format, e.Fields)
			}
		}
		got.Fields = destination.Fields{}
		if err := s.UpdateEndpoint(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetEndpoint(ctx, ws.ID, slack.ID); !got.Fields.SendsEverything() {
			t.Errorf("policy not cleared: %+v", got.Fields)
		}
	})
}
