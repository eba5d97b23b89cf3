package models_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// InsertNewScans stores only the scans not stored yet, once each, and
// completes them as InsertScans does: pending when an endpoint takes them.
func TestInsertNewScansSkipsStoredScans(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
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
		if err := s.InsertScans(ctx, []models.Scan{scan("scan_1", hooked), scan("scan_2", quiet)}); err != nil {
			t.Fatal(err)
		}
		batch := []models.Scan{scan("scan_1", hooked), scan("scan_3", hooked), scan("scan_2", quiet), scan("scan_4", quiet), scan("scan_3", hooked)}
		stored, err := s.InsertNewScans(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sc := range stored {
			got = append(got, sc.ID)
			if pending := sc.DispatchedAt == nil; pending != (sc.CodeID == hooked.ID) {
				t.Errorf("%s: pending %v, want pending only for the code with an endpoint", sc.ID, pending)
			}
		}
		if !slices.Equal(got, []string{"scan_3", "scan_4"}) {
			t.Fatalf("stored %v, want the two new scans", got)
		}
		var count int64
		s.DB().Model(&models.Scan{}).Count(&count)
		if count != 4 {
			t.Fatalf("%d rows, want 4", count)
		}
		if again, err := s.InsertNewScans(ctx, batch); err != nil || len(again) != 0 {
			t.Fatalf("the same batch again stored %d (%v), want none", len(again), err)
		}
	})
}

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
		sc := models.Scan{ID: "scan_1", WorkspaceID: "ws", CodeID: "c", Slug: "s", Source: "qr", DestinationURL: "https://e.x", Timestamp: time.Now().UTC()}
		if err := s.InsertScans(ctx, []models.Scan{sc}); err != nil {
			t.Fatal(err)
		}
		dup := s.InsertScans(ctx, []models.Scan{sc})
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
