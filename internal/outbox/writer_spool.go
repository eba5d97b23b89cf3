package outbox

// The spool's insert: scans moved from the local spool may have been
// stored already by an earlier move that failed halfway.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/scanforge/scanforge/models"
)

// InsertNewScans stores those of scans that are not in the database yet,
// as InsertScans does, and returns how many it stored and which of those
// it made pending. Scans whose ID is already stored are left out, so that
// a batch can be written again after a failure that hid whether it was
// written: the local spool moves its scans with it. The check and the
// insert are two steps; a scan inserted between them by someone else makes
// the insert fail on its ID, and the check is run again.
func (w *Writer) InsertNewScans(ctx context.Context, scans []models.Scan) (stored int, pending []models.Scan, err error) {
	if len(scans) == 0 {
		return 0, nil, nil
	}
	ids := make([]string, len(scans))
	for i := range scans {
		ids[i] = scans[i].ID
	}
	for attempt := 1; ; attempt++ {
		already, err := w.storedScanIDs(ctx, ids)
		if err != nil {
			return 0, nil, fmt.Errorf("stored scans among %d: %w", len(ids), err)
		}
		have := make(map[string]bool, len(already))
		for _, id := range already {
			have[id] = true
		}
		fresh := make([]models.Scan, 0, len(scans)-len(already))
		for _, sc := range scans {
			if !have[sc.ID] {
				have[sc.ID] = true // a scan twice in the batch goes in once
				fresh = append(fresh, sc)
			}
		}
		if len(fresh) == 0 {
			return 0, nil, nil
		}
		pending, err = w.InsertScans(ctx, fresh)
		if err == nil {
			return len(fresh), pending, nil
		}
		if !models.IsUniqueViolation(err) || attempt == 3 {
			return 0, nil, err
		}
	}
}

// storedScanIDs returns those of ids that are in the scans table. The list
// travels as one parameter, an array (JSON on SQLite), through
// database/sql: gorm would expand it into a placeholder per ID.
func (w *Writer) storedScanIDs(ctx context.Context, ids []string) ([]string, error) {
	sqlDB, err := w.db.DB()
	if err != nil {
		return nil, err
	}
	// A join, not "id = ANY($1)": PostgreSQL compares each row with every
	// element of a parameter array, and a scans table whose statistics are
	// not yet up to date (just filled by the mover) is read in full.
	query, list := "SELECT s.id FROM unnest($1::text[]) AS u(id) JOIN scans s ON s.id = u.id", any(ids)
	if w.db.Name() != "postgres" {
		b, err := json.Marshal(ids)
		if err != nil {
			return nil, err
		}
		query, list = "SELECT id FROM scans WHERE id IN (SELECT value FROM json_each(?))", string(b)
	}
	rows, err := sqlDB.QueryContext(ctx, query, list)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var stored []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		stored = append(stored, id)
	}
	return stored, rows.Err()
}
