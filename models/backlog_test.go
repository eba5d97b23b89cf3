package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/scanforge/scanforge/models"
)

func TestOutboxBacklog(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		pending, oldest, err := s.OutboxBacklog(ctx)
		if err != nil || pending != 0 || !oldest.IsZero() {
			t.Fatalf("empty outbox: %d %v %v", pending, oldest, err)
		}

		ep := models.Endpoint{ID: "ep_all", WorkspaceID: "ws_1", URL: "https://hooks.example.com/ep_all", Secret: "whsec_test", Enabled: true, AllCodes: true}
		if err := s.DB().Create(&ep).Error; err != nil {
			t.Fatal(err)
		}
		base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		var scans []models.Scan
		for i, id := range []string{"scan_1", "scan_2", "scan_3"} {
			scans = append(scans, models.Scan{ID: id, WorkspaceID: "ws_1", CodeID: "code_1", Slug: "s",
				Timestamp: base.Add(time.Duration(i) * time.Minute), Source: "qr", DestinationURL: "https://example.com"})
		}
		if err := insertScans(ctx, s, scans); err != nil {
			t.Fatal(err)
		}
		if err := writerOf(s).MarkDispatched(ctx, []string{"scan_1"}); err != nil {
			t.Fatal(err)
		}
		pending, oldest, err = s.OutboxBacklog(ctx)
		if err != nil || pending != 2 || !oldest.Equal(base.Add(time.Minute)) {
			t.Fatalf("backlog = %d, oldest %v (%v); want 2, %v", pending, oldest, err, base.Add(time.Minute))
		}

		if err := writerOf(s).MarkDispatched(ctx, []string{"scan_2", "scan_3"}); err != nil {
			t.Fatal(err)
		}
		if pending, oldest, err = s.OutboxBacklog(ctx); err != nil || pending != 0 || !oldest.IsZero() {
			t.Fatalf("drained outbox: %d %v %v", pending, oldest, err)
		}
	})
}
