package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// The scans table is the outbox: the redirect path inserts every scan and
// the dispatcher marks it once its deliveries have started. Both run for
// every scan, so they bypass gorm's reflection and SQL building: fixed SQL
// prepared once per connection (BENCHMARKS.md has the profile).

// scanColumns lists the scans table's columns in the order of scanValues.
// TestScanColumnsMatchModel keeps it in step with the Scan model.
var scanColumns = []string{
	"id", "workspace_id", "code_id", "slug", "code_name", `"timestamp"`, "source", "destination_url",
	"ip", "country", "country_code", "region", "city", "latitude", "longitude", "timezone",
	"device_type", "browser", "browser_version", "os", "os_version", "referrer", "user_agent",
	"is_bot", "bot_reason", "dispatched_at",
}

// copyColumns are scanColumns as COPY takes them: pgx quotes each itself.
var copyColumns = func() []string {
	out := make([]string, len(scanColumns))
	for i, c := range scanColumns {
		out[i] = strings.Trim(c, `"`)
	}
	return out
}()

func scanValues(sc *Scan) []any {
	return []any{
		sc.ID, sc.WorkspaceID, sc.CodeID, sc.Slug, sc.CodeName, sc.Timestamp, sc.Source, sc.DestinationURL,
		sc.IP, sc.Country, sc.CountryCode, sc.Region, sc.City, sc.Latitude, sc.Longitude, sc.Timezone,
		sc.DeviceType, sc.Browser, sc.BrowserVersion, sc.OS, sc.OSVersion, sc.Referrer, sc.UserAgent,
		sc.IsBot, sc.BotReason, sc.DispatchedAt,
	}
}

// outboxStatements are the outbox's prepared statements.
//
// On PostgreSQL they are prepared on the pool (database/sql keeps a copy
// per connection). On SQLite all outbox writes go through one connection of
// their own, one at a time: SQLite has one writer anyway, and a connection
// throws its page cache away whenever another connection has written, so
// a single writing connection keeps the pages the next insert needs.
type outboxStatements struct {
	init     sync.Mutex // guards prepared
	prepared bool
	sqlite   *sql.Conn  // SQLite's writing connection
	mu       sync.Mutex // serialises the use of sqlite
	insert   *sql.Stmt  // SQLite: one row (PostgreSQL uses COPY)
	takers   *sql.Stmt  // does an endpoint take scans of (workspace, code, bot)?
	dispatch *sql.Stmt  // mark a list of scan IDs dispatched
	// SQLite's transaction statements, prepared: database/sql's Tx would
	// have SQLite parse BEGIN and COMMIT again for every batch.
	begin, commit, rollback *sql.Stmt
}

// outbox returns the prepared statements, locked for the caller's use until
// it calls the returned unlock. A failed preparation is tried again by the
// next caller.
func (s *Store) outbox(ctx context.Context) (st *outboxStatements, unlock func(), err error) {
	st = s.stmts
	st.init.Lock()
	if !st.prepared {
		// The statements outlive this caller: its cancellation is not theirs.
		if err := st.prepare(context.WithoutCancel(ctx), s.db); err != nil {
			st.init.Unlock()
			return nil, nil, fmt.Errorf("outbox: %w", err)
		}
		st.prepared = true
	}
	st.init.Unlock()
	if st.sqlite == nil {
		return st, func() {}, nil
	}
	st.mu.Lock()
	return st, st.mu.Unlock, nil
}

