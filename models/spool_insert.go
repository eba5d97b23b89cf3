package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// ErrUnavailable marks an error as the database not answering (see
// IsUnavailable); wrap it to say so of an error of your own.
var ErrUnavailable = errors.New("database unavailable")

// IsUnavailable reports whether err says that the database could not be
// reached or could not work for now (connection refused or lost, server
// shutting down or starting, out of connections, a read-only standby, a
// locked SQLite file), as opposed to refusing what was asked (a bad row, a
// duplicate). Context cancellations and deadlines are not unavailability
// (unless marked with ErrUnavailable): callers that bound a call themselves
// check their own context.
func IsUnavailable(err error) bool {
	if errors.Is(err, ErrUnavailable) { // said so explicitly, even of a deadline
		return true
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return unavailableState(pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) {
		return true
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff { // the primary result code
		case 5, 6, 10, 13, 14, 15: // BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL
			return true
		}
	}
	return false
}

// unavailableState tells whether a PostgreSQL SQLSTATE means "not now"
// rather than "not this": connection exceptions (08), insufficient
// resources (53), operator intervention (57: shutdown, starting up,
// statement timeout), system errors (58), serialization failures and
// deadlocks (40001, 40P01), a read-only transaction (25006, a standby).
func unavailableState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57"), strings.HasPrefix(code, "58"):
		return true
	}
	switch code {
	case "40001", "40P01", "25006":
		return true
	}
	return false
}

// InsertNewScans stores those of scans that are not in the database yet,
// as InsertScans does, and returns them completed (their DispatchedAt).
// Scans whose ID is already stored are left out, so that a batch can be
// written again after a failure that hid whether it was written: the local
// spool moves its scans with it. The check and the insert are two steps;
// a scan inserted between them by someone else makes the insert fail on
// its ID, and the check is run again.
func (s *Store) InsertNewScans(ctx context.Context, scans []Scan) ([]Scan, error) {
	if len(scans) == 0 {
		return nil, nil
	}
	ids := make([]string, len(scans))
	for i := range scans {
		ids[i] = scans[i].ID
	}
	for attempt := 1; ; attempt++ {
		stored, err := s.storedScanIDs(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("stored scans among %d: %w", len(ids), err)
		}
		have := make(map[string]bool, len(stored))
		for _, id := range stored {
			have[id] = true
		}
		fresh := make([]Scan, 0, len(scans)-len(stored))
		for _, sc := range scans {
			if !have[sc.ID] {
				have[sc.ID] = true // a scan twice in the batch goes in once
				fresh = append(fresh, sc)
			}
		}
		if len(fresh) == 0 {
			return nil, nil
		}
		err = s.InsertScans(ctx, fresh)
		if err == nil {
			return fresh, nil
		}
		if !isUniqueViolation(err) || attempt == 3 {
			return nil, err
		}
	}
}

// storedScanIDs returns those of ids that are in the scans table. The list
// travels as one parameter, an array (JSON on SQLite), through
// database/sql: gorm would expand it into a placeholder per ID.
func (s *Store) storedScanIDs(ctx context.Context, ids []string) ([]string, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	// A join, not "id = ANY($1)": PostgreSQL compares each row with every
	// element of a parameter array, and a scans table whose statistics are
	// not yet up to date (just filled by the mover) is read in full.
	query, list := "SELECT s.id FROM unnest($1::text[]) AS u(id) JOIN scans s ON s.id = u.id", any(ids)
	if s.db.Name() != "postgres" {
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
