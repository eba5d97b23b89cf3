package outbox

// The SQLite outbox writer: one writing connection, one-row inserts in a
// write transaction, and the WAL checkpoint that runs off the redirect path.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/scanforge/scanforge/models"
)

// markPending sets pending[i] when an endpoint takes scans[i]. A batch is
// mostly scans of a few codes, so takers is asked once per (workspace,
// code, bot verdict).
func markPending(ctx context.Context, takers *sql.Stmt, scans []models.Scan, pending []bool) (count int, err error) {
	type audience struct {
		workspace, code string
		bot             bool
	}
	taken := map[audience]bool{}
	for i := range scans {
		sc := &scans[i]
		a := audience{sc.WorkspaceID, sc.CodeID, sc.IsBot}
		takes, ok := taken[a]
		if !ok {
			if err := takers.QueryRowContext(ctx, a.workspace, a.code, a.bot).Scan(&takes); err != nil {
				return 0, fmt.Errorf("endpoints taking scans of %s: %w", a.code, err)
			}
			taken[a] = takes
		}
		pending[i] = takes
		if takes {
			count++
		}
	}
	return count, nil
}

// insertScanRows runs the one-row statement per scan in one transaction,
// and returns the scans it made pending: SQLite runs in this process, so a
// statement costs no round trip, and modernc.org/sqlite binds parameters
// by a linear search, so many-row statements cost the square of their
// rows. The transaction holds SQLite's write lock from its start, so no
// endpoint is written between the check of a scan's takers and its
// insert.
func (w *Writer) insertScanRows(ctx context.Context, scans []models.Scan, now time.Time) (out []models.Scan, err error) {
	if _, err := w.begin.ExecContext(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			// With a new context: the transaction must end even if ctx has.
			if _, rbErr := w.rollback.ExecContext(context.WithoutCancel(ctx)); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	w.pending = slices.Grow(w.pending[:0], len(scans))[:len(scans)]
	count, err := markPending(ctx, w.takers, scans, w.pending)
	if err != nil {
		return nil, err
	}
	if count > 0 {
		out = make([]models.Scan, 0, count)
	}
	// Numbered under the write lock, so in commit order: the roller's
	// watermark never passes a scan still to come.
	var seq int64
	if err := w.lastSeq.QueryRowContext(ctx).Scan(&seq); err != nil {
		return nil, fmt.Errorf("roll_seq: %w", err)
	}
	// The rows go in under a context without cancellation: given one that
	// can end, the driver starts a goroutine per statement to interrupt it,
	// one per scan. Inserting a row into a local file takes microseconds;
	// BEGIN and COMMIT still answer to ctx.
	rowCtx := context.WithoutCancel(ctx)
	dispatched := &now
	for i := range scans {
		sc := &scans[i]
		// The scan is its visitor's first of the code that day when the
		// visitor is new to scan_visitors.
		unique := false
		if sc.VisitorKey != "" {
			res, err := w.visitor.ExecContext(rowCtx, sc.CodeID, sc.Timestamp.UTC().Format(time.DateOnly), sc.VisitorKey)
			if err != nil {
				return nil, fmt.Errorf("visitor: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return nil, fmt.Errorf("visitor: %w", err)
			}
			unique = n == 1
		}
		dispatchedAt := dispatched
		if w.pending[i] {
			dispatchedAt = nil
			done := *sc
			done.IsUnique, done.DispatchedAt = unique, nil
			out = append(out, done)
		}
		// One slice for every row: database/sql copies the values before
		// the statement runs.
		seq++
		w.values = append(scanValues(w.values[:0], sc, unique, dispatchedAt), seq)
		if _, err := w.insert.ExecContext(rowCtx, w.values...); err != nil {
			return nil, err
		}
	}
	if _, err := w.commit.ExecContext(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckpointWAL copies SQLite's write-ahead log into the database file, in
// two passes, and returns whether the log was copied to its end. The
// store's writing connection never checkpoints by itself (models.Store.WriteConn), so
// whoever runs the redirect path calls this regularly; checkpointing a
// second's worth of writes at once also copies each busy page once instead
// of once per 1,000 frames. A no-op on PostgreSQL.
//
// The first pass runs beside the writer (a passive checkpoint blocks no
// one) and copies most of the log. The second holds the writer back while
// it copies the frames committed during the first, a few milliseconds'
// worth, so that the log is copied to its end and the writer's next
// transaction starts it over from its beginning. Without that second pass
// a steady stream of commits always leaves frames behind the checkpoint, so
// the log never starts over and grows until traffic pauses; the first
// commit after the pause then truncates it, a stall every redirect of its
// batch waits for. When a reader kept the first pass from copying most of
// the log, the second is left out: the writer is not held back for more
// than maxCatchUpFrames.
func (w *Writer) CheckpointWAL(ctx context.Context) (complete bool, err error) {
	if w.db.Name() == "postgres" {
		return true, nil
	}
	// busy is 1 when the checkpoint could not start; log and copied count
	// frames: the log's, and how many of them are in the database now.
	var busy, log, copied int
	err = w.db.WithContext(ctx).Raw("PRAGMA wal_checkpoint(PASSIVE)").Row().Scan(&busy, &log, &copied)
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	if !catchUpIsShort(log, copied) {
		// A reader kept the first pass from copying much: the writer is not
		// held back for all of it. The next call's first pass copies it.
		return false, nil
	}
	conn, unlock, err := w.store.WriteConn(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied)
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	return busy == 0 && log == copied, nil
}

// maxCatchUpFrames bounds what CheckpointWAL's second pass copies while
// the writer waits (8 MiB of 4-KiB pages), well above what the first pass
// leaves behind under the heaviest load measured.
const maxCatchUpFrames = 2048

// catchUpIsShort tells whether the frames a first pass left (log −
// copied; −1 each when the database is not in WAL mode) are few enough
// to copy with the writer held back.
func catchUpIsShort(log, copied int) bool {
	return log-copied <= maxCatchUpFrames
}
