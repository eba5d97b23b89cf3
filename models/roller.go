package models

// The roller: it folds the scans inserted since the last roll into
// scan_rollups, off the redirect path, and moves rollup_watermark in the
// same transaction, so a roll counts its scans once or not at all.

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// LastRollSeq is the highest roll_seq, read from the end of its partial
// index (a bare max(roll_seq) cannot use it on SQLite, and reads every scan).
// On SQLite the outbox writer numbers new scans after it.
const LastRollSeq = `SELECT roll_seq FROM scans WHERE roll_seq IS NOT NULL ORDER BY roll_seq DESC LIMIT 1`

// rollBatch is the most roll_seq values one roll covers: on SQLite the
// writer waits for the roll, so a backlog goes in slices.
const rollBatch = 5000

// RollScans folds the scans past the watermark into the rollups, up to
// rollBatch of them, and returns how many roll_seq values it covered (0:
// nothing to do, or another roller had the same range). Rollers of several
// replicas may run at once: each claims its range by moving the watermark
// from the value it read, and a roller that finds it moved does nothing.
func (s *Store) RollScans(ctx context.Context) (int64, error) {
	return s.rollScans(ctx, nil)
}

// rollScans is RollScans; beforeCommit, when not nil, runs last in the
// transaction and fails it with its error (the tests' crash).
func (s *Store) rollScans(ctx context.Context, beforeCommit func() error) (int64, error) {
	n, err := s.rollTx(ctx, func(tx *gorm.DB, last int64) (int64, error) {
		var from int64
		if err := tx.Raw(`SELECT seq FROM rollup_watermark WHERE id = 1`).Row().Scan(&from); err != nil {
			return 0, err
		}
		to := min(last, from+rollBatch)
		if to <= from {
			return 0, nil
		}
		claim := tx.Exec(`UPDATE rollup_watermark SET seq = ? WHERE id = 1 AND seq = ?`, to, from)
		if claim.Error != nil || claim.RowsAffected == 0 {
			return 0, claim.Error
		}
		scans := fmt.Sprintf("(SELECT * FROM scans WHERE roll_seq > %d AND roll_seq <= %d) AS s", from, to)
		if err := tx.Exec(rollupInsert(s.db.Name(), scans)).Error; err != nil {
			return 0, err
		}
		if beforeCommit != nil {
			return 0, beforeCommit()
		}
		return to - from, nil
	})
	if err != nil {
		return 0, fmt.Errorf("roll scans: %w", err)
	}
	return n, nil
}

// RebuildRollups makes scan_rollups again from the scans, in one
// transaction, as the migration that created it did, and moves the
// watermark to the last scan they count. A roller waits for it (the
// watermark's row is locked first), and finds its range claimed.
func (s *Store) RebuildRollups(ctx context.Context) error {
	_, err := s.rollTx(ctx, func(tx *gorm.DB, last int64) (int64, error) {
		var upTo int64
		err := tx.Raw(`UPDATE rollup_watermark SET seq = CASE WHEN seq > ? THEN seq ELSE ? END WHERE id = 1 RETURNING seq`, last, last).
			Row().Scan(&upTo)
		if err != nil {
			return 0, err
		}
		if err := tx.Exec(`DELETE FROM scan_rollups`).Error; err != nil {
			return 0, err
		}
		scans := fmt.Sprintf("(SELECT * FROM scans WHERE roll_seq IS NULL OR roll_seq <= %d) AS s", upTo)
		return 0, tx.Exec(rollupInsert(s.db.Name(), scans)).Error
	})
	if err != nil {
		return fmt.Errorf("rebuild rollups: %w", err)
	}
	return nil
}

// rollupInsert adds the rollup rows of the scans of source (see
// rollupSelect) to scan_rollups. The WHERE keeps SQLite from reading ON
// CONFLICT as a join's ON.
func rollupInsert(dialect, source string) string {
	greatest := "max"
	if dialect == "postgres" {
		greatest = "greatest"
	}
	return `INSERT INTO scan_rollups (` + rollupColumns + `) SELECT * FROM (` + rollupSelect(dialect, source) + `) AS r WHERE true ` +
		fmt.Sprintf(rollupUpdate, greatest)
}

// rollTx runs f in a transaction with last, a roll_seq that no scan still
// to be committed is numbered at or below: every scan up to it is there.
//
// On SQLite the outbox's writer numbers the scans under the write lock,
// so the transaction runs on the writing connection (WriteDB) and reads
// the last number. On PostgreSQL a sequence numbers them as they go in, and a transaction may
// commit after one that took a higher number: settledSeq waits for the
// inserts under way.
func (s *Store) rollTx(ctx context.Context, f func(tx *gorm.DB, last int64) (int64, error)) (n int64, err error) {
	if s.db.Name() != "postgres" {
		db, unlock, err := s.WriteDB(ctx)
		if err != nil {
			return 0, err
		}
		defer unlock()
		err = db.Transaction(func(tx *gorm.DB) error {
			// A write first: it takes the write lock (waiting for another
			// process's writer) before the transaction reads anything.
			if err := tx.Exec(`UPDATE rollup_watermark SET seq = seq WHERE id = 1`).Error; err != nil {
				return err
			}
			var last int64
			if err := tx.Raw(`SELECT coalesce((` + LastRollSeq + `), 0)`).Row().Scan(&last); err != nil {
				return err
			}
			n, err = f(tx, last)
			return err
		})
		return n, err
	}
	last, err := s.settledSeq(ctx)
	if err != nil {
		return 0, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		n, err = f(tx, last)
		return err
	})
	return n, err
}

// errBusy is settledSeq's answer when inserts kept it waiting: the next
// roll tries again.
var errBusy = errors.New("scans busy")

// settledSeq returns PostgreSQL's highest roll_seq once every transaction
// that writes scans has ended: the SHARE lock waits for them and holds new
// ones back for the one read, so none can still commit a lower number.
// lock_timeout bounds how long the redirect path can wait behind it.
func (s *Store) settledSeq(ctx context.Context) (int64, error) {
	var last int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SET LOCAL lock_timeout = '` + strconv.Itoa(settleTimeoutMillis) + `ms'`).Error; err != nil {
			return err
		}
		if err := tx.Exec(`LOCK TABLE scans IN SHARE MODE`).Error; err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
				return errBusy
			}
			return err
		}
		return tx.Raw(`SELECT coalesce((` + LastRollSeq + `), 0)`).Row().Scan(&last)
	})
	if errors.Is(err, errBusy) {
		return 0, nil // nothing settled: the roll does nothing this time
	}
	return last, err
}

// settleTimeoutMillis is how long settledSeq waits for the scans' lock.
const settleTimeoutMillis = 50