func (st *outboxStatements) prepare(ctx context.Context, db *gorm.DB) (err error) {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	if db.Name() == "postgres" {
		// Scans go in by pipelined INSERTs, which pgx prepares once per
		// connection itself, or by COPY: only the small statements are prepared.
		if st.takers, err = sqlDB.PrepareContext(ctx, postgresTakers); err != nil {
			return fmt.Errorf("prepare takers: %w", err)
		}
		if st.dispatch, err = sqlDB.PrepareContext(ctx, postgresMarkDispatched); err != nil {
			return fmt.Errorf("prepare mark dispatched: %w", err)
		}
		return nil
	}
	if st.sqlite == nil {
		if st.sqlite, err = sqlDB.Conn(ctx); err != nil {
			return fmt.Errorf("connection: %w", err)
		}
		// A checkpoint in the middle of a group commit holds up every
		// redirect of the batch: this connection leaves them to
		// CheckpointWAL, off the redirect path.
		if _, err := st.sqlite.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0"); err != nil {
			return fmt.Errorf("connection: %w", err)
		}
	}
	for stmt, query := range map[**sql.Stmt]string{
		&st.insert: sqliteInsertScan, &st.dispatch: sqliteMarkDispatched, &st.takers: sqliteTakers,
		&st.begin: "BEGIN IMMEDIATE", &st.commit: "COMMIT", &st.rollback: "ROLLBACK",
	} {
		if *stmt, err = st.sqlite.PrepareContext(ctx, query); err != nil {
			return fmt.Errorf("prepare %q: %w", query, err)
		}
	}
	return nil
}

// outboxDB returns gorm on the outbox's connection, locked for the caller
// until it calls unlock.
func (s *Store) outboxDB(ctx context.Context) (db *gorm.DB, unlock func(), err error) {
	st, unlock, err := s.outbox(ctx)
	if err != nil {
		return nil, nil, err
	}
	db = s.db.WithContext(ctx) // a new session: setting its pool changes no other
	if st.sqlite != nil {
		db.Statement.ConnPool = st.sqlite
	}
	return db, unlock, nil
}

// endpointTakes is the rule of who gets a scan, in one place: an enabled
// endpoint of the scan's workspace, subscribed to all its codes or to the
// scan's, and — when the scan has a bot verdict — not for humans only. Its
// placeholders are the scan's workspace, code and bot verdict. The insert
// asks whether any endpoint takes a scan (takerExists), the dispatcher
// which ones (SubscribedEndpoints).
const endpointTakes = `e.workspace_id = %[1]s AND e.enabled AND (NOT e.human_only OR NOT %[3]s)` +
	` AND (e.all_codes OR EXISTS (SELECT 1 FROM endpoint_codes c WHERE c.endpoint_id = e.id AND c.code_id = %[2]s))`

const takerExists = `EXISTS (SELECT 1 FROM endpoints e WHERE ` + endpointTakes + `)`

var (
	sqliteInsertScan = "INSERT INTO scans (" + strings.Join(scanColumns, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(scanColumns)), ", ") + ")"
	// Asked apart from the insert: SQLite runs an INSERT with a subquery or
	// RETURNING under a statement journal, which costs more than the query.
	sqliteTakers         = "SELECT " + fmt.Sprintf(takerExists, "?1", "?2", "?3")
	sqliteMarkDispatched = "UPDATE scans SET dispatched_at = ? WHERE id IN (SELECT value FROM json_each(?))"

	postgresTakers = "SELECT " + fmt.Sprintf(takerExists, "$1::text", "$2::text", "$3::boolean")
	// One scan that decides its own dispatched_at ($26 is now) and says
	// whether it is pending. The scan's workspace, code and verdict are cast
	// alike in the values and in the check: PostgreSQL must infer one type
	// per parameter.
	postgresInsertScan = func() string {
		params := make([]string, len(scanColumns)-1)
		for i := range params {
			params[i] = fmt.Sprintf("$%d", i+1)
		}
		params[1], params[2], params[23] = "$2::text", "$3::text", "$24::boolean"
		return "INSERT INTO scans (" + strings.Join(scanColumns, ", ") + ") VALUES (" + strings.Join(params, ", ") +
			", CASE WHEN " + fmt.Sprintf(takerExists, "$2::text", "$3::text", "$24::boolean") +
			" THEN NULL ELSE $26::timestamptz END) RETURNING dispatched_at IS NULL"
	}()
	postgresMarkDispatched = "UPDATE scans SET dispatched_at = $1 WHERE id = ANY($2::text[])"
)

