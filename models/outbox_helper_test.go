package models_test

import (
	"context"
	"sync"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
)

// writers holds one outbox writer per store, as the app keeps one: a
// writer prepares its statements once.
var writers sync.Map // *models.Store → *outbox.Writer

func writerOf(s *models.Store) *outbox.Writer {
	w, _ := writers.LoadOrStore(s, outbox.NewWriter(s))
	return w.(*outbox.Writer)
}

// insertScans stores scans as the redirect path does (internal/outbox's
// writer).
func insertScans(ctx context.Context, s *models.Store, scans []models.Scan) error {
	_, err := writerOf(s).InsertScans(ctx, scans)
	return err
}
