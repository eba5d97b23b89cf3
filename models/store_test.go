package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

func forEachDB(t *testing.T, f func(t *testing.T, s *models.Store)) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			f(t, models.NewStore(testdb.Open(t, kind), time.Now, models.WithSecretBox(testdb.SecretBox(t))))
		})
	}
}

func TestStoreCodesEndpointsAndOutbox(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		ws, err := s.CreateWorkspace(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		other, _ := s.CreateWorkspace(ctx, "other")

		_, plain, err := s.CreateAPIKey(ctx, ws.ID, "default")
		if err != nil {
			t.Fatal(err)
		}
		key, err := s.Authenticate(ctx, plain)
		if err != nil || key.WorkspaceID != ws.ID {
			t.Fatalf("authenticate: %v %+v", err, key)
		}
		if _, err := s.Authenticate(ctx, plain+"x"); !errors.Is(err, models.ErrUnauthorized) {
			t.Fatalf("wrong key: got %v", err)
		}

		c1 := models.Code{WorkspaceID: ws.ID, Slug: "spring", DestinationURL: "https://example.com/a", Active: true}
		if err := s.CreateCode(ctx, &c1); err != nil {
			t.Fatal(err)
		}
		dup := models.Code{WorkspaceID: other.ID, Slug: "spring", DestinationURL: "https://example.com/b", Active: true}
		if err := s.CreateCode(ctx, &dup); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("duplicate slug: got %v", err)
		}
		c2 := models.Code{WorkspaceID: ws.ID, Slug: "summer", DestinationURL: "https://example.com/s", Active: true}
		if err := s.CreateCode(ctx, &c2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCode(ctx, other.ID, c1.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other workspace sees code: %v", err)
		}
		c1.DestinationURL = "https://example.com/changed"
		if err := s.UpdateCode(ctx, &c1); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetCodeBySlug(ctx, "spring"); got.DestinationURL != "https://example.com/changed" {
			t.Fatalf("update not saved: %+v", got)
		}
		page, _ := s.ListCodes(ctx, ws.ID, models.Page{Limit: 1})
		if len(page) != 1 || page[0].ID != c2.ID {
			t.Fatalf("first page: %+v", page)
		}
		page, _ = s.ListCodes(ctx, ws.ID, models.Page{After: page[0].ID, Limit: 1})
		if len(page) != 1 || page[0].ID != c1.ID {
			t.Fatalf("second page: %+v", page)
		}

		all := models.Endpoint{WorkspaceID: ws.ID, URL: "https://hooks.example/all", Secret: "whsec_x", Enabled: true, AllCodes: true}
		one := models.Endpoint{WorkspaceID: ws.ID, URL: "https://hooks.example/one", Secret: "whsec_y", Enabled: true, CodeIDs: []string{c1.ID}}
		off := models.Endpoint{WorkspaceID: ws.ID, URL: "https://hooks.example/off", Secret: "whsec_z", Enabled: false, AllCodes: true}
		foreign := models.Endpoint{WorkspaceID: other.ID, URL: "https://hooks.example/f", Secret: "whsec_f", Enabled: true, AllCodes: true}
		humans := models.Endpoint{WorkspaceID: ws.ID, URL: "https://hooks.example/h", Secret: "whsec_h", Enabled: true, CodeIDs: []string{c2.ID}, HumanOnly: true}
		for _, e := range []*models.Endpoint{&all, &one, &off, &foreign, &humans} {
			if err := s.CreateEndpoint(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		bad := models.Endpoint{WorkspaceID: other.ID, URL: "https://x", Secret: "s", Enabled: true, CodeIDs: []string{c1.ID}}
		if err := s.CreateEndpoint(ctx, &bad); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("subscribing to another workspace's code: got %v", err)
		}

		subsOf := func(codeID string, isBot bool) []string {
			eps, err := s.SubscribedEndpoints(ctx, ws.ID, codeID, isBot)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range eps {
				ids = append(ids, e.ID)
			}
			return ids
		}
		subs := func(codeID string) []string { return subsOf(codeID, true) }
		// The disabled endpoint is subscribed: its deliveries park.
		if got := subsOf(c2.ID, false); len(got) != 3 || !slices.Contains(got, all.ID) || !slices.Contains(got, humans.ID) || !slices.Contains(got, off.ID) {
			t.Fatalf("subscribers of c2 for a human = %v, want %s, %s and %s", got, all.ID, humans.ID, off.ID)
		}
		if got := subs(c1.ID); len(got) != 3 || !slices.Contains(got, all.ID) || !slices.Contains(got, one.ID) {
			t.Fatalf("subscribers of c1 = %v, want %s, %s and %s", got, all.ID, one.ID, off.ID)
		}
		if got := subs(c2.ID); len(got) != 2 || slices.Contains(got, humans.ID) {
			t.Fatalf("subscribers of c2 for a bot = %v, want %s and %s (the human-only one skips bots)", got, all.ID, off.ID)
		}
		got, _ := s.GetEndpoint(ctx, ws.ID, one.ID)
		if len(got.CodeIDs) != 1 || got.CodeIDs[0] != c1.ID {
			t.Fatalf("code ids not loaded: %+v", got)
		}
		if err := s.DisableEndpoint(ctx, one.ID, models.CauseGone, "gone"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetEndpoint(ctx, ws.ID, one.ID); got.State() != models.EndpointGone || len(subs(c1.ID)) != 3 {
			t.Fatalf("endpoint disabled by a 410: state %q, subscribers %v; want gone and still subscribed", got.State(), subs(c1.ID))
		}

		now := time.Now().UTC().Truncate(time.Microsecond) // PostgreSQL keeps microseconds
		scans := []models.Scan{
			{ID: "scan_1", WorkspaceID: ws.ID, CodeID: c1.ID, Slug: "spring", Timestamp: now, Source: "qr", DestinationURL: c1.DestinationURL},
			{ID: "scan_2", WorkspaceID: ws.ID, CodeID: c1.ID, Slug: "spring", Timestamp: now, Source: "link", DestinationURL: c1.DestinationURL},
		}
		if err := insertScans(ctx, s, scans); err != nil {
			t.Fatal(err)
		}
		if pending, _ := writerOf(s).PendingScans(ctx, now, 10); len(pending) != 0 {
			t.Fatalf("pending before their timestamp = %+v", pending)
		}
		pending, _ := writerOf(s).PendingScans(ctx, now.Add(time.Microsecond), 10)
		if len(pending) != 2 || pending[0].ID != "scan_1" {
			t.Fatalf("pending = %+v", pending)
		}
		if !pending[0].Timestamp.Equal(now) {
			t.Fatalf("timestamp round trip: %v != %v", pending[0].Timestamp, now)
		}
		if err := writerOf(s).MarkDispatched(ctx, []string{"scan_1"}); err != nil {
			t.Fatal(err)
		}
		pending, _ = writerOf(s).PendingScans(ctx, now.Add(time.Microsecond), 10)
		if len(pending) != 1 || pending[0].ID != "scan_2" {
			t.Fatalf("pending after dispatch = %+v", pending)
		}

		if err := s.DeleteCode(ctx, ws.ID, c1.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCode(ctx, ws.ID, c1.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if err := s.DeleteEndpoint(ctx, other.ID, all.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("foreign delete: %v", err)
		}
	})
}