// InsertScans stores scans atomically: the group commit of the redirect
// path. It decides each scan's DispatchedAt: nil when some endpoint takes
// the scan (it is pending in the outbox), else now — a scan of a code
// without webhooks costs the outbox nothing. The check runs after every
// scan of the batch has arrived, so an endpoint committed before a scan is
// never missed (on SQLite check and insert even share the write lock).
func (s *Store) InsertScans(ctx context.Context, scans []Scan) error {
	if len(scans) == 0 {
		return nil
	}
	st, unlock, err := s.outbox(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	now := s.now()
	switch {
	case st.sqlite != nil:
		err = insertScanRows(ctx, st, scans, now)
	case len(scans) <= postgresPipelineMax:
		err = withPgx(ctx, s.db, func(conn *pgx.Conn) error { return pipelineScans(ctx, conn, scans, now) })
	default:
		if err = markPending(ctx, st.takers, scans, now); err == nil {
			err = withPgx(ctx, s.db, func(conn *pgx.Conn) error { return copyScans(ctx, conn, scans) })
		}
	}
	if err != nil {
		return fmt.Errorf("insert %d scans: %w", len(scans), err)
	}
	return nil
}

// markPending sets each scan's DispatchedAt: nil when an enabled endpoint
// takes it, else now. A batch is mostly scans of a few codes, so takers is
// asked once per (workspace, code, bot verdict).
func markPending(ctx context.Context, takers *sql.Stmt, scans []Scan, now time.Time) error {
	type audience struct {
		workspace, code string
		bot             bool
	}
	taken := map[audience]bool{}
	for i := range scans {
		sc := &scans[i]
		a := audience{sc.WorkspaceID, sc.CodeID, sc.IsBot}
		pending, ok := taken[a]
		if !ok {
			if err := takers.QueryRowContext(ctx, a.workspace, a.code, a.bot).Scan(&pending); err != nil {
				return fmt.Errorf("endpoints taking scans of %s: %w", a.code, err)
			}
			taken[a] = pending
		}
		sc.DispatchedAt = nil
		if !pending {
			sc.DispatchedAt = &now
		}
	}
	return nil
}

// insertScanRows runs the one-row statement per scan in one transaction:
// SQLite runs in this process, so a statement costs no round trip, and
// modernc.org/sqlite binds parameters by a linear search, so many-row
// statements cost the square of their rows. The transaction holds SQLite's
// write lock from its start, so no endpoint is written between the check
// of a scan's takers and its insert.
func insertScanRows(ctx context.Context, st *outboxStatements, scans []Scan, now time.Time) (err error) {
	if _, err := st.begin.ExecContext(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// With a new context: the transaction must end even if ctx has.
			if _, rbErr := st.rollback.ExecContext(context.WithoutCancel(ctx)); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	if err := markPending(ctx, st.takers, scans, now); err != nil {
		return err
	}
	for i := range scans {
		if _, err := st.insert.ExecContext(ctx, scanValues(&scans[i])...); err != nil {
			return err
		}
	}
	_, err = st.commit.ExecContext(ctx)
	return err
}

// postgresPipelineMax is the largest batch that goes to PostgreSQL as
// pipelined one-row INSERTs; larger ones go by COPY. A small batch is
// cheaper as INSERTs (one round trip instead of the endpoint check's and
// the COPY's; a single scan costs the server 40 % less), a large one by
// COPY (an INSERT with its check costs the server about 33 µs a row, a
// COPY 10–18): BenchmarkInsertScans, BENCHMARKS.md fix 19.
const postgresPipelineMax = 8

// withPgx runs f on a pooled connection's pgx.Conn, for what database/sql
// cannot express: COPY and pipelined batches.
func withPgx(ctx context.Context, db *gorm.DB, f func(*pgx.Conn) error) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pg, ok := driverConn.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("driver connection %T is not pgx's", driverConn)
		}
		return f(pg.Conn())
	})
}

