package outbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
)

// InsertNewScans stores only the scans not stored yet, once each, and
// returns those it made pending as InsertScans does: the ones an endpoint
// takes.
func TestInsertNewScansSkipsStoredScans(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store, w *outbox.Writer) {
		ctx := context.Background()
		ws, _ := s.CreateWorkspace(ctx, "acme")
		hooked := models.Code{WorkspaceID: ws.ID, Slug: "hooked", DestinationURL: "https://example.com/a", Active: true}
		quiet := models.Code{WorkspaceID: ws.ID, Slug: "quiet", DestinationURL: "https://example.com/b", Active: true}
		for _, c := range []*models.Code{&hooked, &quiet} {
			if err := s.CreateCode(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		ep := models.Endpoint{WorkspaceID: ws.ID, URL: "https://hooks.example/a", Secret: "whsec_x", Enabled: true, CodeIDs: []string{hooked.ID}}
		if err := s.CreateEndpoint(ctx, &ep); err != nil {
			t.Fatal(err)
		}
		scan := func(id string, code models.Code) models.Scan {
			return models.Scan{ID: id, WorkspaceID: ws.ID, CodeID: code.ID, Slug: code.Slug, Source: "qr",
				Timestamp: time.Now().UTC().Truncate(time.Microsecond), DestinationURL: code.DestinationURL}
		}
		if _, err := w.InsertScans(ctx, []models.Scan{scan("scan_1", hooked), scan("scan_2", quiet)}); err != nil {
			t.Fatal(err)
		}
		batch := []models.Scan{scan("scan_1", hooked), scan("scan_3", hooked), scan("scan_2", quiet), scan("scan_4", quiet), scan("scan_3", hooked)}
		stored, pending, err := w.InsertNewScans(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if stored != 2 {
			t.Fatalf("stored %d scans, want the two new ones", stored)
		}
		var got []string
		for _, sc := range pending {
			got = append(got, sc.ID)
		}
		// scan_4 is of the code without an endpoint: stored dispatched.
		if !slices.Equal(got, []string{"scan_3"}) {
			t.Fatalf("pending %v, want the new scan of the code with an endpoint", got)
		}
		var count int64
		s.DB().Model(&models.Scan{}).Count(&count)
		if count != 4 {
			t.Fatalf("%d rows, want 4", count)
		}
		if again, pending, err := w.InsertNewScans(ctx, batch); err != nil || again != 0 || len(pending) != 0 {
			t.Fatalf("the same batch again stored %d, %d pending (%v), want none", again, len(pending), err)
		}
	})
}
