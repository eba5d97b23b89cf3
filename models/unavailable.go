package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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