// pipelineScans sends one INSERT per scan in a single pipeline: one round
// trip, one implicit transaction (all or nothing), and each INSERT runs the
// endpoint check for its scan as it is executed, after the scan arrived.
func pipelineScans(ctx context.Context, conn *pgx.Conn, scans []Scan, now time.Time) error {
	batch := &pgx.Batch{}
	for i := range scans {
		scans[i].DispatchedAt = &now // the INSERT's value when no endpoint takes the scan
		batch.Queue(postgresInsertScan, scanValues(&scans[i])...)
	}
	results := conn.SendBatch(ctx, batch)
	for i := range scans {
		var pending bool
		if err := results.QueryRow().Scan(&pending); err != nil {
			results.Close()
			return err
		}
		if pending {
			scans[i].DispatchedAt = nil
		}
	}
	return results.Close()
}

// copyScans writes the batch, its DispatchedAt decided, to PostgreSQL with
// COPY (binary): one statement, atomic, with neither the planning an
// INSERT costs the server at every execution nor the unpacking of one
// array per column.
func copyScans(ctx context.Context, conn *pgx.Conn, scans []Scan) error {
	_, err := conn.CopyFrom(ctx, pgx.Identifier{"scans"}, copyColumns,
		pgx.CopyFromSlice(len(scans), func(i int) ([]any, error) { return scanValues(&scans[i]), nil }))
	return err
}

// SubscribedEndpoints returns the endpoints that take a scan of codeID in
// workspaceID with the bot verdict isBot (see endpointTakes), by ID.
func (s *Store) SubscribedEndpoints(ctx context.Context, workspaceID, codeID string, isBot bool) ([]Endpoint, error) {
	var out []Endpoint
	db, unlock, err := s.outboxDB(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	err = db.Table("endpoints AS e").Where(fmt.Sprintf(endpointTakes, "@workspace", "@code", "@bot"),
		sql.Named("workspace", workspaceID), sql.Named("code", codeID), sql.Named("bot", isBot)).
		Order("e.id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("endpoints taking scans of code %q: %w", codeID, err)
	}
	withoutSecrets(out)
	return out, nil
}

// PendingScans returns up to limit scans recorded before before whose
// deliveries have not been started yet, oldest first.
func (s *Store) PendingScans(ctx context.Context, before time.Time, limit int) ([]Scan, error) {
	db, unlock, err := s.outboxDB(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []Scan
	err = db.Where(`dispatched_at IS NULL AND "timestamp" < ?`, before.UTC()).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("pending scans: %w", err)
	}
	return out, nil
}

// MarkDispatched records that the deliveries of scanIDs have been started.
func (s *Store) MarkDispatched(ctx context.Context, scanIDs []string) error {
	if len(scanIDs) == 0 {
		return nil
	}
	st, unlock, err := s.outbox(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	var ids any = scanIDs
	if st.sqlite != nil {
		list, err := json.Marshal(scanIDs)
		if err != nil {
			return fmt.Errorf("mark %d scans dispatched: %w", len(scanIDs), err)
		}
		ids = string(list)
	}
	if _, err := st.dispatch.ExecContext(ctx, s.now(), ids); err != nil {
		return fmt.Errorf("mark %d scans dispatched: %w", len(scanIDs), err)
	}
	return nil
}

// CheckpointWAL copies SQLite's write-ahead log into the database file
// without blocking the writer (a passive checkpoint). The outbox's writing
// connection never checkpoints by itself (see prepare), so whoever runs the
// redirect path calls this regularly; checkpointing a second's worth of
// writes at once also copies each busy page once instead of once per 1,000
// frames. A no-op on PostgreSQL.
func (s *Store) CheckpointWAL(ctx context.Context) error {
	if s.db.Name() == "postgres" {
		return nil
	}
	if err := s.db.WithContext(ctx).Exec("PRAGMA wal_checkpoint(PASSIVE)").Error; err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
