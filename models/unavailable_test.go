package models_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// IsUnavailable tells "the database is not there" from "the database
// refuses this", with errors from the real drivers.
func TestIsUnavailable(t *testing.T) {
	ctx := context.Background()
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, refused := models.Open("postgres://postgres@" + closed + "/test?sslmode=disable&connect_timeout=2")
	if !models.IsUnavailable(refused) {
		t.Errorf("connection refused: %v (%T) not unavailable", refused, refused)
	}
	if !models.IsUnavailable(fmt.Errorf("wrapped: %w", models.ErrUnavailable)) {
		t.Error("ErrUnavailable wrapped is not unavailable")
	}
	for _, kind := range testdb.Kinds {
		s := models.NewStore(testdb.Open(t, kind), time.Now)
		w := outbox.NewWriter(s)
		sc := models.Scan{ID: "scan_1", WorkspaceID: "ws", CodeID: "c", Slug: "s", Source: "qr", DestinationURL: "https://e.x", Timestamp: time.Now().UTC()}
		if _, err := w.InsertScans(ctx, []models.Scan{sc}); err != nil {
			t.Fatal(err)
		}
		_, dup := w.InsertScans(ctx, []models.Scan{sc})
		if dup == nil || models.IsUnavailable(dup) {
			t.Errorf("%s: duplicate ID: %v counts as unavailable", kind, dup)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.GetCodeBySlug(cancelled, "s"); err == nil || models.IsUnavailable(err) {
			t.Errorf("%s: cancelled context: %v counts as unavailable", kind, err)
		}
	}
	if models.IsUnavailable(context.DeadlineExceeded) || models.IsUnavailable(errors.New("syntax error")) || models.IsUnavailable(nil) {
		t.Error("a deadline, a plain error or nil counts as unavailable")
	}
}
